"""Spotlights: the charts ranking (best score per beatmap within the window, one per player),
the spotlights list, bad input, and `hitcircle spotlights` (refusals store nothing)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from core.config import Settings
from core.db import utcnow
from core.moderation import store as moderation_db
from core.scores.store import scores
from core.services import services
from core.spotlights import store as spotlights_db
from tests.conftest import create_user, issue_token, run_command
from tests.scores import support


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def spotlight(app: Starlette, name: str, sets: list[int], mode_specific: bool) -> int:
    now = utcnow()
    sid = await spotlights_db.create(
        services(app).db,
        name=name,
        type="monthly" if mode_specific else "theme",
        start=now - dt.timedelta(days=1),
        end=now + dt.timedelta(days=1),
        mode_specific=mode_specific,
    )
    for set_id in sets:
        assert await spotlights_db.add_set(services(app).db, sid, set_id)
    return sid


@pytest.fixture
async def world(app: Starlette, client: httpx.AsyncClient) -> dict[str, Any]:
    osu_map = await support.import_map(app, 0)
    taiko_map = await support.import_map(app, 1)
    ids = {
        name: await create_user(app, name, country=c)
        for name, c in (("alice", "AU"), ("bob", "JP"), ("carol", "FR"))
    }
    tokens = {name: await issue_token(app, uid) for name, uid in ids.items()}
    submitted: dict[str, list[dict[str, Any]]] = {}

    async def play(name: str, beatmap: support.Map, misses: int) -> dict[str, Any]:
        body = support.body(beatmap, misses=misses)
        r = await support.submit(client, tokens[name], beatmap, body)
        assert r.status_code == 200, r.text
        submitted.setdefault(name, []).append(r.json())
        return dict(r.json())

    await play("alice", osu_map, 3)
    await play("alice", osu_map, 0)  # her best on the map: only this one counts
    await play("bob", osu_map, 1)
    late = await play("carol", osu_map, 0)
    await play("bob", taiko_map, 0)
    # Carol's score was set before the window: it counts for nothing.
    await services(app).db.execute(
        sa.update(scores)
        .where(scores.c.id == late["id"])
        .values(ended_at=utcnow() - dt.timedelta(days=10))
    )
    theme = await spotlight(app, "All maps", [7000, 7100], False)
    monthly = await spotlight(app, "Monthly", [7000, 7100], True)
    return {"ids": ids, "scores": submitted, "theme": theme, "monthly": monthly}


async def test_charts_rank_best_scores_in_window(
    client: httpx.AsyncClient, world: dict[str, Any], token: str
) -> None:
    got = await client.get(
        f"/api/v2/rankings/osu/charts?spotlight={world['theme']}", headers=auth(token)
    )
    assert got.status_code == 200, got.text
    body = got.json()
    assert set(body) == {"beatmapsets", "ranking", "spotlight"}
    ids, played = world["ids"], world["scores"]
    assert [r["user"]["id"] for r in body["ranking"]] == [ids["alice"], ids["bob"]]
    alice, bob = body["ranking"]
    best = played["alice"][1]
    assert alice["ranked_score"] == best["total_score"] == alice["total_score"]
    assert alice["play_count"] == 1
    assert alice["hit_accuracy"] == pytest.approx(best["accuracy"] * 100)
    assert alice["count_miss"] == 0 and alice["count_300"] > 0
    assert bob["ranked_score"] == played["bob"][0]["total_score"]
    assert bob["count_miss"] == 1
    # One counted score each: its pp, and the map's length as play time.
    assert alice["pp"] == pytest.approx(best["pp"]) and best["pp"] > 0
    assert bob["pp"] == pytest.approx(played["bob"][0]["pp"]) and bob["pp"] < alice["pp"]
    assert alice["play_time"] == bob["play_time"] > 0
    assert [r["global_rank"] for r in body["ranking"]] == [1, 2]
    grades = {k: alice["grade_counts"][k] for k in ("ss", "ssh", "s", "sh", "a")}
    assert sum(grades.values()) == 1
    assert alice["user"]["country"]["code"] == "AU" and "cover" in alice["user"]
    assert body["spotlight"] == {
        "end_date": body["spotlight"]["end_date"],
        "id": world["theme"],
        "mode_specific": False,
        "name": "All maps",
        "start_date": body["spotlight"]["start_date"],
        "type": "theme",
        "participant_count": 2,
    }
    assert body["spotlight"]["start_date"].endswith("+00:00")
    # Not mode-specific: every ruleset's chart lists every set, with its beatmaps.
    assert [s["id"] for s in body["beatmapsets"]] == [7000, 7100]
    assert body["beatmapsets"][0]["beatmaps"][0]["id"] == 7001
    taiko = (
        await client.get(
            f"/api/v2/rankings/taiko/charts?spotlight={world['theme']}", headers=auth(token)
        )
    ).json()
    assert [r["user"]["id"] for r in taiko["ranking"]] == [ids["bob"]]
    assert taiko["spotlight"]["participant_count"] == 1
    mania = (
        await client.get(
            f"/api/v2/rankings/mania/charts?spotlight={world['theme']}", headers=auth(token)
        )
    ).json()
    assert mania["ranking"] == [] and mania["spotlight"]["participant_count"] == 0


async def test_mode_specific_and_latest(
    client: httpx.AsyncClient, world: dict[str, Any], token: str
) -> None:
    # Without `spotlight`: the newest, here the mode-specific one.
    body = (await client.get("/api/v2/rankings/osu/charts", headers=auth(token))).json()
    assert body["spotlight"]["id"] == world["monthly"]
    assert body["spotlight"]["mode_specific"] is True
    assert [s["id"] for s in body["beatmapsets"]] == [7000]
    assert len(body["ranking"]) == 2
    taiko = (await client.get("/api/v2/rankings/taiko/charts", headers=auth(token))).json()
    assert [s["id"] for s in taiko["beatmapsets"]] == [7100]
    listed = (await client.get("/api/v2/spotlights", headers=auth(token))).json()
    assert [s["id"] for s in listed["spotlights"]] == [world["monthly"], world["theme"]]
    assert "participant_count" not in listed["spotlights"][0]
    assert listed["spotlights"][1]["type"] == "theme"


async def test_restricted_players_leave_the_chart(
    app: Starlette, client: httpx.AsyncClient, world: dict[str, Any], token: str
) -> None:
    from core.users.store import users

    await services(app).db.execute(
        sa.update(users).where(users.c.id == world["ids"]["alice"]).values(restricted=True)
    )
    body = (
        await client.get(
            f"/api/v2/rankings/osu/charts?spotlight={world['theme']}", headers=auth(token)
        )
    ).json()
    assert [r["user"]["id"] for r in body["ranking"]] == [world["ids"]["bob"]]
    assert body["spotlight"]["participant_count"] == 1


async def test_bad_spotlight(app: Starlette, client: httpx.AsyncClient, token: str) -> None:
    await support.import_map(app, 0)
    await spotlight(app, "Only", [7000], False)
    for query, status in (
        ("spotlight=424242", 404),
        ("spotlight=0", 404),
        ("spotlight=-5", 404),
        ("spotlight=9999999999999", 404),
        ("spotlight=99999999999999999999999999", 422),
        ("spotlight=abc", 422),
        ("spotlight=1.5", 422),
        ("spotlight[]=1", 422),
    ):
        got = await client.get(f"/api/v2/rankings/osu/charts?{query}", headers=auth(token))
        assert got.status_code == status, (query, got.text)
        assert "error" in got.json()


async def test_no_spotlight_yet(client: httpx.AsyncClient, token: str) -> None:
    got = await client.get("/api/v2/rankings/osu/charts", headers=auth(token))
    assert got.status_code == 404
    assert (await client.get("/api/v2/spotlights", headers=auth(token))).json() == {
        "spotlights": []
    }
    assert (
        await client.get("/api/v2/rankings/piano/charts?spotlight=1", headers=auth(token))
    ).status_code == 404


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """`hitcircle ARGS` in this process, for refusals made before anything is opened."""
    from core.cli import main

    try:
        code = main(["--config", "none", "spotlights", *args])
    except SystemExit as exc:  # argparse's own refusals
        code = int(exc.code or 0)
    return code, capsys.readouterr().err


async def test_cli(app: Starlette, settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    await support.import_map(app, 0)
    db = services(app).db

    async def stored() -> tuple[int, int]:
        spots = await db.fetch_val(sa.select(sa.func.count()).select_from(spotlights_db.spotlights))
        sets = await db.fetch_val(
            sa.select(sa.func.count()).select_from(spotlights_db.spotlight_beatmapsets)
        )
        return int(spots), int(sets)

    window = ("--start", "2026-02-01", "--end", "2026-01-31")
    code, err = cli(capsys, "create", "Backwards", "--type", "monthly", *window)
    assert code == 1 and "before the start" in err
    window = ("--start", "2026-13-01", "--end", "2026-12-31")
    code, err = cli(capsys, "create", "Garbled", "--type", "monthly", *window)
    assert code == 1 and "YYYY-MM-DD" in err
    window = ("--start", "2026-01-01", "--end", "2026-01-31")
    code, err = cli(capsys, "create", "  ", "--type", "monthly", *window)
    assert code == 1 and "name" in err
    code, err = cli(capsys, "create", "Odd", "--type", "weekly", *window)
    assert code == 2 and "invalid choice" in err
    code, err = cli(capsys, "add-set", "1", "99999999999999999999999")
    assert code == 1 and "no beatmapset" in err
    code, err = cli(capsys, "add-set", "1", "x")
    assert code == 2
    assert await stored() == (0, 0)
    made = await run_command(
        settings, "spotlights", "create", "January", "--type", "monthly", *window, "--mode-specific"
    )
    assert made.returncode == 0, made.stderr
    (row,) = await spotlights_db.listing(db)
    assert f"spotlight {row['id']}" in made.stdout
    assert (row["name"], row["type"], bool(row["mode_specific"])) == ("January", "monthly", True)
    assert row["start_date"] == dt.datetime(2026, 1, 1)
    assert row["end_date"] == dt.datetime(2026, 1, 31, 23, 59, 59)
    # Audited as the web admin page's create is (core.spotlights.making), the refusals not.
    (entry,) = await moderation_db.log_entries(db, action="spotlight_create")
    assert entry["actor_name"] == "cli" and entry["details"]["spotlight_id"] == row["id"]
    sid = str(row["id"])
    for args, message in (
        ((sid, "424242"), "no beatmapset 424242"),
        (("424242", "7000"), "no spotlight 424242"),
    ):
        refused = await run_command(settings, "spotlights", "add-set", *args)
        assert refused.returncode == 1 and message in refused.stderr, refused.stderr
    assert await stored() == (1, 0)
    added = await run_command(settings, "spotlights", "add-set", sid, "7000")
    assert added.returncode == 0, added.stderr
    (entry,) = await moderation_db.log_entries(db, action="spotlight_add_set")
    assert entry["details"]["beatmapset_id"] == 7000 and entry["actor_name"] == "cli"
    assert not await spotlights_db.add_set(db, int(sid), 7000)  # once only
    assert await stored() == (1, 1)
    listed = await run_command(settings, "spotlights", "list")
    assert listed.returncode == 0
    assert f"{sid}\tJanuary\tmonthly\t2026-01-01 to 2026-01-31\t1 sets\tmode-specific" in (
        listed.stdout
    )
