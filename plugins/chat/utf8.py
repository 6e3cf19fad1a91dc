"""Refuse request text that is not UTF-8 before the form parser papers over it.

Starlette decodes form values leniently (latin-1 for raw bytes, U+FFFD for bad percent-escapes),
so a message in another encoding would be stored as mojibake. Chat bodies are checked raw.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.requests import Request

from core.http import read_body, unprocessable

NOT_UTF8 = "The message must be UTF-8 text."
MAX_CHAT_BODY = 64 * 1024


def _check_urlencoded(raw: bytes) -> None:
    for pair in raw.split(b"&"):
        for part in pair.split(b"=", 1):
            unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")


async def ensure_utf8(request: Request) -> None:
    """422 when the query string or the body holds bytes that are not UTF-8."""
    try:
        _check_urlencoded(request.scope.get("query_string", b""))
        if request.method in ("GET", "HEAD"):
            return
        # Reading the body here keeps it for the form parser.
        body = await read_body(request, MAX_CHAT_BODY)
        content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if content_type == "application/x-www-form-urlencoded":
            _check_urlencoded(body)
        else:
            body.decode("utf-8")
    except UnicodeDecodeError:
        raise unprocessable(NOT_UTF8) from None
