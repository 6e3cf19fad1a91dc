"""A new operator's first minutes, against an installed copy of hitcircle (not the checkout).

`.ci/run` runs it with the Python of a brand-new virtual environment into which only
`pip install .` went, from an empty directory elsewhere, so it proves what a fresh machine gets:
the declared dependencies, package data, the native codec built optimized, and commands that work
on a new data directory. It needs nothing from the test extra.

    python tests/fresh_install.py

Steps: `hitcircle beatmaps import` before the first serve, `hitcircle user create`,
`hitcircle serve`, `/health`, a lazer password-grant login, a score submitted the way lazer does
it (token, then PUT) that comes back with pp, and SIGTERM that stops the server in time.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import rosu_pp_py as rosu

LAZER_CLIENT_ID = 5
# The secret of released lazer builds (ppy/osu osu.Game/Online/ProductionEndpointConfiguration.cs).
LAZER_SECRET = "FGc9GAtyHzeQDshWP5Ah7dega8hJACAJpQtw6OXk"
GRACEFUL = 3.0
# The command the install put beside its Python (the venv need not be on PATH).
HITCIRCLE = str(Path(sys.executable).with_name("hitcircle"))
BEATMAP_ID, SET_ID = 2_001, 2_000


def osu_file() -> bytes:
    """A small ranked-able osu! beatmap: 24 circles, one slider, one spinner."""
    head = f"""osu file format v14

[General]
AudioFilename: audio.mp3
Mode: 0

[Metadata]
Title:Fresh Install
Artist:hitcircle
Creator:ci
Version:Normal
BeatmapID:{BEATMAP_ID}
BeatmapSetID:{SET_ID}

[Difficulty]
HPDrainRate:5
CircleSize:4
OverallDifficulty:8
ApproachRate:9
SliderMultiplier:1.4
SliderTickRate:1

[TimingPoints]
0,500,4,2,0,100,1,0

[HitObjects]
"""
    objects = [
        f"{64 + (i * 97) % 384},{64 + (i * 53) % 256},{1000 + i * 250},1,0" for i in range(24)
    ]
    objects.append("100,100,8000,2,0,B|300:100,1,140")
    objects.append("256,192,9500,12,0,11000")
    return (head + "\n".join(objects) + "\n").encode()


def run(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run([HITCIRCLE, *args], env=env, capture_output=True, text=True)
    if result.returncode != 0 or "Traceback" in result.stderr:
        sys.exit(f"fresh-install: hitcircle {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, process: subprocess.Popen[bytes]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"fresh-install: serve exited with {process.returncode}")
        try:
            response = httpx.get(f"{url}/health", timeout=1)
            if response.status_code == 200:
                return dict(response.json())
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    sys.exit("fresh-install: serve did not answer /health within 60 s")


def submission(osu: bytes) -> dict[str, Any]:
    """A full-combo SS as lazer submits it, with the judgement counts rosu-pp-py finds."""
    attributes = rosu.Difficulty().calculate(rosu.Beatmap(bytes=osu))
    stats = {
        "great": attributes.n_circles + attributes.n_sliders + attributes.n_spinners,
        "large_tick_hit": attributes.n_large_ticks,
        "slider_tail_hit": attributes.n_sliders,
    }
    stats = {k: v for k, v in stats.items() if v}
    return {
        "ruleset_id": 0,
        "passed": True,
        "total_score": 1_000_000,
        "total_score_without_mods": 1_000_000,
        "accuracy": 1.0,
        "max_combo": attributes.max_combo,
        "rank": "X",
        "statistics": stats,
        "maximum_statistics": stats,
        "pauses": [],
        "ranked": False,
    }


def main() -> None:
    import core.lazer

    print(f"fresh-install: hitcircle from {Path(core.lazer.__file__).parents[1]}")
    codecs = sorted(core.lazer.available_codecs())
    print(f"fresh-install: codecs {codecs}")
    if "native" not in codecs:
        sys.exit("fresh-install: the native codec was not built")
    work = Path(tempfile.mkdtemp(prefix="hitcircle-fresh-"))
    os.chdir(work)  # nothing of the checkout is reachable from here
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HITCIRCLE_")}
    env |= {
        "HITCIRCLE_DATA_DIR": str(work / "data"),
        "HITCIRCLE_SERVER_PORT": str(port),
        "HITCIRCLE_SERVER_GRACEFUL_TIMEOUT": str(GRACEFUL),
        "HITCIRCLE_LOG_LEVEL": "WARNING",
    }
    osu = osu_file()
    (work / "map.osu").write_bytes(osu)
    print("fresh-install:", run("beatmaps", "import", "map.osu", "--status", "ranked", env=env))
    user_id = run("user", "create", "newcomer", "--password", "fresh install", env=env).strip()
    print(f"fresh-install: user {user_id}")

    server = subprocess.Popen([HITCIRCLE, "serve"], env=env)
    try:
        print(f"fresh-install: health {wait_up(url, server)}")
        with httpx.Client(base_url=url, timeout=30) as http:
            login = http.post(
                "/oauth/token",
                data={
                    "grant_type": "password",
                    "username": "newcomer",
                    "password": "fresh install",
                    "client_id": str(LAZER_CLIENT_ID),
                    "client_secret": LAZER_SECRET,
                    "scope": "*",
                },
            )
            login.raise_for_status()
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
            me = http.get("/api/v2/me", headers=auth).json()
            assert me["username"] == "newcomer", me
            created = http.post(
                f"/api/v2/beatmaps/{BEATMAP_ID}/solo/scores",
                files={
                    "version_hash": (None, "0" * 32),
                    "beatmap_hash": (None, hashlib.md5(osu).hexdigest()),
                    "ruleset_id": (None, "0"),
                },
                headers=auth,
            )
            created.raise_for_status()
            score = http.put(
                f"/api/v2/beatmaps/{BEATMAP_ID}/solo/scores/{created.json()['id']}",
                json=submission(osu),
                headers=auth,
            )
            score.raise_for_status()
            pp = score.json()["pp"]
            if not isinstance(pp, float) or pp <= 0:
                sys.exit(f"fresh-install: the score has no pp: {score.json()}")
            print(f"fresh-install: score {score.json()['id']} with {pp:.2f} pp")
    finally:
        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(GRACEFUL + 5)
        except subprocess.TimeoutExpired:
            server.kill()
            sys.exit("fresh-install: serve ignored SIGTERM")
    took = time.monotonic() - started
    if code != 0 or took > GRACEFUL + 1:
        sys.exit(f"fresh-install: serve stopped with {code} after {took:.1f} s")
    print(f"fresh-install: stopped in {took:.2f} s; all good")


if __name__ == "__main__":
    main()
