"""The modding history (core/beatmaps/set_events.py, plugins/api_v2/beatmapset_events.py)."""

import argparse

import httpx
import pytest
from starlette.applications import Starlette

from core.beatmaps import set_events
from core.beatmaps.cli import _nominate
from core.beatmaps.status import change_status
from core.config import Settings
from core.services import services
from tests.beatmaps.support import import_osz, make_osu, ranked_set
from tests.conftest import run_command


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_status_events() -> None:
    assert set_events.status_events(None, "ranked") == ["rank"]
    assert set_events.status_events(None, "pending") == []
    assert set_events.status_events("ranked", "ranked") == []
    assert set_events.status_events("qualified", "pending") == ["disqualify"]
    assert set_events.status_events("loved", "ranked") == ["remove_from_loved", "rank"]
    assert set_events.status_events("pending", "qualified") == ["qualify"]
    assert set_events.status_events("pending", "approved") == ["approve"]


async def test_import_status_and_nominate_write_events(
    app: Starlette, client: httpx.AsyncClient, token: str
) -> None:
    await import_osz(app, {"a.osu": make_osu(beatmap_id=301, set_id=300)}, status="pending")
    assert await _nominate(app, argparse.Namespace(set_id=300)) == 0
    assert await _nominate(app, argparse.Namespace(set_id=999)) == 1
    await change_status(app, 300, "qualified")
    await change_status(app, 300, "pending")
    await change_status(app, 300, "loved")
    await ranked_set(app, 100)
    body = (await client.get("/api/v2/beatmapsets/events", headers=auth(token))).json()
    assert [(e["type"], e["beatmapset"]["id"]) for e in body["events"]] == [
        ("rank", 100),
        ("love", 300),
        ("disqualify", 300),
        ("qualify", 300),
        ("nominate", 300),
    ]
    assert body["reviewsConfig"] == {"max_blocks": 50}
    assert body["users"] == []
    first = body["events"][-1]
    assert set(first) == {
        "id",
        "type",
        "comment",
        "created_at",
        "user_id",
        "beatmapset",
        "discussion",
    }
    assert first["comment"] == {"modes": ["osu"]} and first["user_id"] is None
    assert first["beatmapset"]["title"] == "Test Song"
    assert first["beatmapset"]["user"]["username"] == "mapper"

    only = await client.get(
        "/api/v2/beatmapsets/events",
        params={"types[]": ["qualify", "disqualify"]},
        headers=auth(token),
    )
    assert [e["type"] for e in only.json()["events"]] == ["disqualify", "qualify"]
    single = await client.get("/api/v2/beatmapsets/events?type=rank", headers=auth(token))
    assert [e["beatmapset"]["id"] for e in single.json()["events"]] == [100]
    page = await client.get("/api/v2/beatmapsets/events?limit=2&page=2", headers=auth(token))
    assert [e["type"] for e in page.json()["events"]] == ["disqualify", "qualify"]
    by_set = await client.get("/api/v2/beatmapsets/events?beatmapset_id=100", headers=auth(token))
    assert len(by_set.json()["events"]) == 1


async def test_dates_and_users(
    app: Starlette, client: httpx.AsyncClient, token: str, user: int
) -> None:
    await ranked_set(app, 100)
    db = services(app).db
    rows = await set_events.search(
        db, types=[], user_id=None, set_id=None, min_date=None, max_date=None, limit=5, page=1
    )
    stamp = rows[0]["created_at"].isoformat()
    await set_events.record(db, 100, "nominate", user_id=user, comment={"modes": ["osu"]})
    late = await client.get(
        "/api/v2/beatmapsets/events", params={"min_date": "2090-01-01"}, headers=auth(token)
    )
    assert late.json()["events"] == []
    early = await client.get(
        "/api/v2/beatmapsets/events",
        params={"max_date": stamp + "Z", "min_date": "2000-01-01T00:00:00+00:00"},
        headers=auth(token),
    )
    assert early.json()["events"] == []
    mine = await client.get(f"/api/v2/beatmapsets/events?user={user}", headers=auth(token))
    assert [e["type"] for e in mine.json()["events"]] == ["nominate"]
    assert [u["id"] for u in mine.json()["users"]] == [user]


@pytest.mark.parametrize(
    "query",
    [
        "min_date=yesterday",
        "max_date=2020-13-45",
        "limit=abc",
        "page=0",
        "page=x",
        f"user={10**30}",
        "user=peppy",
        "beatmapset_id[]=1",
        "limit=-5",
    ],
)
async def test_bad_filters(
    app: Starlette, client: httpx.AsyncClient, token: str, query: str
) -> None:
    response = await client.get(f"/api/v2/beatmapsets/events?{query}", headers=auth(token))
    assert response.status_code == 422
    assert "error" in response.json()


async def test_commands_through_hitcircle(
    app: Starlette, settings: Settings, client: httpx.AsyncClient, token: str
) -> None:
    """`beatmaps nominate` shares its group with maps_local's commands; `tags` and `packs` are
    there too (refusals are tested in process, a subprocess is slow)."""
    await ranked_set(app, 100)
    done = await run_command(settings, "beatmaps", "nominate", "100")
    assert done.returncode == 0, done.stderr
    refused = await run_command(settings, "beatmaps", "nominate", "999")
    assert refused.returncode == 1 and "no beatmapset 999" in refused.stderr
    tag = await run_command(
        settings, "tags", "add", "style/jumps", "--description", "Jumps", "--ruleset", "0"
    )
    assert tag.returncode == 0, tag.stderr
    bad = await run_command(settings, "tags", "add", "x", "--description", "X", "--ruleset", "9")
    assert bad.returncode == 2
    pack = await run_command(settings, "packs", "create", "S1", "One", "--author", "op")
    assert pack.returncode == 0, pack.stderr
    assert (await run_command(settings, "packs", "add-set", "S1", "100")).returncode == 0
    body = await client.get("/api/v2/beatmapsets/events?type=nominate", headers=auth(token))
    assert [e["beatmapset"]["id"] for e in body.json()["events"]] == [100]
    tags = (await client.get("/api/v2/tags", headers=auth(token))).json()["tags"]
    assert [(t["name"], t["ruleset_id"]) for t in tags] == [("style/jumps", 0)]
    shown = (await client.get("/api/v2/beatmapsets/100", headers=auth(token))).json()
    assert shown["pack_tags"] == ["S1"]
