import io
import os
import zipfile

import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from core.beatmaps.importer import Importer
from core.beatmaps.store import beatmaps, beatmapsets
from core.services import services
from tests.beatmaps.support import make_osu, make_osz, md5


async def counts(app: Starlette) -> tuple[int, int]:
    db = services(app).db
    sets = await db.fetch_val(sa.select(sa.func.count()).select_from(beatmapsets))
    maps = await db.fetch_val(sa.select(sa.func.count()).select_from(beatmaps))
    return sets, maps


async def test_archive_import_is_idempotent(app: Starlette) -> None:
    files = {
        "a.osu": make_osu(beatmap_id=11, set_id=10),
        "b.osu": make_osu(beatmap_id=12, set_id=10, version="Hard", objects=20),
    }
    importer = Importer(app, "loved", 1_500_000_000)
    await importer.import_archive("set.osz", make_osz(files, {"audio.mp3": b"\0" * 100}))
    assert importer.summary.imported == 2 and importer.summary.sets == {10}
    await importer.import_archive("set.osz", make_osz(files))
    assert importer.summary.unchanged == 2 and importer.summary.imported == 2
    assert await counts(app) == (1, 2)
    row = await services(app).db.fetch_one(beatmaps.select().where(beatmaps.c.id == 12))
    assert row["checksum"] == md5(files["b.osu"]) and row["status"] == 4
    assert row["count_circles"] == 20 and row["max_combo"] > 20
    assert row["difficulty_rating"] > 0


async def test_reimport_skips_known_files_before_difficulty_work(
    app: Starlette, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.beatmaps import difficulty

    rated: list[int] = []
    real_run = difficulty.run

    async def counting_run(fn, data, **kwargs):  # type: ignore[no-untyped-def]
        rated.append(len(data))
        return await real_run(fn, data, **kwargs)

    monkeypatch.setattr(difficulty, "run", counting_run)
    files = {
        "a.osu": make_osu(beatmap_id=11, set_id=10),
        "b.osu": make_osu(beatmap_id=12, set_id=10, version="Hard", objects=20),
    }
    (tmp_path / "loose").mkdir()
    for name, data in files.items():
        (tmp_path / "loose" / name).write_bytes(data)
    importer = Importer(app, "ranked", 1_500_000_000)
    await importer.import_archive("set.osz", make_osz(files))
    assert len(rated) == 2
    # The same archive again, and the same files loose: nothing is rated again.
    await importer.import_archive("set.osz", make_osz(files))
    await importer.import_group(sorted((tmp_path / "loose").iterdir()))
    assert len(rated) == 2 and importer.summary.unchanged == 4
    # One new difficulty beside two known ones: only it is rated.
    files["c.osu"] = make_osu(beatmap_id=13, set_id=10, version="Insane", objects=30)
    await importer.import_archive("set.osz", make_osz(files))
    assert len(rated) == 3 and importer.summary.imported == 3
    assert await counts(app) == (1, 3)


async def test_files_without_ids_get_local_ids(app: Starlette) -> None:
    importer = Importer(app, "pending", 1_500_000_000)
    await importer.import_archive(
        "x.osz", make_osz({"a.osu": make_osu(), "b.osu": make_osu(version="Other", objects=3)})
    )
    rows = await services(app).db.fetch_all(beatmaps.select().order_by(beatmaps.c.id))
    assert [r["id"] for r in rows] == [1_500_000_000, 1_500_000_001]
    assert {r["beatmapset_id"] for r in rows} == {1_500_000_000}


def zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.osu", make_osu(beatmap_id=1, set_id=1))
        archive.writestr("bomb.bin", b"\0" * (50 * 1024 * 1024))
    return buffer.getvalue()


def traversal() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.osu", make_osu(beatmap_id=1, set_id=1))
        archive.writestr("../../etc/evil.osu", make_osu(beatmap_id=2, set_id=1))
    return buffer.getvalue()


def absolute() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("/tmp/evil.osu", make_osu(beatmap_id=2, set_id=1))
    return buffer.getvalue()


def corrupt() -> bytes:
    data = bytearray(make_osz({"a.osu": make_osu(beatmap_id=1, set_id=1, objects=200)}))
    data[60:90] = b"\xff" * 30  # inside the compressed stream
    return bytes(data)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (zip_bomb(), "zip bomb"),
        (traversal(), "path traversal"),
        (absolute(), "absolute path"),
        (b"not a zip at all", "not a zip archive"),
        (make_osz({"readme.txt": b"hi"}), "no .osu files"),
        (
            make_osz(
                {
                    "a.osu": make_osu(beatmap_id=1, set_id=1),
                    "b.osu": "é".encode("latin-1") + make_osu(),
                }
            ),
            "not UTF-8",
        ),
        (make_osz({"a.osu": make_osu(beatmap_id=1, set_id=1), "b.osu": b"garbage"}), "header"),
        (corrupt(), ""),
    ],
)
async def test_hostile_archives_leave_nothing(
    app: Starlette, data: bytes, reason: str, tmp_path
) -> None:
    path = tmp_path / "bad.osz"
    path.write_bytes(data)
    importer = Importer(app, "ranked", 1_500_000_000)
    await importer.import_path(path)
    assert len(importer.summary.failed) == 1
    assert reason in importer.summary.failed[0][1]
    assert await counts(app) == (0, 0)
    assert not (services(app).settings.data_dir / "files").exists() or not any(
        (services(app).settings.data_dir / "files").rglob("*.osu")
    )


