"""Room score statistics for BeginWatchingMultiplayerRoom, and the live MultiplayerRoomScoreSet
relay: room score submissions publish on `core.rooms.store.ROOM_SCORE_CHANNEL` (every worker
hears it), and each worker hands the event to its own watchers of that room."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from loguru import logger

from core.daily_challenge import rotation
from core.lazer import Invocation, encode_frame
from core.lazer.types import (
    DailyChallengeInfo,
    MultiplayerPlaylistItemStats,
    MultiplayerRoomScoreSetEvent,
)
from core.rooms import store as rooms_db
from core.services import services


async def item_stats(app: Any, room_id: int) -> list[MultiplayerPlaylistItemStats]:
    return [
        MultiplayerPlaylistItemStats(**s)
        for s in await rooms_db.item_stats(services(app).db, room_id)
    ]


def deliver_locally(host: Any, group: str, event: dict[str, Any]) -> None:
    """The event to this worker's members of `group` only: every worker got it from the cache
    channel already, so publishing it on the hub bus again would repeat it once per worker."""
    members = host.groups.get(group)
    if not members:
        return
    frame = encode_frame(
        Invocation("MultiplayerRoomScoreSet", [MultiplayerRoomScoreSetEvent(**event)])
    )
    for conn_id in list(members):
        conn = host.connections.get(conn_id)
        if conn is not None:
            conn.send_frame(frame)


async def relay(app: Any, host: Any, group_of: Any) -> None:
    """Run for the worker's lifetime: room score events -> local room watchers."""
    while True:
        try:
            async with services(app).cache.subscribe(rooms_db.ROOM_SCORE_CHANNEL) as subscription:
                async for _, data in subscription:
                    event = orjson.loads(data)
                    deliver_locally(host, group_of(int(event["room_id"])), event)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("metadata room score relay lost ({!r}); resubscribing", exc)
            await asyncio.sleep(1)


async def relay_daily_challenge(app: Any, host: Any) -> None:
    """Run for the worker's lifetime: a new daily challenge room (announced on
    `core.daily_challenge.rotation.CHANNEL` by whichever worker or command made it) ->
    `DailyChallengeUpdated` to every connection of this worker."""
    while True:
        try:
            async with services(app).cache.subscribe(rotation.CHANNEL) as subscription:
                async for _, data in subscription:
                    room_id = orjson.loads(data).get("room_id")
                    info = None if room_id is None else DailyChallengeInfo(room_id=int(room_id))
                    frame = encode_frame(Invocation("DailyChallengeUpdated", [info]))
                    for conn in list(host.connections.values()):
                        conn.send_frame(frame)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("metadata daily challenge relay lost ({!r}); resubscribing", exc)
            await asyncio.sleep(1)
