import time
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from core.app import create_app
from core.auth import (
    Signer,
    api_route,
    authenticator,
    current_token,
    current_user,
    hash_password,
    md5_hex,
    require_user,
    revoke_user_tokens,
    verify_password,
)
from core.config import Settings
from core.hooks import hookimpl
from core.http import json
from core.services import services
from tests.conftest import create_user, issue_token, running


async def whoami(request: Request) -> Response:
    user = current_user(request)
    token = current_token(request)
    return json(
        {
            "user": None if user is None else user["username"],
            "scopes": sorted(token.scopes) if token else None,
        }
    )


async def needs_user(request: Request) -> Response:
    return json({"id": require_user(request)["id"]})


async def show_cached(request: Request) -> Response:
    from core.auth import cached

    value = await cached(request, f"thing:{request.path_params['n']}")
    return json({"value": None if value is None else value.decode()})


class Routes:
    @hookimpl
    def routes(self) -> list:
        return [
            api_route(
                "/t/cached/{n}",
                show_cached,
                scope="public",
                prefetch=lambda request: [f"thing:{request.path_params['n']}"],
            ),
            api_route("/t/public", whoami, scope="public"),
            api_route("/t/identify", whoami, scope="identify"),
            api_route("/t/lazer", whoami, scope="*"),
            api_route("/t/open", whoami, scope=None),
            api_route("/t/any", whoami, scope="any"),
            api_route("/t/delegate", whoami, scope="delegate"),
            api_route("/t/user", needs_user, scope="public"),
        ]


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings, [Routes()])
    async with running(application):
        yield application


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_password_hash_is_bcrypt_over_md5_hex() -> None:
    hashed = await hash_password("hunter22", rounds=4)
    assert hashed.startswith("$2b$04$")
    assert await verify_password("hunter22", hashed)
    assert not await verify_password("hunter23", hashed)
    assert not await verify_password("x", "not a hash")
    assert not await verify_password("x", None)
    import bcrypt

    assert bcrypt.checkpw(md5_hex("hunter22"), hashed.encode())


async def test_jwt_claims_as_clients_decode_them(app: Starlette) -> None:
    user_id = await create_user(app)
    token = await issue_token(app, user_id, ["identify", "public"])
    assert "|" not in token
    import base64

    import orjson

    header, payload, _ = token.split(".")
    assert orjson.loads(base64.urlsafe_b64decode(header + "==")) == {"typ": "JWT", "alg": "RS256"}
    claims = orjson.loads(base64.urlsafe_b64decode(payload + "=="))
    assert claims["aud"] == "5"
    assert claims["sub"] == str(user_id)
    assert claims["scopes"] == ["identify", "public"]
    assert len(claims["jti"]) == 80
    assert claims["exp"] - claims["iat"] == 86400
    guest = await issue_token(app, None, ["public"])
    guest_claims = authenticator(services(app)).signer.decode(guest)
    assert guest_claims is not None and guest_claims["sub"] == ""


