"""The playlist queue (ppy/osu-server-spectator Hubs/Multiplayer/MultiplayerQueue.cs:
Add/Edit/RemovePlaylistItem, item completion, queue modes). Items are rows of
`room_playlist_items` (for their ids and the HTTP API) and entries of the room state (for the
hub)."""

from __future__ import annotations

import copy
import datetime as dt
from collections import Counter
from typing import Any

from core.lazer.types import (
    BeatmapAvailability,
    DownloadState,
    MultiplayerPlaylistItem,
    MultiplayerRoomState,
    MultiplayerUserState,
    QueueMode,
)
from core.rooms import listing
from core.rooms import store as rooms_db
from core.rooms.items import invalid_user_mods, mod_dicts
from core.services import services
from plugins.multiplayer import countdowns
from plugins.multiplayer.context import Ctx, invalid, not_host

HOST_ITEM_LIMIT = 50
USER_ITEM_LIMIT = 3


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _naive(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else value.astimezone(dt.UTC).replace(tzinfo=None)


def db_values(item: MultiplayerPlaylistItem) -> dict[str, Any]:
    return {
        "owner_id": item.owner_id,
        "beatmap_id": item.beatmap_id,
        "ruleset_id": item.ruleset_id,
        "required_mods": mod_dicts(item.required_mods),
        "allowed_mods": mod_dicts(item.allowed_mods),
        "freestyle": item.freestyle,
        "expired": item.expired,
        "playlist_order": item.playlist_order,
        "played_at": _naive(item.played_at),
    }


async def insert(ctx: Ctx, item: MultiplayerPlaylistItem) -> None:
    """Store a new item; it gets its id from the database."""
    item.id = await rooms_db.insert_item(ctx.db, ctx.state.id, db_values(item))
    await listing.changed(services(ctx.app))


def ordered(ctx: Ctx) -> list[MultiplayerPlaylistItem]:
    """Items not yet played, in queue order."""
    pending = [i for i in ctx.room.playlist if not i.expired]
    if ctx.room.settings.queue_mode != QueueMode.ALL_PLAYERS_ROUND_ROBIN:
        return sorted(pending, key=lambda i: i.id)
    # Round robin: each owner's k-th pending item ranks k plus the items they already played,
    # so owners take turns and whoever has played least goes first.
    played = Counter(i.owner_id for i in ctx.room.playlist if i.expired)
    taken: Counter[int] = Counter()
    ranked = []
    for item in sorted(pending, key=lambda i: i.id):
        ranked.append((played[item.owner_id] + taken[item.owner_id], item.id, item))
        taken[item.owner_id] += 1
    return [item for _, _, item in sorted(ranked, key=lambda r: (r[0], r[1]))]


async def reorder(ctx: Ctx, announce: bool = True, skip: int | None = None) -> None:
    """Recompute PlaylistOrder; moved items are stored and announced (except `skip`, which the
    caller announces itself)."""
    for order, item in enumerate(ordered(ctx)):
        if item.playlist_order != order:
            item.playlist_order = order
            await rooms_db.update_item(ctx.db, item.id, playlist_order=order)
            await listing.changed(services(ctx.app))
            if announce and item.id != skip:
                ctx.out.room("PlaylistItemChanged", item)


def next_item(ctx: Ctx) -> MultiplayerPlaylistItem | None:
    pending = ordered(ctx)
    if pending:
        return min(pending, key=lambda i: (i.playlist_order, i.id))
    played = [i for i in ctx.room.playlist if i.expired]
    if not played:
        return None
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    return max(played, key=lambda i: (i.played_at or epoch, i.id))


def unready_all(ctx: Ctx) -> None:
    """Settings or the item changed: Ready users go back to Idle, match-start countdowns stop."""
    for user in ctx.room.users:
        if user.state == MultiplayerUserState.READY:
            ctx.set_state(user, MultiplayerUserState.IDLE)
    countdowns.stop_kind(ctx, countdowns.MATCH_START)


def fit_users_to_item(ctx: Ctx) -> None:
    """Drop user mods and styles the current item no longer allows."""
    item = ctx.state.current_item
    if item is None:
        return
    for user in ctx.room.users:
        if not item.freestyle and (user.beatmap_id is not None or user.ruleset_id is not None):
            user.beatmap_id = user.ruleset_id = None
            ctx.out.room("UserStyleChanged", user.user_id, None, None)
        if user.mods:
            ruleset = user.ruleset_id if item.freestyle and user.ruleset_id is not None else None
            bad = set(
                invalid_user_mods(
                    user.mods,
                    item.required_mods,
                    item.allowed_mods,
                    item.ruleset_id if ruleset is None else ruleset,
                    item.freestyle,
                )
            )
            if bad:
                user.mods = [m for m in user.mods if m.acronym.upper() not in bad]
                ctx.out.room("UserModsChanged", user.user_id, user.mods)


def update_current(ctx: Ctx) -> None:
    """Point the room at the next item if it changed (SettingsChanged and its consequences)."""
    chosen = next_item(ctx)
    if chosen is None or chosen.id == ctx.room.settings.playlist_item_id:
        return
    ctx.room.settings.playlist_item_id = chosen.id
    unready_all(ctx)
    for user in ctx.room.users:
        if user.beatmap_availability.state != DownloadState.UNKNOWN:
            user.beatmap_availability = BeatmapAvailability()
            ctx.out.room("UserBeatmapAvailabilityChanged", user.user_id, user.beatmap_availability)
    fit_users_to_item(ctx)
    ctx.out.room("SettingsChanged", ctx.room.settings)


async def complete_current(ctx: Ctx) -> None:
    """The current item was played (or its match aborted): expire it and move on."""
    item = ctx.state.current_item
    if item is None:
        return
    if not item.expired:
        item.expired = True
        item.played_at = _now()
        await rooms_db.update_item(ctx.db, item.id, expired=True, played_at=_naive(item.played_at))
        await listing.changed(services(ctx.app))
        ctx.out.room("PlaylistItemChanged", item)
    await reorder(ctx)
    if ctx.room.settings.queue_mode == QueueMode.HOST_ONLY and all(
        i.expired for i in ctx.room.playlist
    ):
        again = copy.deepcopy(item)
        again.expired = False
        again.played_at = None
        again.playlist_order = 0
        if ctx.room.host is not None:
            again.owner_id = ctx.room.host.user_id
        await insert(ctx, again)
        ctx.room.playlist.append(again)
        await reorder(ctx, skip=again.id)
        ctx.out.room("PlaylistItemAdded", again)
    update_current(ctx)


def _own_pending(ctx: Ctx, user_id: int) -> int:
    return sum(1 for i in ctx.room.playlist if i.owner_id == user_id and not i.expired)


async def add(ctx: Ctx, user_id: int, item: MultiplayerPlaylistItem) -> None:
    """`item` is already validated (beatmap, checksum, ruleset, mods)."""
    is_host = ctx.state.is_host(user_id)
    if ctx.room.settings.queue_mode == QueueMode.HOST_ONLY and not is_host:
        raise not_host()
    limit = HOST_ITEM_LIMIT if is_host else USER_ITEM_LIMIT
    if _own_pending(ctx, user_id) >= limit:
        raise invalid(f"Can't enqueue more than {limit} items at once.")
    item.owner_id = user_id
    item.expired = False
    item.played_at = None
    item.playlist_order = 0
    await insert(ctx, item)
    ctx.room.playlist.append(item)
    await reorder(ctx, skip=item.id)
    ctx.out.room("PlaylistItemAdded", item)
    current = ctx.state.current_item
    if current is None or current.expired:
        update_current(ctx)
    countdowns.update_auto_start(ctx)


def _editable(ctx: Ctx, user_id: int, item_id: int, verb: str) -> MultiplayerPlaylistItem:
    existing = ctx.state.item(item_id)
    if existing is None:
        raise invalid(f"Attempted to {verb} an item that doesn't exist.")
    if existing.owner_id != user_id and not ctx.state.is_host(user_id):
        raise invalid(f"Attempted to {verb} an item which is not owned by the user.")
    if existing.expired or existing.played_at is not None:
        raise invalid(f"Attempted to {verb} an item which has already been played.")
    if (
        existing.id == ctx.room.settings.playlist_item_id
        and ctx.room.state != MultiplayerRoomState.OPEN
    ):
        raise invalid(f"Attempted to {verb} the current item while a match is in progress.")
    return existing


async def edit(ctx: Ctx, user_id: int, item: MultiplayerPlaylistItem) -> None:
    existing = _editable(ctx, user_id, item.id, "change")
    existing.beatmap_id = item.beatmap_id
    existing.beatmap_checksum = item.beatmap_checksum
    existing.ruleset_id = item.ruleset_id
    existing.required_mods = item.required_mods
    existing.allowed_mods = item.allowed_mods
    existing.freestyle = item.freestyle
    existing.star_rating = item.star_rating
    values = db_values(existing)
    for name in ("owner_id", "expired", "playlist_order", "played_at"):
        values.pop(name)
    await rooms_db.update_item(ctx.db, existing.id, **values)
    await listing.changed(services(ctx.app))
    ctx.out.room("PlaylistItemChanged", existing)
    if existing.id == ctx.room.settings.playlist_item_id:
        unready_all(ctx)
        fit_users_to_item(ctx)


async def remove(ctx: Ctx, user_id: int, item_id: int) -> None:
    existing = _editable(ctx, user_id, item_id, "remove")
    if len(ctx.room.playlist) == 1:
        raise invalid("The only item in the room cannot be removed.")
    ctx.room.playlist = [i for i in ctx.room.playlist if i.id != item_id]
    await rooms_db.delete_item(ctx.db, item_id)
    await listing.changed(services(ctx.app))
    # SettingsChanged first: PlaylistItemId must always name an item the client still has.
    if ctx.room.settings.playlist_item_id == item_id:
        update_current(ctx)
    ctx.out.room("PlaylistItemRemoved", item_id)
    del existing
    await reorder(ctx)
