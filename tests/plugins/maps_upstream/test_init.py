import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import rosu_pp_py as rosu
from starlette.applications import Starlette

from core.clock import ManualClock
from core.http import encode_cursor
from core.services import services
from tests.beatmaps.support import FakeUpstream, make_osu, md5, serve_in_thread
from tests.conftest import free_port


@pytest.fixture
def fake() -> Iterator[FakeUpstream]:
    upstream = FakeUpstream()
    with serve_in_thread(upstream.app(), free_port()) as url:
        upstream.url = url
        try:
            yield upstream
        finally:
            upstream.release()


@pytest.fixture
def mirrors(fake: FakeUpstream, request: pytest.FixtureRequest) -> list[str]:
    """`download_mirrors` as fake routes (`osz`, `broken`, `hang`); by parametrize, else none."""
    return [f"{fake.url}/{kind}/{{id}}" for kind in getattr(request, "param", ())]


@pytest.fixture
def search_on(request: pytest.FixtureRequest) -> bool:
    return bool(getattr(request, "param", False))


@pytest.fixture
def settings_overrides(
    fake: FakeUpstream, mirrors: list[str], search_on: bool
) -> dict[str, dict[str, Any]]:
    return {
        "beatmaps_upstream": {
            **fake.settings(),
            "search": search_on,
            "search_timeout": 0.5,
            "timeout": 1.0,
            "refresh_after": 3600,
            "download_mirrors": mirrors,
        }
    }


@pytest.fixture
async def token(app: Starlette) -> str:
    from tests.conftest import issue_token

    return await issue_token(app, None, ("public",))


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def api_calls(fake: FakeUpstream) -> list[str]:
    return [r for r in fake.requests if "/api/v2/" in r]


