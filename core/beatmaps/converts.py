"""Converts: every osu! difficulty of a set as taiko, catch and mania (osu-web
app/Transformers/BeatmapsetTransformer.php includeConverts), each with its own nomod star rating.

The values come from rosu-pp-py in the difficulty pool, once per `.osu` file, and are stored
(`beatmap_converts`, with the file's checksum): by the local importer, else (upstream sets, or
values gone stale) the first time a set's view is built; that view is cached, so no request
computes them twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from loguru import logger
from starlette.applications import Starlette

from core.beatmaps import difficulty, resolve, views
from core.beatmaps import store as beatmaps_db
from core.beatmaps.sources import beatmap_settings
from core.scores.scoring import RULESETS
from core.services import services

Row = Mapping[str, Any]
TARGETS = (1, 2, 3)


def _convertible(row: Row) -> bool:
    return int(row["mode"]) == 0 and row["deleted_at"] is None


async def ensure(app: Starlette, rows: Sequence[Row]) -> dict[tuple[int, int], Row]:
    """The stored converts of `rows`' osu! difficulties, computing those missing or stale."""
    db = services(app).db
    wanted = [r for r in rows if _convertible(r)]
    stored = await beatmaps_db.converts_of(db, [r["id"] for r in wanted])
    timeout = beatmap_settings(services(app).settings)["difficulty_timeout"]
    for row in wanted:
        checksum = row["checksum"] or ""
        current = [stored.pop((row["id"], t), None) for t in TARGETS]
        if all(c is not None and c["checksum"] == checksum for c in current):
            stored.update({(row["id"], t): c for t, c in zip(TARGETS, current, strict=True) if c})
            continue
        data = await resolve.osu_file(app, row)
        if data is None:
            logger.warning("no .osu for beatmap {}: its converts have no star rating", row["id"])
            continue
        try:
            values = await difficulty.run(difficulty.converts, data, timeout=timeout)
        except difficulty.DifficultyError as exc:
            logger.warning("converts of beatmap {} failed: {}", row["id"], exc)
            continue
        await beatmaps_db.store_converts(db, row["id"], checksum, values)
        for value in values:
            stored[(row["id"], value["ruleset"])] = {**value, "checksum": checksum}
    return stored


def items(
    rows: Sequence[Row],
    stored: Mapping[tuple[int, int], Row],
    beatmapset: Row,
    public_url: str,
) -> list[dict[str, Any]]:
    """BeatmapExtended (+failtimes, owners, top_tag_ids) per osu! difficulty and target ruleset.

    Without stored values (the `.osu` could not be had) the star rating is 0, as osu-web reports
    a convert with no difficulty row."""
    out = []
    for row in rows:
        if not _convertible(row):
            continue
        for ruleset in TARGETS:
            item = views.beatmap_includes(views.beatmap_extended(row, public_url), row, beatmapset)
            del item["max_combo"]  # not one of the converts' includes on `beatmapsets/{id}`
            value = stored.get((row["id"], ruleset))
            item["convert"] = True
            item["mode"] = RULESETS[ruleset]
            item["mode_int"] = ruleset
            item["difficulty_rating"] = (
                round(float(value["difficulty_rating"]), 2) if value is not None else 0.0
            )
            if value is not None:
                item["cs"] = float(value["cs"])
            item["top_tag_ids"] = []
            out.append(item)
    return out
