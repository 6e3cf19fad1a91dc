"""What a worker imports at start-up: the heavy modules that are imported on first need stay out.

Each serving process pays for every module it imports (tests/bench/bench_memory.py measures it);
these tests build the app as `hitcircle serve` does, in a fresh interpreter, and check that the
modules deferred to their first use were not imported on the way.
"""

from __future__ import annotations

import subprocess
import sys

import orjson

from core import resp
from core.config import Settings
from tests.conftest import ROOT, settings_env

# Never needed to serve: Alembic migrates (and `serve` finds the schema at head without it);
# httpx, jinja2, markdown-it and PyYAML wait for the first upstream request, page, text rendered
# or document read.
DEFERRED = ("alembic", "mako", "httpx", "jinja2", "markdown_it", "yaml")
# Needed only when Redis or MariaDB is configured.
DRIVERS = ("coredis", "beartype", "aiomysql", "pymysql")
# Needed only for a Redis that core.resp does not reach (a cluster, Sentinel, TLS).
COREDIS = ("coredis", "beartype", "pympler")

START_UP = """
import sys

import orjson

from core import migrate
from core.app import create_app
from core.config import load_settings
from core.plugins import load

settings = load_settings()
pm = load(settings)
migrate.ensure_schema(settings, pm)
create_app(settings)
print(orjson.dumps(sorted({name.split(".")[0] for name in sys.modules})).decode())
"""


def imported_at_start_up(settings: Settings) -> set[str]:
    """The top-level packages a fresh interpreter holds after `serve`'s start-up steps."""
    result = subprocess.run(
        [sys.executable, "-c", START_UP],
        env=settings_env(settings),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return set(orjson.loads(result.stdout.splitlines()[-1]))


def test_start_up_leaves_the_deferred_modules_out(settings: Settings) -> None:
    imported = imported_at_start_up(settings)
    assert "core" in imported and "sqlalchemy" in imported  # the app was really built
    assert imported.isdisjoint(DEFERRED), sorted(imported & set(DEFERRED))
    if not settings.redis.url and settings.database_url.startswith("sqlite"):
        assert imported.isdisjoint(DRIVERS), sorted(imported & set(DRIVERS))
    elif resp.supported(settings.redis.url):
        # One plain Redis is served through core.resp: coredis (about 12 MiB) stays out.
        assert imported.isdisjoint(COREDIS), sorted(imported & set(COREDIS))
    else:
        # A cluster or Sentinel: coredis is the app's client.
        assert "coredis" in imported
