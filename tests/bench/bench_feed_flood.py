"""A bystander's hub call while one user floods the notification websocket.

    python -m tests.bench.bench_feed_flood [--sockets 300] [--toggles 50] [--channels 20]
                                           [--calls 200] [--rounds 2]

One `hitcircle serve` worker (embedded SQLite + memory cache). One user who is in `--channels`
chat channels opens `--sockets` notification websockets and sends `--toggles` pairs of
`chat.end`/`chat.start` on each, as fast as the sockets take them; meanwhile another user calls
`UpdateStatus` on the metadata hub, one call after the other, until the flood is over (at least
`--calls` times), and the round-trip times are recorded. Each round measures the same calls with
no flood first (the baseline), then under the flood, on a server with the default limits
(`[chat] max_sockets_per_user`, `chat_toggle_limit`) and on one with both set to 0 (no limit);
servers alternate by round.
Printed: median and 95th percentile of the bystander's call, and flood/baseline ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from typing import Any

from websockets.asyncio.client import connect


async def _flood(ws_url: str, token: str, sockets: int, toggles: int) -> tuple[int, int]:
    """Open the sockets and toggle chat on each; returns (sockets admitted, sockets refused)."""

    async def one() -> bool:
        try:
            ws = await connect(ws_url, additional_headers={"Authorization": f"Bearer {token}"})
        except Exception:
            return False
        try:
            first = await ws.recv()
            if "connection.ready" not in str(first):
                return False
            for _ in range(toggles):
                await ws.send('{"event":"chat.end","data":null,"error":null}')
                await ws.send('{"event":"chat.start","data":null,"error":null}')
            # One round trip through the socket's reader after its last message.
            with contextlib.suppress(Exception):
                await ws.ping()
            return True
        except Exception:
            return False
        finally:
            await ws.close()

    results = await asyncio.gather(*(one() for _ in range(sockets)))
    return sum(results), len(results) - sum(results)


async def _calls(
    base_url: str, token: str, calls: int, until: asyncio.Task[Any] | None = None
) -> list[float]:
    """Round trips of `calls` calls, and more until `until` is done."""
    from core.lazer.types import UserStatus
    from core.testing import HubClient

    hub = await HubClient.open(base_url, "metadata", token)
    times: list[float] = []
    try:
        while len(times) < calls or (until is not None and not until.done()):
            started = time.perf_counter()
            completion = await hub.invoke("UpdateStatus", UserStatus.ONLINE, timeout=60)
            times.append(time.perf_counter() - started)
            assert completion.error is None, completion.error
    finally:
        await hub.close()
    return times


async def measure(
    base_url: str, attacker: str, bystander: str, args: argparse.Namespace
) -> dict[str, Any]:
    baseline = await _calls(base_url, bystander, args.calls)
    ws_url = base_url.replace("http://", "ws://") + "/notifications/feed"
    started = time.perf_counter()
    flood = asyncio.create_task(_flood(ws_url, attacker, args.sockets, args.toggles))
    loaded = await _calls(base_url, bystander, args.calls, until=flood)
    admitted, refused = await flood
    return {
        "baseline": baseline,
        "flood": loaded,
        "admitted": admitted,
        "refused": refused,
        "seconds": time.perf_counter() - started,
    }


async def prepare(settings: Any, channels: int) -> tuple[str, str]:
    from core import migrate
    from core.app import create_app
    from core.chat import store as chat_db
    from core.services import services
    from tests.conftest import create_user, issue_token, running

    migrate.upgrade(settings)
    app = create_app(settings)
    async with running(app):
        db = services(app).db
        attacker = await create_user(app, "flooder")
        bystander = await create_user(app, "bystander")
        for n in range(channels):
            channel_id = await chat_db.create_channel(
                db, name=f"#bench{n}", type_=chat_db.PUBLIC, description="bench"
            )
            await chat_db.add_member(db, channel_id, attacker)
        return await issue_token(app, attacker), await issue_token(app, bystander)


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    from core.config import load_settings
    from tests.bench.loadgen import free_port, serve_hitcircle, wait_until_up

    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", type=int, default=300)
    parser.add_argument("--toggles", type=int, default=50)
    parser.add_argument("--channels", type=int, default=20)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    configs = {
        "limited": {},
        "unlimited": {
            "HITCIRCLE_CHAT_MAX_SOCKETS_PER_USER": "0",
            "HITCIRCLE_CHAT_CHAT_TOGGLE_LIMIT": "0",
        },
    }
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in configs}
    with tempfile.TemporaryDirectory() as data:
        env = {
            "HITCIRCLE_CONFIG": "/nonexistent.toml",
            "HITCIRCLE_DATA_DIR": data,
            "HITCIRCLE_RATELIMIT_ENABLED": "false",
            "HITCIRCLE_LOG_LEVEL": "ERROR",
        }
        attacker, bystander = asyncio.run(prepare(load_settings(env=env), args.channels))
        for round_no in range(1, args.rounds + 1):
            for name, extra in configs.items():
                port = free_port()
                server_env = {
                    **env,
                    **extra,
                    "HITCIRCLE_SERVER_PUBLIC_URL": f"http://127.0.0.1:{port}",
                }
                with serve_hitcircle(port, server_env) as url:
                    wait_until_up(f"{url}/health")
                    found = asyncio.run(measure(url, attacker, bystander, args))
                results[name].append(found)
                print(
                    f"round {round_no} {name:9s} baseline p50 {_ms(found['baseline'], 0.5):7.1f} ms"
                    f"  flood p50 {_ms(found['flood'], 0.5):7.1f} ms"
                    f"  p95 {_ms(found['flood'], 0.95):7.1f} ms"
                    f"  max {_ms(found['flood'], 1.0):7.1f} ms  ({len(found['flood'])} calls,"
                    f" flood {found['seconds']:.1f} s, sockets admitted {found['admitted']},"
                    f" refused {found['refused']})",
                    flush=True,
                )
    print(
        f"{args.sockets} sockets x {args.toggles} chat.end/chat.start pairs, "
        f"{args.channels} channels, {args.calls} bystander calls per phase"
    )
    for name in configs:
        base = [t for r in results[name] for t in r["baseline"]]
        flood = [t for r in results[name] for t in r["flood"]]
        print(
            f"{name:9s} bystander UpdateStatus: baseline p50 {_ms(base, 0.5):7.1f} ms "
            f"p95 {_ms(base, 0.95):7.1f} ms | flood p50 {_ms(flood, 0.5):7.1f} ms "
            f"p95 {_ms(flood, 0.95):7.1f} ms | flood/baseline p50 "
            f"{statistics.median(flood) / statistics.median(base):6.2f}"
        )


if __name__ == "__main__":
    main()
