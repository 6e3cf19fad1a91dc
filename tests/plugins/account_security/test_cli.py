"""`hitcircle security totp-disable | verify-email` as an operator runs them."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette

from core.config import Settings
from core.services import services
from plugins.account_security import store
from tests.conftest import create_user, run_command


async def test_an_operator_turns_off_totp_and_verifies_an_address(
    app: Starlette, settings: Settings
) -> None:
    db = services(app).db
    uid = await create_user(app, "locked_out", email="l@example.com")
    await store.update_security(db, uid, totp_secret="JBSWY3DPEHPK3PXP", email_required=True)
    await store.replace_backup_codes(db, uid, ["a" * 64])

    done = await run_command(settings, "security", "totp-disable", "locked_out")
    assert done.returncode == 0, done.stderr
    assert "TOTP of locked_out" in done.stdout
    row = await store.security_row(db, uid)
    assert row is not None and row["totp_secret"] is None
    assert await store.unused_backup_codes(db, uid) == 0
    assert (
        "has no TOTP" in (await run_command(settings, "security", "totp-disable", str(uid))).stdout
    )

    verified = await run_command(settings, "security", "verify-email", "locked_out")
    assert verified.returncode == 0, verified.stderr
    row = await store.security_row(db, uid)
    assert row is not None and row["email_verified_at"] is not None

    missing = await run_command(settings, "security", "verify-email", "nobody")
    assert missing.returncode == 1 and "no user 'nobody'" in missing.stderr


async def test_without_mail_the_mail_routes_refuse_clearly(app: Starlette, client: Any) -> None:
    await create_user(app, "forgetful", email="f@example.com")
    for path in ("password-reset", "email/verify/resend"):
        answer = await client.post(f"/api/private/{path}", json={"username": "forgetful"})
        assert answer.status_code == 422
        assert answer.json()["error"] == "This server does not send e-mail."
