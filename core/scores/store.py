"""Scores: submission tokens, stored scores (new format), per-user bests, pins.

Tables here, and the SQL that reads and writes them. The submission flow is `core.scores.submit`;
the JSON shapes are `core.scores.views`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from databases import Database

from core.db import as_row, as_rows, utcnow
from core.schema import TABLE_ARGS, metadata

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Row = Mapping[str, Any]

# Beatmap statuses with a leaderboard, with pp, and counted for ranked score (osu-web,
# osu-queue-score-statistics).
LEADERBOARD_STATUSES = (1, 2, 3, 4)
PP_STATUSES = (1, 2)
RANKED_SCORE_STATUSES = (1, 2, 4)

score_tokens = sa.Table(
    "score_tokens",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column(
        "user_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("beatmap_id", sa.BigInteger(), nullable=False),
    sa.Column("ruleset_id", sa.SmallInteger(), nullable=False),
    sa.Column("beatmap_hash", sa.String(32), nullable=True),
    sa.Column("version_hash", sa.String(64), nullable=True),
    sa.Column("playlist_item_id", sa.BigInteger(), nullable=True),
    sa.Column("created_at", sa.DateTime(), nullable=False, index=True),
    # Set once the score of this token is stored: a repeated PUT answers with that score.
    sa.Column("score_id", sa.BigInteger(), nullable=True, unique=True),
    **TABLE_ARGS,
)

scores = sa.Table(
    "scores",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column(
        "user_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("beatmap_id", sa.BigInteger(), nullable=False),
    sa.Column("ruleset_id", sa.SmallInteger(), nullable=False),
    sa.Column("build_id", sa.Integer(), nullable=True),
    sa.Column("passed", sa.Boolean(), nullable=False),
    sa.Column("rank", sa.String(2), nullable=False),
    sa.Column("total_score", sa.BigInteger(), nullable=False),
    sa.Column("total_score_without_mods", sa.BigInteger(), nullable=True),
    sa.Column("classic_total_score", sa.BigInteger(), nullable=False),
    sa.Column("legacy_total_score", sa.BigInteger(), nullable=False),
    sa.Column("legacy_score_id", sa.BigInteger(), nullable=True),
    sa.Column("accuracy", sa.Double(), nullable=False),
    sa.Column("max_combo", sa.Integer(), nullable=False),
    sa.Column("is_perfect_combo", sa.Boolean(), nullable=False),
    sa.Column("legacy_perfect", sa.Boolean(), nullable=False),
    # JSON: Mod objects as sent (validated), and the two statistics maps (zero counts removed).
    sa.Column("mods", sa.Text(), nullable=False),
    sa.Column("statistics", sa.Text(), nullable=False),
    sa.Column("maximum_statistics", sa.Text(), nullable=False),
    # Sorted acronyms ("DT,HD"; "" for no mod) and the stable bitmask: the mod filters use them.
    sa.Column("mods_key", sa.String(255), nullable=False),
    sa.Column("legacy_mods", sa.Integer(), nullable=False),
    sa.Column("pp", sa.Double(), nullable=True),
    sa.Column("preserve", sa.Boolean(), nullable=False),
    sa.Column("ranked", sa.Boolean(), nullable=False),
    sa.Column("processed", sa.Boolean(), nullable=False),
    sa.Column("has_replay", sa.Boolean(), nullable=False),
    sa.Column("replay_views", sa.Integer(), nullable=False),
    sa.Column("started_at", sa.DateTime(), nullable=True),
    sa.Column("ended_at", sa.DateTime(), nullable=False),
    sa.Index("ix_scores_user_recent", "user_id", "ruleset_id", "ended_at"),
    sa.Index("ix_scores_user_pp", "user_id", "ruleset_id", "pp"),
    sa.Index("ix_scores_beatmap", "beatmap_id", "ruleset_id", "total_score"),
    # scores/{ruleset}/{id}: stable-imported scores by their per-ruleset id.
    sa.Index("ix_scores_legacy_id", "ruleset_id", "legacy_score_id"),
    **TABLE_ARGS,
)

# The leaderboard: each user's best passed score per beatmap and ruleset (by total score, ties
# to the earlier score), kept in step with `scores` by the submission transaction.
score_bests = sa.Table(
    "score_bests",
    metadata,
    sa.Column(
        "user_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("beatmap_id", sa.BigInteger(), primary_key=True),
    sa.Column("ruleset_id", sa.SmallInteger(), primary_key=True),
    sa.Column("score_id", sa.BigInteger(), nullable=False, unique=True),
    sa.Column("total_score", sa.BigInteger(), nullable=False),
    sa.Index("ix_score_bests_board", "beatmap_id", "ruleset_id", "total_score", "score_id"),
    **TABLE_ARGS,
)

score_pins = sa.Table(
    "score_pins",
    metadata,
    sa.Column(
        "user_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "score_id",
        sa.BigInteger(),
        sa.ForeignKey("scores.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    sa.Column("ruleset_id", sa.SmallInteger(), nullable=False),
    sa.Column("display_order", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    **TABLE_ARGS,
)

_JSON_FIELDS = ("mods", "statistics", "maximum_statistics")
_BOOL_FIELDS = tuple(c.name for c in scores.c if isinstance(c.type, sa.Boolean))


def decode(row: Row | None) -> dict[str, Any] | None:
    """A score row with its JSON columns decoded and booleans as bool."""
    if row is None:
        return None
    result = {str(k): row[k] for k in row.keys()}
    for name in _JSON_FIELDS:
        value = result.get(name)
        if isinstance(value, str | bytes):
            result[name] = orjson.loads(value)
    for name in _BOOL_FIELDS:
        if name in result:
            result[name] = bool(result[name])
    return result


def _decode_all(rows: Iterable[Row]) -> list[dict[str, Any]]:
    return [r for r in map(decode, rows) if r is not None]


# --- tokens ------------------------------------------------------------------------------------


async def create_token(
    db: Database,
    *,
    user_id: int,
    beatmap_id: int,
    ruleset_id: int,
    beatmap_hash: str | None,
    version_hash: str | None,
    playlist_item_id: int | None = None,
) -> dict[str, Any]:
    now = utcnow()
    values = {
        "user_id": user_id,
        "beatmap_id": beatmap_id,
        "ruleset_id": ruleset_id,
        "beatmap_hash": beatmap_hash,
        "version_hash": version_hash,
        "playlist_item_id": playlist_item_id,
        "created_at": now,
    }
    token_id = await db.execute(score_tokens.insert().values(**values))
    return {"id": int(token_id), **values, "score_id": None}


async def get_token(db: Database, token_id: int, *, for_update: bool = False) -> Row | None:
    query = score_tokens.select().where(score_tokens.c.id == token_id)
    if for_update:
        query = query.with_for_update()
    return as_row(await db.fetch_one(query))


async def attach_token(db: Database, token_id: int, score_id: int) -> bool:
    """Mark the token used by `score_id`; False when another score took it first."""
    result = await db.execute(
        score_tokens.update()
        .where(score_tokens.c.id == token_id, score_tokens.c.score_id.is_(None))
        .values(score_id=score_id)
    )
    return bool(result)


async def delete_unused_tokens_before(db: Database, before: dt.datetime) -> int:
    """Tokens no score was submitted with, issued before `before`; returns how many went.

    A used token stays: it ties its score to the play's spectator frames and replay."""
    return int(
        await db.execute(
            score_tokens.delete().where(
                score_tokens.c.created_at < before, score_tokens.c.score_id.is_(None)
            )
        )
    )


