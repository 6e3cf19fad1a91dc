import pytest

from core.scores import scoring

SPEC_EXAMPLE = {
    "statistics": {
        "great": 540,
        "ok": 12,
        "meh": 1,
        "miss": 2,
        "large_tick_hit": 80,
        "slider_tail_hit": 120,
    },
    "maximum_statistics": {"great": 555, "large_tick_hit": 80, "slider_tail_hit": 120},
}


def test_lazer_accuracy_includes_ticks_and_tails_in_osu() -> None:
    acc = scoring.lazer_accuracy(
        SPEC_EXAMPLE["statistics"], SPEC_EXAMPLE["maximum_statistics"], "osu"
    )
    achieved = 540 * 300 + 12 * 100 + 1 * 50 + 80 * 30 + 120 * 150
    maximum = 555 * 300 + 80 * 30 + 120 * 150
    assert acc == pytest.approx(achieved / maximum)


def test_lazer_accuracy_ignores_bonus_and_empty_is_one() -> None:
    assert scoring.lazer_accuracy({"small_bonus": 5}, {"small_bonus": 5}, "osu") == 1.0
    assert scoring.lazer_accuracy({}, {}, "mania") == 1.0


def test_mania_all_great_is_below_one() -> None:
    assert scoring.lazer_accuracy({"great": 10}, {"perfect": 10}, "mania") == pytest.approx(
        300 / 305
    )


@pytest.mark.parametrize("ruleset", ["taiko", "fruits"])
def test_taiko_and_catch_equal_the_stable_formula(ruleset: str) -> None:
    if ruleset == "taiko":
        stats, maximum = {"great": 90, "ok": 8, "miss": 2}, {"great": 100}
    else:
        stats = {
            "great": 90,
            "large_tick_hit": 5,
            "small_tick_hit": 20,
            "small_tick_miss": 3,
            "miss": 2,
        }
        maximum = {"great": 92, "large_tick_hit": 5, "small_tick_hit": 23}
    lazer = scoring.lazer_accuracy(stats, maximum, ruleset)
    stable = scoring.stable_accuracy(scoring.legacy_counts(stats, ruleset), ruleset)
    assert lazer == pytest.approx(stable)


@pytest.mark.parametrize(
    ("accuracy", "stats", "ruleset", "mods", "grade"),
    [
        (1.0, {"great": 10}, "osu", [], "X"),
        (1.0, {"great": 10}, "osu", ["HD"], "XH"),
        (0.96, {"great": 9, "ok": 1}, "osu", ["FL"], "SH"),
        (0.96, {"great": 9, "miss": 1}, "osu", [], "A"),
        (0.90, {}, "osu", [], "A"),
        (0.8999, {}, "osu", [], "B"),
        (0.70, {}, "taiko", [], "C"),
        (0.5, {}, "taiko", [], "D"),
        (0.98, {}, "fruits", [], "S"),
        (0.97, {}, "fruits", [], "A"),
        (0.99, {"perfect": 5, "great": 5}, "mania", [], "X"),
        (0.99, {"perfect": 5, "good": 1}, "mania", ["FI"], "SH"),
    ],
)
def test_lazer_grade(accuracy: float, stats: dict, ruleset: str, mods: list, grade: str) -> None:
    assert scoring.lazer_grade(accuracy, stats, ruleset, mods) == grade


def test_failed_is_f() -> None:
    assert scoring.lazer_grade(1.0, {}, "osu", passed=False) == "F"
    counts = scoring.legacy_counts({"great": 1}, "osu")
    assert scoring.stable_grade(counts, "osu", passed=False) == "F"


@pytest.mark.parametrize(
    ("stats", "grade"),
    [
        ({"great": 100}, "X"),
        ({"great": 95, "ok": 5}, "S"),
        ({"great": 95, "meh": 5}, "A"),  # too many 50s for S
        ({"great": 95, "miss": 5}, "A"),
        ({"great": 85, "ok": 15}, "A"),
        ({"great": 75, "ok": 25}, "B"),
        ({"great": 65, "ok": 35}, "C"),
        ({"great": 50, "ok": 50}, "D"),
    ],
)
def test_stable_grade_osu(stats: dict, grade: str) -> None:
    assert scoring.stable_grade(scoring.legacy_counts(stats, "osu"), "osu") == grade


def test_classic_score_conversion() -> None:
    assert scoring.classic_score(1_000_000, {"great": 100}, "osu") == round(
        100**2 * 32.57 + 100_000
    )
    assert scoring.classic_score(500_000, {"great": 100}, "taiko") == round(
        (100 * 1109 + 100_000) * 0.5
    )
    assert scoring.classic_score(123_456, {"perfect": 3}, "mania") == 123_456


def test_round_half_even_like_csharp() -> None:
    assert scoring.round_half_even(2.5) == 2
    assert scoring.round_half_even(3.5) == 4
    assert scoring.round_half_even(-2.5) == -2


def test_maximum_combo_counts_combo_results() -> None:
    assert scoring.maximum_combo(SPEC_EXAMPLE["maximum_statistics"]) == 555 + 80 + 120
    assert scoring.maximum_combo({"small_tick_hit": 10, "small_bonus": 3}) == 0


def test_level_curve() -> None:
    assert scoring.level(0) == 1.0
    assert scoring.score_for_level(100) == pytest.approx(26_931_190_827, rel=1e-9)
    assert scoring.level(26_931_190_827) == pytest.approx(100.0, abs=1e-6)
    assert scoring.level(26_931_190_827 + 99_999_999_999 // 2) == pytest.approx(100.5, abs=1e-6)
    mid = (scoring.score_for_level(10) + scoring.score_for_level(11)) / 2
    assert scoring.level_shape(int(mid)) == {"current": 10, "progress": 50}
    assert scoring.level_shape(int(mid) - 1) == {"current": 10, "progress": 49}
    assert scoring.level_shape(0) == {"current": 1, "progress": 0}


def test_weighted_pp_and_bonus() -> None:
    assert scoring.weighted_pp([], 0) == 0.0
    one = scoring.weighted_pp([100.0], 1)
    assert one == pytest.approx(100 + (417 - 1 / 3) * (1 - 0.995))
    many = scoring.weighted_pp([100.0, 90.0], 5)
    assert many == pytest.approx(100 + 90 * 0.95 + (417 - 1 / 3) * (1 - 0.995**5))
    assert scoring.weighted_pp([1.0] * 2000, 5000) == pytest.approx(
        sum(0.95**i for i in range(2000)) + (417 - 1 / 3) * (1 - 0.995**1000)
    )


def test_weighted_accuracy_is_a_weighted_mean() -> None:
    assert scoring.weighted_accuracy([]) == 0.0
    assert scoring.weighted_accuracy([0.98]) == pytest.approx(98.0)
    assert scoring.weighted_accuracy([1.0, 0.9]) == pytest.approx(
        (1.0 + 0.9 * 0.95) / (1 + 0.95) * 100
    )


def test_weight() -> None:
    assert scoring.weight(0, 200.0) == {"percentage": 100.0, "pp": 200.0}
    assert scoring.weight(2, 100.0)["percentage"] == pytest.approx(90.25)


def test_hit_result_tables_agree() -> None:
    assert scoring.HIT_RESULT_NAMES[16] == "slider_tail_hit"
    assert scoring.IS_HIT <= set(scoring.HIT_RESULTS)
    assert scoring.AFFECTS_COMBO <= set(scoring.HIT_RESULTS)
