"""`GET /api/v2/rooms` is served from the cache (`core.rooms.listing`), and every write a listing
shows retires it. Each test renames a room behind the cache's back, checks the listing still
answers the cached name, then makes one write and checks the listing reads the database again:
without that write's invalidation the old name would still be served."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from core.beatmaps import resolve
from core.daily_challenge import rotation
from core.moderation import sanctions, score_removal
from core.moderation.audit import OPERATOR
from core.rooms import listing
from core.rooms import store as rooms_db
from core.scores import store as scores_db
from core.services import services
from core.users import profiles
from core.users import store as users_db
from tests.conftest import create_user, issue_token
from tests.scores import support

from .test_rooms import auth, create, play


@pytest.fixture
async def beatmap(app: Starlette) -> support.Map:
    return await support.import_map(app, 0)


async def names(client: httpx.AsyncClient, token: str, query: str = "") -> list[str]:
    response = await client.get(f"/api/v2/rooms{query}", headers=auth(token))
    assert response.status_code == 200, response.text
    return [r["name"] for r in response.json()]


async def cached_then_renamed(
    app: Starlette, client: httpx.AsyncClient, token: str, room: dict[str, Any]
) -> None:
    """List (caching the answer), then rename the room in the database alone: the listing
    still answers the cached name."""
    assert "renamed" not in await names(client, token)
    await rooms_db.update_room(services(app).db, int(room["id"]), name="renamed")
    assert "renamed" not in await names(client, token)


async def test_the_listing_is_cached_per_query_and_shared_by_viewers(
    app: Starlette, client: httpx.AsyncClient, token: str, beatmap: support.Map
) -> None:
    room = await create(client, token, beatmap)
    other = await issue_token(app, await create_user(app, "other"))
    before = (await client.get("/api/v2/rooms", headers=auth(token))).content
    await rooms_db.update_room(services(app).db, int(room["id"]), name="renamed")
    # Another viewer reads the same cached bytes; another query is rendered afresh.
    assert (await client.get("/api/v2/rooms", headers=auth(other))).content == before
    assert await names(client, token, "?limit=5") == ["renamed"]
    # What depends on the viewer is not shared.
    assert await names(client, other, "?mode=owned") == []
    assert await names(client, token, "?mode=owned") == ["renamed"]


async def test_create_retires_the_listing(
    app: Starlette, client: httpx.AsyncClient, token: str, beatmap: support.Map
) -> None:
    room = await create(client, token, beatmap)
    await cached_then_renamed(app, client, token, room)
    await create(client, token, beatmap, name="second")
    assert await names(client, token) == ["second", "renamed"]


async def test_join_and_part_retire_the_listing(
    app: Starlette, client: httpx.AsyncClient, token: str, beatmap: support.Map
) -> None:
    room = await create(client, token, beatmap)
    uid = await create_user(app, "joiner")
    other = await issue_token(app, uid)
    await cached_then_renamed(app, client, token, room)
    joined = await client.put(f"/api/v2/rooms/{room['id']}/users/{uid}", headers=auth(other))
    assert joined.status_code == 200, joined.text
    assert await names(client, token) == ["renamed"]
    await rooms_db.update_room(services(app).db, int(room["id"]), name="again")
    assert await names(client, token) == ["renamed"]
    parted = await client.delete(f"/api/v2/rooms/{room['id']}/users/{uid}", headers=auth(other))
    assert parted.status_code == 204, parted.text
    assert await names(client, token) == ["again"]


async def test_close_retires_the_listing(
    app: Starlette, client: httpx.AsyncClient, token: str, beatmap: support.Map
) -> None:
    room = await create(client, token, beatmap)
    await cached_then_renamed(app, client, token, room)
    closed = await client.delete(f"/api/v2/rooms/{room['id']}", headers=auth(token))
    assert closed.status_code == 204, closed.text
    assert await names(client, token, "?mode=all") == ["renamed"]
    # The closed room left the active listing, which was cached before.
    assert await names(client, token) == []


async def test_score_token_retires_the_listing(
    app: Starlette, client: httpx.AsyncClient, token: str, beatmap: support.Map
) -> None:
    room = await create(client, token, beatmap)
    await cached_then_renamed(app, client, token, room)
    item_id = room["playlist"][0]["id"]
    created = await client.post(
        f"/api/v2/rooms/{room['id']}/playlist/{item_id}/scores",
        data={"beatmap_id": str(beatmap.id), "beatmap_hash": beatmap.checksum, "ruleset_id": "0"},
        headers=auth(token),
    )
    assert created.status_code == 200, created.text
    assert await names(client, token) == ["renamed"]


async def test_score_submission_retires_the_listing(
    app: Starlette,
    client: httpx.AsyncClient,
    token: str,
    beatmap: support.Map,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    room = await create(client, token, beatmap)
    item_id = room["playlist"][0]["id"]
    created = await client.post(
        f"/api/v2/rooms/{room['id']}/playlist/{item_id}/scores",
        data={"beatmap_id": str(beatmap.id), "beatmap_hash": beatmap.checksum, "ruleset_id": "0"},
        headers=auth(token),
    )
    assert created.status_code == 200, created.text
    await cached_then_renamed(app, client, token, room)
    # Only the link of the score retires the listing here: profile invalidation (which a
    # submission also does) is made a no-op for this test.
    monkeypatch.setattr(profiles, "rooms_listing", SimpleNamespace(changed=_nothing))
    payload = support.body(beatmap, mods=[{"acronym": "HD"}])
    submitted = await client.put(
        f"/api/v2/rooms/{room['id']}/playlist/{item_id}/scores/{created.json()['id']}",
        json=payload,
        headers=auth(token),
    )
    assert submitted.status_code == 200, submitted.text
    assert await names(client, token) == ["renamed"]


async def _nothing(*_: Any) -> None:
    return None


async def test_score_removal_retires_the_listing(
    app: Starlette,
    client: httpx.AsyncClient,
    token: str,
    user: int,
    beatmap: support.Map,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    room = await create(client, token, beatmap)
    played = await play(client, token, room, beatmap)
    assert played.status_code == 200, played.text
    await cached_then_renamed(app, client, token, room)
    monkeypatch.setattr(profiles, "rooms_listing", SimpleNamespace(changed=_nothing))
    await score_removal.delete_score(services(app), OPERATOR, int(played.json()["id"]), "test")
    assert await scores_db.get_score(services(app).db, int(played.json()["id"])) is None
    assert await names(client, token) == ["renamed"]


async def test_restricting_the_host_retires_the_listing(
    app: Starlette, client: httpx.AsyncClient, token: str, beatmap: support.Map
) -> None:
    host = await create_user(app, "host")
    host_token = await issue_token(app, host)
    await create(client, host_token, beatmap)
    assert await names(client, token) == ["weekly maps"]
    row = await users_db.get_user(services(app).db, host)
    assert row is not None
    await sanctions.restrict(services(app), OPERATOR, row, "test")
    assert await names(client, token) == []
    # The restricted host still sees their own rooms (their listing is not the shared one).
    assert await names(client, host_token) == ["weekly maps"]
    fresh = await users_db.get_user(services(app).db, host)
    assert fresh is not None
    await sanctions.unrestrict(services(app), OPERATOR, fresh, "test")
    assert await names(client, token) == ["weekly maps"]


async def test_beatmapset_changes_retire_the_listing(
    app: Starlette, client: httpx.AsyncClient, token: str, beatmap: support.Map
) -> None:
    room = await create(client, token, beatmap)
    await cached_then_renamed(app, client, token, room)
    await resolve.invalidate(app, 7000)
    assert await names(client, token) == ["renamed"]


async def test_daily_challenge_rotation_retires_the_listing(
    app: Starlette, client: httpx.AsyncClient, token: str, user: int, beatmap: support.Map
) -> None:
    today = rotation.day_of(dt.datetime.now(dt.UTC).timestamp())
    assert await names(client, token, "?category=daily_challenge") == []
    room_id, made = await rotation.rotate(app, today, host_user_id=user, ruleset_id=0)
    assert made and room_id is not None
    listed = await names(client, token, "?category=daily_challenge")
    assert listed == [f"Daily Challenge: {today.isoformat()}"]


async def test_a_room_ending_retires_the_listing(
    app: Starlette,
    client: httpx.AsyncClient,
    token: str,
    beatmap: support.Map,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    room = await create(client, token, beatmap)
    assert await names(client, token) == ["weekly maps"]
    stored = await rooms_db.get_room(services(app).db, int(room["id"]))
    assert stored is not None and stored["ends_at"] is not None
    later = stored["ends_at"] + dt.timedelta(seconds=1)
    monkeypatch.setattr(listing, "now", lambda: later)
    monkeypatch.setattr(rooms_db, "utcnow", lambda: later)
    assert await names(client, token) == []
