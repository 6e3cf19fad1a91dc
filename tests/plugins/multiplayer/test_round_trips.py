"""What one multiplayer state change costs in Redis round trips: the room's lock taken with its
state, then the state saved, the callbacks published and the lock let go (two), counted at the
Redis client of the app serving the hub in this process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.applications import Starlette

from core.cache import RedisCache
from core.lazer.types import MultiplayerUserState
from core.services import services
from core.testing import create_user, issue_token, serve_app
from tests.scores import support as scores_support

from .support import MpClient, connect, new_room

S = MultiplayerUserState


@pytest.fixture
async def url(backend: str, app: Starlette) -> AsyncIterator[str]:
    if backend != "mysql_redis":
        pytest.skip("round trips to Redis: the memory cache makes none")
    async with serve_app(app) as served:
        yield served


class Commands:
    """The commands the app's Redis client sends, each a round trip, and its pipelines (one
    round trip each, however many commands)."""

    def __init__(self, cache: RedisCache, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: list[str] = []
        self.counting = False
        client = cache.client
        execute, pipeline = client._execute_command, client.pipeline

        async def counted_execute(command: Any, *args: Any, **kwargs: Any) -> Any:
            if self.counting:
                self.sent.append(command.name.decode())
            return await execute(command, *args, **kwargs)

        async def counted_pipeline(*args: Any, **kwargs: Any) -> Any:
            if self.counting:
                self.sent.append("pipeline")
            return await pipeline(*args, **kwargs)

        monkeypatch.setattr(client, "_execute_command", counted_execute)
        monkeypatch.setattr(client, "pipeline", counted_pipeline)


async def test_a_state_change_makes_at_most_two_round_trips(
    app: Starlette, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = services(app).cache
    assert isinstance(cache, RedisCache)
    beatmap = await scores_support.import_map(app, 0)
    clients: list[MpClient] = []
    for name in ("peppy", "cookiezi"):
        user_id = await create_user(app, name)
        clients.append(await connect(url, await issue_token(app, user_id), user_id))
    host, guest = clients
    try:
        created = await host.ok("CreateRoom", new_room(beatmap))
        await guest.ok("JoinRoom", created.room_id)
        commands = Commands(cache, monkeypatch)
        # Once each way first: the scripts reach the server's script cache (EVAL on NOSCRIPT).
        for state in (S.READY, S.IDLE):
            await guest.ok("ChangeState", state)
            changed = await host.callback("UserStateChanged")
            assert changed.arguments == [guest.user_id, state]
        for state in (S.READY, S.IDLE, S.READY):
            commands.sent.clear()
            commands.counting = True
            await guest.ok("ChangeState", state)
            commands.counting = False
            assert len(commands.sent) <= 2, commands.sent
            changed = await host.callback("UserStateChanged")
            assert changed.arguments == [guest.user_id, state]
    finally:
        for client in clients:
            await client.close()
