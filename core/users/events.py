"""User events (recent activity): written when something happens, read by profiles and API v1.

The table, the functions that write each kind of event, and its shapes. Kinds, texts, epic
factors and the parsed details follow ppy/osu-web `app/Models/Event.php` (`generate`, `parse*`)
and `app/Transformers/EventTransformer.php`; osu-web stores only the display text and parses it
back, here the details are stored beside it.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping
from typing import Any

import orjson
import sqlalchemy as sa
from databases import Database

from core.db import as_rows, utcnow
from core.http import time_offset, time_v1
from core.schema import TABLE_ARGS, metadata

Row = Mapping[str, Any]
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Ranks past this make no event (osu-web writes rank events for the top 1000).
RANK_EVENT_LIMIT = 1000
# In display texts (osu-web `beatmaps.mode.*` translations).
RULESET_TITLES = ("osu!", "osu!taiko", "osu!catch", "osu!mania")
RULESET_NAMES = ("osu", "taiko", "fruits", "mania")

user_events = sa.Table(
    "user_events",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column(
        "user_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("type", sa.String(32), nullable=False),
    # The display HTML osu-web stores (API v1 `display_html`).
    sa.Column("text", sa.Text(), nullable=False),
    # JSON of the type's extra fields in the API v2 Event.
    sa.Column("details", sa.Text(), nullable=False),
    sa.Column("beatmap_id", sa.BigInteger(), nullable=True),
    sa.Column("beatmapset_id", sa.BigInteger(), nullable=True),
    sa.Column("epicfactor", sa.SmallInteger(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Index("ix_user_events_user_id_id", "user_id", "id"),
    **TABLE_ARGS,
)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def user_url(user_id: int) -> str:
    return f"/users/{user_id}"


def beatmapset_url(set_id: int) -> str:
    return f"/beatmapsets/{set_id}"


def beatmap_url(beatmap_id: int, ruleset_id: int) -> str:
    return f"/beatmaps/{beatmap_id}?mode={RULESET_NAMES[ruleset_id]}"


def _user_link(user_id: int, username: str) -> str:
    return f"<b><a href='{_e(user_url(user_id))}'>{_e(username)}</a></b>"


def _set_title(beatmapset: Row) -> str:
    return f"{beatmapset['artist']} - {beatmapset['title']}"


def _set_link(beatmapset: Row) -> str:
    url = beatmapset_url(int(beatmapset["id"]))
    return f"<a href='{_e(url)}'>{_e(_set_title(beatmapset))}</a>"


def _set_details(user: Row, beatmapset: Row) -> dict[str, Any]:
    """The `details` of an event about a beatmapset and the user who acted on it."""
    return {
        "beatmapset": {
            "title": _set_title(beatmapset),
            "url": beatmapset_url(int(beatmapset["id"])),
        },
        "user": {"username": user["username"], "url": user_url(int(user["id"]))},
    }


async def _add(
    db: Database,
    user_id: int,
    kind: str,
    text: str,
    details: Mapping[str, Any],
    epicfactor: int,
    *,
    beatmap_id: int | None = None,
    beatmapset_id: int | None = None,
    when: dt.datetime | None = None,
) -> int:
    return int(
        await db.execute(
            user_events.insert().values(
                user_id=user_id,
                type=kind,
                text=text,
                details=orjson.dumps(details).decode(),
                beatmap_id=beatmap_id,
                beatmapset_id=beatmapset_id,
                epicfactor=epicfactor,
                created_at=when or utcnow(),
            )
        )
    )


# --- writers, one per kind ---------------------------------------------------------------------


async def rank(
    db: Database,
    user: Row,
    beatmap: Row,
    beatmapset: Row,
    *,
    ruleset_id: int,
    grade: str,
    position: int,
) -> int:
    """`rank`: the user's new best placed `position` on a beatmap's leaderboard."""
    uid = int(user["id"])
    title = f"{_set_title(beatmapset)} [{beatmap['version']}]"
    url = beatmap_url(int(beatmap["id"]), ruleset_id)
    position_text = f"<b>rank #{position}</b>" if position <= 50 else f"rank #{position}"
    text = (
        f"<img src='/images/{_e(grade)}_small.png'/> {_user_link(uid, user['username'])} "
        f"achieved {position_text} on <a href='{_e(url)}'>{_e(title)}</a> "
        f"({RULESET_TITLES[ruleset_id]})"
    )
    passes = int(beatmap["passcount"] or 0)
    if position == 1 and ruleset_id == 0 and passes > 250:
        epic = 8
    else:
        epic = 4 if position < 10 else 2 if position < 40 else 1
    details = {
        "scoreRank": grade,
        "rank": position,
        "mode": RULESET_NAMES[ruleset_id],
        "beatmap": {"title": title, "url": url},
        "user": {"username": user["username"], "url": user_url(uid)},
    }
    return await _add(
        db,
        uid,
        "rank",
        text,
        details,
        epic,
        beatmap_id=int(beatmap["id"]),
        beatmapset_id=int(beatmapset["id"]),
    )


async def rank_lost(
    db: Database, user: Row, beatmap: Row, beatmapset: Row, *, ruleset_id: int
) -> int:
    """`rankLost`: the user's score is no longer first on the beatmap."""
    uid = int(user["id"])
    title = f"{_set_title(beatmapset)} [{beatmap['version']}]"
    url = beatmap_url(int(beatmap["id"]), ruleset_id)
    text = (
        f"{_user_link(uid, user['username'])} has lost first place on "
        f"<a href='{_e(url)}'>{_e(title)}</a> ({RULESET_TITLES[ruleset_id]})"
    )
    details = {
        "mode": RULESET_NAMES[ruleset_id],
        "beatmap": {"title": title, "url": url},
        "user": {"username": user["username"], "url": user_url(uid)},
    }
    return await _add(
        db,
        uid,
        "rankLost",
        text,
        details,
        1,
        beatmap_id=int(beatmap["id"]),
        beatmapset_id=int(beatmapset["id"]),
    )


