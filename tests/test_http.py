import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.config import Settings
from core.hooks import hookimpl
from core.http import (
    INT64_MAX,
    ApiError,
    Params,
    decode_cursor,
    encode_cursor,
    error,
    json,
    merge_pairs,
    not_found,
    params,
    parse_bool,
)

from .conftest import running


async def echo(request: Request) -> Response:
    p = await params(request)
    return json(p.data)


async def boom(request: Request) -> Response:
    raise RuntimeError("secret internals")


async def gone(request: Request) -> Response:
    raise not_found("beatmap difficulty")


async def typed(request: Request) -> Response:
    p = await params(request)
    return json(
        {"n": p.int("n", minimum=0, maximum=10), "flag": p.bool("flag"), "ids": p.list("ids", 3)}
    )


async def by_id(request: Request) -> Response:
    return json({"n": request.path_params["n"]})


async def wide(request: Request) -> Response:
    p = await params(request)
    return json({"n": p.int("n"), "cursor": decode_cursor(p.str("cursor"))})


async def keys(request: Request) -> Response:
    return json(sorted((await params(request)).data))


class Routes:
    @hookimpl
    def routes(self) -> list[Route]:
        return [
            Route("/echo", echo, methods=["GET", "POST", "PUT"]),
            Route("/boom", boom),
            Route("/gone", gone),
            Route("/typed", typed, methods=["GET", "POST"]),
            Route("/ids/{n:int}", by_id),
            Route("/wide", wide, methods=["GET", "POST"]),
            Route("/keys", keys, methods=["POST"]),
        ]


