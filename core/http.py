"""HTTP helpers every surface shares: orjson responses, osu!-shaped errors, request parameters."""

from __future__ import annotations

import base64
import builtins
import datetime as dt
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import orjson
from loguru import logger
from starlette.convertors import Convertor, register_url_convertor
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import metrics
from core.cache import CacheUnavailable
from core.db import DatabaseUnavailable, loaded_errors
from core.db import unavailable_errors as database_unavailable_errors
from core.redis_client import DOWN_ERRORS as REDIS_DOWN_ERRORS


def unavailable_errors() -> tuple[type[BaseException], ...]:
    """A backend that is down: the server's problem of the moment, not a bug (503, try again
    soon). coredis's own errors count once Redis is in use (`loaded_errors`)."""
    return (
        *database_unavailable_errors(),
        CacheUnavailable,
        *loaded_errors("coredis.exceptions", *REDIS_DOWN_ERRORS),
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


# --- integers ---------------------------------------------------------------------------------
# SQLite and MySQL integers are signed 64-bit: a larger number from a request never reaches SQL
# (the drivers raise OverflowError or the server refuses it). Every integer a request carries
# (path segments, query and body parameters, cursors, JSON bodies) is checked here.

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def in_int64(number: int) -> bool:
    return INT64_MIN <= number <= INT64_MAX


def path_id(value: str) -> int | None:
    """A positive id from a path segment, or None (the caller answers 404)."""
    if not value.isdecimal() or len(value) > 19:
        return None
    number = int(value)
    return number if 0 < number <= INT64_MAX else None


def _ints_in_range(value: Any, depth: int = 0) -> bool:
    """Whether every number inside a decoded JSON value fits in 64 signed bits."""
    if isinstance(value, int) and not isinstance(value, bool):
        return in_int64(value)
    if isinstance(value, float):
        return _FLOAT_MIN < value < _FLOAT_MAX
    if depth > MAX_JSON_DEPTH:
        return False
    if isinstance(value, dict):
        return all(_ints_in_range(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return all(_ints_in_range(v, depth + 1) for v in value)
    return True


_FLOAT_MIN, _FLOAT_MAX = -(2.0**63), 2.0**63
MAX_JSON_DEPTH = 64


def _bounded_json(value: Any, depth: int = 0) -> Any:
    """A decoded JSON body with every number past 64 signed bits turned into its text.

    A form or query value can already be any text, so every handler checks text it reads as a
    number (`Params.int` answers 422 "is out of range"); a JSON number too large for SQL becomes
    the same text and meets the same checks, instead of reaching SQL as a huge int (orjson gives
    numbers past 64 bits as floats, which `int()` would bring back).
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value if in_int64(value) else str(value)
    if isinstance(value, float):
        return value if _FLOAT_MIN < value < _FLOAT_MAX else repr(value)
    if isinstance(value, dict | list) and depth > MAX_JSON_DEPTH:
        raise unprocessable("the JSON body is nested too deeply")
    if isinstance(value, dict):
        return {k: _bounded_json(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_bounded_json(v, depth + 1) for v in value]
    return value


class Int64Convertor(Convertor[int]):
    """Starlette's `{name:int}`, refusing numbers past 64 signed bits with 404 (no such id)."""

    regex = "[0-9]+"

    def convert(self, value: str) -> int:
        number = int(value) if len(value) <= 20 else INT64_MAX + 1
        if number > INT64_MAX:
            raise HTTPException(404)
        return number

    def to_string(self, value: int) -> str:
        return str(int(value))


# Installed once, for every route of every plugin: `{id:int}` is the bounded one everywhere.
register_url_convertor("int", Int64Convertor())


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
    # A cursor holding a number SQL cannot take is as undecodable as a broken one.
    return value if isinstance(value, dict) and _ints_in_range(value) else None


# --- exception handlers ------------------------------------------------------------------------


async def handle_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return json(exc.body, exc.status, exc.headers)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404 and request.method in ("GET", "HEAD"):
        page = await _not_found_page(request)
        if page is not None:
            return page
    # Unknown routes and methods answer like osu-web: a JSON body whose error is null.
    message = None if exc.status_code in (404, 405) or exc.status_code >= 500 else exc.detail
    return json({"error": message}, exc.status_code, exc.headers)


async def _not_found_page(request: Request) -> Response | None:
    """A plugin's page for a path no route serves (the `not_found_page` hook), if one answers."""
    from core.plugins import resolve
    from core.services import services

    app = request.scope.get("app")
    if getattr(app, "services", None) is None:
        return None
    found: Response | None = None
    # Every answer is awaited, as for every hook; the first page wins.
    for result in services(request).plugins.hook.not_found_page(request=request):
        response = await resolve(result)
        if found is None and response is not None:
            found = cast(Response, response)
    return found


def unavailable_cause(exc: BaseException) -> str | None:
    """One line naming the backend that is down and how, or None when `exc` is not an outage."""
    if not isinstance(exc, unavailable_errors()):
        return None
    module = type(exc).__module__
    if isinstance(exc, CacheUnavailable) or module.startswith("coredis"):
        backend = "cache"
    elif isinstance(exc, DatabaseUnavailable) or module.startswith(("pymysql", "aiomysql")):
        backend = "database"
    else:
        backend = "backend"
    detail = " ".join(str(exc).split())
    return f"{backend} unavailable ({type(exc).__name__}{': ' + detail if detail else ''})"


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    """503 for a backend outage, logged as one line; 500 for anything else, with its traceback."""
    request_id = request.scope.get("state", {}).get("request_id", "-")
    cause = unavailable_cause(exc)
    if cause is not None:
        metrics.backend_error(exc)
        logger.warning(
            "request {} {} {} -> 503: {}", request_id, request.method, request.url.path, cause
        )
        return json({"error": "Service temporarily unavailable."}, 503, {"Retry-After": "5"})
    logger.opt(exception=exc).error(
        "request {} {} {} failed", request_id, request.method, request.url.path
    )
    # 5xx bodies never carry a message: no traceback, no internals reach the client.
    return json({"error": None}, 500)


async def handle_outermost(request: Request, exc: Exception) -> Response:
    """`handle_unexpected` for an error outside `HostMiddleware` (which adds the request id
    to every other answer); `ErrorMiddleware` sees everything else."""
    response = await handle_unexpected(request, exc)
    response.headers["X-Request-Id"] = request.scope.get("state", {}).get("request_id", "-")
    return response


EXCEPTION_HANDLERS = {
    ApiError: handle_api_error,
    HTTPException: handle_http_exception,
    Exception: handle_outermost,
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
        request_id = _incoming_request_id(scope) or secrets.token_hex(8)
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


class ErrorMiddleware:
    """Where a request's unhandled exception ends: logged once, answered, and not raised further.

    Starlette's own last-resort handler answers and then re-raises, for the server to log; hypercorn
    logs that as a traceback ("Error in ASGI Framework"), so each 503 of an outage would also be
    a traceback. Here an outage is the one line `handle_unexpected` writes, and only an
    unexpected error carries its traceback (once). A WebSocket that fails before it is accepted
    is refused with 503 for an outage; hypercorn answers 500 or closes it with 1011 otherwise.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] in (
                "http.response.start",
                "websocket.accept",
                "websocket.close",
                "websocket.http.response.start",
            ):
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if scope["type"] == "http":
                response = await handle_unexpected(Request(scope, receive), exc)
                if not started:
                    await response(scope, receive, send)
                return
            await _websocket_failed(scope, send, exc, started)


async def _websocket_failed(scope: Scope, send: Send, exc: Exception, started: bool) -> None:
    request_id = scope.get("state", {}).get("request_id", "-")
    cause = unavailable_cause(exc)
    if cause is None:
        logger.opt(exception=exc).error("websocket {} {} failed", request_id, scope["path"])
        return
    logger.warning("websocket {} {}: {}", request_id, scope["path"], cause)
    if not started and "websocket.http.response" in scope.get("extensions", {}):
        body = orjson.dumps({"error": "Service temporarily unavailable."})
        await send(
            {
                "type": "websocket.http.response.start",
                "status": 503,
                "headers": [(b"content-type", b"application/json"), (b"retry-after", b"5")],
            }
        )
        await send({"type": "websocket.http.response.body", "body": body})


_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")


def _incoming_request_id(scope: Scope) -> str | None:
    headers: Iterable[tuple[bytes, bytes]] = scope.get("headers", [])
    for name, value in headers:
        if name == b"x-request-id" and _REQUEST_ID.match(value):
            return value.decode()
    return None


# --- request parameters -----------------------------------------------------------------------

_KEY_PART = re.compile(r"\[([^\]]*)\]")
_LONG_INTEGER = re.compile(r"^[+-]?[0-9]{20,}$")


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
        if isinstance(value, int):
            number = value
        else:
            text = str(value).strip()
            if _LONG_INTEGER.match(text):
                # Past 64 bits (and int() of thousands of digits is slow): out of range.
                number = INT64_MIN - 1 if text.startswith("-") else INT64_MAX + 1
            else:
                try:
                    number = int(text)
                except ValueError:
                    raise unprocessable(f"{key} must be an integer") from None
        if minimum is not None and number < minimum:
            raise unprocessable(f"{key} must be at least {minimum}")
        if maximum is not None and number > maximum:
            raise unprocessable(f"{key} must be at most {maximum}")
        if not in_int64(number):
            raise unprocessable(f"{key} is out of range")
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


# --- request bodies ---------------------------------------------------------------------------
# Every body is bounded while it streams: `BodyLimitMiddleware` refuses a Content-Length over the
# limit before reading anything and counts the bytes of the others as they arrive, cutting the
# request off at the limit. Handlers read bodies only through `params` or `read_body`.


class BodyTooLarge(ApiError):
    def __init__(self) -> None:
        super().__init__(413, {"error": "request body too large"}, {"Connection": "close"})


def _content_type(headers: Iterable[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == b"content-type":
            return value.decode("latin-1").split(";", 1)[0].strip().lower()
    return ""


@dataclass(frozen=True)
class BodyLimits:
    """Largest body in bytes by kind (`[http]` settings)."""

    json: int
    form: int
    upload: int

    def for_type(self, content_type: str) -> int:
        if content_type == "multipart/form-data":
            return self.upload
        if content_type == "application/x-www-form-urlencoded":
            return self.form
        return self.json


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        limit = self.limits.for_type(_content_type(headers))
        declared = next((v for k, v in headers if k == b"content-length"), None)
        if declared is not None and (not declared.isdigit() or len(declared) > 18):
            await json({"error": "invalid Content-Length"}, 400, {"Connection": "close"})(
                scope, receive, send
            )
            return
        if declared is not None and int(declared) > limit:
            exc = BodyTooLarge()
            await json(exc.body, exc.status, exc.headers)(scope, receive, send)
            return
        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        await self.app(scope, bounded_receive, send)


async def read_body(request: Request, limit: int | None = None) -> bytes:
    """The whole body, refused with 413 past `limit` (the middleware's kind limit applies too).

    The body is kept on the request, so `params` and Starlette's form parser reuse it.
    """
    declared = request.headers.get("content-length", "")
    if limit is not None and declared.isdecimal() and int(declared) > limit:
        raise BodyTooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if limit is not None and size > limit:
            raise BodyTooLarge()
        chunks.append(chunk)
    body = b"".join(chunks)
    # Starlette's own cache: request.body(), .form() and .json() read this instead of the stream.
    request._body = body
    return body


MAX_FORM_FILES = 16
MAX_FORM_FIELDS = 2000
MAX_FORM_PART = 1024 * 1024


async def params(request: Request) -> Params:
    """Merge the query string and the body of any supported encoding, once per request."""
    cached: Params | None = request.scope.get("state", {}).get("params")
    if cached is not None:
        return cached
    # Most reads carry no query string: nothing to parse.
    query = request.scope.get("query_string")
    data = merge_pairs(request.query_params.multi_items()) if query else {}
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
        # Read (bounded) before parsing: a body cut off inside the multipart parser would leave
        # its spooled files open.
        await read_body(request)
        try:
            form: FormData = await request.form(
                max_files=MAX_FORM_FILES, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FORM_PART
            )
        except ApiError:
            raise
        except Exception:
            raise unprocessable("malformed form body") from None
        # File parts become bytes (the whole body is within the upload limit) and their spooled
        # files are closed here: Starlette leaves closing them to the handler.
        pairs: list[tuple[str, Any]] = []
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                pairs.append((key, await value.read()))
                await value.close()
            else:
                pairs.append((key, str(value)))
        return merge_pairs(pairs)
    body = await read_body(request)
    # aiosu and osu.py label every request, even empty GETs and POSTs, as JSON.
    if not body.strip():
        return None
    if content_type == "application/json" or body.lstrip()[:1] in (b"{", b"["):
        try:
            decoded = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise unprocessable("malformed JSON body") from None
        if not isinstance(decoded, dict):
            # Every body the API reads is an object of named fields; an array or a bare value
            # would otherwise pass as "nothing given".
            raise unprocessable("the JSON body must be an object")
        bounded: dict[str, Any] = _bounded_json(decoded)
        return bounded
    return None
