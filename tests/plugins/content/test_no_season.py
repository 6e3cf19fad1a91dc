"""Without `[content] seasonal_backgrounds`, no season: osu-web's empty object."""

from __future__ import annotations

import httpx


async def test_no_season_is_an_empty_object(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v2/seasonal-backgrounds")
    assert (r.status_code, r.json()) == (200, {})


def test_bad_season_settings_stop_start_up() -> None:
    import pytest

    from core.config import ConfigError, settings_from
    from core.content.site import SECTION

    for values, problem in (
        ({"seasonal_backgrounds": ["ftp://x/y.jpg"]}, "expected http\\(s\\) URLs"),
        ({"seasonal_ends_at": "soon"}, "expected an ISO 8601 time"),
        ({"seasonal_user_id": -1}, "must be at least 0"),
    ):
        with pytest.raises(ConfigError, match=problem):
            SECTION.read(settings_from({"content": values}, {}))
