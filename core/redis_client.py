"""`redis.url` read and opened: one Redis server, a Redis Cluster, or a master found through
Sentinel. `core.redis_cache.CoredisCache` opens its client here, for the URLs that
`core.resp` does not reach (a cluster, Sentinel, TLS, options), so the three forms work
everywhere Redis does.

- `redis://[USER:PASSWORD@]HOST:PORT/DB` (`rediss://` for TLS): one server, as coredis reads it.
- `redis+cluster://[USER:PASSWORD@]HOST:PORT[,HOST:PORT...]` (`rediss+cluster://` for TLS): any
  reachable nodes of the cluster; the others are found from them. A cluster has no database
  numbers.
- `redis+sentinel://[USER:PASSWORD@]HOST:PORT[,HOST:PORT...]/SERVICE[/DB]`: the sentinels and
  the name they monitor the master under; the credentials are the master's, the sentinels' own
  password (when they have one) is `?sentinel_password=...`. After a failover the next
  connection asks the sentinels again and reaches the new master.

This module imports no coredis until a client is opened (the memory cache never needs it).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeGuard
from urllib.parse import parse_qs, unquote

if TYPE_CHECKING:
    import coredis

    RedisClient = coredis.Redis[bytes] | coredis.RedisCluster[bytes]

Kind = Literal["redis", "cluster", "sentinel"]
# coredis.exceptions that mean Redis is not there right now (a 503, not a bug): no answer, no
# connection, a cluster with no reachable node or uncovered slots, no master known to Sentinel.
DOWN_ERRORS = (
    "ConnectionError",
    "TimeoutError",
    "ClusterDownError",
    "RedisClusterException",
    "PrimaryNotFoundError",
)
SCHEMES: dict[str, tuple[Kind, bool]] = {
    "redis": ("redis", False),
    "rediss": ("redis", True),
    "redis+cluster": ("cluster", False),
    "rediss+cluster": ("cluster", True),
    "redis+sentinel": ("sentinel", False),
}
DEFAULT_PORTS: dict[Kind, int] = {"redis": 6379, "cluster": 6379, "sentinel": 26379}


@dataclass(frozen=True)
class RedisAddress:
    """What `redis.url` names (`parse`)."""

    kind: Kind
    url: str
    nodes: tuple[tuple[str, int], ...]
    tls: bool = False
    username: str | None = None
    password: str | None = None
    # Sentinel only: the monitored name, the database number, the sentinels' own password.
    service: str = ""
    db: int = 0
    sentinel_password: str | None = None


def parse(url: str) -> RedisAddress:
    """`url` read, or ValueError saying what is wrong with it (config validation shows it)."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in SCHEMES:
        # Only the scheme is shown: the rest may hold a password.
        raise ValueError(
            "expected redis://HOST:PORT/DB, redis+cluster://HOST:PORT[,HOST:PORT...] or "
            "redis+sentinel://HOST:PORT[,HOST:PORT...]/SERVICE, got "
            + (f"scheme {scheme!r}" if sep else "no scheme")
        )
    kind, tls = SCHEMES[scheme]
    if kind == "redis":
        # coredis reads the rest itself (`Redis.from_url`).
        return RedisAddress(kind, url, (), tls)
    rest, _, query = rest.partition("?")
    location, _, path = rest.partition("/")
    credentials, at, hosts = location.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = credentials.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    nodes = tuple(_node(item, DEFAULT_PORTS[kind]) for item in hosts.split(","))
    options = parse_qs(query)
    sentinel_password = options.pop("sentinel_password", [None])[-1]
    if options:
        raise ValueError(f"unknown option {sorted(options)[0]!r} in redis.url")
    parts = [p for p in path.split("/") if p]
    if kind == "cluster":
        if parts not in ([], ["0"]):
            raise ValueError(f"a Redis Cluster has no database numbers, got /{path}")
        if sentinel_password is not None:
            raise ValueError("sentinel_password is for redis+sentinel:// URLs")
        return RedisAddress(kind, url, nodes, tls, username, password)
    if not parts or len(parts) > 2 or (len(parts) == 2 and not parts[1].isdigit()):
        raise ValueError(f"expected redis+sentinel://HOST:PORT[,...]/SERVICE[/DB], got /{path}")
    db = int(parts[1]) if len(parts) == 2 else 0
    return RedisAddress(
        kind, url, nodes, tls, username, password, unquote(parts[0]), db, sentinel_password
    )


def _node(item: str, default_port: int) -> tuple[str, int]:
    if item.startswith("["):  # [IPv6]:PORT
        host, _, port = item[1:].partition("]")
        port = port.removeprefix(":")
    else:
        host, _, port = item.partition(":")
    if not host or (port and not port.isdigit()):
        raise ValueError(f"expected HOST:PORT, got {item!r}")
    return host, int(port) if port else default_port


