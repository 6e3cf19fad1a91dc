"""The Spotlight shape (osu-web app/Transformers/SpotlightTransformer.php)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.http import time_offset


def spotlight(row: Mapping[str, Any], participant_count: int | None = None) -> dict[str, Any]:
    """A Spotlight; `participant_count` is the include charts responses carry."""
    out: dict[str, Any] = {
        "end_date": time_offset(row["end_date"]),
        "id": int(row["id"]),
        "mode_specific": bool(row["mode_specific"]),
        "name": row["name"],
        "start_date": time_offset(row["start_date"]),
        "type": row["type"],
    }
    if participant_count is not None:
        out["participant_count"] = participant_count
    return out
