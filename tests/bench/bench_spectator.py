"""Spectator frames relayed per second from one player to N watchers on one worker.

    python -m tests.bench.bench_spectator [--watchers 50] [--bundles 1000] [--frames 30]
                                          [--window 32] [--rounds 2]

One hitcircle worker (hypercorn, embedded SQLite + memory cache). N users connect to the
spectator hub and `StartWatchingUser` the player; the player begins a play under a real score
token (so every bundle is also buffered for the replay) and sends `--bundles` SendFrameDataV2
messages, each a realistic FrameDataBundle of `--frames` replay frames, keeping at most
`--window` bundles ahead of the slowest watcher (the client itself sends one bundle at a time).
The figure is bundles relayed per second to every watcher (and deliveries/s = bundles x
watchers), from the first send until every watcher has every bundle. The baseline is bare
Starlette relaying the same bytes from one WebSocket to N others, measured the same way in the
same run; rounds alternate.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import connect

from core.lazer import Invocation, encode_frame
from core.lazer.types import SpectatedUserState, SpectatorState
from tests.bench.bench_codec import bundle

HANDSHAKE = b'{"protocol":"messagepack","version":1}\x1e'
MARKER = b"UserSentFrames"

# --- the bare-Starlette baseline: relay only ------------------------------------------------------

_watchers: set[WebSocket] = set()


async def bare_watch(ws: WebSocket) -> None:
    await ws.accept()
    _watchers.add(ws)
    try:
        while True:
            await ws.receive_bytes()
    except WebSocketDisconnect:
        pass
    finally:
        _watchers.discard(ws)


async def bare_play(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            data = await ws.receive_bytes()
            for watcher in list(_watchers):
                try:
                    await watcher.send_bytes(data)
                except Exception:
                    _watchers.discard(watcher)
    except WebSocketDisconnect:
        pass


bare = Starlette(routes=[WebSocketRoute("/watch", bare_watch), WebSocketRoute("/play", bare_play)])


# --- the client side ----------------------------------------------------------------------------


class Watcher:
    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.count = 0
        self.changed = asyncio.Event()

    async def read(self) -> None:
        with contextlib.suppress(Exception):
            async for data in self.ws:
                if isinstance(data, bytes):
                    self.count += data.count(MARKER)
                    self.changed.set()


async def _hub_socket(base: str, token: str) -> Any:
    async with httpx.AsyncClient() as http:
        negotiated = await http.post(
            f"{base}/signalr/spectator/negotiate?negotiateVersion=1",
            headers={"Authorization": f"Bearer {token}"},
        )
    ws_base = base.replace("http://", "ws://")
    ws = await connect(
        f"{ws_base}/signalr/spectator?id={negotiated.json()['connectionToken']}",
        additional_headers={"Authorization": f"Bearer {token}"},
        max_size=None,
        max_queue=None,
    )
    await ws.send(HANDSHAKE)
    await ws.recv()
    return ws


async def run_round(
    target: str,
    base: str,
    tokens: list[str],
    player: tuple[int, str, int, int],
    bundles: int,
    frames: int,
    window: int,
) -> float:
    player_id, player_token, score_token, beatmap_id = player
    hub = target == "host"
    sockets: list[Any] = []
    for token in tokens:
        if hub:
            ws = await _hub_socket(base, token)
            await ws.send(encode_frame(Invocation("StartWatchingUser", [player_id], "1")))
        else:
            ws = await connect(f"{base.replace('http://', 'ws://')}/watch", max_queue=None)
        sockets.append(ws)
    watchers = [Watcher(ws) for ws in sockets]
    readers = [asyncio.create_task(w.read()) for w in watchers]
    if hub:
        play = await _hub_socket(base, player_token)
        state = SpectatorState(beatmap_id, 0, [], SpectatedUserState.PLAYING, {5: 600})
        await play.send(encode_frame(Invocation("BeginPlaySessionV2", [score_token, state], "1")))
        messages = [
            encode_frame(Invocation("SendFrameDataV2", [score_token, bundle(frames, seed=i)]))
            for i in range(bundles)
        ]
    else:
        play = await connect(f"{base.replace('http://', 'ws://')}/play")
        messages = [
            encode_frame(Invocation("UserSentFrames", [player_id, bundle(frames, seed=i)]))
            for i in range(bundles)
        ]
    await asyncio.sleep(1.0)  # every watcher subscribed, the play begun

    async def slowest_at_least(n: int) -> None:
        while True:
            lagging = [w for w in watchers if w.count < n]
            if not lagging:
                return
            lagging[0].changed.clear()
            await asyncio.wait_for(lagging[0].changed.wait(), 30)

    started = time.perf_counter()
    for i, message in enumerate(messages):
        if i >= window:
            await slowest_at_least(i - window + 1)
        await play.send(message)
    await slowest_at_least(bundles)
    elapsed = time.perf_counter() - started
    for task in readers:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in [*sockets, play]), return_exceptions=True)
    return bundles / elapsed


# --- set-up of the hitcircle side -------------------------------------------------------------


async def prepare(settings: Any, watchers: int) -> tuple[list[str], tuple[int, str, int, int]]:
    from core import migrate
    from core.app import create_app
    from core.scores import store as scores_db
    from core.services import services
    from tests.conftest import create_user, issue_token, running
    from tests.scores.support import import_map

    migrate.upgrade(settings)
    app = create_app(settings)
    async with running(app):
        beatmap = await import_map(app, 0)
        player = await create_user(app, "player")
        player_token = await issue_token(app, player)
        score_token = await scores_db.create_token(
            services(app).db,
            user_id=player,
            beatmap_id=beatmap.id,
            ruleset_id=0,
            beatmap_hash=beatmap.checksum,
            version_hash=None,
        )
        tokens = []
        for i in range(watchers):
            tokens.append(await issue_token(app, await create_user(app, f"watcher{i}")))
    return tokens, (player, player_token, int(score_token["id"]), beatmap.id)


def main() -> None:
    from core.config import load_settings
    from tests.bench.loadgen import free_port, serve_app, wait_until_up

    parser = argparse.ArgumentParser()
    parser.add_argument("--watchers", type=int, default=50)
    parser.add_argument("--bundles", type=int, default=1000)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--window", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as data:
        env = {
            "HITCIRCLE_CONFIG": "none",
            "HITCIRCLE_DATA_DIR": data,
            "HITCIRCLE_RATELIMIT_DEFAULT": "100000000/minute",
            "HITCIRCLE_LOG_LEVEL": "WARNING",
            # Each round replays under the same token: room for all of them.
            "HITCIRCLE_SPECTATOR_MAX_REPLAY_BYTES": str(1 << 30),
        }
        settings = load_settings(env=env)
        tokens, player = asyncio.run(prepare(settings, args.watchers))
        bare_port, host_port = free_port(), free_port()
        env["HITCIRCLE_SERVER_PUBLIC_URL"] = f"http://127.0.0.1:{host_port}"
        with (
            serve_app("tests.bench.bench_spectator:bare", bare_port) as bare_url,
            serve_app("core.asgi:app", host_port, env) as host_url,
        ):
            wait_until_up(f"{host_url}/health")
            wait_until_up(f"{bare_url}/")
            totals = {"bare": 0.0, "host": 0.0}
            for round_no in range(1, args.rounds + 1):
                for name, url in (("bare", bare_url), ("host", host_url)):
                    rate = asyncio.run(
                        run_round(name, url, tokens, player, args.bundles, args.frames, args.window)
                    )
                    totals[name] += rate
                    print(f"round {round_no} {name:5s} {rate:8.0f} bundles/s", flush=True)
    bare_rate, host_rate = totals["bare"] / args.rounds, totals["host"] / args.rounds
    n = args.watchers
    print(f"watchers {n}, bundles per round {args.bundles} of {args.frames} frames")
    print(f"bare starlette relay  {bare_rate:8.0f} bundles/s  {bare_rate * n:9.0f} deliveries/s")
    print(
        f"hitcircle spectator   {host_rate:8.0f} bundles/s  {host_rate * n:9.0f} deliveries/s "
        f"({host_rate * args.frames:.0f} replay frames/s, each to {n} watchers)"
    )
    print(f"ratio                 {host_rate / bare_rate:8.2f}")


if __name__ == "__main__":
    main()
