"""core.routing: the indexed router picks, for every path, the route Starlette's loop picks."""

import re

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route, Router

from core.app import create_app
from core.config import Settings
from core.routing import IndexedRouter, path_prefixes, route_key


def first_match(routes: list[BaseRoute], scope: dict) -> tuple[BaseRoute | None, Match]:
    """What Starlette's loop hands the request to: the first full match, else the first
    partial one."""
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route, match
        if match is Match.PARTIAL and partial is None:
            partial = route
    return partial, Match.PARTIAL if partial is not None else Match.NONE


def scope_for(path: str, method: str = "GET", kind: str = "http") -> dict:
    return {"type": kind, "path": path, "root_path": "", "method": method, "headers": []}


def sample_paths(route: BaseRoute) -> list[str]:
    """Paths `route` matches (its parameters filled in), and near misses around them."""
    path = getattr(route, "path", "")
    filled = re.sub(r"\{[^}:]+:path\}", "a/b", path)
    filled = re.sub(r"\{[^}]+\}", "1", filled)
    if isinstance(route, Mount):
        filled = filled.rstrip("/") + "/inner/file.txt"
    return [filled, filled + "/extra", filled.rstrip("/") + "x", "/" + filled.lstrip("/") + "/"]


async def test_every_route_of_the_app_is_found_as_starlette_finds_it(settings: Settings) -> None:
    app = create_app(settings)
    router = app.router
    assert isinstance(router, IndexedRouter)
    routes = list(router.routes)
    assert len(routes) > 100
    paths = {p for route in routes for p in sample_paths(route)}
    paths |= {"/", "//api/v2/me", "/api/v2/me//", "/api//v2/me", "/nowhere", "/api/v2", "/api"}
    paths |= {"", "/static/", "/api/v2/users/", "/users/1/", "/b/1/2/3/4"}
    checked = 0
    for path in sorted(paths):
        for method in ("GET", "POST", "DELETE"):
            for kind in ("http", "websocket"):
                scope = scope_for(path, method, kind)
                candidates = router.candidates(path)
                expected = first_match(routes, scope)
                assert first_match(candidates, scope) == expected, (path, method)
                found = router.route_for(dict(scope))
                assert (found[0] if found else None) == (
                    expected[0] if expected[1] is Match.FULL else None
                ), (path, method)
                checked += 1
    assert checked > 1000


def test_keys() -> None:
    async def endpoint(request: Request) -> Response:
        return PlainTextResponse("")

    assert route_key(Route("/api/v2/users/{user}", endpoint)) == ("prefix", ("api", "v2", "users"))
    assert route_key(Route("/api/v2/users/lookup", endpoint)) == ("exact", "/api/v2/users/lookup")
    assert route_key(Route("/api/v2/{thing}/x", endpoint)) == ("prefix", ("api", "v2"))
    assert route_key(Route("/api/v2/user{thing}", endpoint)) == ("prefix", ("api", "v2"))
    assert route_key(Route("/{thing}", endpoint)) == ("prefix", ())
    assert route_key(Route("/a/b/c/d/{e}", endpoint)) == ("prefix", ("a", "b", "c"))
    assert route_key(Mount("/static", routes=[])) == ("prefix", ("static",))
    assert path_prefixes("/api/v2/users/2/osu") == [
        (),
        ("api",),
        ("api", "v2"),
        ("api", "v2", "users"),
    ]
    assert path_prefixes("/") == [(), ("",)]


@pytest.mark.parametrize("path", ["/late", "/api/v2/late/1"])
async def test_a_route_added_after_the_first_request_is_found(path: str) -> None:
    """The hubs add their routes to a built app; the index follows the route list."""

    async def endpoint(request: Request) -> Response:
        return PlainTextResponse(request.url.path)

    router = IndexedRouter([Route("/first", endpoint)])
    transport = httpx.ASGITransport(app=router)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/first")).status_code == 200
        assert (await client.get(path)).status_code == 404
        router.routes.append(Route(path.replace("/1", "/{n}"), endpoint))
        answer = await client.get(path)
        assert answer.status_code == 200 and answer.text == path


