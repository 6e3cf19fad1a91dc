import pytest

from core.beatmaps.mods import InvalidMods, from_bitmask, parse, to_bitmask


def test_bitmask_round_trip() -> None:
    assert from_bitmask(576) == ["NC"]
    assert from_bitmask(16416) == ["PF"]
    assert to_bitmask(["NC", "HD"]) == 576 + 8
    assert from_bitmask(to_bitmask(["HD", "HR"])) == ["HD", "HR"]


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
def test_parse(value: object, expected: list[str]) -> None:
    assert parse(value, 0) == expected


@pytest.mark.parametrize("value", [-1, 2**40, True, ["XX"], [1], [{"a": 1}], "Z" * 300, 1.5])
def test_invalid(value: object) -> None:
    with pytest.raises(InvalidMods):
        parse(value, 0)


def test_ruleset_specific() -> None:
    assert parse(["4K"], 3) == ["4K"]
    with pytest.raises(InvalidMods):
        parse(["4K"], 0)