@pytest.fixture
async def http(settings: Settings) -> httpx.AsyncClient:
    from core.app import create_app

    app = create_app(settings, [Routes()])
    async with running(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def test_unknown_route_is_json_null_error(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/v2/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": None}


async def test_wrong_method_is_json(http: httpx.AsyncClient) -> None:
    response = await http.delete("/echo")
    assert response.status_code == 405
    assert response.json() == {"error": None}


async def test_unhandled_error_has_no_traceback(http: httpx.AsyncClient) -> None:
    response = await http.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"error": None}
    assert "secret" not in response.text
    assert response.headers["x-request-id"]


async def test_model_not_found_wording(http: httpx.AsyncClient) -> None:
    response = await http.get("/gone")
    assert response.status_code == 404
    assert response.json() == {"error": "Specified beatmap difficulty couldn't be found."}


@pytest.mark.parametrize("path", ["/echo", "/echo/"])
async def test_trailing_slash_matches_without_redirect(http: httpx.AsyncClient, path: str) -> None:
    response = await http.post(path, data={"a": "1"})
    assert response.status_code == 200
    assert response.json() == {"a": "1"}


async def test_head_answers_for_get(http: httpx.AsyncClient) -> None:
    response = await http.head("/echo")
    assert response.status_code == 200
    assert response.content == b""


async def test_request_id_is_returned_and_kept(http: httpx.AsyncClient) -> None:
    assert len((await http.get("/echo")).headers["x-request-id"]) == 16
    kept = await http.get("/echo", headers={"x-request-id": "abc-123"})
    assert kept.headers["x-request-id"] == "abc-123"
    ignored = await http.get("/echo", headers={"x-request-id": "bad id;<script>"})
    assert ignored.headers["x-request-id"] != "bad id;<script>"


async def test_query_and_body_merge_with_body_winning(http: httpx.AsyncClient) -> None:
    response = await http.post("/echo?a=query&b=2", data={"a": "body"})
    assert response.json() == {"a": "body", "b": "2"}


async def test_php_arrays_and_nested_keys(http: httpx.AsyncClient) -> None:
    response = await http.get("/echo?ids[]=1&ids[]=2&cursor[page]=3&channel[name]=x")
    assert response.json() == {"ids": ["1", "2"], "cursor": {"page": "3"}, "channel": {"name": "x"}}


async def test_multipart_as_lazer_sends_it(http: httpx.AsyncClient) -> None:
    boundary = "-----------------------------28947758029299"
    body = (
        f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Disposition: form-data; name=user[username]\r\n\r\npeppy\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    response = await http.post(
        "/echo", content=body, headers={"content-type": f"multipart/form-data; boundary={boundary}"}
    )
    assert response.json() == {"user": {"username": "peppy"}}


async def test_json_body_and_empty_json_body(http: httpx.AsyncClient) -> None:
    assert (await http.post("/echo", json={"x": [1, 2]})).json() == {"x": [1, 2]}
    empty = await http.post("/echo?q=1", headers={"content-type": "application/json"})
    assert empty.status_code == 200
    assert empty.json() == {"q": "1"}


async def test_malformed_json_is_422(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/echo", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json() == {"error": "malformed JSON body"}


@pytest.mark.parametrize("body", [b"0", b"[null, null]", b'"key"', b"null", b"[]"])
async def test_a_json_body_that_is_not_an_object_is_422(
    http: httpx.AsyncClient, body: bytes
) -> None:
    # Found by the contract run: `[null, null]` passed as "nothing given" (a 204 from
    # session/verify, a new API key from `0`).
    response = await http.post("/echo", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json() == {"error": "the JSON body must be an object"}


@pytest.mark.parametrize(
    ("query", "status", "body"),
    [
        ("n=5&flag=on&ids[]=1", 200, {"n": 5, "flag": True, "ids": ["1"]}),
        ("n=&flag=", 200, {"n": None, "flag": None, "ids": []}),
        ("ids=7", 200, {"n": None, "flag": None, "ids": ["7"]}),
        ("n=abc", 422, {"error": "n must be an integer"}),
        ("n=-1", 422, {"error": "n must be at least 0"}),
        ("n=99999999999999999999999", 422, {"error": "n must be at most 10"}),
        ("n=-99999999999999999999999", 422, {"error": "n must be at least 0"}),
        (
            "ids[]=1&ids[]=2&ids[]=3&ids[]=4",
            422,
            {"error": "ids parameter has a maximum of 3 items"},
        ),
    ],
)
async def test_typed_params(http: httpx.AsyncClient, query: str, status: int, body: dict) -> None:
    response = await http.get(f"/typed?{query}")
    assert response.status_code == status
    assert response.json() == body


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("on", True),
        ("true", True),
        ("True", True),
        ("0", False),
        ("false", False),
        ("False", False),
        ("yes", None),
        ("", None),
        (None, None),
        (True, True),
        (0, False),
    ],
)
def test_parse_bool_as_osu_web(value: object, expected: bool | None) -> None:
    assert parse_bool(value) is expected


def test_merge_pairs_edge_cases() -> None:
    assert merge_pairs([("[x]", "1"), ("a[b][c]", "2"), ("a[b][d][]", "3")]) == {
        "[x]": "1",
        "a": {"b": {"c": "2", "d": ["3"]}},
    }


def test_params_string_limits() -> None:
    p = Params({"s": "x" * 10, "l": ["a"]})
    assert p.str("s") == "x" * 10
    with pytest.raises(ApiError):
        p.str("s", max_length=5)
    with pytest.raises(ApiError):
        p.str("l")


def test_error_helpers() -> None:
    assert error(403, "nope").body == {"error": "nope"}
    assert ApiError(500).body == {"error": None}


def test_timestamp_forms() -> None:
    import datetime as dt

    from core.http import time_offset, time_v1, time_z

    moment = dt.datetime(2019, 2, 22, 11, 7, 10, 123456)
    assert time_z(moment) == "2019-02-22T11:07:10Z"
    assert time_offset(moment) == "2019-02-22T11:07:10+00:00"
    assert time_v1(moment) == "2019-02-22 11:07:10"
    assert time_z(None) is None and time_offset(None) is None and time_v1(None) is None


# --- integers past 64 bits never reach a handler -----------------------------------------------


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/ids/{INT64_MAX}", 200),
        (f"/ids/{INT64_MAX + 1}", 404),
        ("/ids/" + "9" * 5000, 404),
        ("/ids/00000000000000000000000000001", 404),
    ],
)
async def test_int_path_segments_are_64_bit(
    http: httpx.AsyncClient, path: str, status: int
) -> None:
    response = await http.get(path)
    assert response.status_code == status
    assert response.json() == ({"n": INT64_MAX} if status == 200 else {"error": None})


