"""Access to both codec backends for parametrised tests."""

from __future__ import annotations

from typing import Any

import pytest

from core.lazer import available_codecs, node_id

NAMES = ["python", "native"]


def get(name: str) -> Any:
    """The named backend; native tests skip when the extension is not importable."""
    codecs = available_codecs()
    if name not in codecs:
        pytest.skip("hitcircle_native is not built (or HITCIRCLE_PURE_CODEC is set)")
    return codecs[name]


def both() -> tuple[Any, Any]:
    """(python, native) for agreement tests; skips without the extension."""
    return get("python"), get("native")


__all__ = ["NAMES", "both", "get", "node_id"]