async def test_scopes_and_users(app: Starlette, client: httpx.AsyncClient) -> None:
    user_id = await create_user(app)
    star = await issue_token(app, user_id, ["*"])
    public = await issue_token(app, user_id, ["public"])
    guest = await issue_token(app, None, ["public"])

    r = await client.get("/t/public", headers=bearer(star))
    assert r.json() == {"user": "peppy", "scopes": ["*"]}
    r = await client.get("/t/identify", headers=bearer(public))
    assert (r.status_code, r.json()) == (403, {"error": "A required scope is missing."})
    r = await client.get("/t/lazer", headers=bearer(public))
    assert (r.status_code, r.json()) == (403, {"error": "Invalid scope(s) provided."})
    r = await client.get("/t/delegate", headers=bearer(star))
    assert r.status_code == 403  # `*` never implies delegate
    r = await client.get("/t/any", headers=bearer(guest))
    assert r.json() == {"user": None, "scopes": ["public"]}
    r = await client.get("/t/user", headers=bearer(guest))
    assert (r.status_code, r.json()) == (401, {"authentication": "basic"})
    r = await client.get("/t/user/", headers=bearer(public))
    assert r.json() == {"id": user_id}
    r = await client.head("/t/public", headers=bearer(public))
    assert r.status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer ",
        "Basic abc",
        "Bearer not.a.jwt",
        "Bearer a.b",
        "Bearer ....",
        "Bearer " + "x" * 5000,
        "Bearer eyJhbGciOiJub25lIn0.eyJqdGkiOiJ4IiwiZXhwIjo5OTk5OTk5OTk5fQ.",
    ],
)
async def test_bad_tokens_are_401(client: httpx.AsyncClient, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    r = await client.get("/t/public", headers=headers)
    assert (r.status_code, r.json()) == (401, {"authentication": "basic"})


async def test_open_route_still_validates_a_sent_token(client: httpx.AsyncClient) -> None:
    r = await client.get("/t/open")
    assert r.json() == {"user": None, "scopes": None}
    r = await client.get("/t/open", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    # An empty bearer is no token (Laravel's `bearerToken()`): open routes serve it.
    for empty in ("Bearer", "Bearer "):
        r = await client.get("/t/open", headers={"Authorization": empty})
        assert r.json() == {"user": None, "scopes": None}


async def test_wrong_signature_expired_and_revoked(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    user_id = await create_user(app)
    token = await issue_token(app, user_id)
    claims = authenticator(services(app)).signer.decode(token)
    assert claims is not None
    # Same claims, signed by another key.
    forged = Signer(rsa.generate_private_key(public_exponent=65537, key_size=2048)).encode(claims)
    r = await client.get("/t/public", headers=bearer(forged))
    assert r.status_code == 401
    # Same key, expiry in the past (the row exists and is not revoked).
    expired = authenticator(services(app)).signer.encode(claims | {"exp": int(time.time()) - 1})
    r = await client.get("/t/public", headers=bearer(expired))
    assert r.status_code == 401
    # Tampered payload with the original signature.
    head, _, sig = token.split(".")
    other = authenticator(services(app)).signer.encode(claims | {"sub": "999"}).split(".")[1]
    r = await client.get("/t/public", headers=bearer(f"{head}.{other}.{sig}"))
    assert r.status_code == 401
    # A valid signature over a jti that was never issued.
    unknown = authenticator(services(app)).signer.encode(claims | {"jti": "0" * 80})
    r = await client.get("/t/public", headers=bearer(unknown))
    assert r.status_code == 401

    assert (await client.get("/t/public", headers=bearer(token))).status_code == 200
    await revoke_user_tokens(services(app), user_id)
    r = await client.get("/t/public", headers=bearer(token))
    assert (r.status_code, r.json()) == (401, {"authentication": "basic"})


def test_route_declares_its_scope() -> None:
    route = api_route("/x", whoami, scope="identify")
    assert route.required_scope == "identify"
    assert api_route("/y", whoami, scope=None).required_scope is None
    with pytest.raises(ValueError):
        api_route("/z", whoami, scope="users.read")


async def test_revocation_tells_the_notification_sockets_at_once(app: Starlette) -> None:
    import orjson

    from core.auth import authenticator, revoke_access_tokens
    from core.chat import notifications

    user_id = await create_user(app, "leaving")
    token = await issue_token(app, user_id)
    client_token = await issue_token(app, None, ("public",))
    jti = authenticator(services(app)).claims(token)["jti"]
    client_jti = authenticator(services(app)).claims(client_token)["jti"]
    async with services(app).cache.subscribe(notifications.BUS) as bus:
        await revoke_access_tokens(services(app), [jti, client_jti])
        message = await bus.get(timeout=2)
        assert message is not None
        header, _, text = message[1].partition(b"\n")
        assert orjson.loads(header) == {"k": "logout", "u": [user_id], "tokens": [jti]}
        assert orjson.loads(text) == {"event": "logout"}
        # A client-credentials token has no user and no socket: nothing more is sent. (The
        # barrier: a message published after the revocation is the next one on the bus.)
        await notifications.publish_to_users(services(app).cache, [user_id], b'{"event":"after"}')
        message = await bus.get(timeout=2)
        assert message is not None and message[1].endswith(b'{"event":"after"}')


async def test_prefetched_keys_come_with_the_token_lookup(
    app: Starlette, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = await issue_token(app, await create_user(app, "fetcher"), ("public",))
    await services(app).cache.set("thing:1", b"one")
    gets: list[str] = []
    original_get = services(app).cache.get

    async def counting_get(key: str) -> bytes | None:
        gets.append(key)
        return await original_get(key)

    monkeypatch.setattr(services(app).cache, "get", counting_get)
    assert (await client.get("/t/cached/1", headers=bearer(token))).json() == {"value": "one"}
    assert (await client.get("/t/cached/2", headers=bearer(token))).json() == {"value": None}
    assert "thing:1" not in gets and "thing:2" not in gets  # no second round trip
    # Without a token the route still answers 401 and the handler never runs.
    assert (await client.get("/t/cached/1")).status_code == 401
