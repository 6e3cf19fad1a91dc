"""Chat messages/s delivered from one sender to N connected notification websockets.

    python -m tests.bench.bench_chat [--sockets 200] [--messages 300] [--in-flight 4] [--rounds 2]

One hitcircle worker (hypercorn, embedded SQLite + memory cache) holds N sockets of N users who
joined #osu and sent `chat.start`; one more user posts `--messages` messages to #osu through
`POST /api/v2/chat/channels/{id}/messages` (each stored, then fanned out through the bus). The
figure is deliveries per second: messages x sockets, from the first post until every socket has
every message. The baseline is bare Starlette doing only the fan-out (POST -> send the same bytes
to every socket), measured the same way in the same run; rounds alternate.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import connect

# --- the bare-Starlette baseline: fan-out only ---------------------------------------------------

_sockets: set[WebSocket] = set()
_FRAME = orjson.dumps(
    {
        "event": "chat.message.new",
        "data": {
            "messages": [
                {
                    "channel_id": 1,
                    "content": "benchmark message",
                    "is_action": False,
                    "message_id": 1,
                    "sender_id": 1,
                    "timestamp": "2026-01-01T00:00:00Z",
                    "type": "plain",
                }
            ],
            "users": [{"id": 1, "username": "sender"}],
        },
    }
).decode()


async def bare_send(request: Request) -> Response:
    await request.body()
    for ws in list(_sockets):
        try:
            await ws.send_text(_FRAME)
        except Exception:
            _sockets.discard(ws)
    return Response(b"{}", media_type="application/json")


async def bare_feed(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_text('{"event":"connection.ready"}')
    _sockets.add(ws)
    try:
        while True:
            await ws.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        _sockets.discard(ws)


bare = Starlette(
    routes=[Route("/send", bare_send, methods=["POST"]), WebSocketRoute("/feed", bare_feed)]
)


# --- the client side ----------------------------------------------------------------------------


async def _listen(url: str, token: str) -> Any:
    ws = await connect(url, additional_headers={"Authorization": f"Bearer {token}"}, max_queue=None)
    await ws.recv()  # connection.ready
    await ws.send('{"event":"chat.start","data":null,"error":null}')
    return ws


class Tally:
    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.total = 0
        self.done = asyncio.Event()

    async def count(self, ws: Any) -> None:
        try:
            async for frame in ws:
                if '"chat.message.new"' in frame:
                    self.total += 1
                    if self.total >= self.expected:
                        self.done.set()
        except Exception:
            pass


async def run_round(
    ws_url: str,
    send_url: str,
    tokens: list[str],
    sender_token: str,
    messages: int,
    in_flight: int,
) -> float:
    expected = messages * len(tokens)
    tally = Tally(expected)
    sockets = []
    for start in range(0, len(tokens), 50):
        sockets += await asyncio.gather(*(_listen(ws_url, t) for t in tokens[start : start + 50]))
    readers = [asyncio.create_task(tally.count(ws)) for ws in sockets]
    await asyncio.sleep(1.0)  # let every chat.start land
    headers = {"Authorization": f"Bearer {sender_token}"}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(messages):
        queue.put_nowait(i)
    async with httpx.AsyncClient(timeout=30) as http:

        async def sender() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                r = await http.post(send_url, headers=headers, data={"message": f"message {i}"})
                if r.status_code != 200:
                    raise SystemExit(f"send failed: {r.status_code} {r.text}")

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(in_flight)))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tally.done.wait(), 60)
        elapsed = time.perf_counter() - started
    for task in readers:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    if tally.total < expected:
        raise SystemExit(f"only {tally.total} of {expected} deliveries arrived")
    return expected / elapsed


# --- set-up of the hitcircle side -------------------------------------------------------------


async def prepare(settings: Any, sockets: int) -> tuple[list[str], str, int]:
    from core import migrate
    from core.app import create_app
    from core.chat import store as chat_db
    from core.services import services
    from tests.conftest import create_user, issue_token, running

    migrate.upgrade(settings)
    app = create_app(settings)
    async with running(app):
        osu = await chat_db.find_channel(services(app).db, "#osu", chat_db.PUBLIC)
        assert osu is not None
        tokens = []
        for i in range(sockets + 1):
            user = await create_user(app, f"bench{i}")
            await chat_db.add_member(services(app).db, int(osu["id"]), user)
            tokens.append(await issue_token(app, user))
    return tokens[1:], tokens[0], int(osu["id"])


def main() -> None:
    from core.config import load_settings
    from tests.bench.loadgen import free_port, serve_app, wait_until_up

    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", type=int, default=200)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--in-flight", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as data:
        env = {
            "HITCIRCLE_CONFIG": "none",
            "HITCIRCLE_DATA_DIR": data,
            "HITCIRCLE_RATELIMIT_DEFAULT": "100000000/minute",
            "HITCIRCLE_CHAT_PUBLIC_LIMIT": "100000000",
            "HITCIRCLE_LOG_LEVEL": "WARNING",
        }
        settings = load_settings(env=env)
        tokens, sender_token, osu = asyncio.run(prepare(settings, args.sockets))
        bare_port, host_port = free_port(), free_port()
        env["HITCIRCLE_SERVER_PUBLIC_URL"] = f"http://127.0.0.1:{host_port}"
        with (
            serve_app("tests.bench.bench_chat:bare", bare_port) as bare_url,
            serve_app("core.asgi:app", host_port, env) as host_url,
        ):
            wait_until_up(f"{host_url}/health")
            wait_until_up(f"{bare_url}/send")
            targets = {
                "bare": (f"ws://127.0.0.1:{bare_port}/feed", f"{bare_url}/send"),
                "host": (
                    f"ws://127.0.0.1:{host_port}/notifications/feed",
                    f"{host_url}/api/v2/chat/channels/{osu}/messages",
                ),
            }
            totals = {"bare": 0.0, "host": 0.0}
            for round_no in range(1, args.rounds + 1):
                for name, (ws_url, send_url) in targets.items():
                    rate = asyncio.run(
                        run_round(
                            ws_url, send_url, tokens, sender_token, args.messages, args.in_flight
                        )
                    )
                    totals[name] += rate
                    print(f"round {round_no} {name:5s} {rate:9.0f} deliveries/s", flush=True)
    bare_rate, host_rate = totals["bare"] / args.rounds, totals["host"] / args.rounds
    print(f"sockets {args.sockets}, messages per round {args.messages}, {args.in_flight} in flight")
    print(f"bare starlette fan-out  {bare_rate:9.0f} deliveries/s")
    print(
        f"hitcircle chat          {host_rate:9.0f} deliveries/s "
        f"({host_rate / args.sockets:.0f} messages/s to every socket)"
    )
    print(f"ratio                   {host_rate / bare_rate:9.2f}")


if __name__ == "__main__":
    main()
