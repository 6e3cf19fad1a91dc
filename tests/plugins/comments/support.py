"""A news post and a beatmapset to comment on, and users to comment."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import sqlalchemy as sa
from starlette.applications import Starlette

from core.comments.store import comment_votes, comments
from core.services import services
from tests.beatmaps.support import import_osz, make_osu
from tests.conftest import create_user, issue_token

NEWS_ID = 77
SET_ID = 500
NEWS = "---\ntitle: Open for comments\nid: 77\ndate: 2026-01-02\n---\n\nSay something.\n"


@dataclass
class World:
    alice: int
    bob: int
    alice_token: str
    bob_token: str


async def make_world(app: Starlette) -> World:
    settings = services(app).settings
    folder = settings.data_dir / "content" / "news"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "2026-01-02-open.md").write_text(NEWS)
    alice = await create_user(app, "alice")
    bob = await create_user(app, "bob")
    osu = make_osu(beatmap_id=SET_ID + 1, set_id=SET_ID, creator="bob", title="Commented")
    assert not (await import_osz(app, {"a.osu": osu})).failed
    return World(alice, bob, await issue_token(app, alice), await issue_token(app, bob))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def post(
    client: httpx.AsyncClient,
    token: str,
    message: str,
    *,
    kind: str = "news_post",
    target: int = NEWS_ID,
    parent: int | None = None,
) -> httpx.Response:
    """As lazer posts: a form with `comment[...]` fields."""
    data = {
        "comment[commentable_type]": kind,
        "comment[commentable_id]": str(target),
        "comment[message]": message,
    }
    if parent is not None:
        data["comment[parent_id]"] = str(parent)
    return await client.post("/api/v2/comments", data=data, headers=bearer(token))


async def stored(app: Starlette) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Every comment and vote row, to show a refused request changed nothing."""
    db = services(app).db
    rows = await db.fetch_all(sa.select(comments).order_by(comments.c.id))
    votes = await db.fetch_all(sa.select(comment_votes).order_by(comment_votes.c.comment_id))
    return [dict(r._mapping) for r in rows], [dict(v._mapping) for v in votes]
