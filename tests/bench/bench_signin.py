"""Time of a refused sign-in: a known account's wrong password against a name no account has.

    python -m tests.bench.bench_signin [--attempts 20]

The app runs in process (every plugin, embedded SQLite, memory cache, the default bcrypt cost);
the user's hash has that cost too. Attempts alternate between the two kinds, each from its own
client address (so the failed sign-in lock does not answer instead), and the median of each kind
is printed with their ratio. Target: a ratio near 1 (both pay one bcrypt check).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time

import httpx


async def main(attempts: int) -> None:
    from core.app import create_app
    from core.auth import auth_settings, hash_password
    from core.config import settings_from
    from core.migrate import upgrade
    from core.services import services
    from core.testing import running
    from core.users import store as users_db
    from plugins.oauth.grants import LAZER_SECRETS

    with tempfile.TemporaryDirectory() as data:
        settings = settings_from(
            {
                "data": {"dir": data},
                "log": {"level": "WARNING"},
                "ratelimit": {"enabled": False},
            },
            {},
        )
        upgrade(settings)
        app = create_app(settings)
        async with running(app):
            svc = services(app)
            rounds = auth_settings(svc.settings)["bcrypt_rounds"]
            await users_db.insert_user(
                svc.db,
                username="peppy",
                password_hash=await hash_password("password123", rounds),
                email="peppy@example.com",
                country_code="AU",
            )
            times: dict[str, list[float]] = {"known": [], "unknown": []}
            for n in range(attempts * 2 + 2):
                kind = "known" if n % 2 else "unknown"
                transport = httpx.ASGITransport(app=app, client=(f"10.9.{n // 250}.{n % 250}", 1))
                async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                    form = {
                        "grant_type": "password",
                        "client_id": "5",
                        "client_secret": LAZER_SECRETS[0],
                        "username": "peppy" if kind == "known" else "nobody",
                        "password": "wrong password",
                        "scope": "*",
                    }
                    start = time.perf_counter()
                    response = await client.post("/oauth/token", data=form)
                    elapsed = time.perf_counter() - start
                assert response.json()["hint"] == "Incorrect sign in", response.text
                if n >= 2:  # the first of each kind warms up (the dummy hash is made once)
                    times[kind].append(elapsed)
            known = statistics.median(times["known"])
            unknown = statistics.median(times["unknown"])
            print(f"bcrypt cost {rounds}, {attempts} attempts of each kind")
            print(f"known account, wrong password: median {known * 1000:.1f} ms")
            print(f"no such account:               median {unknown * 1000:.1f} ms")
            print(f"ratio unknown/known: {unknown / known:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--attempts", type=int, default=20)
    asyncio.run(main(parser.parse_args().attempts))
