"""Multiplayer state-change broadcasts per second on one worker, rooms of 16 players.

    python -m tests.bench.bench_multiplayer [--rooms 4] [--players 16] [--seconds 10]
                                            [--rounds 2] [--redis redis://127.0.0.1:6379/9]
                                            [--both]

One hitcircle worker (hypercorn; embedded SQLite + memory cache, or Redis with `--redis`) holds
`--rooms` realtime rooms of `--players` hub clients each. Every player toggles Ready/Idle with
`ChangeState` as fast as its completions come back; each accepted change runs under the room's
lock (load, change, save) and broadcasts `UserStateChanged` to the room. Figures: state changes
per second, and broadcasts delivered per second (changes x players, counted at the clients).
The baseline is bare Starlette doing only the fan-out (a binary message in -> a reply to the
sender and the same bytes to the sender's 15 room-mates), measured the same way in the same run.
With `--redis URL --both`, two workers (memory cache and Redis) are measured in the same run,
their rounds interleaved, and the ratio Redis / memory is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from collections import defaultdict
from typing import Any

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import connect

# --- the bare-Starlette baseline: fan-out only ---------------------------------------------------

_rooms: dict[str, set[WebSocket]] = defaultdict(set)
_BROADCAST = b"\x1c\x95\x01\x80\xc0\xb0UserStateChanged\x92\x01\x01\x90"
_REPLY = b"\x05\x94\x03\x80\xa11\x02"


async def bare_room(ws: WebSocket) -> None:
    room = ws.path_params["room"]
    await ws.accept()
    members = _rooms[room]
    members.add(ws)
    try:
        while True:
            await ws.receive_bytes()
            await ws.send_bytes(_REPLY)
            for peer in list(members):
                with contextlib.suppress(Exception):
                    await peer.send_bytes(_BROADCAST)
    except WebSocketDisconnect:
        pass
    finally:
        members.discard(ws)


bare = Starlette(routes=[WebSocketRoute("/room/{room}", bare_room)])


# --- the client side ----------------------------------------------------------------------------


class Tally:
    def __init__(self) -> None:
        self.changes = 0
        self.deliveries = 0
        self.counting = False


async def _bare_player(url: str, tally: Tally, stop: asyncio.Event) -> None:
    async with connect(url, max_queue=None) as ws:
        pending = asyncio.Event()

        async def reader() -> None:
            async for frame in ws:
                if frame == _REPLY:
                    if tally.counting:
                        tally.changes += 1
                    pending.set()
                elif tally.counting:
                    tally.deliveries += 1

        task = asyncio.create_task(reader())
        await asyncio.sleep(0.5)
        while not stop.is_set():
            pending.clear()
            await ws.send(b"x")
            await pending.wait()
        task.cancel()


async def _hub_player(
    base: str, token: str, room_id: int, tally: Tally, stop: asyncio.Event, ready: asyncio.Barrier
) -> None:
    from core.lazer import Completion, FrameReader, Invocation, encode_frame
    from core.lazer.types import MultiplayerUserState
    from tests.signalr.client import HubClient

    client = await HubClient.open(base, "multiplayer", token)
    ws = client.ws
    frames = FrameReader(1 << 20)
    pending: asyncio.Queue[Completion] = asyncio.Queue()

    async def reader() -> None:
        async for data in ws:
            for message in frames.feed(data):
                if isinstance(message, Completion):
                    pending.put_nowait(message)
                elif tally.counting and isinstance(message, Invocation):
                    if message.target == "UserStateChanged":
                        tally.deliveries += 1

    task = asyncio.create_task(reader())
    counter = 0

    async def call(target: str, *args: Any) -> Completion:
        nonlocal counter
        counter += 1
        await ws.send(encode_frame(Invocation(target, list(args), str(counter))))
        return await pending.get()

    joined = await call("JoinRoom", room_id)
    if joined.error and "already" not in joined.error:
        raise SystemExit(f"join failed: {joined.error}")
    await ready.wait()
    state = MultiplayerUserState.READY
    while not stop.is_set():
        done = await call("ChangeState", state)
        if done.error:
            raise SystemExit(f"ChangeState failed: {done.error}")
        if tally.counting:
            tally.changes += 1
        state = (
            MultiplayerUserState.IDLE
            if state == MultiplayerUserState.READY
            else MultiplayerUserState.READY
        )
    await call("LeaveRoom")
    task.cancel()
    await ws.close()


async def run_round(
    kind: str, base: str, tokens: list[list[str]], room_ids: list[int], seconds: float
) -> tuple[float, float]:
    tally = Tally()
    stop = asyncio.Event()
    players = sum(len(group) for group in tokens)
    if kind == "bare":
        ws_base = base.replace("http://", "ws://")
        tasks = [
            asyncio.create_task(_bare_player(f"{ws_base}/room/{r}", tally, stop))
            for r, group in enumerate(tokens)
            for _ in group
        ]
        await asyncio.sleep(1.5)
    else:
        ready = asyncio.Barrier(players + 1)
        tasks = [
            asyncio.create_task(_hub_player(base, token, room_ids[r], tally, stop, ready))
            for r, group in enumerate(tokens)
            for token in group
        ]
        await asyncio.wait_for(ready.wait(), 60)
        await asyncio.sleep(0.5)
    tally.counting = True
    started = time.perf_counter()
    await asyncio.sleep(seconds)
    tally.counting = False
    elapsed = time.perf_counter() - started
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 30)
    return tally.changes / elapsed, tally.deliveries / elapsed


# --- set-up of the hitcircle side -------------------------------------------------------------


async def prepare(settings: Any, rooms: int, players: int) -> tuple[list[list[str]], Any]:
    from core import migrate
    from core.app import create_app
    from tests.conftest import create_user, issue_token, running
    from tests.scores import support

    migrate.upgrade(settings)
    app = create_app(settings)
    async with running(app):
        beatmap = await support.import_map(app, 0)
        tokens = []
        for r in range(rooms):
            group = []
            for p in range(players):
                user = await create_user(app, f"bench{r}_{p}")
                group.append(await issue_token(app, user))
            tokens.append(group)
    return tokens, beatmap


async def create_rooms(base: str, tokens: list[list[str]], beatmap: Any) -> list[int]:
    """Each room's first player creates it over the hub (and stays connected: hosts keep the
    room open while the others come and go)."""
    from tests.plugins.multiplayer.support import connect as mp_connect
    from tests.plugins.multiplayer.support import new_room

    ids = []
    for group in tokens:
        host = await mp_connect(base, group[0], 0)
        room = await host.ok("CreateRoom", new_room(beatmap, name="bench"))
        ids.append(room.room_id)
        # Hosts read and ping like lazer does; one that stopped would be dropped (as too slow,
        # or silent for 30 s) and its room closed with it.
        _keep.append((host, asyncio.create_task(_idle(host.ws))))
    return ids


async def _idle(ws: Any) -> None:
    from core.lazer import Ping, encode_frame

    async def pings() -> None:
        while True:
            await asyncio.sleep(5)
            await ws.send(encode_frame(Ping()))

    pinger = asyncio.create_task(pings())
    try:
        with contextlib.suppress(Exception):
            async for _ in ws:
                pass
    finally:
        # Also when the reader is cancelled at the end: a pinger left running pings a closed
        # socket.
        pinger.cancel()


_keep: list[Any] = []


async def _forget(url: str, prefix: str) -> None:
    """Drop an earlier run's keys: room and user ids start again with every data directory."""
    import coredis

    client: coredis.Redis[bytes] = coredis.Redis.from_url(url)
    keys: list[str | bytes] = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(keys)
    client.connection_pool.disconnect()


