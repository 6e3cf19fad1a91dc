"""Mania key-count variants (4k, 7k): their pp, ranks and rankings.

osu-web keeps a pp per variant (`UserStatistics\\Mania4k`, `Mania7k`; shown by
app/Transformers/UserStatisticsTransformer.php includeVariants, ranked by
app/Http/Controllers/RankingController.php with `variant`). A score counts for the variant of its
beatmap's key count: a mania difficulty's CircleSize, a convert's computed key count
(`beatmap_converts.cs`). The pp is the main rule (`user_statistics.pp_totals`) over the scores of
that key count; it is rebuilt with the main statistics, under the same lock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from databases import Database

from core.beatmaps.store import beatmap_converts, beatmaps
from core.db import as_rows, utcnow
from core.schema import TABLE_ARGS, metadata
from core.scores import store as scores_db
from core.users.store import users

Row = Mapping[str, Any]
MANIA = 3
VARIANTS = {"4k": 4, "7k": 7}

user_statistics_variants = sa.Table(
    "user_statistics_variants",
    metadata,
    sa.Column(
        "user_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("ruleset_id", sa.SmallInteger(), primary_key=True, autoincrement=False),
    sa.Column("variant", sa.String(8), primary_key=True),
    sa.Column("pp", sa.Double(), nullable=False),
    sa.Column("accuracy", sa.Double(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    sa.Index("ix_user_statistics_variants_pp", "ruleset_id", "variant", "pp"),
    **TABLE_ARGS,
)


async def key_counts(db: Database, beatmap_ids: Sequence[int]) -> dict[int, int]:
    """Mania key count by beatmap id: CircleSize of mania difficulties, the stored convert's
    key count for osu! difficulties (absent when the convert was never computed)."""
    ids = list(set(beatmap_ids))
    if not ids:
        return {}
    found: dict[int, int] = {}
    for r in await db.fetch_all(
        sa.select(beatmaps.c.id, beatmaps.c.cs).where(beatmaps.c.id.in_(ids), beatmaps.c.mode == 3)
    ):
        found[int(r[0])] = round(float(r[1]))
    for r in await db.fetch_all(
        sa.select(beatmap_converts.c.beatmap_id, beatmap_converts.c.cs).where(
            beatmap_converts.c.beatmap_id.in_(ids), beatmap_converts.c.ruleset == MANIA
        )
    ):
        found.setdefault(int(r[0]), round(float(r[1])))
    return found


async def refresh(db: Database, user_id: int) -> dict[str, float]:
    """Rebuild the user's variant pp from their pp scores; call inside the statistics lock."""
    from core.users.user_statistics import pp_totals  # one pp rule, kept there

    rows = await scores_db.pp_scores(db, user_id, MANIA)
    keys = await key_counts(db, [int(r["beatmap_id"]) for r in rows])
    result: dict[str, float] = {}
    for name, count in VARIANTS.items():
        mine = [r for r in rows if keys.get(int(r["beatmap_id"])) == count]
        pp, accuracy = pp_totals(mine)
        result[name] = pp
        where = (
            user_statistics_variants.c.user_id == user_id,
            user_statistics_variants.c.ruleset_id == MANIA,
            user_statistics_variants.c.variant == name,
        )
        await db.execute(user_statistics_variants.delete().where(*where))
        if pp > 0:
            await db.execute(
                user_statistics_variants.insert().values(
                    user_id=user_id,
                    ruleset_id=MANIA,
                    variant=name,
                    pp=pp,
                    accuracy=accuracy,
                    updated_at=utcnow(),
                )
            )
    return result


def _visible() -> Any:
    return sa.and_(users.c.restricted.is_(False), users.c.is_deleted.is_(False))


def _joined() -> Any:
    return user_statistics_variants.join(users, users.c.id == user_statistics_variants.c.user_id)


async def _ahead(db: Database, variant: str, pp: float, country: str | None = None) -> int:
    conditions = [
        user_statistics_variants.c.ruleset_id == MANIA,
        user_statistics_variants.c.variant == variant,
        user_statistics_variants.c.pp > pp,
        _visible(),
    ]
    if country is not None:
        conditions.append(users.c.country_code == country)
    value = await db.fetch_val(sa.select(sa.func.count()).select_from(_joined()).where(*conditions))
    return int(value or 0)


async def global_rank(db: Database, variant: str, pp: float) -> int | None:
    return await _ahead(db, variant, pp) + 1 if pp > 0 else None


async def variants_for(db: Database, user_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """`statistics.variants` by user id (osu-web UserStatisticsTransformer includeVariants)."""
    ids = list(set(user_ids))
    stored: dict[tuple[int, str], tuple[float, str]] = {}
    if ids:
        query = (
            sa.select(
                user_statistics_variants.c.user_id,
                user_statistics_variants.c.variant,
                user_statistics_variants.c.pp,
                users.c.country_code,
                users.c.restricted,
                users.c.is_deleted,
            )
            .select_from(_joined())
            .where(
                user_statistics_variants.c.user_id.in_(ids),
                user_statistics_variants.c.ruleset_id == MANIA,
            )
        )
        for r in as_rows(await db.fetch_all(query)):
            if not r["restricted"] and not r["is_deleted"]:
                stored[(int(r["user_id"]), str(r["variant"]))] = (
                    float(r["pp"]),
                    str(r["country_code"]),
                )
    result: dict[int, list[dict[str, Any]]] = {}
    for uid in user_ids:
        entries = []
        for name in VARIANTS:
            pp, country = stored.get((int(uid), name), (0.0, ""))
            ranked = pp > 0
            entries.append(
                {
                    "mode": "mania",
                    "variant": name,
                    "country_rank": await _ahead(db, name, pp, country) + 1 if ranked else None,
                    "global_rank": await _ahead(db, name, pp) + 1 if ranked else None,
                    "pp": pp,
                }
            )
        result[int(uid)] = entries
    return result


async def ranking_page(
    db: Database,
    variant: str,
    *,
    page: int,
    page_size: int,
    country: str | None = None,
    user_ids: Sequence[int] | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """(user ids with their variant pp, one page; number of ranked users for these filters)."""
    conditions = [
        user_statistics_variants.c.ruleset_id == MANIA,
        user_statistics_variants.c.variant == variant,
        user_statistics_variants.c.pp > 0,
        _visible(),
    ]
    if country is not None:
        conditions.append(users.c.country_code == country)
    if user_ids is not None:
        conditions.append(user_statistics_variants.c.user_id.in_(list(user_ids)))
    query = (
        sa.select(user_statistics_variants.c.user_id, user_statistics_variants.c.pp)
        .select_from(_joined())
        .where(*conditions)
        .order_by(user_statistics_variants.c.pp.desc(), user_statistics_variants.c.user_id)
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    rows = [{"user_id": int(r[0]), "pp": float(r[1])} for r in await db.fetch_all(query)]
    total = await db.fetch_val(sa.select(sa.func.count()).select_from(_joined()).where(*conditions))
    return rows, int(total or 0)
