"""Stand-in workers for `core.server.Supervisor` tests: each dies (or lives) in one known way.

They take `run_worker`'s arguments and live in this small module so a spawned process imports
little more than the standard library.
"""

from __future__ import annotations

import sys
import time
from multiprocessing.connection import Connection
from typing import Any

READY = b"ready"  # core.server.READY, without importing the server into every stand-in


def serve_until_stopped(control: Connection, **_: Any) -> None:
    """A healthy worker: serving until the supervisor says stop (or closes its pipe)."""
    control.send_bytes(READY)
    control.poll(None)


def serve_then_exit(control: Connection, **_: Any) -> None:
    """A worker that serves and then exits with code 3 at once, every time."""
    control.send_bytes(READY)
    sys.exit(3)


def fail_at_start_up(control: Connection, **_: Any) -> None:
    """A worker whose start-up cannot succeed: it never serves."""
    sys.exit(2)


def start_forever(control: Connection, **_: Any) -> None:
    """A worker whose start-up never ends (and that ignores its pipe meanwhile)."""
    time.sleep(3600)
