"""Beatmap packs (core/beatmaps/packs.py, plugins/api_v2/beatmap_packs.py, `hitcircle packs`)."""

import argparse

import httpx
import pytest
from starlette.applications import Starlette

from core.beatmaps import packs
from core.beatmaps.cli import _pack_add_set, _pack_create, _pack_delete, _pack_list
from core.services import services
from tests.beatmaps.support import play, ranked_set


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def ns(**kw: object) -> argparse.Namespace:
    return argparse.Namespace(**kw)


async def _create(
    app: Starlette, tag: str, ruleset: int | None = None, no_diff_reduction: bool = False
) -> int:
    args = ns(
        tag=tag,
        name=f"Pack {tag}",
        author="op",
        ruleset=ruleset,
        url="",
        no_diff_reduction=no_diff_reduction,
    )
    return await _pack_create(app, args)


async def test_packs_listing_show_and_completion(
    app: Starlette, client: httpx.AsyncClient, token: str, user: int
) -> None:
    await ranked_set(app, 100)
    await ranked_set(app, 200)
    assert await _create(app, "S1") == 0
    assert await _create(app, "S2", ruleset=0) == 0
    assert await _create(app, "T1") == 0
    # The set views are cached before the sets join packs: `pack_tags` must follow.
    await client.get("/api/v2/beatmapsets/100", headers=auth(token))
    for tag, set_id in (("S1", 100), ("S1", 200), ("T1", 100)):
        assert await _pack_add_set(app, ns(tag=tag, set_id=set_id)) == 0
    body = (await client.get("/api/v2/beatmaps/packs", headers=auth(token))).json()
    assert [p["tag"] for p in body["beatmap_packs"]] == ["S2", "S1"]
    assert body["cursor_string"] is None
    assert set(body["beatmap_packs"][0]) == {
        "author",
        "date",
        "name",
        "no_diff_reduction",
        "ruleset_id",
        "tag",
        "url",
    }
    theme = await client.get(
        "/api/v2/beatmaps/packs", params={"type": "theme"}, headers=auth(token)
    )
    assert [p["tag"] for p in theme.json()["beatmap_packs"]] == ["T1"]
    unknown = await client.get("/api/v2/beatmaps/packs?type=nope", headers=auth(token))
    assert unknown.status_code == 404

    pack = (await client.get("/api/v2/beatmaps/packs/S1", headers=auth(token))).json()
    assert [s["id"] for s in pack["beatmapsets"]] == [100, 200]
    assert pack["user_completion_data"] == {"completed": False, "beatmapset_ids": []}
    await play(app, user, 101, passed=False)
    await play(app, user, 201)
    pack = (await client.get("/api/v2/beatmaps/packs/S1", headers=auth(token))).json()
    assert pack["user_completion_data"] == {"completed": False, "beatmapset_ids": [200]}
    await play(app, user, 102)
    pack = (await client.get("/api/v2/beatmaps/packs/S1", headers=auth(token))).json()
    assert pack["user_completion_data"] == {"completed": True, "beatmapset_ids": [100, 200]}

    shown = (await client.get("/api/v2/beatmapsets/100", headers=auth(token))).json()
    assert shown["pack_tags"] == ["S1", "T1"]
    found = await client.get("/api/v2/beatmapsets/search?s=any", headers=auth(token))
    tags = {s["id"]: s["pack_tags"] for s in found.json()["beatmapsets"]}
    assert tags == {100: ["S1", "T1"], 200: ["S1"]}

    assert await _pack_delete(app, ns(tag="T1")) == 0
    shown = (await client.get("/api/v2/beatmapsets/100", headers=auth(token))).json()
    assert shown["pack_tags"] == ["S1"]
    assert (await client.get("/api/v2/beatmaps/packs/T1", headers=auth(token))).status_code == 404


