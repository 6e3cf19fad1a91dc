import pytest

from core.beatmaps.osu_file import OsuFileError, parse
from tests.beatmaps.support import make_osu, md5


def test_metadata_counts_and_lengths() -> None:
    data = make_osu(beatmap_id=5, set_id=4, version="Hard", objects=10, spacing=500)
    info = parse(data)
    assert info.checksum == md5(data)
    assert (info.beatmap_id, info.beatmapset_id, info.version) == (5, 4, "Hard")
    assert (info.count_circles, info.count_sliders, info.count_spinners) == (10, 1, 1)
    assert info.bpm == 120.0 and info.cs == 4 and info.approach_rate == 9
    # circles 1000..5500, slider at 6000 (140px at 1.4x: one beat), spinner 7000..8500
    assert info.total_length == 8
    assert info.hit_length == 7


def test_old_files_without_approach_rate_use_od() -> None:
    data = make_osu().replace(b"ApproachRate:9\r\n", b"")
    assert parse(data).approach_rate == 7


def test_bom_is_accepted() -> None:
    assert parse(b"\xef\xbb\xbf" + make_osu()).title == "Test Song"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "header"),
        (b"hello", "header"),
        (make_osu().replace(b"Test Song", "caf\xe9".encode("latin-1"), 1), "not UTF-8"),
        (make_osu().replace(b"[HitObjects]", b"[Nothing]"), "no [HitObjects]"),
        (make_osu().replace(b"Mode: 0", b"Mode: 9"), "unknown mode"),
        (make_osu().replace(b"Mode: 0", b"Mode: x"), "bad value for Mode"),
        (make_osu() + b"1,2\r\n", "bad hit object"),
        (make_osu().replace(b"0,500,4", b"0,nan,4"), "out of range"),
        (make_osu().replace(b"Title:", b"Title:\x00"), "NUL"),
    ],
)
def test_bad_files(data: bytes, message: str) -> None:
    with pytest.raises(OsuFileError, match=message.replace("[", r"\[")):
        parse(data)


def test_ids_out_of_range_are_no_ids() -> None:
    info = parse(make_osu(beatmap_id=2**40, set_id=-3))
    assert info.beatmap_id == 0 and info.beatmapset_id == 0
