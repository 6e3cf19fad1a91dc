"""A small HTTP/1.1 keep-alive load generator and the servers the benchmarks compare.

Shared by the scripts in tests/bench: `measure()` drives one URL with N connections for a fixed
time from a separate process, so the server under test and the client do not share a GIL.
`serve_app()` runs any ASGI app import path with hypercorn in a subprocess, the same way for the
bare-Starlette baseline and for the host, so the ratio compares like with like.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[2]


async def _worker(
    host: str,
    port: int,
    request: bytes,
    deadline: float,
    counts: list[int],
    statuses: dict[int, int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.monotonic() < deadline:
            writer.write(request)
            await writer.drain()
            status_line = await reader.readline()
            if not status_line:
                # hypercorn closes a keep-alive connection after `keep_alive_max_requests`
                # (1000 by default): open another, as a browser or lazer would.
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            status = int(status_line.split()[1])
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            counts[0] += 1
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def _run(
    url: str, seconds: float, connections: int, headers: dict[str, str]
) -> dict[str, Any]:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n{extra}\r\n".encode()
    counts = [0]
    statuses: dict[int, int] = {}
    cpu_started = time.process_time()
    started = time.monotonic()
    deadline = started + seconds
    await asyncio.gather(
        *(
            _worker(
                parts.hostname or "127.0.0.1", parts.port or 80, request, deadline, counts, statuses
            )
            for _ in range(connections)
        )
    )
    elapsed = time.monotonic() - started
    return {
        "requests": counts[0],
        "seconds": elapsed,
        "rps": counts[0] / elapsed,
        "statuses": statuses,
        # This client's own CPU time meanwhile: on a shared machine, what the load took from
        # the server (bench_scaling adds it up).
        "cpu_seconds": time.process_time() - cpu_started,
    }


def _client_main() -> None:
    url, seconds, connections, headers = (
        sys.argv[2],
        float(sys.argv[3]),
        int(sys.argv[4]),
        sys.argv[5],
    )
    print(json.dumps(asyncio.run(_run(url, seconds, connections, json.loads(headers)))))


def measure(
    url: str, seconds: float = 5.0, connections: int = 16, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """Requests per second against `url`, measured from a separate client process."""
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "client",
            url,
            str(seconds),
            str(connections),
            json.dumps(headers or {}),
        ],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"the load client failed against {url}:\n{out.stderr}")
    return json.loads(out.stdout)


def wait_until_up(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def serve_app(app_path: str, port: int, env: dict[str, str] | None = None) -> Iterator[str]:
    """hypercorn serving `module:attribute` on 127.0.0.1:port, one worker, no access log."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hypercorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "WARNING",
            app_path,
        ],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def serve_hitcircle(port: int, env: dict[str, str], pid: list[int] | None = None) -> Iterator[str]:
    """`hitcircle serve` (the operator's command: core.server, uvloop per setting) on port; its
    process id is appended to `pid` when given."""
    process = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
    )
    if pid is not None:
        pid.append(process.pid)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "client":
    _client_main()
