from pathlib import Path

import pytest

from core.services import services
from core.storage import InvalidKey, LocalStorage, check_key


async def test_put_get_delete(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    await storage.put("replays/1.osr", b"data")
    assert await storage.get("replays/1.osr") == b"data"
    assert await storage.exists("replays/1.osr")
    assert storage.local_path("replays/1.osr") == tmp_path / "replays" / "1.osr"
    assert await storage.delete("replays/1.osr")
    assert not await storage.delete("replays/1.osr")
    assert await storage.get("replays/1.osr") is None
    assert storage.local_path("replays/1.osr") is None


async def test_overwrite_leaves_no_temp_files(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    await storage.put("a", b"1")
    await storage.put("a", b"2")
    assert await storage.get("a") == b"2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]


@pytest.mark.parametrize(
    "key",
    ["../etc/passwd", "/abs", "a//b", "", "a/../b", ".hidden", "a/" + "b/" * 9 + "c", "x\x00y"],
)
def test_hostile_keys_are_refused(key: str) -> None:
    with pytest.raises(InvalidKey):
        check_key(key)


async def test_the_builtin_plugin_stores_under_the_data_dir(app) -> None:
    await services(app).storage.put("avatars/2", b"png")
    settings = services(app).settings
    assert (Path(settings.data.dir) / "files" / "avatars" / "2").read_bytes() == b"png"


async def test_keys_lists_stored_files_only(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "files")
    assert [k async for k in storage.keys()] == []  # no folder yet
    await storage.put("replays/2.osr", b"r")
    await storage.put("beatmaps/osu/a.osu", b"o")
    (tmp_path / "files" / "replays" / ".tmp-half").write_bytes(b"")
    assert [k async for k in storage.keys()] == ["beatmaps/osu/a.osu", "replays/2.osr"]
    assert [k async for k in storage.keys("replays/")] == ["replays/2.osr"]
    await storage.close()
