"""A seeded server for the contract run (schemathesis in `.ci/run`): a new data directory, the
objects the routes look up (a user and its API key, beatmapset 1 / beatmap 2, a submitted score, a
PM channel, the user in the admin group), then the app on a loopback port until SIGTERM.

    python -m tests.contract_server BACKEND STATE_FILE

BACKEND is `embedded` (SQLite + memory) or `mysql_redis` (HITCIRCLE_TEST_MYSQL_URL and
HITCIRCLE_TEST_REDIS_URL). Once serving, STATE_FILE holds `URL TOKEN API_KEY` (a lazer token:
scope `*`). The rate limiter is off: the run sends thousands of requests from one token.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import tempfile
from pathlib import Path

import httpx

from core.app import create_app
from core.services import services
from core.testing import (
    create_user,
    flush_redis,
    issue_token,
    make_settings,
    prepare_database,
    running,
    serve_app,
)
from core.users import store as users_db
from tests.test_fuzz_routes import seed

SECTIONS = {"ratelimit": {"enabled": False}, "beatmaps_upstream": {"osu_mirrors": []}}


async def main(backend: str, state_file: Path) -> None:
    root = Path(tempfile.mkdtemp(prefix="hitcircle-contract-"))
    settings = make_settings(backend, root / "data", **SECTIONS)
    prepare_database(settings, backend, root, [])
    if backend == "mysql_redis":
        await flush_redis()
    app = create_app(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with running(app):
        user = await create_user(app, "contract")
        token = await issue_token(app, user, ["*"])
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            await seed(client, app, user, token)
        _, key = await users_db.create_api_key(services(app).db, user, "contract")
        async with serve_app(app) as url:
            state_file.write_text(f"{url} {token} {key}\n")
            await stop.wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
