import pytest

from core import mods
from core.mods import InvalidMods, bitmask_of_acronyms, from_bitmask, parse_acronyms


@pytest.mark.parametrize(
    ("submitted", "mask", "legacy"),
    [
        ([], 0, []),
        (
            [{"acronym": "HD"}, {"acronym": "DT", "settings": {"speed_change": 1.2}}],
            72,
            ["HD", "DT"],
        ),
        ([{"acronym": "NC"}], 576, ["NC"]),
        ([{"acronym": "PF"}], 16416, ["PF"]),
        # Mods stable never had carry no bit (ppy/osu LegacyMods.cs), DC included.
        ([{"acronym": "DC"}, {"acronym": "DA"}], 0, []),
        ([{"acronym": "7K"}, {"acronym": "MR"}], 262144 + 1073741824, ["7K", "MR"]),
    ],
)
def test_stable_bitmask(submitted: list, mask: int, legacy: list) -> None:
    assert mods.to_bitmask(submitted) == mask
    assert sorted(mods.legacy_acronyms(submitted)) == sorted(legacy)


def test_pp_eligibility_follows_the_spec_examples() -> None:
    assert mods.pp_eligible([{"acronym": "HD"}, {"acronym": "HR"}], "osu")
    assert mods.pp_eligible([{"acronym": "DT"}], "osu")
    assert not mods.pp_eligible([{"acronym": "DT", "settings": {"speed_change": 1.3}}], "osu")
    assert not mods.pp_eligible([{"acronym": "RX"}], "osu")
    assert not mods.pp_eligible([{"acronym": "HR"}], "mania")


# --- the stable bitmask and plain acronym lists ---------------------------------------------
def test_bitmask_round_trip() -> None:
    assert from_bitmask(576) == ["NC"]
    assert from_bitmask(16416) == ["PF"]
    assert bitmask_of_acronyms(["NC", "HD"]) == 576 + 8
    assert from_bitmask(bitmask_of_acronyms(["HD", "HR"])) == ["HD", "HR"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, []),
        ("", []),
        (["NM"], []),
        ("NM", []),
        (72, ["HD", "DT"]),
        ("72", ["HD", "DT"]),
        ("HDDT", ["HD", "DT"]),
        ("hd,dt", ["HD", "DT"]),
        ([{"acronym": "DT"}, {"acronym": "DT"}], ["DT"]),
        ({"0": "HR"}, ["HR"]),
    ],
)
def test_parse_acronyms(value: object, expected: list[str]) -> None:
    assert parse_acronyms(value, 0) == expected


@pytest.mark.parametrize("value", [-1, 2**40, True, ["XX"], [1], [{"a": 1}], "Z" * 300, 1.5])
def test_invalid(value: object) -> None:
    with pytest.raises(InvalidMods):
        parse_acronyms(value, 0)


def test_ruleset_specific() -> None:
    assert parse_acronyms(["4K"], 3) == ["4K"]
    with pytest.raises(InvalidMods):
        parse_acronyms(["4K"], 0)