async def username_change(db: Database, user_id: int, old: str, new: str) -> int:
    text = (
        f"<b><a href='{_e(user_url(user_id))}'>{_e(old)}</a></b> "
        f"has changed their username to {_e(new)}!"
    )
    details = {"user": {"username": new, "url": user_url(user_id), "previousUsername": old}}
    return await _add(db, user_id, "usernameChange", text, details, 4)


async def beatmapset_upload(db: Database, owner: Row, beatmapset: Row) -> int:
    uid = int(owner["id"])
    text = (
        f"{_user_link(uid, owner['username'])} has submitted a new beatmap "
        f'"{_set_link(beatmapset)}"'
    )
    details = _set_details(owner, beatmapset)
    return await _add(
        db, uid, "beatmapsetUpload", text, details, 4, beatmapset_id=int(beatmapset["id"])
    )


async def beatmapset_update(db: Database, user: Row, beatmapset: Row) -> int:
    """`beatmapsetUpdate`: `user` uploaded a new version of a set (osu-web Event::generate)."""
    uid = int(user["id"])
    text = f'{_user_link(uid, user["username"])} has updated the beatmap "{_set_link(beatmapset)}"'
    details = _set_details(user, beatmapset)
    return await _add(
        db, uid, "beatmapsetUpdate", text, details, 2, beatmapset_id=int(beatmapset["id"])
    )


async def beatmapset_revive(db: Database, user: Row, beatmapset: Row) -> int:
    """`beatmapsetRevive`: `user` brought a graveyarded set back (osu-web Event::generate)."""
    uid = int(user["id"])
    text = (
        f"{_set_link(beatmapset)} has been revived from eternal slumber by "
        f"{_user_link(uid, user['username'])}."
    )
    details = _set_details(user, beatmapset)
    return await _add(
        db, uid, "beatmapsetRevive", text, details, 5, beatmapset_id=int(beatmapset["id"])
    )


# Statuses that make a `beatmapsetApprove` event (osu-web: ranked, approved, qualified, loved).
APPROVALS = {1: "ranked", 2: "approved", 3: "qualified", 4: "loved"}


async def beatmapset_approve(db: Database, owner: Row, beatmapset: Row, status: int) -> int | None:
    """`beatmapsetApprove` for a set that became ranked, approved, qualified or loved."""
    approval = APPROVALS.get(status)
    if approval is None:
        return None
    uid = int(owner["id"])
    text = (
        f"{_set_link(beatmapset)} by {_user_link(uid, owner['username'])} has just been {approval}!"
    )
    details = {"approval": approval, **_set_details(owner, beatmapset)}
    return await _add(
        db, uid, "beatmapsetApprove", text, details, 8, beatmapset_id=int(beatmapset["id"])
    )


# --- reads and shapes --------------------------------------------------------------------------


