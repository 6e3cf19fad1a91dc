"""The scoring rules the server applies: accuracy, grades, classic score, level, pp aggregation.

Pure functions, no I/O; the facts come from ppy/osu (osu.Game/Rulesets/Scoring/,
osu.Game/Scoring/Legacy/ScoreInfoExtensions.cs), osu-web (app/Models/Traits/Scoreable.php) and
ppy/osu-queue-score-statistics (Processors/, Helpers/).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal

RULESETS = ("osu", "taiko", "fruits", "mania")
RULESET_IDS = {name: index for index, name in enumerate(RULESETS)}

# HitResult names and their integer values (ppy/osu HitResult.cs).
HIT_RESULTS: dict[str, int] = {
    "none": 0,
    "miss": 1,
    "meh": 2,
    "ok": 3,
    "good": 4,
    "great": 5,
    "perfect": 6,
    "small_tick_miss": 7,
    "small_tick_hit": 8,
    "large_tick_miss": 9,
    "large_tick_hit": 10,
    "small_bonus": 11,
    "large_bonus": 12,
    "ignore_miss": 13,
    "ignore_hit": 14,
    "combo_break": 15,
    "slider_tail_hit": 16,
    "legacy_combo_increase": 99,
}
HIT_RESULT_NAMES = {value: name for name, value in HIT_RESULTS.items()}

BASIC_RESULTS = ("miss", "meh", "ok", "good", "great", "perfect")
IS_HIT = frozenset(
    {
        "meh", "ok", "good", "great", "perfect", "small_tick_hit", "large_tick_hit",
        "small_bonus", "large_bonus", "ignore_hit", "slider_tail_hit", "legacy_combo_increase",
    }
)  # fmt: skip
AFFECTS_COMBO = frozenset(
    {
        "miss", "meh", "ok", "good", "great", "perfect", "large_tick_miss", "large_tick_hit",
        "combo_break", "slider_tail_hit", "legacy_combo_increase",
    }
)  # fmt: skip
# Scorable results that count towards accuracy: not bonus, not combo-only, not ignored.
NO_ACCURACY = frozenset(
    {"none", "small_bonus", "large_bonus", "combo_break", "legacy_combo_increase",
     "ignore_hit", "ignore_miss"}
)  # fmt: skip

_BASE_SCORE = {
    "meh": 50,
    "ok": 100,
    "good": 200,
    "great": 300,
    "perfect": 300,
    "small_tick_hit": 10,
    "large_tick_hit": 30,
    "small_bonus": 10,
    "large_bonus": 50,
    "slider_tail_hit": 150,
}
_RULESET_BASE = {
    "taiko": {"ok": 150},
    "fruits": {"great": 300, "large_tick_hit": 300, "small_tick_hit": 300, "large_bonus": 200},
    "mania": {"perfect": 305},
}

GRADES = ("XH", "X", "SH", "S", "A", "B", "C", "D", "F")
# Lazer realtime enum values of ScoreRank.
GRADE_VALUES = {"F": -1, "D": 0, "C": 1, "B": 2, "A": 3, "S": 4, "SH": 5, "X": 6, "XH": 7}


def ruleset_name(ruleset_id: int) -> str:
    return RULESETS[ruleset_id]


def base_score(result: str, ruleset: str) -> int:
    """Accuracy weight of one judgement (ppy/osu ScoreProcessor.GetBaseScoreForResult, with the
    ruleset overrides)."""
    override = _RULESET_BASE.get(ruleset, {})
    if result in override:
        return override[result]
    return _BASE_SCORE.get(result, 0)


# --- accuracy -----------------------------------------------------------------------------------


def lazer_accuracy(
    statistics: Mapping[str, int], maximum_statistics: Mapping[str, int], ruleset: str
) -> float:
    """Σ statistics·base ÷ Σ maximum·base over the results that affect accuracy; 1 when empty."""
    achieved = maximum = 0
    for result in set(statistics) | set(maximum_statistics):
        if result in NO_ACCURACY:
            continue
        weight = base_score(result, ruleset)
        achieved += statistics.get(result, 0) * weight
        maximum += maximum_statistics.get(result, 0) * weight
    return 1.0 if maximum == 0 else achieved / maximum


def legacy_counts(statistics: Mapping[str, int], ruleset: str) -> dict[str, int]:
    """count300/100/50/geki/katu/miss from lazer statistics (osu-web Solo/Score.php mapping)."""
    s = statistics.get
    if ruleset == "fruits":
        return {
            "count300": s("great", 0),
            "count100": s("large_tick_hit", 0),
            "count50": s("small_tick_hit", 0),
            "countgeki": 0,
            "countkatu": s("small_tick_miss", 0),
            "countmiss": s("miss", 0) + s("large_tick_miss", 0),
        }
    if ruleset == "mania":
        return {
            "count300": s("great", 0),
            "count100": s("ok", 0),
            "count50": s("meh", 0),
            "countgeki": s("perfect", 0),
            "countkatu": s("good", 0),
            "countmiss": s("miss", 0),
        }
    return {
        "count300": s("great", 0),
        "count100": s("ok", 0),
        "count50": s("meh", 0),
        "countgeki": 0,
        "countkatu": 0,
        "countmiss": s("miss", 0),
    }


def stable_accuracy(counts: Mapping[str, int], ruleset: str) -> float:
    n300, n100, n50 = counts["count300"], counts["count100"], counts["count50"]
    ngeki, nkatu, nmiss = counts["countgeki"], counts["countkatu"], counts["countmiss"]
    if ruleset == "osu":
        numerator, denominator = (
            300 * n300 + 100 * n100 + 50 * n50,
            300 * (n300 + n100 + n50 + nmiss),
        )
    elif ruleset == "taiko":
        numerator, denominator = 300 * n300 + 150 * n100, 300 * (n300 + n100 + nmiss)
    elif ruleset == "fruits":
        numerator, denominator = n300 + n100 + n50, n300 + n100 + n50 + nmiss + nkatu
    else:
        numerator = 300 * (n300 + ngeki) + 200 * nkatu + 100 * n100 + 50 * n50
        denominator = 300 * (n300 + ngeki + nkatu + n100 + n50 + nmiss)
    return 1.0 if denominator == 0 else numerator / denominator


# --- grades -------------------------------------------------------------------------------------

_SILVER_MODS = {"HD", "FL"}
_SILVER_MODS_MANIA = {"HD", "FL", "FI", "CO"}


def _silver(grade: str, acronyms: Iterable[str], ruleset: str) -> str:
    silvering = _SILVER_MODS_MANIA if ruleset == "mania" else _SILVER_MODS
    if silvering & set(acronyms):
        return {"X": "XH", "S": "SH"}.get(grade, grade)
    return grade


def lazer_grade(
    accuracy: float,
    statistics: Mapping[str, int],
    ruleset: str,
    acronyms: Iterable[str] = (),
    passed: bool = True,
) -> str:
    if not passed:
        return "F"
    thresholds = (0.98, 0.94, 0.90, 0.85) if ruleset == "fruits" else (0.95, 0.90, 0.80, 0.70)
    if accuracy >= 1:
        grade = "X"
    elif accuracy >= thresholds[0]:
        grade = "S"
    elif accuracy >= thresholds[1]:
        grade = "A"
    elif accuracy >= thresholds[2]:
        grade = "B"
    elif accuracy >= thresholds[3]:
        grade = "C"
    else:
        grade = "D"
    if ruleset in ("osu", "taiko") and grade in ("S", "X") and statistics.get("miss", 0) > 0:
        grade = "A"
    if ruleset == "mania" and grade == "S":
        if not any(statistics.get(r, 0) for r in ("good", "ok", "meh", "miss")):
            grade = "X"
    return _silver(grade, acronyms, ruleset)


def stable_grade(
    counts: Mapping[str, int], ruleset: str, acronyms: Iterable[str] = (), passed: bool = True
) -> str:
    if not passed:
        return "F"
    if ruleset in ("osu", "taiko"):
        n300, n50, nmiss = counts["count300"], counts["count50"], counts["countmiss"]
        total = n300 + counts["count100"] + nmiss + (n50 if ruleset == "osu" else 0)
        r300 = n300 / total if total else 1.0
        r50 = n50 / total if total else 0.0
        silver_s = r50 <= 0.01 if ruleset == "osu" else r50 < 0.01
        if r300 == 1:
            grade = "X"
        elif r300 > 0.9 and silver_s and nmiss == 0:
            grade = "S"
        elif (r300 > 0.8 and nmiss == 0) or r300 > 0.9:
            grade = "A"
        elif (r300 > 0.7 and nmiss == 0) or r300 > 0.8:
            grade = "B"
        elif r300 > 0.6:
            grade = "C"
        else:
            grade = "D"
    else:
        accuracy = stable_accuracy(counts, ruleset)
        steps = (0.98, 0.94, 0.90, 0.85) if ruleset == "fruits" else (0.95, 0.90, 0.80, 0.70)
        if accuracy == 1:
            grade = "X"
        elif accuracy > steps[0]:
            grade = "S"
        elif accuracy > steps[1]:
            grade = "A"
        elif accuracy > steps[2]:
            grade = "B"
        elif accuracy > steps[3]:
            grade = "C"
        else:
            grade = "D"
    return _silver(grade, acronyms, ruleset)


# --- score values -------------------------------------------------------------------------------


def round_half_even(value: float) -> int:
    """C#'s Math.Round: halves go to the even neighbour."""
    return int(Decimal(repr(value)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def classic_score(total_score: int, maximum_statistics: Mapping[str, int], ruleset: str) -> int:
    """The display conversion of standardised score (ppy/osu Legacy/ScoreInfoExtensions.cs)."""
    n = sum(maximum_statistics.get(r, 0) for r in BASIC_RESULTS)
    s = total_score
    if ruleset == "osu":
        return round_half_even((n * n * 32.57 + 100_000) * s / 1_000_000)
    if ruleset == "taiko":
        return round_half_even((n * 1109 + 100_000) * s / 1_000_000)
    if ruleset == "fruits":
        return round_half_even((s / 1_000_000 * n) ** 2 * 21.62 + s / 10)
    return s


def maximum_combo(maximum_statistics: Mapping[str, int]) -> int:
    return sum(count for result, count in maximum_statistics.items() if result in AFFECTS_COMBO)


# --- level --------------------------------------------------------------------------------------


def score_for_level(n: int) -> float:
    if n <= 100:
        return 5000 / 3 * (4 * n**3 - 3 * n**2 - n) + 1.25 * 1.8 ** (n - 60)
    return 26_931_190_827 + 99_999_999_999 * (n - 100)


def level(total_score: int) -> float:
    if total_score <= 0:
        return 1.0
    n = 1
    # Levels above 100 are linear; a loop bounded by the score size is fine (at most a few hundred).
    while score_for_level(n + 1) <= total_score:
        n += 1
    low, high = score_for_level(n), score_for_level(n + 1)
    return n + (total_score - low) / (high - low)


def level_shape(total_score: int) -> dict[str, int]:
    value = level(total_score)
    return {"current": math.floor(value), "progress": math.floor((value - math.floor(value)) * 100)}


# --- pp aggregation -----------------------------------------------------------------------------

PP_SCORE_LIMIT = 1000


def weighted_pp(pps_desc: Sequence[float], rows_fetched: int) -> float:
    """User total pp: Σ pᵢ·0.95ⁱ over one score per beatmap, plus the bonus for the rows fetched."""
    weighted = sum(pp * 0.95**i for i, pp in enumerate(pps_desc))
    bonus = (417 - 1 / 3) * (1 - 0.995 ** min(rows_fetched, PP_SCORE_LIMIT))
    return weighted + bonus


def weighted_accuracy(accuracies_by_pp_desc: Sequence[float]) -> float:
    """User accuracy in percent: the 0.95-weighted mean over the same list, clamped to 0-100."""
    n = len(accuracies_by_pp_desc)
    if n == 0:
        return 0.0
    total = sum(acc * 0.95**i for i, acc in enumerate(accuracies_by_pp_desc))
    return max(0.0, min(100.0, total * 100 / (20 * (1 - 0.95**n))))


def weight(position: int, pp: float | None) -> dict[str, float]:
    factor = 0.95**position
    return {"percentage": 100 * factor, "pp": (pp or 0.0) * factor}
