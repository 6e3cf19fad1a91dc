"""A third-party plugin: one route, in a package with a `hitcircle.plugins` entry point."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.hooks import hookimpl
from core.http import json


async def hello(request: Request) -> Response:
    return json({"hello": "from a package"})


@hookimpl
def routes() -> list[Route]:
    return [Route("/hello", hello)]
