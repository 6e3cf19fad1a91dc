"""A 1 GiB body against a live `hitcircle serve` leaves its memory where it was.

The server is a subprocess, so its peak resident size (VmHWM in /proc) is its own: before the
fix, a 1 GiB body to /oauth/token was read whole before the size check (126 MB -> 2,154 MB).
The client streams from a raw socket and stops as soon as the server answers or hangs up, so
the test sends only what the server reads before cutting the connection off.
"""

from __future__ import annotations

import select
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.config import Settings

from .conftest import LiveServer

GIB = 1024 * 1024 * 1024
CHUNK = 64 * 1024
# Allowance over the idle peak: the form limit (1 MiB) plus the server's read buffers.
ALLOWANCE = 8 * 1024 * 1024

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"{field} missing from /proc/{pid}/status")


def peak_bytes(server: LiveServer) -> int:
    assert server.process is not None
    return _status_kib(server.process.pid, "VmHWM") * 1024


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    live = LiveServer(settings)
    live.start()
    try:
        # Warm up the path under test, so the idle peak includes what serving it costs.
        for _ in range(3):
            httpx.post(f"{live.url}/oauth/token", data={"grant_type": "password"}, timeout=10)
        yield live
    finally:
        live.stop()


def stream(url: str, headers: str, total: int, *, chunked: bool) -> tuple[int, bytes]:
    """Send a body of `total` bytes until the server answers or hangs up: (bytes sent, answer)."""
    host, port = url.removeprefix("http://").split(":")
    sent = 0
    answer = b""
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(headers.encode() + b"\r\n")
        piece = b"a" * CHUNK
        frame = f"{CHUNK:x}\r\n".encode() + piece + b"\r\n" if chunked else piece
        try:
            while sent < total:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break
                sock.sendall(frame)
                sent += CHUNK
        except OSError:
            pass  # the server closed the connection: what it answered may still be readable
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:
            pass
    return sent, answer


HEAD = (
    "POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
)


@pytest.mark.parametrize(
    ("headers", "chunked"),
    [
        (HEAD + "Transfer-Encoding: chunked\r\n", True),
        # A Content-Length that lies low: the server reads what it declares, the rest is junk.
        (HEAD + "Content-Length: 100\r\n", False),
    ],
    ids=["chunked", "lying-content-length"],
)
def test_a_gibibyte_body_does_not_grow_the_server(
    server: LiveServer, headers: str, chunked: bool
) -> None:
    idle_peak = peak_bytes(server)
    sent, answer = stream(server.url, headers, GIB, chunked=chunked)
    # The server cut the connection off long before the gibibyte was sent.
    assert sent < 64 * 1024 * 1024, sent
    assert answer.startswith((b"HTTP/1.1 413", b"HTTP/1.1 400", b"HTTP/1.1 401")), answer[:200]
    if chunked:
        assert answer.startswith(b"HTTP/1.1 413") and b"request body too large" in answer
    growth = peak_bytes(server) - idle_peak
    assert growth < ALLOWANCE, f"peak RSS grew by {growth / 2**20:.1f} MiB"
    # And the server is still there, answering.
    assert httpx.get(f"{server.url}/health", timeout=10).status_code == 200


def test_a_declared_gibibyte_is_refused_before_reading(server: LiveServer) -> None:
    idle_peak = peak_bytes(server)
    sent, answer = stream(server.url, HEAD + f"Content-Length: {GIB}\r\n", GIB, chunked=False)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 64 * 1024 * 1024
    assert peak_bytes(server) - idle_peak < ALLOWANCE
