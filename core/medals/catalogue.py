"""The medal catalogue (osu-web `achievements`), read once from `catalogue.json`."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypedDict

import orjson

PATH = Path(__file__).with_name("catalogue.json")


class Medal(TypedDict):
    id: int
    name: str
    slug: str
    description: str
    # "osu", "taiko", "fruits", "mania", or None for every ruleset.
    mode: str | None
    grouping: str
    ordering: int
    instructions: str | None
    icon_url: str


@functools.cache
def medals() -> dict[int, Medal]:
    """Every medal by id."""
    rows: list[Medal] = orjson.loads(PATH.read_bytes())
    return {int(m["id"]): m for m in rows}


@functools.cache
def by_slug() -> dict[str, Medal]:
    return {m["slug"]: m for m in medals().values()}


def get(medal_id: Any) -> Medal | None:
    """The medal with this id, or None (also for ids that are not ints)."""
    if isinstance(medal_id, bool) or not isinstance(medal_id, int):
        return None
    return medals().get(medal_id)


def view(medal: Medal) -> dict[str, Any]:
    """Achievement as osu-web's AchievementTransformer shapes it (`/api/v2/...` medal lists)."""
    return {
        "id": medal["id"],
        "name": medal["name"],
        "slug": medal["slug"],
        "description": medal["description"],
        "mode": medal["mode"],
        "grouping": medal["grouping"],
        "ordering": medal["ordering"],
        "instructions": medal["instructions"],
        "icon_url": medal["icon_url"],
    }


def held(achievements: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A profile's `user_achievements` ({achievement_id, achieved_at}) as medals with their
    `achieved_at`, newest first; ids no longer in the catalogue are left out."""
    out = []
    for row in achievements:
        medal = get(row["achievement_id"])
        if medal is not None:
            out.append(view(medal) | {"achieved_at": row["achieved_at"]})
    return sorted(out, key=lambda m: str(m["achieved_at"]), reverse=True)
