"""A Starlette router that tries only the routes a path can match.

Starlette's `Router` tries every route's regular expression in turn; with the couple of hundred
routes the built-in plugins declare, a request for one near the end spent about a quarter of a
millisecond there. `IndexedRouter` files a literal route under its path, and any other under the
literal segments its path starts with, and tries, in the original order, only the routes filed
under the request's path or one of its leading segment runs. A route left out could not have
matched, so the first full (or partial) match, and so the answer, is the one Starlette's loop
finds.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Host, Match, Mount, Route, Router, get_route_path
from starlette.types import Receive, Scope, Send

# How many leading segments are indexed: /api/v2/<resource> tells the API's routes apart.
DEPTH = 3

Key = tuple[str, ...]
# Where `route_for` leaves what it found, for `app`.
FOUND = "hitcircle.route"
# How many (path, method) answers of `route_for` are remembered: lazer asks for the same paths
# again and again (its profile, the board of the map it shows), and a dictionary lookup costs
# less than the regular expressions of the candidates.
MEMO_SIZE = 4096


def route_key(route: BaseRoute) -> tuple[str, Key | str]:
    """Where a route is filed: ("exact", its path) for a literal path, which only that path
    matches; else ("prefix", the literal leading segments, up to DEPTH) that every path it
    matches starts with, () when it has none (a parameter first, a host)."""
    if isinstance(route, Host):
        return "prefix", ()
    path: str | None = getattr(route, "path", None)
    if path is None:
        return "prefix", ()
    if isinstance(route, Mount):
        # A mount matches its path and anything under it.
        path = path.rstrip("/") + "/{path:path}"
    literal, brace, _ = path.partition("{")
    if not brace:
        return "exact", path
    segments = literal.lstrip("/").split("/")
    # The last piece is "" after a slash, or a segment that continues into the parameter:
    # only the ones before it are fixed.
    return "prefix", tuple(segments[:-1][:DEPTH])


def path_prefixes(path: str) -> list[Key]:
    """The keys of the prefix routes `path` may match: each of its leading segment runs, from
    none to DEPTH."""
    segments = tuple(path.lstrip("/").split("/", DEPTH)[:DEPTH])
    return [segments[:n] for n in range(len(segments) + 1)]


class IndexedRouter(Router):
    """`Router` with the route lookup narrowed by `route_key` (see the module's doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._indexed: list[BaseRoute] = []
        self._exact: dict[str, list[int]] = {}
        self._prefix: dict[Key, list[int]] = {}
        self._memo: dict[tuple[str, str, str | None], tuple[BaseRoute, Scope]] = {}

    def candidates(self, path: str) -> list[BaseRoute]:
        """The routes that may match `path`, in the order of `routes`."""
        if self._indexed != self.routes:
            self._index()
        found = list(self._exact.get(path, ()))
        for key in path_prefixes(path):
            found += self._prefix.get(key, ())
        found.sort()
        return [self._indexed[i] for i in found]

    def _index(self) -> None:
        # Routes are added after the router is built (the hubs'), so the index follows the list.
        exact: dict[str, list[int]] = {}
        prefix: dict[Key, list[int]] = {}
        for i, route in enumerate(self.routes):
            kind, key = route_key(route)
            if kind == "exact":
                assert isinstance(key, str)
                exact.setdefault(key, []).append(i)
            else:
                assert isinstance(key, tuple)
                prefix.setdefault(key, []).append(i)
        self._exact, self._prefix = exact, prefix
        self._indexed = list(self.routes)
        self._memo.clear()

    def route_for(self, scope: Scope) -> tuple[BaseRoute, Scope] | None:
        """The route that will serve `scope` and its child scope (path parameters): the first
        full match, as `app` hands it over; None when none matches fully. Kept on the scope, so
        that `app` does not look again for the same path and method."""
        if self._indexed != self.routes:
            self._index()  # which forgets what the old list answered
        path = get_route_path(scope)
        memo_key = (scope["type"], path, scope.get("method"))
        remembered = self._memo.get(memo_key)
        if remembered is not None:
            known, child = remembered
            # Each request gets path parameters of its own (a handler may change them).
            fresh: Scope = {**child, "path_params": dict(child["path_params"])}
            scope[FOUND] = (path, scope.get("method"), known, fresh)
            return known, fresh
        for route in self.candidates(path):
            try:
                match, child_scope = route.matches(scope)
            except HTTPException:
                # A path parameter its convertor refuses (core.http.Int64Convertor): `app` meets
                # the same refusal where the app's handlers answer it.
                return None
            if match is Match.FULL:
                scope[FOUND] = (path, scope.get("method"), route, child_scope)
                # Only a plain Route's match depends on nothing but the path and the method
                # (a Host's reads the headers, a Mount's changes the root path).
                if isinstance(route, Route):
                    if len(self._memo) >= MEMO_SIZE:
                        del self._memo[next(iter(self._memo))]
                    child = {**child_scope, "path_params": dict(child_scope["path_params"])}
                    self._memo[memo_key] = (route, child)
                return route, child_scope
        return None

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await super().app(scope, receive, send)
            return
        if "router" not in scope:
            scope["router"] = self
        found = scope.pop(FOUND, None)
        if found is not None and found[:2] == (get_route_path(scope), scope.get("method")):
            _, _, route, child_scope = found
            scope["route"] = route
            scope.update(child_scope)
            await route.handle(scope, receive, send)
            return
        partial = None
        partial_scope: Scope = {}
        for route in self.candidates(get_route_path(scope)):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL and partial is None:
                partial, partial_scope = route, child_scope
        if partial is not None:
            scope["route"] = partial
            scope.update(partial_scope)
            await partial.handle(scope, receive, send)
            return
        # Nothing matched: Starlette's own loop answers (a trailing-slash redirect, or 404).
        await super().app(scope, receive, send)
