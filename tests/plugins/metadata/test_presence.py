"""Presence in the cache: ownership per connection, listing, pruning of expired entries."""

from __future__ import annotations

from starlette.applications import Starlette

from core.lazer.types import InLobby, UserPresence, UserStatus
from core.services import services
from plugins.metadata import presence
from plugins.metadata.presence import Presences


async def test_put_get_remove_and_ownership(app: Starlette) -> None:
    store = Presences(services(app).cache)
    online = UserPresence(InLobby(5, "room"), UserStatus.ONLINE)
    await store.put(1, "conn-a", online)
    await store.put(2, "conn-b", UserPresence(None, UserStatus.DO_NOT_DISTURB))
    assert await store.get_many([1, 3]) == {1: online}
    # A newer connection of the same user took over: the old one leaving changes nothing.
    await store.put(1, "conn-c", online)
    await store.remove(1, "conn-a")
    assert set(await store.everyone()) == {1, 2}
    await store.remove(1, "conn-c")
    assert set(await store.everyone()) == {2}
    assert await store.get_many([]) == {}


async def test_expired_presences_are_pruned(app: Starlette) -> None:
    store = Presences(services(app).cache)
    await store.put(7, "conn", UserPresence(None, UserStatus.ONLINE))
    # A worker that died never refreshes: its key expires and listing drops the user.
    await services(app).cache.delete(presence.key(7))
    assert await store.everyone() == {}
    assert await services(app).cache.smembers(presence.ONLINE) == set()
