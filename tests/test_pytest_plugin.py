"""The pytest11 entry point registers hitcircle's fixtures only when the test extra is there."""

from __future__ import annotations

import importlib.util
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

import core.testing
from core import pytest_plugin


class Plugins:
    def __init__(self, registered: bool) -> None:
        self.registered = registered
        self.calls: list[tuple[ModuleType, str]] = []

    def is_registered(self, plugin: object) -> bool:
        return self.registered

    def register(self, plugin: ModuleType, name: str) -> None:
        self.calls.append((plugin, name))


def configure(plugins: Plugins) -> None:
    config: Any = SimpleNamespace(pluginmanager=plugins)
    pytest_plugin.pytest_configure(config)


def test_the_fixtures_are_registered_with_the_test_extra() -> None:
    plugins = Plugins(registered=False)
    configure(plugins)
    assert plugins.calls == [(core.testing, "hitcircle.testing")]


def test_registered_once() -> None:
    plugins = Plugins(registered=True)
    configure(plugins)
    assert plugins.calls == []


def test_nothing_without_pytest_asyncio(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> Any:
        return None if name == "pytest_asyncio" else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    plugins = Plugins(registered=False)
    configure(plugins)
    assert plugins.calls == []
