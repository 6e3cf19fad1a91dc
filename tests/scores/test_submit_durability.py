"""Score submission under failure and load: a committed score is always acknowledged, a write that
cannot happen is a 503 whose token still works, and concurrent clients on several workers of the
embedded database lose nothing."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from core.cache import Cache, CacheUnavailable
from core.config import Settings
from core.db import sqlite_path
from core.scores import store as scores_db
from core.scores import submit as submission
from core.services import services
from tests.conftest import LiveServer, RedisProcess, create_user, issue_token
from tests.scores import support
from tests.scores.test_submit import auth, new_token, stored


class FailsAfterCommit:
    """The app's cache, until `broken`: then every call fails as a Redis outage does, and so
    does the release of a lock taken before (the lock itself is let go underneath)."""

    def __init__(self, inner: Cache) -> None:
        self.inner = inner
        self.broken = False
        self.failed: list[str] = []

    def _fail(self, name: str) -> None:
        if self.broken:
            self.failed.append(name)
            raise CacheUnavailable(f"{name}: the cache went away after the commit")

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if name in ("close", "subscribe") or not callable(attribute):
            return attribute

        async def call(*args: Any, **kwargs: Any) -> Any:
            self._fail(name)
            return await attribute(*args, **kwargs)

        return call

    def lock(self, name: str, timeout: float = 10.0, wait: float = 10.0) -> Any:
        @asynccontextmanager
        async def held() -> AsyncIterator[None]:
            self._fail("lock")
            async with self.inner.lock(name, timeout, wait):
                yield
                self._fail("lock release")

        return held()


@pytest.fixture
async def lenient(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client that receives a 5xx answer instead of the exception behind it
    (Starlette re-raises it after answering, for the server's log)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def failing_cache(app: Starlette, monkeypatch: pytest.MonkeyPatch) -> Iterator[FailsAfterCommit]:
    """The cache double in the app; it breaks as soon as a submission's transaction commits."""
    svc = services(app)
    double = FailsAfterCommit(svc.cache)
    original = submission._store

    async def store_then_break(*args: Any, **kwargs: Any) -> Any:
        result = await original(*args, **kwargs)
        double.broken = True
        return result

    monkeypatch.setattr(submission, "_store", store_then_break)
    monkeypatch.setattr(svc, "cache", double)
    yield double
    double.broken = False


async def test_a_cache_failing_right_after_the_commit_still_acknowledges(
    app: Starlette, client: httpx.AsyncClient, token: str, failing_cache: FailsAfterCommit
) -> None:
    beatmap = await support.import_map(app, 0)
    token_id = await new_token(client, token, beatmap)
    path = f"/api/v2/beatmaps/{beatmap.id}/solo/scores/{token_id}"
    payload = support.body(beatmap, misses=1)
    put = await client.put(path, json=payload, headers=auth(token))
    assert put.status_code == 200, put.text
    body = put.json()
    assert body["total_score"] == payload["total_score"]
    # The cache was down for the lock's release and every invalidation after the commit.
    assert "lock release" in failing_cache.failed
    assert {"delete", "incr"} <= set(failing_cache.failed)
    row = await scores_db.get_score(services(app).db, body["id"])
    assert row is not None and row["total_score"] == payload["total_score"]
    token_row = await scores_db.get_token(services(app).db, token_id)
    assert token_row is not None and token_row["score_id"] == body["id"]
    # Back up: the same PUT again answers the same score, and the user can submit again.
    failing_cache.broken = False
    again = await client.put(path, json=payload, headers=auth(token))
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert await stored(app) == (1, 1, 1, 1)
    assert (await support.submit(client, token, beatmap, payload)).status_code == 200