def open_client(url: str, timeout: float, protocol_version: Literal[2, 3] = 2) -> RedisClient:
    """A client for `url` whose every connection and read gives up after `timeout` seconds.

    A cluster client sends each command to the node that holds its key, and splits the
    multi-key commands coredis knows how to split (DEL, EXISTS: `non_atomic_cross_slot`); a
    command over keys in several slots that it cannot split fails (see `core.cache` for MGET).
    """
    import coredis

    address = parse(url)
    if address.kind == "redis":
        client: RedisClient = coredis.Redis.from_url(
            url,
            decode_responses=False,
            connect_timeout=timeout,
            stream_timeout=timeout,
            protocol_version=protocol_version,
        )
        return client
    if address.kind == "cluster":
        from coredis.typing import Node

        cluster: coredis.RedisCluster[bytes] = coredis.RedisCluster(
            startup_nodes=[Node(host=host, port=port) for host, port in address.nodes],
            ssl=address.tls,
            decode_responses=False,
            connect_timeout=timeout,
            stream_timeout=timeout,
            protocol_version=protocol_version,
            username=address.username,
            password=address.password,
        )
        return cluster
    from coredis.sentinel import Sentinel

    sentinel_options: dict[str, Any] = {
        "connect_timeout": timeout,
        "stream_timeout": timeout,
        "protocol_version": protocol_version,
    }
    if address.sentinel_password:
        sentinel_options["password"] = address.sentinel_password
    sentinel: Sentinel[bytes] = Sentinel(
        address.nodes,
        sentinel_kwargs=sentinel_options,
        decode_responses=False,
        db=address.db,
        username=address.username,
        password=address.password,
        connect_timeout=timeout,
        stream_timeout=timeout,
        protocol_version=protocol_version,
    )
    return sentinel.primary_for(address.service, connection_pool_class=_sentinel_pool_class())


@functools.cache
def _sentinel_pool_class() -> type[Any]:
    from coredis.sentinel import SentinelConnectionPool

    class FollowingSentinelPool(SentinelConnectionPool):
        """coredis's pool drops its connections when the sentinels name a new master, but keeps
        the first master's address as the one it knows: after a failover every new connection
        dropped the whole pool again, subscriptions and requests in flight included."""

        async def get_primary_address(self) -> tuple[str, int]:
            address = await super().get_primary_address()
            self.primary_address = address
            return address

    return FollowingSentinelPool


def close_client(client: RedisClient) -> None:
    """Drop every connection `client` holds (a Sentinel-managed one's to the sentinels too)."""
    from coredis.sentinel import SentinelConnectionPool

    pool = client.connection_pool
    pool.disconnect()
    if isinstance(pool, SentinelConnectionPool):
        for sentinel in pool.sentinel_manager.sentinels:
            sentinel.connection_pool.disconnect()


def is_cluster(client: RedisClient) -> TypeGuard[coredis.RedisCluster[bytes]]:
    import coredis

    return isinstance(client, coredis.RedisCluster)


# --- pub/sub on a cluster -----------------------------------------------------------------------
#
# A cluster passes every PUBLISH to every node over its bus, so a subscriber on any node hears
# every channel, patterns included. But coredis sends each PUBLISH to a random node, and two
# messages that entered through different nodes can reach a subscriber in either order (a
# hub's state updates did, in tests). So one installation's messages all enter through one node,
# the primary of the slot of its `bus` key, and its subscribers listen there: a node hands
# on what it receives in order, as a single server does.


def publish(client: RedisClient, bus: str, channel: str, message: bytes) -> Awaitable[int]:
    """PUBLISH `message` on `channel`; on a cluster, through `bus`'s node."""
    if not is_cluster(client):
        return client.publish(channel, message)
    from coredis.commands.constants import CommandName
    from coredis.typing import RedisCommand

    # `keys` routes a command by the slot of those keys (RedisCluster._determine_slots); PUBLISH
    # names none of its own.
    command = RedisCommand(CommandName.PUBLISH, (channel, message))
    return client.execute_command(command, keys=(bus,))  # type: ignore[call-arg]


def pubsub(client: RedisClient, bus: str) -> Any:
    """A coredis pub/sub of `client` (subscription messages left out); on a cluster, connected
    to `bus`'s node, again after a reconnect."""
    if not is_cluster(client):
        return client.pubsub(ignore_subscribe_messages=True)
    return _bus_pubsub_class()(client.connection_pool, bus)


@functools.cache
def _bus_pubsub_class() -> type[Any]:
    from coredis.commands.pubsub import ClusterPubSub

    class BusPubSub(ClusterPubSub[bytes]):
        def __init__(self, pool: Any, bus: str) -> None:
            super().__init__(pool, ignore_subscribe_messages=True)
            self.bus = bus

        async def reset_connections(self, exc: BaseException | None = None) -> None:
            # ClusterPubSub's own, but for the node it connects to (a random one there).
            if self.connection:
                self.connection.disconnect()
                self.connection_pool.initialized = False
            await self.connection_pool.initialize()
            self.connection = await self.connection_pool.get_connection(b"pubsub", channel=self.bus)
            self.connection.register_connect_callback(self.on_connect)

    return BusPubSub