async def of_user(
    db: Database,
    user_id: int,
    *,
    limit: int,
    offset: int = 0,
    since: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """The user's events, newest first."""
    query = sa.select(user_events).where(user_events.c.user_id == user_id)
    if since is not None:
        query = query.where(user_events.c.created_at >= since)
    rows = await db.fetch_all(query.order_by(user_events.c.id.desc()).limit(limit).offset(offset))
    return [{str(k): r[k] for k in r.keys()} for r in as_rows(rows)]


def shape(row: Row) -> dict[str, Any]:
    """Event (EventTransformer): id, dates and type, then the type's fields."""
    created = time_offset(row["created_at"])
    event: dict[str, Any] = {
        "created_at": created,
        "createdAt": created,
        "id": int(row["id"]),
        "type": row["type"],
    }
    event.update(orjson.loads(row["details"]))
    return event


def v1_shape(row: Row) -> dict[str, str]:
    """API v1 `get_user` event."""
    return {
        "display_html": row["text"],
        "beatmap_id": str(row["beatmap_id"] or 0),
        "beatmapset_id": str(row["beatmapset_id"] or 0),
        "date": time_v1(row["created_at"]) or "",
        "epicfactor": str(row["epicfactor"]),
    }


# --- what happened -----------------------------------------------------------------------------


async def _visible_user(db: Database, user_id: int) -> dict[str, Any] | None:
    from core.users.store import get_user

    row = await get_user(db, user_id)
    if row is None or row["restricted"] or row["is_deleted"]:
        return None
    return row


async def score_events(db: Database, score: Row) -> list[int]:
    """`rank` for a new best in the top 1000 of a ranked, approved or loved beatmap, and
    `rankLost` for whoever it took first place from. Returns the new event ids."""
    from core.beatmaps import store as beatmaps_db
    from core.scores import store as scores_db

    if not score["passed"] or not score.get("preserve", True):
        return []
    beatmap_id, ruleset_id = int(score["beatmap_id"]), int(score["ruleset_id"])
    beatmap = await beatmaps_db.beatmap_by_id(db, beatmap_id)
    if beatmap is None or int(beatmap["status"]) not in scores_db.RANKED_SCORE_STATUSES:
        return []
    entry = await scores_db.user_board_entry(db, beatmap_id, ruleset_id, int(score["user_id"]))
    if entry is None or entry[0] != int(score["id"]) or entry[1] > RANK_EVENT_LIMIT:
        return []
    user = await _visible_user(db, int(score["user_id"]))
    beatmapset = await beatmaps_db.beatmapset_by_id(db, int(beatmap["beatmapset_id"]))
    if user is None or beatmapset is None:
        return []
    position = entry[1]
    made = [
        await rank(
            db,
            user,
            beatmap,
            beatmapset,
            ruleset_id=ruleset_id,
            grade=str(score["rank"]),
            position=position,
        )
    ]
    if position == 1:
        loser = await _previous_first(db, score)
        if loser is not None:
            made.append(await rank_lost(db, loser, beatmap, beatmapset, ruleset_id=ruleset_id))
    return made


async def _previous_first(db: Database, score: Row) -> dict[str, Any] | None:
    """Who led the board before this (now first) score: the runner-up, unless the player's own
    earlier best already beat them."""
    from core.scores import store as scores_db

    beatmap_id, ruleset_id = int(score["beatmap_id"]), int(score["ruleset_id"])
    top = await scores_db.leaderboard(db, beatmap_id, ruleset_id, limit=2)
    if len(top) < 2:
        return None
    runner = await scores_db.get_score(db, top[1])
    if runner is None:
        return None
    s = scores_db.scores
    earlier = await db.fetch_one(
        sa.select(s.c.id, s.c.total_score)
        .where(
            s.c.user_id == int(score["user_id"]),
            s.c.beatmap_id == beatmap_id,
            s.c.ruleset_id == ruleset_id,
            s.c.passed.is_(True),
            s.c.preserve.is_(True),
            s.c.id < int(score["id"]),
        )
        .order_by(s.c.total_score.desc(), s.c.id)
        .limit(1)
    )
    if earlier is not None:
        mine = (-int(earlier["total_score"]), int(earlier["id"]))
        theirs = (-int(runner["total_score"]), int(runner["id"]))
        if mine < theirs:
            return None
    return await _visible_user(db, int(runner["user_id"]))


async def beatmapset_changed(db: Database, before: Row | None, after: Row) -> int | None:
    """`beatmapsetUpload` for a new set, `beatmapsetApprove` when its status became ranked,
    approved, qualified or loved. Only sets owned by an account of this server (imported here)."""
    if after["origin"] != "local" or int(after["user_id"]) <= 0:
        return None
    new_status = int(after["status"])
    if before is not None and int(before["status"]) == new_status:
        return None
    owner = await _visible_user(db, int(after["user_id"]))
    if owner is None:
        return None
    if before is None:
        return await beatmapset_upload(db, owner, after)
    return await beatmapset_approve(db, owner, after, new_status)
