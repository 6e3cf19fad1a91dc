"""The moderation commands (`hitcircle user ...`, `scores delete`, `reports`, `groups`, `audit`):
what they change, and bad input refused with one line and nothing changed. The rules behind
them are tested through the API (tests/moderation/); here, that each command reaches them."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from core.config import Settings
from core.moderation import store as moderation_db
from core.reports import store as reports_db
from core.scores import store as scores_db
from core.services import services
from tests.conftest import run_command
from tests.moderation.support import snapshot, staff
from tests.scores import support as scores


async def test_scores_reports_and_groups(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    s = await staff(app)
    db = services(app).db
    first = await scores.import_map(app, 0)
    second = await scores.import_map(app, 0, set_id=7050)
    ids = []
    for beatmap in (first, second):
        r = await scores.submit(client, s.player_token, beatmap, scores.body(beatmap))
        ids.append(r.json()["id"])
    report = await reports_db.insert_report(
        db,
        reporter_id=s.other,
        user_id=s.player,
        reportable_type="user",
        reportable_id=s.player,
        reason="Cheating",
        comments="too good",
    )

    r = await run_command(settings, "scores", "delete", str(ids[0]), "--reason", "cheated")
    assert r.returncode == 0 and "deleted" in r.stdout, r.stderr
    assert await scores_db.get_score(db, ids[0]) is None
    r = await run_command(settings, "user", "wipe-scores", "player", "--ruleset", "osu")
    assert r.returncode == 0 and r.stdout.startswith("1 scores"), r.stderr
    assert await scores_db.user_score_keys(db, s.player) == []

    r = await run_command(settings, "reports", "list")
    assert r.returncode == 0 and r.stdout.startswith(f"{report} "), r.stderr
    assert "Cheating" in r.stdout and "too good" in r.stdout
    r = await run_command(settings, "reports", "resolve", str(report), "--note", "wiped")
    assert r.returncode == 0, r.stderr
    assert (await reports_db.get_report(db, report) or {})["resolution"] == "resolved"

    r = await run_command(
        settings,
        "groups",
        "create",
        "osc",
        "--name",
        "Contest Winners",
        "--short-name",
        "OSC",
        "--colour",
        "#123abc",
    )
    assert r.returncode == 0 and r.stdout.strip().isdigit(), r.stderr
    r = await run_command(settings, "groups", "list")
    assert r.returncode == 0 and "osc  OSC  #123ABC  Contest Winners  (0 members)" in r.stdout
    assert "gmt  GMT  #99EB47" in r.stdout

    r = await run_command(settings, "audit")
    actions = [line.split()[4] for line in r.stdout.splitlines()]
    assert actions == ["group_create", "report_resolve", "scores_wipe", "score_delete"]


async def test_bad_input_changes_nothing(app: Starlette, settings: Settings) -> None:
    await staff(app)
    before = await snapshot(app)
    for args, code, message in (
        (
            ("user", "silence", "nobody", "--duration", "1h", "--reason", "x"),
            1,
            "hitcircle: no user 'nobody'",
        ),
        (
            ("user", "silence", "player", "--duration", "soon", "--reason", "x"),
            1,
            "hitcircle: duration must be a number of seconds or like 1h, 30m, 7d",
        ),
        (("user", "unrestrict", "player"), 1, "hitcircle: That user is not restricted."),
        (
            ("user", "badge", "remove", "player", "99999999999999999999"),
            1,
            "hitcircle: Specified UserBadge couldn't be found.",
        ),
        (
            ("scores", "delete", "99999999999999999999"),
            1,
            "hitcircle: Specified Solo\\Score couldn't be found.",
        ),
    ):
        r = await run_command(settings, *args)
        assert r.returncode == code, (args, r.stdout, r.stderr)
        if message is not None:
            assert r.stderr.strip() == message, args
    assert await snapshot(app) == before
    assert await moderation_db.log_entries(services(app).db) == []
