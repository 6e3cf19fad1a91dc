import pytest

from core.domain import mods


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