async def test_loose_files_fail_one_by_one(app: Starlette, tmp_path) -> None:
    good = tmp_path / "good.osu"
    good.write_bytes(make_osu(beatmap_id=21, set_id=20))
    bad = tmp_path / "bad.osu"
    bad.write_bytes(b"osu file format v14\r\n[Metadata]\r\nTitle:\xff\xfe\r\n")
    importer = Importer(app, "ranked", 1_500_000_000)
    await importer.import_group([good, bad, tmp_path / "missing.osu"])
    assert importer.summary.imported == 1
    assert sorted(r for _, r in importer.summary.failed) == [
        "bad.osu: not UTF-8 text (byte 39)",
        "no such file",
    ]


def test_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError):
        Importer(None, "famous", 1)


async def test_a_local_mapper_owns_the_set(app, client, token) -> None:
    from tests.conftest import create_user

    mapper = await create_user(app, username="mapper")
    importer = Importer(app, "ranked", 1_500_000_000)
    await importer.import_archive("x.osz", make_osz({"a.osu": make_osu(beatmap_id=3, set_id=2)}))
    body = (
        await client.get("/api/v2/beatmapsets/2", headers={"Authorization": f"Bearer {token}"})
    ).json()
    assert body["user_id"] == mapper and body["beatmaps"][0]["user_id"] == mapper
    assert body["user"]["id"] == mapper and body["user"]["username"] == "mapper"


@pytest.mark.parametrize(
    "settings_overrides", [{"beatmaps": {"archive_max_uncompressed": 1024 * 1024}}]
)
async def test_the_total_uncompressed_limit_is_a_setting(app: Starlette, tmp_path) -> None:
    # Stored, incompressible entries: each passes the per-entry checks, the sum is over 1 MiB.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("a.osu", make_osu(beatmap_id=1, set_id=1))
        for i in range(20):
            archive.writestr(f"bg{i}.jpg", os.urandom(60 * 1024))
    path = tmp_path / "big.osz"
    path.write_bytes(buffer.getvalue())
    importer = Importer(app, "ranked", 1_500_000_000)
    await importer.import_path(path)
    assert [r for _, r in importer.summary.failed] == [
        "uncompressed size over the limit (zip bomb?)"
    ]
    assert await counts(app) == (0, 0)
