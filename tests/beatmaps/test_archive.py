import io
import os
import zipfile

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


def _stored(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as built:
        for name, data in files.items():
            built.writestr(name, data)
    return buffer.getvalue()


def test_total_uncompressed_size_is_bounded_across_entries() -> None:
    # Each entry passes every per-entry check (stored, incompressible); together they are over.
    files = {f"bg{i}.jpg": os.urandom(archive.RATIO_FLOOR - 1) for i in range(40)}
    files["a.osu"] = make_osu()
    data = _stored(files)
    total = sum(len(v) for v in files.values())
    with pytest.raises(archive.ArchiveError, match="uncompressed size over the limit"):
        archive.osu_entries(data, max_total=total - 1)
    assert [e.name for e in archive.osu_entries(data, max_total=total)] == ["a.osu"]


def test_entries_of_exactly_one_mib_of_zeros_are_refused() -> None:
    # The reported bomb, scaled down: entries of exactly 1 MiB passed the old `> 1 MiB` check.
    files = {f"f{i}.bin": bytes(1024 * 1024) for i in range(16)}
    with pytest.raises(archive.ArchiveError, match="zip bomb"):
        archive.osu_entries(make_osz({"a.osu": make_osu(), **files}))


def test_many_entries_just_under_the_ratio_floor_are_refused() -> None:
    files = {f"f{i}.bin": bytes(archive.RATIO_FLOOR - 1) for i in range(200)}
    with pytest.raises(archive.ArchiveError, match="expands too much"):
        archive.osu_entries(make_osz({"a.osu": make_osu(), **files}))


def test_default_total_limit_is_below_the_reported_gibibyte() -> None:
    assert archive.MAX_TOTAL_UNCOMPRESSED < 1000 * 1024 * 1024
