"""Playlist item rules shared by the multiplayer hub and the playlists API: the beatmap must exist
(with the checksum the client has), the ruleset must suit it, and mods must be valid for
multiplayer (ppy/osu-server-spectator Hubs/Multiplayer/MultiplayerQueue.cs and
MultiplayerHub.cs: AddPlaylistItem, ChangeUserMods)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from starlette.applications import Starlette

from core import mods as mods_domain
from core.beatmaps import resolve
from core.scores import scoring

Row = Mapping[str, Any]
MAX_RULESET = 3
# Mods lazer marks not ValidForMultiplayer (autoplay and the like, adaptive speed).
NOT_MULTIPLAYER = frozenset({"AT", "CN", "AS", "TD"})
# ...and not ValidForMultiplayerAsFreeMod: rate changes must be the same for everyone.
NOT_FREE = NOT_MULTIPLAYER | {"DT", "NC", "HT", "DC", "WU", "WD"}


class InvalidItem(ValueError):
    """A playlist item or mod selection the server refuses; `str()` is the client's message."""


def mod_dicts(mods: Iterable[Any]) -> list[dict[str, Any]]:
    """APIMod objects (or Mod dicts) as JSON-ready `{acronym, settings?}` dicts."""
    result = []
    for mod in mods:
        acronym = mod["acronym"] if isinstance(mod, Mapping) else mod.acronym
        settings = (mod.get("settings") if isinstance(mod, Mapping) else mod.settings) or {}
        out: dict[str, Any] = {"acronym": acronym}
        if settings:
            out["settings"] = {k: _plain(v) for k, v in settings.items()}
        result.append(out)
    return result


def _plain(value: Any) -> Any:
    # The codec's marker types (Float32, Int64, ...) are float/int subclasses orjson refuses.
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


def ruleset_name(ruleset_id: int) -> str:
    return scoring.ruleset_name(ruleset_id)


def check_ruleset(beatmap: Row, ruleset_id: int) -> None:
    if not 0 <= ruleset_id <= MAX_RULESET:
        raise InvalidItem("Attempted to select an unsupported ruleset.")
    # Only osu! beatmaps convert to the other rulesets.
    if int(beatmap["mode"]) != 0 and int(beatmap["mode"]) != ruleset_id:
        raise InvalidItem("Attempted to select a ruleset the beatmap cannot be played in.")


def check_mods(
    required: Sequence[Any], allowed: Sequence[Any], ruleset_id: int, freestyle: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Validated (required, allowed) as Mod dicts."""
    ruleset = ruleset_name(ruleset_id)
    try:
        req = mods_domain.normalise(mod_dicts(required), ruleset)
        alw = mods_domain.normalise(mod_dicts(allowed), ruleset)
    except mods_domain.InvalidMods as exc:
        raise InvalidItem(f"Invalid mods were selected for specified ruleset: {exc}") from None
    bad = [m["acronym"] for m in req if m["acronym"] in NOT_MULTIPLAYER]
    bad += [m["acronym"] for m in alw if m["acronym"] in NOT_FREE]
    if bad:
        raise InvalidItem(f"Invalid mods were selected for specified ruleset: {', '.join(bad)}")
    if freestyle and alw:
        raise InvalidItem("Freestyle items cannot have allowed mods.")
    known = mods_domain.ruleset_mods(ruleset)
    required_acronyms = {m["acronym"] for m in req}
    for mod in alw:
        clash = required_acronyms & set(known[mod["acronym"]]["incompatible"])
        if clash or mod["acronym"] in required_acronyms:
            raise InvalidItem(
                f"Allowed mod {mod['acronym']} is incompatible with the required mods."
            )
    return req, alw


async def check_item(
    app: Starlette,
    *,
    beatmap_id: int,
    ruleset_id: int,
    checksum: str | None,
    required: Sequence[Any],
    allowed: Sequence[Any],
    freestyle: bool,
) -> tuple[Row, list[dict[str, Any]], list[dict[str, Any]]]:
    """(beatmap row, required, allowed) for a valid item; InvalidItem otherwise."""
    beatmap = None
    if beatmap_id > 0:
        beatmap = await resolve.find_beatmap(app, beatmap_id=beatmap_id)
    if beatmap is None or beatmap["deleted_at"] is not None:
        raise InvalidItem("Attempted to add a beatmap which does not exist online.")
    if checksum is not None and beatmap["checksum"] and checksum != beatmap["checksum"]:
        raise InvalidItem("Attempted to add a beatmap which has been modified.")
    check_ruleset(beatmap, ruleset_id)
    req, alw = check_mods(required, allowed, ruleset_id, freestyle)
    return beatmap, req, alw


def invalid_user_mods(
    mods: Sequence[Any],
    required: Sequence[Any],
    allowed: Sequence[Any],
    ruleset_id: int,
    freestyle: bool,
) -> list[str]:
    """Acronyms of `mods` a player may not pick on an item (empty when all are fine)."""
    ruleset = ruleset_name(ruleset_id)
    picked = mod_dicts(mods)
    known = mods_domain.ruleset_mods(ruleset)
    allowed_acronyms = {m["acronym"] for m in mod_dicts(allowed)}
    required_acronyms = {m["acronym"] for m in mod_dicts(required)}
    bad: list[str] = []
    seen: set[str] = set()
    for mod in picked:
        acronym = str(mod["acronym"]).upper()
        entry = known.get(acronym)
        ok = entry is not None and entry["user_playable"] and acronym not in seen
        if freestyle:
            ok = ok and acronym not in NOT_FREE
        else:
            ok = ok and acronym in allowed_acronyms
        if ok:
            try:
                mods_domain.normalise([mod], ruleset)
            except mods_domain.InvalidMods:
                ok = False
        if ok and entry is not None:
            others = (required_acronyms | seen) - {acronym}
            ok = not others & set(entry["incompatible"])
        if not ok:
            bad.append(acronym[:10])
        seen.add(acronym)
    return bad


def star_rating(beatmap: Row) -> float:
    return float(beatmap["difficulty_rating"] or 0.0)
