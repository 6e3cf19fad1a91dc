"""The metadata hub (ppy/osu-server-spectator Hubs/Metadata/MetadataHub.cs): presence, friend
presence, beatmap change queue.

Presence lives in the cache (`presence.Presences`); updates go over the hub bus to the
`presence` group (clients that watch everyone's presence) and to `friends:<user>`, which every
connection of a user who has <user> as a friend joins, so friends on any worker get them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from loguru import logger

from core.beatmaps import store as beatmaps_db
from core.config import Key, Section, Settings, positive
from core.daily_challenge import rotation
from core.lazer.types import (
    BeatmapUpdates,
    DailyChallengeInfo,
    UserActivity,
    UserPresence,
    UserStatus,
)
from core.rooms import store as rooms_db
from core.services import services
from core.signalr import Connection, Hub, HubError, hub_method
from core.users import store as users_db
from plugins.metadata import rooms
from plugins.metadata.presence import TTL, VISIBLE, Presences

PRESENCE_WATCHERS = "presence"
STATUSES = frozenset(int(s) for s in UserStatus)
# How often each worker renews the presence of its own connections (well within TTL).
REFRESH_INTERVAL = TTL / 4
# Every connection hears of changed beatmap sets through this group.
UPDATES_GROUP = "beatmap-updates"
# The last queue id announced with BeatmapSetsUpdated, shared by every worker.
ANNOUNCED_KEY = "metadata:beatmap-updates:announced"


SECTION = Section(
    "metadata",
    (
        Key(
            "beatmap_updates_interval",
            5.0,
            "Seconds between looks at the beatmap change queue for BeatmapSetsUpdated.",
            check=positive,
        ),
        # The client asks again until none are left.
        Key("beatmap_updates_batch", 100, "Set ids per GetChangesSince answer.", min=1),
    ),
    "The metadata hub.",
)


def metadata_settings(settings: Settings) -> dict[str, Any]:
    return SECTION.read(settings)


def friends_group(user_id: int) -> str:
    return f"friends:{user_id}"


def room_group(room_id: int) -> str:
    return f"room-watchers:{room_id}"


@dataclass
class Session:
    """What one metadata connection holds (`conn.items["metadata"]`)."""

    activity: UserActivity | None = None
    status: UserStatus | None = None
    friends: set[int] = field(default_factory=set)

    @property
    def visible(self) -> bool:
        return self.status in VISIBLE

    def presence(self) -> UserPresence | None:
        """What others see: nothing while the status is unset or Offline ("appear offline")."""
        return UserPresence(self.activity, self.status) if self.visible else None


def session(conn: Connection) -> Session:
    found = conn.items.get("metadata")
    if found is None:
        found = conn.items["metadata"] = Session()
    return found


class MetadataHub(Hub):
    name = "metadata"

    def __init__(self, app: Any, host: Any) -> None:
        super().__init__(app, host)
        self._refresher: asyncio.Task[None] | None = None
        self._room_scores: asyncio.Task[None] | None = None
        self._updates: asyncio.Task[None] | None = None
        self._daily: asyncio.Task[None] | None = None
        self.config = metadata_settings(services(app).settings)

    @property
    def presences(self) -> Presences:
        return Presences(self.services.cache)

    # --- lifetime ---------------------------------------------------------------------------

    async def on_startup(self) -> None:
        # The first look at the change queue marks where announcements start. Taken before the
        # server is up, so every set queued once it is up is announced (not only those queued
        # after the first interval).
        try:
            await self.announce_beatmap_updates()
        except Exception as exc:  # the database or cache is away; the loop tries again
            logger.warning("metadata beatmap update announcement failed: {!r}", exc)
        self._refresher = asyncio.create_task(self._refresh_loop(), name="metadata-presence")
        self._room_scores = asyncio.create_task(
            rooms.relay(self.app, self.host, room_group), name="metadata-room-scores"
        )
        self._updates = asyncio.create_task(self._updates_loop(), name="metadata-beatmap-updates")
        self._daily = asyncio.create_task(
            rooms.relay_daily_challenge(self.app, self.host), name="metadata-daily-challenge"
        )

    async def on_shutdown(self) -> None:
        for task in (self._refresher, self._room_scores, self._updates, self._daily):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_INTERVAL)
            try:
                for conn in list(self.host.connections.values()):
                    if session(conn).visible:
                        await self.presences.refresh(conn.user_id)
            except Exception as exc:  # the cache is away; the next round tries again
                logger.warning("metadata presence refresh failed: {!r}", exc)

    async def _updates_loop(self) -> None:
        while True:
            await asyncio.sleep(float(self.config["beatmap_updates_interval"]))
            try:
                await self.announce_beatmap_updates()
            except Exception as exc:  # the database or cache is away; next round tries again
                logger.warning("metadata beatmap update announcement failed: {!r}", exc)

    async def announce_beatmap_updates(self) -> None:
        """Send BeatmapSetsUpdated for queue entries no worker has announced yet."""
        cache, db = self.services.cache, self.services.db
        # One announcer at a time across workers: reading the last announced position and
        # moving it on must not interleave, or a slower worker writes back an older position
        # and the next round announces sets again.
        async with cache.lock(ANNOUNCED_KEY, timeout=30, wait=5):
            previous = await cache.get(ANNOUNCED_KEY)
            latest = await beatmaps_db.latest_set_update(db)
            if previous is not None and int(previous) >= latest:
                return
            if previous is None:
                # First look since the cache was empty: start from here, do not replay history.
                await cache.set(ANNOUNCED_KEY, str(latest))
                return
            set_ids, last = await beatmaps_db.set_updates_since(db, int(previous), limit=10_000)
            # A batch cut short by the limit leaves the rest for the next round.
            await cache.set(ANNOUNCED_KEY, str(last if set_ids else latest))
        if set_ids:
            await self.send_group(
                UPDATES_GROUP,
                "BeatmapSetsUpdated",
                BeatmapUpdates(beatmap_set_ids=set_ids, last_processed_queue_id=last),
            )

    async def on_connected(self, conn: Connection) -> None:
        current = session(conn)
        await self.add_to_group(conn, UPDATES_GROUP)
        conn.send("DailyChallengeUpdated", await self._daily_challenge())
        current.friends = await self._friend_ids(conn.user_id)
        for friend_id in current.friends:
            await self.add_to_group(conn, friends_group(friend_id))
        await self._send_friend_presences(conn, current.friends)

    async def _daily_challenge(self) -> DailyChallengeInfo | None:
        """Today's room (nil: none, or the daily challenge plugin is off)."""
        try:
            room_id = await rotation.current_room(self.app, self.services.clock.time())
        except Exception as exc:  # the database is away: the client hears of none for now
            logger.warning("metadata daily challenge look-up failed: {!r}", exc)
            return None
        return None if room_id is None else DailyChallengeInfo(room_id=room_id)

    async def on_disconnected(self, conn: Connection) -> None:
        current = session(conn)
        if current.visible:
            await self.presences.remove(conn.user_id, conn.id)
            await self._broadcast(conn, None)

    # --- presence ---------------------------------------------------------------------------

    async def _friend_ids(self, user_id: int) -> set[int]:
        rows = await users_db.relations(self.services.db, user_id, users_db.RELATION_FRIEND)
        return {row["target_id"] for row in rows}

    async def _send_friend_presences(self, conn: Connection, friend_ids: set[int]) -> None:
        for friend_id, presence in (await self.presences.get_many(sorted(friend_ids))).items():
            conn.send("FriendPresenceUpdated", friend_id, presence)

    async def _broadcast(self, conn: Connection, presence: UserPresence | None) -> None:
        user_id = conn.user_id
        await self.send_group(
            PRESENCE_WATCHERS, "UserPresenceUpdated", user_id, presence, exclude=conn.id
        )
        await self.send_group(
            friends_group(user_id), "FriendPresenceUpdated", user_id, presence, exclude=conn.id
        )

    async def _store(self, conn: Connection) -> UserPresence | None:
        current = session(conn)
        presence = current.presence()
        if presence is None:
            await self.presences.remove(conn.user_id, conn.id)
        else:
            await self.presences.put(conn.user_id, conn.id, presence)
        return presence

    @hub_method
    async def UpdateActivity(self, conn: Connection, activity: UserActivity | None) -> None:
        current = session(conn)
        if current.activity is None and activity is None:
            return
        current.activity = activity
        presence = await self._store(conn)
        if presence is not None:
            await self._broadcast(conn, presence)
        conn.send("UserPresenceUpdated", conn.user_id, presence)

    @hub_method
    async def UpdateStatus(self, conn: Connection, status: int | None) -> None:
        if status is not None and status not in STATUSES:
            raise HubError("Invalid status.", "InvalidStateException")
        current = session(conn)
        if status == current.status:
            return
        current.status = None if status is None else UserStatus(status)
        presence = await self._store(conn)
        # Always sent, so appearing offline looks exactly like being disconnected.
        await self._broadcast(conn, presence)
        conn.send("UserPresenceUpdated", conn.user_id, presence)

    @hub_method
    async def BeginWatchingUserPresence(self, conn: Connection) -> None:
        for user_id, presence in (await self.presences.everyone()).items():
            conn.send("UserPresenceUpdated", user_id, presence)
        await self.add_to_group(conn, PRESENCE_WATCHERS)

    @hub_method
    async def EndWatchingUserPresence(self, conn: Connection) -> None:
        await self.remove_from_group(conn, PRESENCE_WATCHERS)

    @hub_method
    async def RefreshFriends(self, conn: Connection) -> None:
        current = session(conn)
        friends = await self._friend_ids(conn.user_id)
        added, removed = friends - current.friends, current.friends - friends
        current.friends = friends
        for friend_id in removed:
            await self.remove_from_group(conn, friends_group(friend_id))
        for friend_id in added:
            await self.add_to_group(conn, friends_group(friend_id))
        await self._send_friend_presences(conn, added)

    # --- beatmap updates and rooms ------------------------------------------------------------

    @hub_method
    async def GetChangesSince(self, conn: Connection, queue_id: int) -> BeatmapUpdates:
        set_ids, last = await beatmaps_db.set_updates_since(
            self.services.db, queue_id, limit=int(self.config["beatmap_updates_batch"])
        )
        return BeatmapUpdates(beatmap_set_ids=set_ids, last_processed_queue_id=last)

    @hub_method
    async def BeginWatchingMultiplayerRoom(self, conn: Connection, room_id: int) -> list[Any]:
        if await rooms_db.get_room(self.services.db, room_id) is None:
            # As osu-server-spectator answers a room it knows nothing of: no statistics (not an
            # error), and nothing to watch.
            return []
        await self.add_to_group(conn, room_group(room_id))
        return await rooms.item_stats(self.app, room_id)

    @hub_method
    async def EndWatchingMultiplayerRoom(self, conn: Connection, room_id: int) -> None:
        await self.remove_from_group(conn, room_group(room_id))
