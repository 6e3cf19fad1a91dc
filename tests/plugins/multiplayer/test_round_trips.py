"""What one multiplayer state change costs in Redis round trips: the room's lock taken with its
state, then the state saved, the callbacks published and the lock let go (two), counted at the
Redis client of the app serving the hub in this process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from starlette.applications import Starlette

from core.lazer.types import MultiplayerUserState
from core.redis_cache import CoredisCache, RedisCache, RespCache
from core.services import services
from core.testing import create_user, issue_token, serve_app
from plugins.multiplayer.context import Ctx
from plugins.multiplayer.state import lock_name
from tests.scores import support as scores_support

from .support import MpClient, connect, new_room
from .test_room import hub_of, stored_room

S = MultiplayerUserState


@pytest.fixture
async def url(backend: str, app: Starlette) -> AsyncIterator[str]:
    if backend != "mysql_redis":
        pytest.skip("round trips to Redis: the memory cache makes none")
    async with serve_app(app) as served:
        yield served


class Commands:
    """The commands the app's Redis cache sends, each a round trip: core.resp's connection
    (`RespCache`), or coredis's commands and pipelines (`CoredisCache`, one round trip each)."""

    def __init__(self, cache: RedisCache, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: list[str] = []
        self.counting = False
        if isinstance(cache, RespCache):
            call = cache._conn.call

            async def counted_call(*args: Any) -> Any:
                if self.counting:
                    name = args[0]
                    self.sent.append(name.decode() if isinstance(name, bytes) else str(name))
                return await call(*args)

            monkeypatch.setattr(cache._conn, "call", counted_call)
            return
        assert isinstance(cache, CoredisCache)
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


# --- the lock handed on between changes queued on one worker ------------------------------------


async def test_changes_queued_on_one_worker_hand_the_lock_on(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = hub_of(app)
    room_id = (await stored_room(app)).state.id
    cache = services(app).cache

    def append(n: int) -> Callable[[Ctx], Awaitable[None]]:
        async def action(ctx: Ctx) -> None:
            ctx.room.settings.name += f"-{n}"  # a read-modify-write of the state

        return action

    await hub.change(room_id, append(0))
    commands = Commands(cache, monkeypatch) if isinstance(cache, RedisCache) else None
    if commands is not None:
        commands.counting = True
    await asyncio.gather(*(hub.change(room_id, append(n)) for n in range(1, 11)))
    if commands is not None:
        commands.counting = False
        # Ten saves; the lock taken for the first and again after HAND_OVERS in a row.
        assert commands.sent == ["EVALSHA"] * (10 + 2), commands.sent
    state = await hub.load(room_id)
    assert state is not None
    assert state.room.settings.name == "logic" + "".join(f"-{n}" for n in range(11))
    # Let go once nobody here waits: another worker's taker gets it at once.
    async with cache.lock(lock_name(room_id), wait=0.05):
        pass


async def test_a_lock_kept_for_a_call_that_gave_up_is_let_go(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = hub_of(app)
    room_id = (await stored_room(app)).state.id
    cache = services(app).cache
    saving, saved = asyncio.Event(), asyncio.Event()
    real_unlock_set = cache.unlock_set

    async def slow_unlock_set(*args: Any, **kwargs: Any) -> bool:
        done = await real_unlock_set(*args, **kwargs)
        if kwargs.get("hold") is not None and not saving.is_set():
            saving.set()
            await saved.wait()
        return done

    monkeypatch.setattr(cache, "unlock_set", slow_unlock_set)

    changing, go_on = asyncio.Event(), asyncio.Event()

    async def rename(ctx: Ctx) -> None:
        changing.set()
        await go_on.wait()
        ctx.room.settings.name = "renamed"

    first = asyncio.create_task(hub.change(room_id, rename))
    await asyncio.wait_for(changing.wait(), 10)
    waiting = asyncio.create_task(hub.change(room_id, rename))
    await asyncio.sleep(0)  # it queues behind the first
    assert hub._turns[room_id].callers == 2
    go_on.set()
    # The first keeps the lock for the one waiting, which gives up meanwhile.
    await asyncio.wait_for(saving.wait(), 10)
    waiting.cancel()
    saved.set()
    await asyncio.wait_for(first, 10)
    with pytest.raises(asyncio.CancelledError):
        await waiting
    async with cache.lock(lock_name(room_id), wait=1):
        pass
    state = await hub.load(room_id)
    assert state is not None and state.room.settings.name == "renamed"
