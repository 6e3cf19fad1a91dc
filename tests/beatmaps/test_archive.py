import pytest

from core.beatmaps import archive
from tests.beatmaps.support import make_osu, make_osz


def test_reads_top_level_osu_files_only() -> None:
    data = make_osz({"a.osu": make_osu(), "sub/b.osu": make_osu(), "bg.jpg": b"x"})
    assert [e.name for e in archive.osu_entries(data)] == ["a.osu"]


def test_build_round_trip() -> None:
    built = archive.build([("x.osu", make_osu())])
    assert archive.osu_entries(built)[0].data == make_osu()


def test_too_many_entries() -> None:
    files = {f"f{i}.txt": b"" for i in range(archive.MAX_ENTRIES + 1)}
    with pytest.raises(archive.ArchiveError, match="entries"):
        archive.osu_entries(make_osz(files))


def test_backslash_names() -> None:
    with pytest.raises(archive.ArchiveError, match="refused"):
        archive.osu_entries(make_osz({"..\\..\\evil.osu": make_osu()}))
