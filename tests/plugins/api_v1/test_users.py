import httpx
from starlette.applications import Starlette

from core.services import services
from core.users import store as users_db
from tests.conftest import create_user

FIELDS = [
    "user_id",
    "username",
    "join_date",
    "count300",
    "count100",
    "count50",
    "playcount",
    "ranked_score",
    "total_score",
    "pp_rank",
    "level",
    "pp_raw",
    "accuracy",
    "count_rank_ss",
    "count_rank_ssh",
    "count_rank_s",
    "count_rank_sh",
    "count_rank_a",
    "country",
    "total_seconds_played",
    "pp_country_rank",
    "events",
]


async def test_get_user(app: Starlette, client: httpx.AsyncClient) -> None:
    user = await create_user(app, "Some Body", country="DE")
    _, key = await users_db.create_api_key(services(app).db, user, "test")
    for path in ("/api/get_user", "/api/v1/get_user/"):
        for query in (
            {"u": str(user)},
            {"u": "some body"},
            {"u": "Some_Body", "type": "string"},
            {"u": str(user), "type": "id", "m": "3"},
        ):
            r = await client.get(path, params={"k": key, **query})
            assert r.status_code == 200, query
            [body] = r.json()
            assert list(body) == FIELDS
            for name, value in body.items():
                assert isinstance(value, list if name == "events" else str), name
    assert body["user_id"] == str(user) and body["country"] == "DE"
    assert body["pp_rank"] == "0" and body["level"] == "1" and body["events"] == []
    import re

    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", body["join_date"])
    for query in (
        {"u": "nobody"},
        {"u": str(user), "type": "string"},
        {"u": "Some Body", "type": "id"},
        {"u": str(user), "m": "9"},
        {},
        {"u": "x" * 500},
    ):
        r = await client.get("/api/get_user", params={"k": key, **query})
        assert (r.status_code, r.json()) == (200, []), query


async def test_get_user_key_errors(app: Starlette, client: httpx.AsyncClient) -> None:
    user = await create_user(app)
    _, key = await users_db.create_api_key(services(app).db, user, "test")
    for params in (
        {"u": "peppy"},
        {"u": "peppy", "k": "wrong"},
        {"u": "peppy", "k": key + "x"},
        {"u": "peppy", "k": "k" * 10000},
    ):
        r = await client.get("/api/get_user", params=params)
        assert (r.status_code, r.json()) == (401, {"error": "Please provide a valid API key."})
