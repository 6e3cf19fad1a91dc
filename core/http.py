"""HTTP helpers every surface shares: orjson responses, osu!-shaped errors, request parameters."""

from __future__ import annotations

import base64
import builtins
import datetime as dt
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import coredis.exceptions
import orjson
from loguru import logger
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import metrics
from core.cache import CacheUnavailable
from core.db import UNAVAILABLE_ERRORS

# A backend that is down is the server's problem of the moment, not a bug: 503, try again soon.
UNAVAILABLE = (
    *UNAVAILABLE_ERRORS,
    CacheUnavailable,
    coredis.exceptions.ConnectionError,
    coredis.exceptions.TimeoutError,
)

ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS


# --- timestamps (osu-web app/helpers.php json_time, osu-api wiki); stored datetimes: naive UTC --


def time_z(value: dt.datetime | None) -> str | None:
    """osu-web's "fast path" form: `2019-02-22T11:07:10Z`."""
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def time_offset(value: dt.datetime | None) -> str | None:
    """osu-web's generic formatter: `2019-02-22T11:07:10+00:00`."""
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def time_v1(value: dt.datetime | None) -> str | None:
    """API v1 (MySQL) form: `2013-06-22 09:38:40`."""
    return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        if isinstance(content, bytes):
            # Pre-encoded bodies (cached responses) go out as they are.
            return content
        return orjson.dumps(content, option=ORJSON_OPTIONS)