async def test_lookup_miss_is_fetched_once(
    fake: FakeUpstream, client: httpx.AsyncClient, token: str
) -> None:
    files = {
        201: make_osu(beatmap_id=201, set_id=200),
        202: make_osu(beatmap_id=202, set_id=200, version="B"),
    }
    fake.add(200, files)
    response = await client.get(
        "/api/v2/beatmaps/lookup", params={"checksum": md5(files[202])}, headers=auth(token)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == 202 and body["beatmapset"]["title"] == "Upstream Title"
    assert body["beatmapset"]["ratings"] == [0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 30]
    assert body["last_updated"] == "2020-01-02T03:04:05Z"
    calls = len(api_calls(fake))
    assert calls == 2  # lookup + the whole set
    # The rest of the set came along: no more upstream calls.
    assert (await client.get("/api/v2/beatmaps/201", headers=auth(token))).status_code == 200
    assert (await client.get("/api/v2/beatmapsets/200", headers=auth(token))).status_code == 200
    assert len(api_calls(fake)) == calls


async def test_unknown_is_404_and_remembered(
    fake: FakeUpstream, client: httpx.AsyncClient, token: str
) -> None:
    for _ in range(3):
        response = await client.get(
            "/api/v2/beatmaps/lookup", params={"checksum": "a" * 32}, headers=auth(token)
        )
        assert response.status_code == 404
        assert response.json() == {"error": None}
    assert len(api_calls(fake)) == 1
    assert (await client.get("/api/v2/beatmapsets/777", headers=auth(token))).status_code == 404


async def test_429_with_retry_after_is_honoured(
    fake: FakeUpstream, client: httpx.AsyncClient, token: str, clock: ManualClock
) -> None:
    files = {301: make_osu(beatmap_id=301, set_id=300)}
    fake.add(300, files)
    fake.throttle, fake.retry_after = 1, "0.2"
    response = asyncio.create_task(client.get("/api/v2/beatmaps/301", headers=auth(token)))
    # Refused once: the client waits the 0.2 s it was told to, on the app's clock. An answer
    # before that wait is a failure to report, not a wait until the test's timeout.
    asleep = asyncio.create_task(clock.wait_for_sleeper(0.2))
    await asyncio.wait({asleep, response}, return_when=asyncio.FIRST_COMPLETED)
    if not asleep.done():
        asleep.cancel()
        answer = response.result()
        raise AssertionError(
            f"answered {answer.status_code} before any retry wait: {answer.text[:300]}; "
            f"upstream saw {fake.requests}; sleepers {clock.sleepers}"
        )
    assert fake.requests == ["POST /oauth/token?"]
    clock.advance(0.2)
    assert (await response).status_code == 200
    assert fake.requests[:2] == ["POST /oauth/token?"] * 2  # asked again, once, in time


async def test_retry_after_beyond_the_budget_gives_up_at_once(
    fake: FakeUpstream, client: httpx.AsyncClient, token: str
) -> None:
    fake.add(300, {301: make_osu(beatmap_id=301, set_id=300)})
    fake.throttle, fake.retry_after = 5, "30"
    started = time.monotonic()
    response = await client.get("/api/v2/beatmaps/301", headers=auth(token))
    assert response.status_code == 404
    assert time.monotonic() - started < 1.0
    fake.throttle = 0
    assert (await client.get("/api/v2/beatmaps/301", headers=auth(token))).status_code == 200


async def test_slow_upstream_never_blocks_past_the_budget(
    fake: FakeUpstream, client: httpx.AsyncClient, token: str, clock: ManualClock
) -> None:
    fake.add(300, {301: make_osu(beatmap_id=301, set_id=300)})
    fake.hold = True  # upstream answers nothing until told (never, here)
    response = asyncio.create_task(client.get("/api/v2/beatmaps/301", headers=auth(token)))
    await fake.held()  # the first upstream call is waiting for its answer
    clock.advance(1.0)  # the whole budget (`timeout`) passes on the app's clock
    assert (await response).status_code == 404
    assert clock.monotonic() == 1.0


async def test_unsettled_sets_are_refreshed(
    app: Starlette, fake: FakeUpstream, client: httpx.AsyncClient, token: str
) -> None:
    import sqlalchemy as sa

    from core.beatmaps import resolve
    from core.beatmaps.store import beatmapsets

    fake.add(400, {401: make_osu(beatmap_id=401, set_id=400)}, status="pending")
    assert (await client.get("/api/v2/beatmapsets/400", headers=auth(token))).json()[
        "status"
    ] == "pending"
    fake.add(400, {401: make_osu(beatmap_id=401, set_id=400)}, status="ranked")
    # Not stale yet: the stored copy answers.
    assert (await client.get("/api/v2/beatmapsets/400", headers=auth(token))).json()[
        "status"
    ] == "pending"
    await services(app).db.execute(
        sa.update(beatmapsets)
        .where(beatmapsets.c.id == 400)
        .values(fetched_at=sa.func.coalesce(beatmapsets.c.submitted_date, beatmapsets.c.fetched_at))
    )
    await resolve.invalidate(app, 400)
    refreshed = (await client.get("/api/v2/beatmapsets/400", headers=auth(token))).json()
    assert refreshed["status"] == "ranked"
    # Ranked now: never fetched again.
    calls = len(api_calls(fake))
    await resolve.invalidate(app, 400)
    await client.get("/api/v2/beatmapsets/400", headers=auth(token))
    assert len(api_calls(fake)) == calls


async def test_attributes_fetch_the_file_from_a_mirror(
    fake: FakeUpstream, client: httpx.AsyncClient, token: str
) -> None:
    data = make_osu(beatmap_id=501, set_id=500, objects=30)
    fake.add(500, {501: data})
    response = await client.post(
        "/api/v2/beatmaps/501/attributes", json={"mods": ["HR"]}, headers=auth(token)
    )
    assert response.status_code == 200, response.text
    expected = rosu.Difficulty(mods=16).calculate(rosu.Beatmap(bytes=data))
    assert response.json()["attributes"]["star_rating"] == pytest.approx(expected.stars)
    raw = await client.get("/osu/501")
    assert raw.content == data
    assert sum("/osu/501" in r for r in fake.requests) == 1  # kept after the first fetch


async def test_a_mirror_file_with_the_wrong_checksum_is_refused(
    fake: FakeUpstream, client: httpx.AsyncClient, token: str
) -> None:
    fake.add(600, {601: make_osu(beatmap_id=601, set_id=600)})
    fake.files[601] = make_osu(beatmap_id=601, set_id=600, version="tampered")
    assert (await client.get("/osu/601")).status_code == 404
    response = await client.post("/api/v2/beatmaps/601/attributes", headers=auth(token))
    assert response.status_code == 404


async def test_download_redirects_to_the_mirror(
    app: Starlette, fake: FakeUpstream, client: httpx.AsyncClient
) -> None:
    from tests.conftest import create_user, issue_token

    lazer = await issue_token(app, await create_user(app))
    fake.add(700, {701: make_osu(beatmap_id=701, set_id=700)})
    response = await client.get("/api/v2/beatmapsets/700/download?noVideo=1", headers=auth(lazer))
    assert response.status_code == 302
    assert response.headers["location"] == "https://mirror.invalid/d/700?novideo=1"


async def test_lookup_and_set_share_one_budget(
    fake: FakeUpstream, client: httpx.AsyncClient, token: str, clock: ManualClock
) -> None:
    data = make_osu(beatmap_id=801, set_id=800)
    fake.add(800, {801: data})
    fake.hold = True
    response = asyncio.create_task(
        client.get("/api/v2/beatmaps/lookup", params={"checksum": md5(data)}, headers=auth(token))
    )
    # Token and lookup answered, each well within a budget (1 s) of its own: 0.9 s in all.
    for seconds in (0.6, 0.3):
        answer = await fake.held()
        clock.advance(seconds)
        answer.set()
    # The set is asked for with 0.1 s of the one shared budget left: 0.3 s more is too late.
    await fake.held()
    clock.advance(0.3)
    assert (await response).status_code == 404
    assert [r.split("?")[0] for r in fake.requests] == [
        "POST /oauth/token",
        "GET /api/v2/beatmaps/lookup",
        "GET /api/v2/beatmapsets/800",
    ]


@pytest.mark.parametrize("mirrors", [("broken", "osz")], indirect=True)
async def test_download_fails_over_to_the_next_mirror_on_error(
    app: Starlette, client: httpx.AsyncClient, fake: FakeUpstream, clock: ManualClock
) -> None:
    from tests.conftest import create_user, issue_token

    lazer = await issue_token(app, await create_user(app))
    fake.add(710, {711: make_osu(beatmap_id=711, set_id=710)})
    response = await client.get("/api/v2/beatmapsets/710/download", headers=auth(lazer))
    assert response.status_code == 200, response.text
    assert response.content == fake.osz(710)
    tried = [r.split("?")[0] for r in fake.requests if "/osz/" in r or "/broken/" in r]
    # the broken mirror is retried (`retries`) before the next one is asked
    assert tried[-1] == "GET /osz/710" and tried[0] == "GET /broken/710"


@pytest.mark.parametrize("mirrors", [("hang", "osz")], indirect=True)
async def test_download_fails_over_on_timeout_within_one_budget(
    app: Starlette, client: httpx.AsyncClient, fake: FakeUpstream, clock: ManualClock
) -> None:
    from tests.conftest import create_user, issue_token

    lazer = await issue_token(app, await create_user(app))
    fake.add(720, {721: make_osu(beatmap_id=721, set_id=720)})
    response = asyncio.create_task(
        client.get("/api/v2/beatmapsets/720/download", headers=auth(lazer))
    )
    await fake.held()  # the first mirror hangs
    clock.advance(0.5)  # its half of the budget passes
    result = await response
    assert result.status_code == 200, result.text
    assert result.content == fake.osz(720)


@pytest.mark.parametrize("mirrors", [("huge", "osz")], indirect=True)
async def test_a_mirror_body_past_the_archive_limit_is_cut_off_and_the_next_asked(
    app: Starlette,
    client: httpx.AsyncClient,
    fake: FakeUpstream,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from core.beatmaps import archive
    from tests.conftest import create_user, issue_token

    lazer = await issue_token(app, await create_user(app))
    fake.add(740, {741: make_osu(beatmap_id=741, set_id=740)})
    # The huge mirror streams 4 MiB with no length; the limit stops it well before that.
    monkeypatch.setattr(archive, "MAX_ARCHIVE_BYTES", len(fake.osz(740)) + 1024)
    response = await client.get("/api/v2/beatmapsets/740/download", headers=auth(lazer))
    assert response.status_code == 200, response.text
    assert response.content == fake.osz(740)
    tried = [r.split("?")[0] for r in fake.requests if "/osz/" in r or "/huge/" in r]
    assert tried == ["GET /huge/740", "GET /osz/740"]


@pytest.mark.parametrize("mirrors", [("broken", "broken")], indirect=True)
async def test_download_with_every_mirror_down_falls_back_to_the_redirect(
    app: Starlette, client: httpx.AsyncClient, fake: FakeUpstream, clock: ManualClock
) -> None:
    from tests.conftest import create_user, issue_token

    lazer = await issue_token(app, await create_user(app))
    fake.add(730, {731: make_osu(beatmap_id=731, set_id=730)})
    response = await client.get("/api/v2/beatmapsets/730/download", headers=auth(lazer))
    assert response.status_code == 302
    assert response.headers["location"] == "https://mirror.invalid/d/730?novideo=0"


def search_calls(fake: FakeUpstream) -> list[str]:
    return [r for r in fake.requests if "/beatmapsets/search" in r]


@pytest.mark.parametrize("search_on", [True], indirect=True)
async def test_search_merges_upstream_sets_once_each(
    fake: FakeUpstream, client: httpx.AsyncClient, token: str
) -> None:
    for set_id in (910, 920, 930):
        fake.add(set_id, {set_id + 1: make_osu(beatmap_id=set_id + 1, set_id=set_id)})
    # 920 is already stored (fetched by id): the merge must not list it twice
    assert (await client.get("/api/v2/beatmapsets/920", headers=auth(token))).status_code == 200
    response = await client.get(
        "/api/v2/beatmapsets/search", params={"q": "upstream"}, headers=auth(token)
    )
    assert response.status_code == 200, response.text
    ids = [s["id"] for s in response.json()["beatmapsets"]]
    assert sorted(ids) == [910, 920, 930]
    assert len(search_calls(fake)) == 1
    # the same search again, and a later page, do not ask upstream again
    again = await client.get(
        "/api/v2/beatmapsets/search", params={"q": "upstream"}, headers=auth(token)
    )
    assert [s["id"] for s in again.json()["beatmapsets"]] == ids
    cursor = encode_cursor({"ranked_date": "2020-01-03T00:00:00Z", "id": 920})
    paged = await client.get(
        "/api/v2/beatmapsets/search",
        params={"q": "other", "cursor_string": cursor},
        headers=auth(token),
    )
    assert paged.status_code == 200
    assert len(search_calls(fake)) == 1


@pytest.mark.parametrize("search_on", [True], indirect=True)
async def test_slow_upstream_search_answers_locally_within_the_budget(
    fake: FakeUpstream, client: httpx.AsyncClient, token: str, clock: ManualClock
) -> None:
    fake.add(940, {941: make_osu(beatmap_id=941, set_id=940)})
    await client.get("/api/v2/beatmapsets/940", headers=auth(token))  # stored before the hold
    fake.add(950, {951: make_osu(beatmap_id=951, set_id=950)})
    fake.hold = True
    response = asyncio.create_task(
        client.get("/api/v2/beatmapsets/search", params={"q": "upstream"}, headers=auth(token))
    )
    await fake.held()
    clock.advance(0.5)  # `search_timeout` passes: search answers with what is stored
    result = await response
    assert result.status_code == 200
    assert [s["id"] for s in result.json()["beatmapsets"]] == [940]


async def test_search_does_not_ask_upstream_unless_enabled(
    fake: FakeUpstream, client: httpx.AsyncClient, token: str
) -> None:
    fake.add(960, {961: make_osu(beatmap_id=961, set_id=960)})
    response = await client.get(
        "/api/v2/beatmapsets/search", params={"q": "upstream"}, headers=auth(token)
    )
    assert response.status_code == 200
    assert response.json()["beatmapsets"] == []
    assert search_calls(fake) == []
