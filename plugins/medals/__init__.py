"""The official medal rules (ppy/osu-web achievements; awarded upstream by
ppy/osu-queue-score-statistics' medal awarders), given to core through the `medal_rules` hook:

- skill: passing (pass medals) or full-comboing (FC medals) a ranked, approved, qualified or
  loved beatmap whose nomod star rating in the score's ruleset is N to N+1 stars gives that
  ruleset's N-star medal (1-10 for osu!, 1-8 for the others), without difficulty-reducing or
  automating mods;
- dedication: osu! play count of 5,000 / 15,000 / 25,000 / 50,000; taiko, catch and mania hit
  counts (300s + 100s + 50s) of 30,000 / 20,000 / 40,000 and ten and a hundred times that;
- mod introduction: passing such a beatmap with one mod alone (Classic aside) gives its medal.

Disable the plugin and no official medal is awarded; other plugins' rules still run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from core.hooks import hookimpl
from core.medals import catalogue
from core.medals.awarding import MedalContext, MedalRule
from core.scores.store import LEADERBOARD_STATUSES

# Mods under which a skill medal is not earned: they make the map easier or play it for you.
NOT_FOR_SKILL = frozenset({"EZ", "NF", "HT", "DC", "RX", "AP", "AT", "CN", "TP", "DA"})
SKILL_BANDS = {"osu": 10, "taiko": 8, "fruits": 8, "mania": 8}

PLAYS = {"osu": (5000, 15000, 25000, 50000)}
HITS = {
    "taiko": (30000, 300000, 3000000),
    "fruits": (20000, 200000, 2000000),
    "mania": (40000, 400000, 4000000),
}

INTRO = {
    "SD": "suddendeath",
    "PF": "perfect",
    "HR": "hardrock",
    "DT": "doubletime",
    "NC": "nightcore",
    "HD": "hidden",
    "FL": "flashlight",
    "EZ": "easy",
    "NF": "nofail",
    "HT": "halftime",
    "SO": "spunout",
}


def _id(slug: str) -> int:
    return catalogue.by_slug()[slug]["id"]


def _ranked(ctx: MedalContext) -> bool:
    return ctx.beatmap is not None and int(ctx.beatmap["status"]) in LEADERBOARD_STATUSES


def skill(ctx: MedalContext) -> Iterable[int]:
    if not ctx.score["passed"] or ctx.stars is None or not _ranked(ctx):
        return []
    if ctx.acronyms & NOT_FOR_SKILL:
        return []
    band = math.floor(ctx.stars)
    if not 1 <= band <= SKILL_BANDS[ctx.ruleset]:
        return []
    earned = [_id(f"{ctx.ruleset}-skill-pass-{band}")]
    if ctx.score.get("is_perfect_combo"):
        earned.append(_id(f"{ctx.ruleset}-skill-fc-{band}"))
    return earned


def dedication(ctx: MedalContext) -> Iterable[int]:
    stats = ctx.statistics
    if stats is None:
        return []
    if ctx.ruleset in PLAYS:
        plays = int(stats["play_count"])
        return [_id(f"osu-plays-{n}") for n in PLAYS[ctx.ruleset] if plays >= n]
    hits = int(stats["count_300"]) + int(stats["count_100"]) + int(stats["count_50"])
    return [_id(f"{ctx.ruleset}-hits-{n}") for n in HITS[ctx.ruleset] if hits >= n]


def mod_introduction(ctx: MedalContext) -> Iterable[int]:
    if not ctx.score["passed"] or not _ranked(ctx):
        return []
    used = ctx.acronyms - {"CL"}
    if len(used) != 1:
        return []
    (acronym,) = used
    return [_id(f"all-intro-{INTRO[acronym]}")] if acronym in INTRO else []


@hookimpl
def medal_rules(app: Any) -> list[MedalRule]:
    return [skill, dedication, mod_introduction]