async def test_a_cache_down_before_the_commit_is_503_and_stores_nothing(
    app: Starlette, lenient: httpx.AsyncClient, token: str, failing_cache: FailsAfterCommit
) -> None:
    client = lenient
    beatmap = await support.import_map(app, 0)
    token_id = await new_token(client, token, beatmap)
    failing_cache.broken = True  # down already when the lock is asked for
    path = f"/api/v2/beatmaps/{beatmap.id}/solo/scores/{token_id}"
    put = await client.put(path, json=support.body(beatmap), headers=auth(token))
    assert put.status_code == 503 and put.headers["Retry-After"]
    assert await stored(app) == (0, 0, 0, 0)


@pytest.fixture
def settings_overrides() -> dict[str, dict[str, Any]]:
    return {"database": {"write_timeout": 0.3}}


async def test_a_write_that_cannot_happen_is_503_and_the_token_stays_usable(
    app: Starlette, lenient: httpx.AsyncClient, token: str, settings: Settings, backend: str
) -> None:
    client = lenient
    if backend != "embedded":
        pytest.skip("the write lock of the embedded SQLite file")
    beatmap = await support.import_map(app, 0)
    token_id = await new_token(client, token, beatmap)
    path = f"/api/v2/beatmaps/{beatmap.id}/solo/scores/{token_id}"
    payload = support.body(beatmap)
    # Another process holds the file's write lock for longer than `write_timeout`.
    other = sqlite3.connect(sqlite_path(settings.database_url), isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        put = await client.put(path, json=payload, headers=auth(token))
        assert put.status_code == 503, put.text
        assert put.headers["Retry-After"]
        assert put.json() == {"error": "Service temporarily unavailable."}
    finally:
        other.rollback()
        other.close()
    assert await stored(app) == (0, 0, 0, 0)
    retried = await client.put(path, json=payload, headers=auth(token))
    assert retried.status_code == 200, retried.text
    assert await stored(app) == (1, 1, 1, 1)


CLIENTS = 16
PLAYS = 3


async def test_concurrent_clients_on_two_workers_lose_nothing(
    app: Starlette, settings: Settings, backend: str, private_redis: RedisProcess
) -> None:
    """16 players submitting at once to `serve --workers 2`: every PUT is answered 200 and every
    acknowledged score is stored as answered. On SQLite the two processes share one file."""
    maps = [await support.import_map(app, 0, set_id=7000 + 10 * i) for i in range(4)]
    users = [await create_user(app, f"player{i}") for i in range(CLIENTS)]
    tokens = [await issue_token(app, uid) for uid in users]
    env = {"HITCIRCLE_SERVER_WORKERS": "2", "HITCIRCLE_RATELIMIT_ENABLED": "false"}
    if backend == "embedded":
        # More than one worker needs Redis; the database stays the embedded file.
        env["HITCIRCLE_REDIS_URL"] = private_redis.url
    server = LiveServer(settings, env)
    await asyncio.to_thread(server.start, 60.0)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:

            async def player(n: int) -> list[tuple[int, Any]]:
                answers = []
                for play in range(PLAYS):
                    beatmap = maps[(n + play) % len(maps)]
                    payload = support.body(
                        beatmap, misses=play, total_score=300_000 + 1000 * n + play
                    )
                    put = await support.submit(client, tokens[n], beatmap, payload)
                    answers.append(
                        (put.status_code, put.json() if put.status_code == 200 else put.text)
                    )
                return answers

            results = [
                a for answers in await asyncio.gather(*map(player, range(CLIENTS))) for a in answers
            ]
    finally:
        await asyncio.to_thread(server.stop)
    failed = [answer for status, answer in results if status != 200]
    assert not failed, f"{len(failed)} of {len(results)} PUTs failed, e.g. {failed[0]}"
    db = services(app).db
    for _, body in results:
        row = await scores_db.get_score(db, body["id"])
        assert row is not None, f"acknowledged score {body['id']} is missing"
        assert (row["user_id"], row["total_score"]) == (body["user_id"], body["total_score"])
    assert await stored(app) == (
        CLIENTS * PLAYS,
        len({(n, (n + p) % 4) for n in range(CLIENTS) for p in range(PLAYS)}),
        CLIENTS,
        CLIENTS * PLAYS,
    )
