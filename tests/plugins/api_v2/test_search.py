"""`GET search`: users by name prefix (restricted, deleted and blocked users hidden), pages,
modes, and the always-empty wiki."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from core.services import services
from core.users import store as users_db
from tests.conftest import create_user, issue_token

WIKI_EMPTY = {"data": [], "total": 0}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_users_by_name_prefix(app: Starlette, client: httpx.AsyncClient, token: str) -> None:
    db = services(app).db
    ids = {}
    for name in ("cookiezi", "Cookie Monster", "cookie_jar", "cook", "rafis", "pct%x", "pctyx"):
        ids[name] = await create_user(app, name)
    hidden = await create_user(app, "cookie_cheat")
    await users_db.update_user(db, hidden, restricted=True)
    gone = await create_user(app, "cookie_gone")
    await users_db.update_user(db, gone, is_deleted=True)

    found = (await client.get("/api/v2/search?mode=user&query=Cookie", headers=auth(token))).json()
    assert list(found) == ["user"]
    names = [u["username"] for u in found["user"]["data"]]
    assert names == ["cookie_jar", "Cookie Monster", "cookiezi"]
    assert found["user"]["total"] == 3
    assert found["user"]["data"][0]["id"] == ids["cookie_jar"]
    assert set(found["user"]["data"][0]) >= {"avatar_url", "country_code", "is_supporter"}
    # Space and underscore are the same; LIKE wildcards are plain characters.
    spaced = await client.get("/api/v2/search?mode=user&query=cookie m", headers=auth(token))
    assert [u["username"] for u in spaced.json()["user"]["data"]] == ["Cookie Monster"]
    percent = await client.get("/api/v2/search?mode=user&query=pct%25", headers=auth(token))
    assert [u["username"] for u in percent.json()["user"]["data"]] == ["pct%x"]
    # The exact name comes first, then the rest by name; an id finds its user.
    exact = (await client.get("/api/v2/search?mode=user&query=cook", headers=auth(token))).json()
    assert exact["user"]["data"][0]["username"] == "cook" and exact["user"]["total"] == 4
    by_id = await client.get(f"/api/v2/search?mode=user&query={ids['rafis']}", headers=auth(token))
    assert [u["username"] for u in by_id.json()["user"]["data"]] == ["rafis"]
    # Restricted and deleted users stay hidden, even by id.
    for query in ("cookie_c", "cookie_g", str(hidden), str(gone)):
        none = await client.get(f"/api/v2/search?mode=user&query={query}", headers=auth(token))
        assert none.json() == {"user": {"data": [], "total": 0}}, query
    # Users the viewer blocked are not found.
    viewer = await create_user(app, "viewer")
    await users_db.set_relation(db, viewer, ids["cookiezi"], users_db.RELATION_BLOCK)
    seen = await client.get(
        "/api/v2/search?mode=user&query=cookiez", headers=auth(await issue_token(app, viewer))
    )
    assert seen.json() == {"user": {"data": [], "total": 0}}


async def test_modes_and_pages(app: Starlette, client: httpx.AsyncClient, token: str) -> None:
    for n in range(25):
        await create_user(app, f"player{n:02d}")
    everything = (await client.get("/api/v2/search?query=player", headers=auth(token))).json()
    assert set(everything) == {"user", "wiki_page"}
    assert len(everything["user"]["data"]) == 6 and everything["user"]["total"] == 25
    assert everything["wiki_page"] == WIKI_EMPTY
    first = (await client.get("/api/v2/search?mode=user&query=player", headers=auth(token))).json()
    second = (
        await client.get("/api/v2/search?mode=user&query=player&page=2", headers=auth(token))
    ).json()
    assert len(first["user"]["data"]) == 20 and len(second["user"]["data"]) == 5
    assert second["user"]["data"][0]["username"] == "player20"
    # Past the 100 reachable results, or nonsense pages: page 1 or nothing, never an error.
    for page, count in (("6", 0), ("999999999999", 20), ("-4", 20), ("x", 20)):
        got = await client.get(
            f"/api/v2/search?mode=user&query=player&page={page}", headers=auth(token)
        )
        assert got.status_code == 200 and len(got.json()["user"]["data"]) == count, page
        assert got.json()["user"]["total"] == 25
    wiki = (await client.get("/api/v2/search?mode=wiki_page&query=x", headers=auth(token))).json()
    assert wiki == {"wiki_page": WIKI_EMPTY}
    assert (await client.get("/api/v2/search?mode=forum_post", headers=auth(token))).json() == {}
    long_name = (
        await client.get(f"/api/v2/search?mode=user&query={'p' * 300}", headers=auth(token))
    ).json()
    assert long_name == {"user": {"data": [], "total": 0}}
    listed = await client.get("/api/v2/search?query[]=a", headers=auth(token))
    assert listed.status_code == 422
    assert (await client.get("/api/v2/search?query=player")).status_code == 401
    # A client-credentials token (no user) may search.
    guest = await client.get(
        "/api/v2/search?mode=user&query=player0", headers=auth(await issue_token(app, None))
    )
    assert guest.json()["user"]["total"] == 10