# --- scores ------------------------------------------------------------------------------------


async def insert_score(db: Database, values: Mapping[str, Any]) -> int:
    stored = dict(values)
    for name in _JSON_FIELDS:
        stored[name] = orjson.dumps(stored[name]).decode()
    return int(await db.execute(scores.insert().values(**stored)))


async def get_score(db: Database, score_id: int) -> dict[str, Any] | None:
    return decode(as_row(await db.fetch_one(scores.select().where(scores.c.id == score_id))))


async def get_scores(db: Database, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    rows = as_rows(await db.fetch_all(scores.select().where(scores.c.id.in_(list(set(ids))))))
    return {r["id"]: r for r in _decode_all(rows)}


async def count_play(db: Database, user_id: int, beatmap_id: int, passed: bool) -> None:
    """One play: the user's beatmap play count, then the beatmap's and its set's counters.

    The same as `beatmaps.add_playcount` without a transaction of its own (it runs inside the
    submission's), and touching the shared beatmap rows last so concurrent plays never deadlock.
    """
    from core.beatmaps.store import beatmap_playcounts, beatmaps, beatmapsets

    updated = await db.execute(
        beatmap_playcounts.update()
        .where(
            beatmap_playcounts.c.user_id == user_id,
            beatmap_playcounts.c.beatmap_id == beatmap_id,
        )
        .values(playcount=beatmap_playcounts.c.playcount + 1)
    )
    if not updated:
        await db.execute(
            beatmap_playcounts.insert().values(user_id=user_id, beatmap_id=beatmap_id, playcount=1)
        )
    set_id = await db.fetch_val(
        sa.select(beatmaps.c.beatmapset_id).where(beatmaps.c.id == beatmap_id)
    )
    await db.execute(
        beatmaps.update()
        .where(beatmaps.c.id == beatmap_id)
        .values(
            playcount=beatmaps.c.playcount + 1,
            passcount=beatmaps.c.passcount + (1 if passed else 0),
        )
    )
    if set_id is not None:
        await db.execute(
            beatmapsets.update()
            .where(beatmapsets.c.id == set_id)
            .values(play_count=beatmapsets.c.play_count + 1)
        )


async def set_worth(db: Database, score_id: int, pp: float | None, ranked: bool) -> None:
    """A score's pp and whether it counts for ranked score, after a recalc or status change."""
    await db.execute(scores.update().where(scores.c.id == score_id).values(pp=pp, ranked=ranked))


# --- leaderboards ------------------------------------------------------------------------------


def _board_filters(
    query: Any, *, country: str | None, user_ids: Sequence[int] | None, board: Any
) -> Any:
    from core.users.store import users

    # Restricted and banned players leave every leaderboard (osu-web hides restricted users'
    # scores from everyone else).
    query = query.where(
        board.c.user_id.not_in(sa.select(users.c.id).where(users.c.restricted.is_(True)))
    )
    if country is not None:
        query = query.where(
            board.c.user_id.in_(sa.select(users.c.id).where(users.c.country_code == country))
        )
    if user_ids is not None:
        query = query.where(board.c.user_id.in_(list(user_ids)))
    return query


def _mods_board(beatmap_id: int, ruleset_id: int, mods_filter: Any) -> Any:
    """Best passed score per user among scores with exactly these mods (a derived table)."""
    ranked = (
        sa.select(
            scores.c.id.label("score_id"),
            scores.c.user_id,
            scores.c.total_score,
            sa.func.row_number()
            .over(
                partition_by=scores.c.user_id,
                order_by=(scores.c.total_score.desc(), scores.c.id),
            )
            .label("n"),
        )
        .where(
            scores.c.beatmap_id == beatmap_id,
            scores.c.ruleset_id == ruleset_id,
            scores.c.passed.is_(True),
            scores.c.preserve.is_(True),
            mods_filter,
        )
        .subquery("ranked")
    )
    return (
        sa.select(ranked.c.score_id, ranked.c.user_id, ranked.c.total_score)
        .where(ranked.c.n == 1)
        .subquery("board")
    )


def _board(
    beatmap_id: int, ruleset_id: int, mods_key: str | None, legacy_mods: int | None = None
) -> tuple[Any, list[Any]]:
    if legacy_mods is not None:
        return _mods_board(beatmap_id, ruleset_id, scores.c.legacy_mods == legacy_mods), []
    if mods_key is None:
        board = score_bests
        conditions = [board.c.beatmap_id == beatmap_id, board.c.ruleset_id == ruleset_id]
        return board, conditions
    return _mods_board(beatmap_id, ruleset_id, scores.c.mods_key == mods_key), []


async def leaderboard(
    db: Database,
    beatmap_id: int,
    ruleset_id: int,
    *,
    limit: int = 50,
    mods_key: str | None = None,
    country: str | None = None,
    user_ids: Sequence[int] | None = None,
    legacy_mods: int | None = None,
) -> list[int]:
    """Score ids of the leaderboard, best first: one per user, total score desc, then older.

    `mods_key` keeps scores with exactly those mods (`""`: no mod); `legacy_mods` those with
    exactly that stable bitmask (API v1).
    """
    board, conditions = _board(beatmap_id, ruleset_id, mods_key, legacy_mods)
    query = sa.select(board.c.score_id).where(*conditions)
    query = _board_filters(query, country=country, user_ids=user_ids, board=board)
    query = query.order_by(board.c.total_score.desc(), board.c.score_id).limit(limit)
    return [int(r[0]) for r in await db.fetch_all(query)]


async def leaderboard_count(
    db: Database,
    beatmap_id: int,
    ruleset_id: int,
    *,
    mods_key: str | None = None,
    country: str | None = None,
    user_ids: Sequence[int] | None = None,
) -> int:
    board, conditions = _board(beatmap_id, ruleset_id, mods_key)
    query = sa.select(sa.func.count()).select_from(board).where(*conditions)
    query = _board_filters(query, country=country, user_ids=user_ids, board=board)
    return int(await db.fetch_val(query) or 0)


async def user_board_entry(
    db: Database,
    beatmap_id: int,
    ruleset_id: int,
    user_id: int,
    *,
    mods_key: str | None = None,
    country: str | None = None,
    user_ids: Sequence[int] | None = None,
) -> tuple[int, int] | None:
    """(score id, 1-based position) of the user's entry on the same leaderboard, or None."""
    board, conditions = _board(beatmap_id, ruleset_id, mods_key)
    own = await db.fetch_one(
        sa.select(board.c.score_id, board.c.total_score).where(
            *conditions, board.c.user_id == user_id
        )
    )
    if own is None:
        return None
    score_id, total = int(own[0]), int(own[1])
    ahead = (
        sa.select(sa.func.count())
        .select_from(board)
        .where(
            *conditions,
            sa.or_(
                board.c.total_score > total,
                sa.and_(board.c.total_score == total, board.c.score_id < score_id),
            ),
        )
    )
    ahead = _board_filters(ahead, country=country, user_ids=user_ids, board=board)
    return score_id, int(await db.fetch_val(ahead) or 0) + 1


async def position(db: Database, score: Row) -> int | None:
    """1-based global leaderboard position of a score if it is its user's best, else None."""
    entry = await user_board_entry(db, score["beatmap_id"], score["ruleset_id"], score["user_id"])
    if entry is None or entry[0] != score["id"]:
        return None
    return entry[1]


async def best_of(db: Database, user_id: int, beatmap_id: int, ruleset_id: int) -> Row | None:
    return as_row(
        await db.fetch_one(
            score_bests.select().where(
                score_bests.c.user_id == user_id,
                score_bests.c.beatmap_id == beatmap_id,
                score_bests.c.ruleset_id == ruleset_id,
            )
        )
    )


async def update_best(db: Database, score: Row) -> bool:
    """Put a passed score on the leaderboard if it beats the user's entry; True if it did."""
    current = await best_of(db, score["user_id"], score["beatmap_id"], score["ruleset_id"])
    if current is None:
        await db.execute(
            score_bests.insert().values(
                user_id=score["user_id"],
                beatmap_id=score["beatmap_id"],
                ruleset_id=score["ruleset_id"],
                score_id=score["id"],
                total_score=score["total_score"],
            )
        )
        return True
    if score["total_score"] <= current["total_score"]:
        return False
    await db.execute(
        score_bests.update()
        .where(
            score_bests.c.user_id == score["user_id"],
            score_bests.c.beatmap_id == score["beatmap_id"],
            score_bests.c.ruleset_id == score["ruleset_id"],
        )
        .values(score_id=score["id"], total_score=score["total_score"])
    )
    return True


async def rebuild_bests(db: Database, user_id: int, ruleset_id: int) -> None:
    """Recompute a user's leaderboard entries in a ruleset from their scores (recalc)."""
    await db.execute(
        score_bests.delete().where(
            score_bests.c.user_id == user_id, score_bests.c.ruleset_id == ruleset_id
        )
    )
    rows = as_rows(
        await db.fetch_all(
            sa.select(scores.c.id, scores.c.beatmap_id, scores.c.total_score)
            .where(
                scores.c.user_id == user_id,
                scores.c.ruleset_id == ruleset_id,
                scores.c.passed.is_(True),
                scores.c.preserve.is_(True),
            )
            .order_by(scores.c.total_score.desc(), scores.c.id)
        )
    )
    best: dict[int, Row] = {}
    for row in rows:
        best.setdefault(row["beatmap_id"], row)
    if best:
        await db.execute_many(
            score_bests.insert(),
            [
                {
                    "user_id": user_id,
                    "beatmap_id": beatmap_id,
                    "ruleset_id": ruleset_id,
                    "score_id": row["id"],
                    "total_score": row["total_score"],
                }
                for beatmap_id, row in best.items()
            ],
        )


# --- per-user lists ----------------------------------------------------------------------------


async def pp_scores(db: Database, user_id: int, ruleset_id: int, limit: int = 1000) -> list[Row]:
    """The rows the user pp total is built from, pp desc (osu-queue-score-statistics
    Helpers/UserTotalPerformanceAggregateHelper.cs)."""
    query = (
        sa.select(scores.c.id, scores.c.beatmap_id, scores.c.pp, scores.c.accuracy)
        .where(
            scores.c.user_id == user_id,
            scores.c.ruleset_id == ruleset_id,
            scores.c.pp.is_not(None),
            scores.c.preserve.is_(True),
            scores.c.ranked.is_(True),
        )
        .order_by(scores.c.pp.desc(), scores.c.id)
        .limit(limit)
    )
    return as_rows(await db.fetch_all(query))


def best_per_beatmap(rows: Iterable[Row]) -> list[Row]:
    """Keep the first (highest pp) row per beatmap, order kept."""
    seen: set[int] = set()
    kept = []
    for row in rows:
        if row["beatmap_id"] not in seen:
            seen.add(row["beatmap_id"])
            kept.append(row)
    return kept


async def best_ids(db: Database, user_id: int, ruleset_id: int, limit: int = 200) -> list[int]:
    """`/users/{id}/scores/best`: one score per beatmap, pp desc, at most 200."""
    return [int(r["id"]) for r in best_per_beatmap(await pp_scores(db, user_id, ruleset_id))][
        :limit
    ]


async def recent_ids(
    db: Database,
    user_id: int,
    ruleset_id: int,
    *,
    since: dt.datetime,
    include_fails: bool,
    limit: int,
    offset: int,
) -> list[int]:
    query = sa.select(scores.c.id).where(
        scores.c.user_id == user_id,
        scores.c.ruleset_id == ruleset_id,
        scores.c.ended_at >= since,
    )
    if not include_fails:
        query = query.where(scores.c.passed.is_(True))
    query = query.order_by(scores.c.ended_at.desc(), scores.c.id.desc()).limit(limit).offset(offset)
    return [int(r[0]) for r in await db.fetch_all(query)]


async def first_place_ids(
    db: Database, user_id: int, ruleset_id: int, statuses: Sequence[int], limit: int, offset: int
) -> list[int]:
    """Scores that lead their beatmap's leaderboard, newest first."""
    from core.beatmaps.store import beatmaps

    other = score_bests.alias("other")
    better = (
        sa.select(other.c.user_id)
        .where(
            other.c.beatmap_id == score_bests.c.beatmap_id,
            other.c.ruleset_id == score_bests.c.ruleset_id,
            sa.or_(
                other.c.total_score > score_bests.c.total_score,
                sa.and_(
                    other.c.total_score == score_bests.c.total_score,
                    other.c.score_id < score_bests.c.score_id,
                ),
            ),
        )
        .exists()
    )
    query = (
        sa.select(score_bests.c.score_id)
        .select_from(score_bests.join(beatmaps, beatmaps.c.id == score_bests.c.beatmap_id))
        .where(
            score_bests.c.user_id == user_id,
            score_bests.c.ruleset_id == ruleset_id,
            beatmaps.c.status.in_(list(statuses)),
            ~better,
        )
        .order_by(score_bests.c.score_id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [int(r[0]) for r in await db.fetch_all(query)]


async def user_beatmap_ids(
    db: Database, user_id: int, beatmap_id: int, ruleset_id: int
) -> list[int]:
    """All the user's stored scores on a beatmap (total score desc)."""
    query = (
        sa.select(scores.c.id)
        .where(
            scores.c.user_id == user_id,
            scores.c.beatmap_id == beatmap_id,
            scores.c.ruleset_id == ruleset_id,
            scores.c.preserve.is_(True),
        )
        .order_by(scores.c.total_score.desc(), scores.c.id)
        .limit(100)
    )
    return [int(r[0]) for r in await db.fetch_all(query)]


async def user_boards(db: Database, user_id: int) -> list[tuple[int, int]]:
    """(beatmap id, ruleset id) of every leaderboard the user has an entry on."""
    rows = await db.fetch_all(
        sa.select(score_bests.c.beatmap_id, score_bests.c.ruleset_id).where(
            score_bests.c.user_id == user_id
        )
    )
    return [(int(r[0]), int(r[1])) for r in rows]


async def user_score_keys(
    db: Database, user_id: int, ruleset_id: int | None = None
) -> list[tuple[int, int, int]]:
    """(score id, beatmap id, ruleset id) of every stored score of the user."""
    query = sa.select(scores.c.id, scores.c.beatmap_id, scores.c.ruleset_id).where(
        scores.c.user_id == user_id
    )
    if ruleset_id is not None:
        query = query.where(scores.c.ruleset_id == ruleset_id)
    rows = await db.fetch_all(query.order_by(scores.c.id))
    return [(int(r[0]), int(r[1]), int(r[2])) for r in rows]


async def delete_scores(db: Database, score_ids: Sequence[int]) -> int:
    """Remove scores and what hangs on them (pins, leaderboard entries, room scores, their
    tokens); the caller recomputes the statistics. Returns how many went."""
    from core.rooms.store import room_scores

    ids = list(score_ids)
    if not ids:
        return 0
    deleted = 0
    async with db.transaction():
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            await db.execute(score_pins.delete().where(score_pins.c.score_id.in_(chunk)))
            await db.execute(score_bests.delete().where(score_bests.c.score_id.in_(chunk)))
            await db.execute(room_scores.delete().where(room_scores.c.score_id.in_(chunk)))
            # The token goes too: a retried submission finds no token rather than a score
            # that is gone.
            await db.execute(score_tokens.delete().where(score_tokens.c.score_id.in_(chunk)))
            deleted += int(await db.execute(scores.delete().where(scores.c.id.in_(chunk))) or 0)
    return deleted


async def user_rulesets(db: Database, user_id: int) -> list[int]:
    rows = await db.fetch_all(
        sa.select(scores.c.ruleset_id).where(scores.c.user_id == user_id).distinct()
    )
    return sorted(int(r[0]) for r in rows)


async def user_scores(db: Database, user_id: int, ruleset_id: int) -> list[dict[str, Any]]:
    """Every score of a user in a ruleset, oldest first (recalc)."""
    rows = as_rows(
        await db.fetch_all(
            scores.select()
            .where(scores.c.user_id == user_id, scores.c.ruleset_id == ruleset_id)
            .order_by(scores.c.id)
        )
    )
    return _decode_all(rows)


async def scored_users(db: Database, ruleset_id: int | None = None) -> list[int]:
    query = sa.select(scores.c.user_id).distinct()
    if ruleset_id is not None:
        query = query.where(scores.c.ruleset_id == ruleset_id)
    return sorted(int(r[0]) for r in await db.fetch_all(query))


# --- pins --------------------------------------------------------------------------------------


async def pinned_ids(
    db: Database, user_id: int, ruleset_id: int, limit: int, offset: int
) -> list[int]:
    query = (
        sa.select(score_pins.c.score_id)
        .where(score_pins.c.user_id == user_id, score_pins.c.ruleset_id == ruleset_id)
        .order_by(score_pins.c.display_order, score_pins.c.score_id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [int(r[0]) for r in await db.fetch_all(query)]


async def all_pinned_ids(db: Database, user_id: int) -> list[int]:
    """Every score the user has pinned, of every ruleset."""
    query = sa.select(score_pins.c.score_id).where(score_pins.c.user_id == user_id)
    return [int(r[0]) for r in await db.fetch_all(query)]


async def pinned_among(db: Database, user_id: int, score_ids: Sequence[int]) -> set[int]:
    if not score_ids:
        return set()
    rows = await db.fetch_all(
        sa.select(score_pins.c.score_id).where(
            score_pins.c.user_id == user_id, score_pins.c.score_id.in_(list(score_ids))
        )
    )
    return {int(r[0]) for r in rows}


async def pin(db: Database, user_id: int, score: Row) -> None:
    """Pin at the top of the user's list; pinning a pinned score changes nothing."""
    async with db.transaction():
        present = await db.fetch_val(
            sa.select(score_pins.c.score_id).where(
                score_pins.c.user_id == user_id, score_pins.c.score_id == score["id"]
            )
        )
        if present is not None:
            return
        lowest = await db.fetch_val(
            sa.select(sa.func.min(score_pins.c.display_order)).where(
                score_pins.c.user_id == user_id, score_pins.c.ruleset_id == score["ruleset_id"]
            )
        )
        await db.execute(
            score_pins.insert().values(
                user_id=user_id,
                score_id=score["id"],
                ruleset_id=score["ruleset_id"],
                display_order=(int(lowest) - 1) if lowest is not None else 0,
                created_at=utcnow(),
            )
        )


async def unpin(db: Database, user_id: int, score_id: int) -> None:
    await db.execute(
        score_pins.delete().where(
            score_pins.c.user_id == user_id, score_pins.c.score_id == score_id
        )
    )


async def reorder_pin(
    db: Database, user_id: int, score_id: int, *, after: int | None, before: int | None
) -> bool:
    """Move a pin next to another of the same ruleset; False when either is not pinned."""
    async with db.transaction():
        rows = await db.fetch_all(
            sa.select(score_pins.c.score_id, score_pins.c.ruleset_id)
            .where(score_pins.c.user_id == user_id)
            .order_by(score_pins.c.display_order, score_pins.c.score_id.desc())
        )
        rulesets = {int(r[0]): int(r[1]) for r in rows}
        anchor = after if after is not None else before
        if score_id not in rulesets or anchor not in rulesets:
            return False
        if rulesets[anchor] != rulesets[score_id]:
            return False
        order = [sid for sid in rulesets if rulesets[sid] == rulesets[score_id] and sid != score_id]
        index = order.index(anchor) + (1 if after is not None else 0)
        order.insert(index, score_id)
        for position_, sid in enumerate(order):
            await db.execute(
                score_pins.update()
                .where(score_pins.c.user_id == user_id, score_pins.c.score_id == sid)
                .values(display_order=position_)
            )
    return True


async def pin_counts(db: Database, user_id: int, ruleset_id: int) -> int:
    return int(
        await db.fetch_val(
            sa.select(sa.func.count())
            .select_from(score_pins)
            .where(score_pins.c.user_id == user_id, score_pins.c.ruleset_id == ruleset_id)
        )
        or 0
    )


# --- replays -----------------------------------------------------------------------------------


def replay_key(score_id: int) -> str:
    """Storage key of a score's `.osr` (built by the spectator hub, served by scores/download)."""
    return f"replays/{score_id}.osr"


async def set_has_replay(db: Database, score_id: int, has_replay: bool = True) -> None:
    await db.execute(scores.update().where(scores.c.id == score_id).values(has_replay=has_replay))


async def token_of_score(db: Database, score_id: int) -> int | None:
    """The score token a score was submitted with, if it still exists."""
    token_id = await db.fetch_val(
        sa.select(score_tokens.c.id).where(score_tokens.c.score_id == score_id)
    )
    return None if token_id is None else int(token_id)


# --- the recent scores feed and legacy ids -----------------------------------------------------


async def max_score_id(db: Database) -> int:
    return int(await db.fetch_val(sa.select(sa.func.max(scores.c.id))) or 0)


async def feed(
    db: Database, *, ruleset_id: int | None, after_id: int | None, limit: int
) -> list[dict[str, Any]]:
    """`GET /scores` (osu-web ScoresController::index): passed, ranked scores of visible users,
    oldest first; the newest `limit` without a cursor, else the `limit` after `after_id`. The
    list stops before the first unprocessed score, so a tracker never skips one."""
    from core.users.store import users

    visible = sa.select(users.c.id).where(
        users.c.restricted.is_(False), users.c.is_deleted.is_(False)
    )
    query = scores.select().where(
        scores.c.passed.is_(True), scores.c.ranked.is_(True), scores.c.user_id.in_(visible)
    )
    if ruleset_id is not None:
        query = query.where(scores.c.ruleset_id == ruleset_id)
    if after_id is None:
        rows = list(reversed(await db.fetch_all(query.order_by(scores.c.id.desc()).limit(limit))))
    else:
        rows = await db.fetch_all(
            query.where(scores.c.id > after_id).order_by(scores.c.id).limit(limit)
        )
    found = _decode_all(as_rows(rows))
    for index, score in enumerate(found):
        if not score["processed"]:
            return found[:index]
    return found


async def by_legacy_id(db: Database, ruleset_id: int, legacy_id: int) -> dict[str, Any] | None:
    """The score imported from stable with this per-ruleset id (osu-web ScoresController::show)."""
    return decode(
        as_row(
            await db.fetch_one(
                scores.select().where(
                    scores.c.ruleset_id == ruleset_id, scores.c.legacy_score_id == legacy_id
                )
            )
        )
    )


async def count_since(db: Database, since: dt.datetime) -> int:
    """Scores set since `since` (passed or not)."""
    query = sa.select(sa.func.count()).select_from(scores).where(scores.c.ended_at >= since)
    return int(await db.fetch_val(query) or 0)
