"""The `pytest11` entry point: hitcircle's fixtures (`core.testing`) for any pytest run in an
environment where hitcircle is installed.

The fixtures need the test extra (pytest-asyncio above all). Without it, this plugin registers
nothing, so a server installed without `[test]` leaves other projects' pytest runs alone rather
than failing them at start-up with an import error.
"""

from __future__ import annotations

import importlib.util

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if importlib.util.find_spec("pytest_asyncio") is None:
        return
    import core.testing

    if not config.pluginmanager.is_registered(core.testing):
        config.pluginmanager.register(core.testing, "hitcircle.testing")
