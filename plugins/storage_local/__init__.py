"""Local-disk storage under `<data.dir>/files`."""

from __future__ import annotations

from typing import Any

from core.config import Settings
from core.hooks import hookimpl
from core.storage import LocalStorage


def local_storage(settings: Settings) -> LocalStorage:
    return LocalStorage(settings.data_dir / "files")


@hookimpl
def storage_backends() -> dict[str, Any]:
    return {"local": local_storage}