async def test_answers_are_starlettes() -> None:
    """A wrong method is 405 (a partial match), a trailing slash redirects, a miss is 404."""

    async def endpoint(request: Request) -> Response:
        return PlainTextResponse("ok")

    routes = [Route("/api/v2/items/{n}", endpoint, methods=["POST"]), Route("/a/b/c/", endpoint)]
    for router in (Router(list(routes)), IndexedRouter(list(routes))):
        transport = httpx.ASGITransport(app=router)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.post("/api/v2/items/3")).text == "ok"
            assert (await client.get("/api/v2/items/3")).status_code == 405
            redirect = await client.get("/a/b/c")
            assert redirect.status_code == 307
            assert redirect.headers["location"] == "http://t/a/b/c/"
            assert (await client.get("/a/b/d")).status_code == 404


async def test_the_route_found_ahead_is_the_one_that_serves() -> None:
    """`route_for` (the rate limiter's look ahead) leaves its find on the scope; the router
    uses it only for the same path and method."""

    async def first(request: Request) -> Response:
        return PlainTextResponse("first")

    async def second(request: Request) -> Response:
        return PlainTextResponse("second")

    router = IndexedRouter([Route("/a/{n}", first), Route("/b/{n}", second)])
    scope = scope_for("/a/1")
    found = router.route_for(scope)
    assert found is not None and found[0] is router.routes[0]
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b""}

    async def send(message: dict) -> None:
        sent.append(message)

    await router.app(scope, receive, send)
    assert sent[-1]["body"] == b"first"
    # A scope whose path changed after the look ahead is routed afresh.
    moved = scope_for("/a/1")
    router.route_for(moved)
    moved["path"] = "/b/2"
    sent.clear()
    await router.app(moved, receive, send)
    assert sent[-1]["body"] == b"second"


async def test_a_refused_path_parameter_is_the_handlers_404(settings: Settings) -> None:
    """A convertor's refusal (an id past 64 bits) met while looking ahead is left to the router,
    where it is answered 404 like any other."""
    from tests.conftest import create_user, issue_token, running

    app = create_app(settings)
    async with running(app):
        token = await issue_token(app, await create_user(app))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            huge = await client.post(
                f"/api/v2/beatmapsets/{10**30}/ratings",
                json={"rating": 5},
                headers={"Authorization": f"Bearer {token}"},
            )
    assert huge.status_code == 404


async def test_a_remembered_path_is_found_again_with_parameters_of_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`route_for` remembers (type, path, method): the same route again, each request its own
    path parameters; a route added later, or a full memo, starts afresh."""
    import core.routing

    async def endpoint(request: Request) -> Response:
        return PlainTextResponse("x")

    router = IndexedRouter([Route("/a/{n:int}", endpoint), Route("/b/{n}", endpoint)])
    first = router.route_for(scope_for("/a/1"))
    again = router.route_for(scope_for("/a/1"))
    assert first is not None and again is not None
    assert again[0] is first[0] is router.routes[0]
    assert again[1] == first[1] and again[1]["path_params"] == {"n": 1}
    again[1]["path_params"]["n"] = 99  # a handler that changes its parameters
    assert router.route_for(scope_for("/a/1"))[1]["path_params"] == {"n": 1}  # type: ignore[index]
    # Another method or kind of scope is another question (a POST is no full match here).
    assert router.route_for(scope_for("/a/1", "POST")) is None
    assert router.route_for(scope_for("/a/1", kind="websocket")) is None
    # A route inserted ahead of the remembered one takes the path from then on.
    router.routes.insert(0, Route("/a/1", endpoint, name="literal"))
    assert router.route_for(scope_for("/a/1"))[0].name == "literal"  # type: ignore[index,attr-defined]
    # The memo stays within its size, the oldest answers leaving first.
    monkeypatch.setattr(core.routing, "MEMO_SIZE", 3)
    for n in range(10):
        assert router.route_for(scope_for(f"/b/{n}")) is not None
    assert len(router._memo) == 3
    assert router.route_for(scope_for("/b/9"))[1]["path_params"] == {"n": "9"}  # type: ignore[index]
