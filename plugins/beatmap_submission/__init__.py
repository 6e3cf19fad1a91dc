"""Beatmap submission from the lazer editor (osu-server-beatmap-submission's API).

lazer calls `{BeatmapSubmissionServiceUrl}/beatmapsets`; its development configuration puts that
at `{APIUrl}/beatmap-submission`, which is where the routes are mounted:

- `PUT beatmapsets` (JSON): create a set or reshape an existing one, handing out beatmap ids;
- `PUT beatmapsets/{id}` (multipart `beatmapArchive`): the whole `.osz`;
- `PATCH beatmapsets/{id}` (multipart `filesChanged` files, `filesDeleted` names): a change to
  the stored `.osz`.

Packages are checked and stored by the importer `hitcircle beatmaps import` uses
(`core.beatmaps.importer`); downloads of submitted sets are served by `maps_local`'s source.
Settings: `[beatmap_submission]`.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute

from core.config import Key, Section, Settings
from core.hooks import hookimpl

SECTION = Section(
    "beatmap_submission",
    (
        # As `beatmaps_local.first_local_id`: far above official ids, below the client's 2^31.
        Key(
            "first_id",
            1_500_000_000,
            "Submitted sets and difficulties get ids from here up (past every stored id).",
            min=1,
            max=2**31 - 1,
        ),
        Key(
            "max_pending_sets",
            0,
            "Sets in WIP or pending one mapper may have at once (0: no limit).",
            min=0,
            max=100_000,
        ),
    ),
    "Beatmap submission from the lazer editor.",
)


def submission_settings(settings: Settings) -> dict[str, Any]:
    return SECTION.read(settings)


@hookimpl
def settings_sections() -> list[Section]:
    return [SECTION]


@hookimpl
def routes() -> list[BaseRoute]:
    from .handlers import ROUTES

    return list(ROUTES)