@pytest.mark.parametrize(
    "query", ["n=9223372036854775808", "n=-9223372036854775809", "n=" + "1" * 5000]
)
async def test_query_ints_past_64_bits_are_422(http: httpx.AsyncClient, query: str) -> None:
    response = await http.get(f"/wide?{query}")
    assert response.status_code == 422
    assert response.json() == {"error": "n is out of range"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"n": 9223372036854775808}', "n is out of range"),
        (b'{"n": -9223372036854775809}', "n must be an integer"),
        (b'{"n": 1e300}', "n must be an integer"),
        (b"[" * 100 + b"]" * 100, "the JSON body must be an object"),
        (b'{"n": ' + b"[" * 70 + b"]" * 70 + b"}", "the JSON body is nested too deeply"),
    ],
)
async def test_json_body_numbers_past_64_bits_are_422(
    http: httpx.AsyncClient, body: bytes, message: str
) -> None:
    response = await http.post("/wide", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json() == {"error": message}


async def test_json_body_numbers_past_64_bits_reach_handlers_as_text(
    http: httpx.AsyncClient,
) -> None:
    body = b'{"a": 18446744073709551615, "b": [1, -9223372036854775809], "c": 9223372036854775807}'
    response = await http.post("/echo", content=body, headers={"content-type": "application/json"})
    assert response.json() == {
        "a": "18446744073709551615",
        "b": [1, "-9.223372036854776e+18"],
        "c": INT64_MAX,
    }
    ok = await http.post("/wide", json={"n": INT64_MAX})
    assert ok.json() == {"n": INT64_MAX, "cursor": None}


async def test_cursors_with_huge_numbers_count_as_no_cursor(http: httpx.AsyncClient) -> None:
    good = encode_cursor({"id": INT64_MAX})
    assert (await http.get(f"/wide?cursor={good}")).json()["cursor"] == {"id": INT64_MAX}
    huge = encode_cursor({"id": INT64_MAX + 1})
    assert (await http.get(f"/wide?cursor={huge}")).json()["cursor"] is None


# --- bodies are bounded while they stream -------------------------------------------------------

SMALL_LIMITS = {"http": {"max_json_body": 1000, "max_form_body": 2000, "max_upload_body": 4000}}


MULTIPART_HEAD = b'--xyz\r\nContent-Disposition: form-data; name="f"; filename="a"\r\n\r\n'


MULTIPART_TAIL = b"\r\n--xyz--\r\n"


async def _chunks(total: int, head: bytes = b"", tail: bytes = b"", size: int = 256):
    # Well-formed, so the parser keeps reading until the limit cuts it off.
    yield head
    filler = total - len(head) - len(tail)
    for _ in range(filler // size):
        yield b"a" * size
    yield b"a" * (filler % size) + tail


@pytest.mark.parametrize("settings_overrides", [SMALL_LIMITS])
@pytest.mark.parametrize(
    ("content_type", "limit", "at_limit_status"),
    [
        # At the limit the body is read and parsed ("aaa…" is malformed JSON: 422, not 413).
        ("application/json", 1000, 422),
        ("application/x-www-form-urlencoded", 2000, 200),
        ("multipart/form-data; boundary=xyz", 4000, 200),
        ("", 1000, 200),
    ],
)
async def test_body_limits_by_kind(
    http: httpx.AsyncClient, content_type: str, limit: int, at_limit_status: int
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    multipart = content_type.startswith("multipart")
    head, tail = (MULTIPART_HEAD, MULTIPART_TAIL) if multipart else (b"", b"")
    # Declared too large: refused from the header alone.
    declared = await http.post("/echo", content=b"x" * (limit + 1), headers=headers)
    assert declared.status_code == 413
    assert declared.json() == {"error": "request body too large"}
    assert declared.headers["connection"] == "close"
    # No Content-Length (chunked): cut off once the count passes the limit.
    streamed = await http.post("/echo", content=_chunks(limit + 1, head, tail), headers=headers)
    assert streamed.status_code == 413
    assert streamed.json() == {"error": "request body too large"}
    at_limit = await http.post("/keys", content=_chunks(limit, head, tail), headers=headers)
    assert at_limit.status_code == at_limit_status


async def test_bad_content_length_is_400(http: httpx.AsyncClient) -> None:
    response = await http.post("/echo", content=b"{}", headers={"content-length": "-5"})
    assert response.status_code == 400
    assert response.json() == {"error": "invalid Content-Length"}
