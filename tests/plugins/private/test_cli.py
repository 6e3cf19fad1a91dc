import json
import subprocess

from core.config import Settings
from tests.conftest import run_command


async def hitcircle(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return await run_command(settings, *args, env={"HITCIRCLE_AUTH_BCRYPT_ROUNDS": "4"})


async def test_user_and_oauth_commands(settings: Settings) -> None:
    r = await hitcircle(
        settings,
        "user",
        "create",
        "cli user",
        "--password",
        "cli password",
        "--email",
        "cli@example.com",
    )
    assert r.returncode == 0, r.stderr
    user_id = int(r.stdout.strip())
    r = await hitcircle(settings, "user", "create", "CLI_USER", "--password", "cli password")
    assert r.returncode == 1 and "already in use" in r.stderr
    r = await hitcircle(settings, "user", "create", "x", "--password", "cli password")
    assert r.returncode == 1 and "too short" in r.stderr
    r = await hitcircle(
        settings, "user", "set-password", "cli user", "--password", "other password"
    )
    assert r.returncode == 0, r.stderr
    r = await hitcircle(settings, "user", "restrict", str(user_id))
    assert r.returncode == 0 and "restricted" in r.stdout
    r = await hitcircle(settings, "user", "restrict", "nobody")
    assert r.returncode == 1
    r = await hitcircle(
        settings,
        "oauth",
        "create-client",
        "tool",
        "--redirect-uri",
        "http://localhost/cb",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    created = json.loads(r.stdout)
    assert isinstance(created["client_id"], int) and len(created["client_secret"]) >= 32


async def test_restrict_is_recorded_in_the_account_history(app, settings: Settings) -> None:
    from core.services import services
    from core.users import activity
    from tests.conftest import create_user

    user_id = await create_user(app, "to restrict")
    r = await hitcircle(settings, "user", "restrict", str(user_id))
    assert r.returncode == 0, r.stderr
    r = await hitcircle(settings, "user", "restrict", str(user_id), "--lift")
    assert r.returncode == 0, r.stderr
    [entry] = await activity.history(services(app).db, user_id, own=True)
    assert entry["type"] == "restriction" and entry["permanent"] is True
    # Others see silences only (osu-web's default scope).
    assert await activity.history(services(app).db, user_id, own=False) == []


async def test_user_supporter_command(settings: Settings) -> None:
    import sqlalchemy as sa

    from core.db import sync_url

    r = await hitcircle(settings, "user", "create", "fan", "--password", "cli password")
    assert r.returncode == 0, r.stderr
    user_id = int(r.stdout.strip())
    engine = sa.create_engine(sync_url(settings.database_url))

    def level() -> tuple[int, bool]:
        with engine.connect() as conn:
            row = conn.execute(
                sa.text("SELECT support_level, has_supported FROM users WHERE id = :id"),
                {"id": user_id},
            ).one()
        return int(row[0]), bool(row[1])

    assert level() == (0, False)
    r = await hitcircle(settings, "user", "supporter", "fan")
    assert r.returncode == 0 and "is now an osu!supporter" in r.stdout, r.stderr
    assert level() == (1, True)
    r = await hitcircle(settings, "user", "supporter", str(user_id), "--off")
    assert r.returncode == 0 and "no longer" in r.stdout, r.stderr
    assert level() == (0, True)
    r = await hitcircle(settings, "user", "supporter", "nobody")
    assert (r.returncode, r.stderr.strip()) == (1, "hitcircle: no user 'nobody'")
    engine.dispose()