async def test_packs_page_with_a_cursor(
    app: Starlette, client: httpx.AsyncClient, token: str
) -> None:
    for i in range(packs.PAGE_SIZE + 3):
        await packs.create(services(app).db, f"S{i}", f"Pack {i}", "op", None)
    first = (await client.get("/api/v2/beatmaps/packs", headers=auth(token))).json()
    assert len(first["beatmap_packs"]) == packs.PAGE_SIZE
    assert first["beatmap_packs"][0]["tag"] == f"S{packs.PAGE_SIZE + 2}"
    second = await client.get(
        "/api/v2/beatmaps/packs",
        params={"cursor_string": first["cursor_string"]},
        headers=auth(token),
    )
    assert [p["tag"] for p in second.json()["beatmap_packs"]] == ["S2", "S1", "S0"]
    assert second.json()["cursor_string"] is None
    broken = await client.get(
        "/api/v2/beatmaps/packs", params={"cursor_string": "%%%"}, headers=auth(token)
    )
    assert len(broken.json()["beatmap_packs"]) == packs.PAGE_SIZE


@pytest.mark.parametrize("tag", ["S404", "x" * 500, "%20", "S1%00", "s1", "S1%20"])
async def test_unknown_packs(
    app: Starlette, client: httpx.AsyncClient, token: str, tag: str
) -> None:
    await packs.create(services(app).db, "S1", "One", "op", None)
    response = await client.get(f"/api/v2/beatmaps/packs/{tag}", headers=auth(token))
    assert response.status_code == 404


async def test_pack_commands_refuse_bad_input(
    app: Starlette, capsys: pytest.CaptureFixture[str]
) -> None:
    await ranked_set(app, 100)
    assert await _create(app, "Q1") == 1  # no such type letter
    assert await _create(app, "") == 1
    assert await _create(app, "S" * 40) == 1
    assert await _create(app, "S1") == 0
    assert await _create(app, "S1") == 1
    # MariaDB compares without case: `s1` is taken there (refused, no crash); SQLite has both.
    mariadb = str(services(app).db.url).startswith("mysql")
    assert await _create(app, "SA") == 0
    assert await _create(app, "Sa") == (1 if mariadb else 0)
    assert await _create(app, "S1\x00") == 1
    assert await _create(app, "S 2") == 1
    assert await _pack_add_set(app, ns(tag="S9", set_id=100)) == 1
    assert await _pack_add_set(app, ns(tag="S1", set_id=999)) == 1
    assert await _pack_add_set(app, ns(tag="S1", set_id=100)) == 0
    assert await _pack_add_set(app, ns(tag="S1", set_id=100)) == 1
    assert await _pack_delete(app, ns(tag="S9")) == 1
    assert await _pack_list(app, ns()) == 0
    assert "S1\tPack S1\tby op\t1 sets" in capsys.readouterr().out
    assert len(await packs.all_packs(services(app).db)) == (2 if mariadb else 3)
    pack = await packs.by_tag(services(app).db, "S1")
    assert pack is not None
    assert await packs.set_ids(services(app).db, int(pack["id"])) == [100]


async def test_no_diff_reduction_packs_refuse_easier_passes(
    app: Starlette, client: httpx.AsyncClient, token: str, user: int
) -> None:
    await ranked_set(app, 100)
    assert await _create(app, "S5", no_diff_reduction=True) == 0
    assert await _create(app, "S6", ruleset=1) == 0
    for tag in ("S5", "S6"):
        assert await _pack_add_set(app, ns(tag=tag, set_id=100)) == 0
    await play(app, user, 101, mods_key="EZ,HD")
    await play(app, user, 102, mods_key="HT")
    pack = (await client.get("/api/v2/beatmaps/packs/S5", headers=auth(token))).json()
    assert pack["no_diff_reduction"] is True
    assert pack["user_completion_data"] == {"completed": False, "beatmapset_ids": []}
    # A taiko pack wants a taiko pass: these osu! ones do not count.
    taiko = (await client.get("/api/v2/beatmaps/packs/S6", headers=auth(token))).json()
    assert taiko["user_completion_data"]["beatmapset_ids"] == []
    await play(app, user, 101, mods_key="HD,HR")
    pack = (await client.get("/api/v2/beatmaps/packs/S5", headers=auth(token))).json()
    assert pack["user_completion_data"] == {"completed": True, "beatmapset_ids": [100]}
