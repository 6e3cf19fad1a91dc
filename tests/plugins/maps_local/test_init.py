import os
from pathlib import Path

import httpx

from core.config import Settings
from tests.beatmaps.support import make_osu, make_osz
from tests.conftest import LiveServer, lazer_login, run_cli


def test_import_command(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "maps"
    (folder / "loose").mkdir(parents=True)
    (folder / "set.osz").write_bytes(
        make_osz(
            {
                "a.osu": make_osu(beatmap_id=31, set_id=30),
                "b.osu": make_osu(beatmap_id=32, set_id=30, version="B"),
            }
        )
    )
    (folder / "loose" / "one.osu").write_bytes(make_osu(title="Loose", version="X"))
    (folder / "loose" / "two.osu").write_bytes(make_osu(title="Loose", version="Y", objects=3))
    (folder / "broken.osz").write_bytes(b"PK\x03\x04 nope")
    result = run_cli(settings, "beatmaps", "import", str(folder), "--status", "ranked")
    assert result.returncode == 1, result.stderr
    assert "imported 4 new and 0 updated beatmaps in 2 sets, 0 unchanged, 1 failed" in result.stdout
    assert "refused" in result.stderr and "broken.osz" in result.stderr
    assert "[##############################] 4/4" in result.stderr
    again = run_cli(settings, "beatmaps", "import", str(folder / "set.osz"))
    assert again.returncode == 0, again.stderr
    assert "0 new and 0 updated beatmaps in 0 sets, 2 unchanged, 0 failed" in again.stdout
    # The imported sets are served, with the status given.
    server = LiveServer(settings)
    server.start()
    try:
        from tests.beatmaps.support import md5

        response = httpx.get(f"{server.url}/osu/31")
        assert response.status_code == 200
        assert md5(response.content) == md5(make_osu(beatmap_id=31, set_id=30))
    finally:
        server.stop()


def test_import_status_default_from_config(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "a.osu"
    path.write_bytes(make_osu(beatmap_id=41, set_id=40))
    result = run_cli(
        settings,
        "beatmaps",
        "import",
        str(path),
        env={"HITCIRCLE_BEATMAPS_LOCAL_DEFAULT_STATUS": "loved"},
    )
    assert result.returncode == 0, result.stderr
    import sqlalchemy as sa

    from core.db import sync_url

    engine = sa.create_engine(sync_url(settings.database_url))
    with engine.connect() as conn:
        status = conn.exec_driver_sql("SELECT status FROM beatmapsets WHERE id = 40").scalar()
    engine.dispose()
    assert status == 4
    bad = run_cli(settings, "beatmaps", "import", str(path), "--status", "famous")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    assert os.path.exists(path)


def test_status_command_reaches_a_running_server(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "a.osu"
    path.write_bytes(make_osu(beatmap_id=51, set_id=50))
    assert run_cli(settings, "beatmaps", "import", str(path)).returncode == 0
    server = LiveServer(settings)
    server.start()
    try:
        # Cached by the server as pending; the command's change shows at once all the same.
        assert httpx.get(f"{server.url}/osu/51").status_code == 200
        assert run_cli(settings, "user", "create", "viewer", "--password", "some secret").stdout
        auth = lazer_login(server.url, "viewer", "some secret")
        lookup = f"{server.url}/api/v2/beatmaps/lookup?id=51"
        assert httpx.get(lookup, headers=auth).json()["status"] == "pending"
        changed = run_cli(settings, "beatmaps", "status", "50", "loved")
        assert changed.returncode == 0, changed.stderr
        assert "beatmapset 50 is loved; recomputed 0 players" in changed.stdout
        assert httpx.get(lookup, headers=auth).json()["status"] == "loved"
    finally:
        server.stop()
    missing = run_cli(settings, "beatmaps", "status", "999", "ranked")
    assert missing.returncode == 1 and "no beatmapset 999" in missing.stderr
    wrong = run_cli(settings, "beatmaps", "status", "50", "famous")
    assert wrong.returncode == 2 and "invalid choice" in wrong.stderr