class Backend:
    """One hitcircle worker under test: its cache, data directory, users and port."""

    def __init__(self, name: str, redis_url: str, data: str, rooms: int, players: int) -> None:
        from core.config import load_settings
        from tests.bench.loadgen import free_port

        self.name = name
        self.env = {
            "HITCIRCLE_CONFIG": "none",
            "HITCIRCLE_DATA_DIR": data,
            "HITCIRCLE_RATELIMIT_DEFAULT": "100000000/minute",
            "HITCIRCLE_LOG_LEVEL": "WARNING",
        }
        if redis_url:
            self.env["HITCIRCLE_REDIS_URL"] = redis_url
            self.env["HITCIRCLE_REDIS_PREFIX"] = "hcbench:"
            asyncio.run(_forget(redis_url, "hcbench:"))
        settings = load_settings(env=self.env)
        self.tokens, self.beatmap = asyncio.run(prepare(settings, rooms, players))
        self.port = free_port()
        self.env["HITCIRCLE_SERVER_PUBLIC_URL"] = f"http://127.0.0.1:{self.port}"
        self.url = ""
        self.room_ids: list[int] = []
        self.totals = [0.0, 0.0]


def run(
    rooms: int, players: int, seconds: float, rounds: int, redis: str, both: bool
) -> dict[str, float]:
    """Changes/s and deliveries/s per side ("bare", "memory", "redis"), printed as it goes."""
    from tests.bench.loadgen import free_port, serve_app, wait_until_up

    with contextlib.ExitStack() as stack:
        urls = ["", redis] if both else [redis]
        backends = [
            Backend(
                "redis" if url else "memory",
                url,
                stack.enter_context(tempfile.TemporaryDirectory()),
                rooms,
                players,
            )
            for url in urls
        ]
        bare_url = stack.enter_context(serve_app("tests.bench.bench_multiplayer:bare", free_port()))
        for backend in backends:
            backend.url = stack.enter_context(serve_app("core.asgi:app", backend.port, backend.env))
        for backend in backends:
            wait_until_up(f"{backend.url}/health")
        time.sleep(1.0)
        bare_totals = [0.0, 0.0]

        async def session() -> None:
            # The hosts stay joined for the whole run, in the same event loop as the rounds.
            for backend in backends:
                backend.room_ids = await create_rooms(backend.url, backend.tokens, backend.beatmap)
            for round_no in range(1, rounds + 1):
                bare_players = [group[1:] for group in backends[0].tokens]
                changes, deliveries = await run_round("bare", bare_url, bare_players, [], seconds)
                bare_totals[0] += changes
                bare_totals[1] += deliveries
                print(
                    f"round {round_no} bare   {changes:8.0f} changes/s "
                    f"{deliveries:9.0f} deliveries/s",
                    flush=True,
                )
                for backend in backends:
                    joined = [group[1:] for group in backend.tokens]
                    changes, deliveries = await run_round(
                        "host", backend.url, joined, backend.room_ids, seconds
                    )
                    backend.totals[0] += changes
                    backend.totals[1] += deliveries
                    print(
                        f"round {round_no} {backend.name:6s} {changes:8.0f} changes/s "
                        f"{deliveries:9.0f} deliveries/s",
                        flush=True,
                    )
            for host, drain in _keep:
                drain.cancel()
                await host.close()

        asyncio.run(session())
    bare_changes, bare_deliveries = (v / rounds for v in bare_totals)
    print(f"{rooms} rooms x {players} players, one worker")
    print(
        f"bare starlette fan-out  {bare_changes:8.0f} msgs/s  {bare_deliveries:9.0f} deliveries/s"
    )
    figures = {"bare": bare_changes}
    for backend in backends:
        changes, deliveries = (v / rounds for v in backend.totals)
        figures[backend.name] = changes
        print(
            f"hitcircle ({backend.name:6s} cache) {changes:8.0f} state changes/s  "
            f"{deliveries:9.0f} broadcasts delivered/s  "
            f"ratio to bare {changes / bare_changes:5.2f}"
        )
    if both:
        print(f"ratio (changes) redis / memory {figures['redis'] / figures['memory']:8.2f}")
    return figures


def compare(seconds: float, rounds: int, redis: str) -> dict[str, float]:
    """The issue's figure: state changes/s on Redis as a share of the memory cache, one run
    (`bench_all`)."""
    figures = run(4, 16, seconds, rounds, redis, both=True)
    return figures | {"ratio": figures["redis"] / figures["memory"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rooms", type=int, default=4)
    parser.add_argument("--players", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--redis", default="", help="Redis URL (default: the memory cache)")
    parser.add_argument(
        "--both",
        action="store_true",
        help="with --redis: measure the memory cache and Redis in the same run (rounds "
        "interleaved) and print the ratio Redis / memory",
    )
    args = parser.parse_args()
    if args.both and not args.redis:
        parser.error("--both needs --redis")
    run(args.rooms, args.players, args.seconds, args.rounds, args.redis, args.both)


if __name__ == "__main__":
    main()
