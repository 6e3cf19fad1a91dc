"""Score test material: ranked beatmaps for each ruleset and lazer-shaped submission bodies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import rosu_pp_py as rosu
from starlette.applications import Starlette

from core.scores import scoring
from tests.beatmaps.support import import_osz, make_osu, md5

SET_IDS = {0: 7000, 1: 7100, 2: 7200, 3: 7300}


@dataclass
class Map:
    id: int
    ruleset_id: int
    osu: bytes
    checksum: str


async def import_map(
    app: Starlette,
    ruleset_id: int,
    status: str = "ranked",
    set_id: int | None = None,
    objects: int = 30,
) -> Map:
    set_id = set_id or SET_IDS[ruleset_id]
    beatmap_id = set_id + 1
    osu = make_osu(
        beatmap_id=beatmap_id,
        set_id=set_id,
        mode=ruleset_id,
        objects=objects,
        title=f"Song {set_id}",
    )
    summary = await import_osz(app, {f"map{beatmap_id}.osu": osu}, status)
    assert not summary.failed, summary.failed
    return Map(beatmap_id, ruleset_id, osu, md5(osu))


def maximum_statistics(beatmap: Map) -> dict[str, int]:
    """What lazer reports as the maximum judgements of the map (enough for these maps)."""
    attributes = rosu.Difficulty().calculate(rosu.Beatmap(bytes=beatmap.osu))
    if beatmap.ruleset_id == 0:
        stats = {
            "great": attributes.n_circles + attributes.n_sliders + attributes.n_spinners,
            "large_tick_hit": attributes.n_large_ticks,
            "slider_tail_hit": attributes.n_sliders,
        }
    elif beatmap.ruleset_id == 1:
        stats = {"great": attributes.max_combo}
    elif beatmap.ruleset_id == 2:
        stats = {
            "great": attributes.n_fruits,
            "large_tick_hit": attributes.n_droplets,
            "small_tick_hit": attributes.n_tiny_droplets,
        }
    else:
        stats = {"perfect": attributes.n_objects + attributes.n_hold_notes}
    return {k: v for k, v in stats.items() if v}


def body(
    beatmap: Map,
    *,
    misses: int = 0,
    oks: int = 0,
    mods: list[dict[str, Any]] | None = None,
    passed: bool = True,
    total_score: int | None = None,
) -> dict[str, Any]:
    """A `SoloScoreInfo.ForSubmission` body (ppy/osu SoloScoreInfo.cs), consistent with itself."""
    ruleset = scoring.ruleset_name(beatmap.ruleset_id)
    maximum = maximum_statistics(beatmap)
    top = "perfect" if beatmap.ruleset_id == 3 else "great"
    stats = dict(maximum)
    stats[top] = maximum[top] - misses - oks
    if oks:
        stats["large_tick_hit" if beatmap.ruleset_id == 2 else "ok"] = oks
        if beatmap.ruleset_id == 2:
            stats["great"] += oks
            stats["large_tick_hit"] = min(oks, maximum.get("large_tick_hit", 0))
    if misses:
        stats["miss"] = misses
    stats = {k: v for k, v in stats.items() if v}
    accuracy = scoring.lazer_accuracy(stats, maximum, ruleset)
    acronyms = [m["acronym"] for m in mods or []]
    combo = scoring.maximum_combo(maximum) - (misses * 2 if misses else 0)
    out: dict[str, Any] = {
        "ruleset_id": beatmap.ruleset_id,
        "passed": passed,
        "total_score": total_score if total_score is not None else int(900_000 * accuracy),
        "total_score_without_mods": total_score
        if total_score is not None
        else int(880_000 * accuracy),
        "accuracy": accuracy,
        "max_combo": max(combo, 0),
        "rank": scoring.lazer_grade(accuracy, stats, ruleset, acronyms, passed),
    }
    if mods:
        out["mods"] = mods
    out.update(statistics=stats, maximum_statistics=maximum, pauses=[], ranked=False)
    return out


def expected_pp(beatmap: Map, submitted: dict[str, Any]) -> float:
    """rosu-pp-py's pp for the same inputs, written out here independently of the server."""
    s = submitted["statistics"].get
    rid = beatmap.ruleset_id
    parsed = rosu.Beatmap(bytes=beatmap.osu)
    mods = submitted.get("mods", [])
    if rid != int(parsed.mode):
        parsed.convert(
            (rosu.GameMode.Osu, rosu.GameMode.Taiko, rosu.GameMode.Catch, rosu.GameMode.Mania)[rid],
            mods,
        )
    counts: dict[str, int]
    if rid == 0:
        counts = dict(
            n300=s("great", 0),
            n100=s("ok", 0),
            n50=s("meh", 0),
            misses=s("miss", 0),
            large_tick_hits=s("large_tick_hit", 0),
            slider_end_hits=s("slider_tail_hit", 0),
            small_tick_hits=s("small_tick_hit", 0),
        )
    elif rid == 1:
        counts = dict(n300=s("great", 0), n100=s("ok", 0), misses=s("miss", 0))
    elif rid == 2:
        counts = dict(
            n300=s("great", 0),
            n100=s("large_tick_hit", 0),
            n50=s("small_tick_hit", 0),
            n_katu=s("small_tick_miss", 0),
            misses=s("miss", 0) + s("large_tick_miss", 0),
        )
    else:
        counts = dict(
            n_geki=s("perfect", 0),
            n300=s("great", 0),
            n_katu=s("good", 0),
            n100=s("ok", 0),
            n50=s("meh", 0),
            misses=s("miss", 0),
        )
    result = rosu.Performance(
        mods=mods, lazer=True, combo=submitted["max_combo"], **counts
    ).calculate(parsed)
    return float(result.pp)


async def submit(
    client: httpx.AsyncClient,
    token: str,
    beatmap: Map,
    payload: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """The lazer flow: a token (multipart form, like the client), then the JSON PUT."""
    auth = {"Authorization": f"Bearer {token}", **(headers or {})}
    created = await client.post(
        f"/api/v2/beatmaps/{beatmap.id}/solo/scores",
        files={
            "version_hash": (None, "0" * 32),
            "beatmap_hash": (None, beatmap.checksum),
            "ruleset_id": (None, str(payload["ruleset_id"])),
        },
        headers=auth,
    )
    assert created.status_code == 200, created.text
    token_id = created.json()["id"]
    return await client.put(
        f"/api/v2/beatmaps/{beatmap.id}/solo/scores/{token_id}", json=payload, headers=auth
    )
