"""Online presence in the cache, so every worker sees every user's status and activity.

    metadata:presence:<user>  the owning connection id, NUL, the encoded UserPresence
    metadata:online           ids of users that may have a presence (pruned when read)

Only visible presences (status Online or DoNotDisturb) are stored: a user appearing offline or
without a status is absent, which is exactly what other clients must see. Each key expires
unless its worker refreshes it, so a worker that dies takes its users offline within `TTL`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from core.lazer import decode, encode
from core.lazer.types import UserPresence, UserStatus

ONLINE = "metadata:online"
TTL = 120.0
VISIBLE = frozenset({int(UserStatus.ONLINE), int(UserStatus.DO_NOT_DISTURB)})


def key(user_id: int) -> str:
    return f"metadata:presence:{user_id}"


class Presences:
    def __init__(self, cache: Any) -> None:
        self.cache = cache

    async def put(self, user_id: int, owner: str, presence: UserPresence) -> None:
        await self.cache.set(
            key(user_id), owner.encode() + b"\x00" + encode(presence, UserPresence), ex=TTL
        )
        await self.cache.sadd(ONLINE, user_id)

    async def remove(self, user_id: int, owner: str) -> None:
        """Drop the user's presence unless another connection of theirs has set it since."""
        stored = await self.cache.get(key(user_id))
        if stored is not None and stored.partition(b"\x00")[0] == owner.encode():
            await self.cache.delete(key(user_id))
            await self.cache.srem(ONLINE, user_id)

    async def refresh(self, user_id: int) -> None:
        await self.cache.expire(key(user_id), TTL)

    async def get_many(self, user_ids: Iterable[int]) -> dict[int, UserPresence]:
        ids = list(dict.fromkeys(user_ids))
        if not ids:
            return {}
        found: dict[int, UserPresence] = {}
        for user_id, stored in zip(ids, await self.cache.mget([key(i) for i in ids]), strict=True):
            if stored is not None:
                found[user_id] = decode(stored.partition(b"\x00")[2], UserPresence)
        return found

    async def everyone(self) -> dict[int, UserPresence]:
        ids = sorted(int(member) for member in await self.cache.smembers(ONLINE))
        found = await self.get_many(ids)
        gone = [user_id for user_id in ids if user_id not in found]
        if gone:
            await self.cache.srem(ONLINE, *gone)
        return found
