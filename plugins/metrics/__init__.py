"""Prometheus metrics at `GET /metrics` (text exposition format), and the score counter.

The metrics themselves live in `core.metrics`. `/metrics` answers a scraper that sends
`Authorization: Bearer <metrics.token>` (compared in constant time; a token in the query string
is never accepted), or any request that arrives on the separate listener `metrics.bind`. With
neither configured it is 404.
"""

from __future__ import annotations

import hmac
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from core import metrics
from core.config import Section
from core.hooks import hookimpl
from core.http import error, not_found
from core.openapi import describe
from core.scores.scoring import RULESETS
from core.services import services


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


@describe(content_type="text/plain")
async def metrics_endpoint(request: Request) -> Response:
    settings = services(request).settings
    conf = metrics.metrics_settings(settings)
    if not metrics.on_metrics_bind(request.scope, metrics.metrics_port(settings)):
        token: str = conf["token"]
        if not token:
            raise not_found()
        sent = _bearer(request)
        if sent is None:
            raise error(401, "A bearer token is required.")
        if not hmac.compare_digest(sent.encode(), token.encode()):
            raise error(403, "Wrong token.")
    return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)


@hookimpl
def routes() -> list[BaseRoute]:
    return [Route("/metrics", metrics_endpoint, methods=["GET"])]


@hookimpl
def startup(app: Starlette) -> None:
    # A bad [metrics] section stops the start-up, naming its key.
    metrics.metrics_settings(services(app).settings)


@hookimpl
def score_processed(app: Starlette, score: dict[str, Any]) -> None:
    ruleset_id = score.get("ruleset_id")
    name = RULESETS[ruleset_id] if isinstance(ruleset_id, int) and 0 <= ruleset_id < 4 else "other"
    metrics.score_submitted(name, bool(score.get("passed")))


@hookimpl
def settings_sections() -> list[Section]:
    return [metrics.SECTION]