def json(content: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse(content, status_code=status, headers=headers)


def no_content() -> Response:
    return Response(status_code=204)


class ApiError(Exception):
    """Raised by handlers; turned into `status` with `body` as JSON."""

    def __init__(
        self, status: int, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = {"error": None} if body is None else body
        self.headers = headers


def error(status: int, message: str | None = None, **extra: Any) -> ApiError:
    return ApiError(status, {"error": message, **extra})


def not_found(model: str | None = None) -> ApiError:
    """404 as osu-web words it: `Specified <model> couldn't be found.`, or `{"error": null}`."""
    return error(404, f"Specified {model} couldn't be found." if model else None)


def unprocessable(message: str) -> ApiError:
    return error(422, message)


# --- cursors ----------------------------------------------------------------------------------
# osu-web pages lists with `cursor_string`: the next page's sort keys as base64url JSON, which
# clients hand back unchanged. One codec for every paged list (search, rankings, room scores).


def encode_cursor(cursor: Mapping[str, Any] | None) -> str | None:
    if cursor is None:
        return None
    return base64.urlsafe_b64encode(orjson.dumps(cursor)).rstrip(b"=").decode()


def decode_cursor(text: str | None) -> dict[str, Any] | None:
    """An undecodable cursor counts as no cursor (osu-web starts from the beginning)."""
    if not text or len(text) > 1000:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        value = orjson.loads(raw)
    except (ValueError, orjson.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None


# --- exception handlers ------------------------------------------------------------------------


async def handle_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return json(exc.body, exc.status, exc.headers)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    # Unknown routes and methods answer like osu-web: a JSON body whose error is null.
    message = None if exc.status_code in (404, 405) or exc.status_code >= 500 else exc.detail
    return json({"error": message}, exc.status_code, exc.headers)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    request_id = request.scope.get("state", {}).get("request_id", "-")
    if isinstance(exc, UNAVAILABLE):
        metrics.backend_error(exc)
        logger.warning(
            "request {} {} {}: backend unavailable: {!r}",
            request_id,
            request.method,
            request.url.path,
            exc,
        )
        return json({"error": "Service temporarily unavailable."}, 503, {"Retry-After": "5"})
    logger.opt(exception=exc).error(
        "request {} {} {} failed", request_id, request.method, request.url.path
    )
    # 5xx bodies never carry a message: no traceback, no internals reach the client.
    return json({"error": None}, 500, {"X-Request-Id": request_id})


EXCEPTION_HANDLERS = {
    ApiError: handle_api_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}


# --- middleware -------------------------------------------------------------------------------


class HostMiddleware:
    """Request id on every request, and routes that match with or without a trailing slash.

    The official router trims one trailing slash; lazer, ossapi and osu.py all send one on some
    paths, so the path is trimmed before routing instead of redirecting (a redirect loses bodies).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex[:16]
        # Set on the incoming scope so the outermost error handler sees the id too.
        scope.setdefault("state", {})["request_id"] = request_id
        path: str = scope["path"]
        if len(path) > 1 and path.endswith("/"):
            scope = dict(scope)
            scope["path"] = path.rstrip("/") or "/"
            if scope.get("raw_path"):
                scope["raw_path"] = scope["raw_path"].rstrip(b"/") or b"/"
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        await self.app(scope, receive, send_with_id)


_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")


def _incoming_request_id(scope: Scope) -> str | None:
    headers: Iterable[tuple[bytes, bytes]] = scope.get("headers", [])
    for name, value in headers:
        if name == b"x-request-id" and _REQUEST_ID.match(value):
            return value.decode()
    return None


# --- request parameters -----------------------------------------------------------------------

_KEY_PART = re.compile(r"\[([^\]]*)\]")


class Params:
    """Query string and body merged into one set (body wins), with PHP-style array keys.

    `ids[]=1&ids[]=2` gives `ids = ["1", "2"]`, `cursor[page]=2` gives `cursor = {"page": "2"}`;
    JSON bodies keep their native types. Empty strings count as absent, as on osu-web.
    """

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = dict(data)

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def get(self, key: str, default: Any = None) -> Any:
        value = self.data.get(key)
        if value is None or value == "":
            return default
        return value

    def str(self, key: str, default: str | None = None, max_length: int = 4096) -> str | None:
        value = self.get(key)
        if value is None:
            return default
        if isinstance(value, list | dict):
            raise unprocessable(f"{key} must be a single value")
        text = value if isinstance(value, str) else _scalar_text(value)
        if len(text) > max_length:
            raise unprocessable(f"{key} is too long")
        return text

    def int(
        self,
        key: builtins.str,
        default: builtins.int | None = None,
        minimum: builtins.int | None = None,
        maximum: builtins.int | None = None,
    ) -> builtins.int | None:
        value = self.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or isinstance(value, list | dict):
            raise unprocessable(f"{key} must be an integer")
        try:
            number = value if isinstance(value, int) else int(str(value).strip())
        except ValueError:
            raise unprocessable(f"{key} must be an integer") from None
        if minimum is not None and number < minimum:
            raise unprocessable(f"{key} must be at least {minimum}")
        if maximum is not None and number > maximum:
            raise unprocessable(f"{key} must be at most {maximum}")
        return number

    def bool(self, key: builtins.str, default: builtins.bool | None = None) -> builtins.bool | None:
        value = self.get(key)
        parsed = parse_bool(value)
        return default if parsed is None else parsed

    def list(self, key: builtins.str, max_items: builtins.int | None = None) -> builtins.list[Any]:
        value = self.get(key)
        if value is None:
            value = self.get(f"{key}[]")
        if value is None:
            return []
        # A scalar where an array is expected counts as a one-element array.
        items = list(value.values()) if isinstance(value, dict) else value
        items = items if isinstance(items, list) else [items]
        if max_items is not None and len(items) > max_items:
            raise unprocessable(f"{key} parameter has a maximum of {max_items} items")
        return items

    def dict(self, key: builtins.str) -> builtins.dict[builtins.str, Any]:
        value = self.get(key)
        return value if isinstance(value, dict) else {}


def parse_bool(value: Any) -> bool | None:
    """osu-web's `get_bool`, plus Python's `True`/`False` spelling that osu.py sends."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("1", "on", "true"):
            return True
        if lowered in ("0", "false", "off"):
            return False
    return None


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def merge_pairs(
    pairs: Iterable[tuple[str, Any]], into: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Fold `name[a][]`-style keys into nested dicts and lists."""
    result: dict[str, Any] = {} if into is None else into
    for raw_key, value in pairs:
        base, _, rest = raw_key.partition("[")
        if not rest:
            result[raw_key] = value
            continue
        parts = _KEY_PART.findall("[" + rest)
        if not base or not parts:
            result[raw_key] = value
            continue
        _assign(result, [base, *parts], value)
    return result


def _assign(container: dict[str, Any], parts: list[str], value: Any) -> None:
    key, rest = parts[0], parts[1:]
    if not rest:
        container[key] = value
        return
    if rest == [""]:
        existing = container.get(key)
        if not isinstance(existing, list):
            existing = container[key] = []
        existing.append(value)
        return
    child = container.get(key)
    if not isinstance(child, dict):
        child = container[key] = {}
    if rest[0] == "":
        # `a[][b]` is rare and ambiguous; keep the last value.
        rest = rest[1:]
    _assign(child, rest, value)


MAX_BODY = 8 * 1024 * 1024


async def params(request: Request) -> Params:
    """Merge the query string and the body of any supported encoding, once per request."""
    cached: Params | None = request.scope.get("state", {}).get("params")
    if cached is not None:
        return cached
    data = merge_pairs(request.query_params.multi_items())
    body = await _body_params(request)
    if isinstance(body, dict):
        data.update(body)
    result = Params(data)
    request.scope.setdefault("state", {})["params"] = result
    return result


async def _body_params(request: Request) -> dict[str, Any] | None:
    if request.method in ("GET", "HEAD"):
        return None
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        try:
            form: FormData = await request.form(max_files=16, max_fields=2000)
        except Exception:
            raise unprocessable("malformed form body") from None
        return merge_pairs(
            (k, v if isinstance(v, UploadFile) else str(v)) for k, v in form.multi_items()
        )
    body = await request.body()
    if len(body) > MAX_BODY:
        raise error(413, "request body too large")
    # aiosu and osu.py label every request, even empty GETs and POSTs, as JSON.
    if not body.strip():
        return None
    if content_type == "application/json" or body.lstrip()[:1] in (b"{", b"["):
        try:
            decoded = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise unprocessable("malformed JSON body") from None
        return decoded if isinstance(decoded, dict) else None
    return None
