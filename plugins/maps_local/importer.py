"""The importer lives in core (`core.beatmaps.importer`): editor submissions reuse it. Kept here
so `from plugins.maps_local.importer import Importer` keeps working."""

from core.beatmaps.importer import (
    MAX_OSU_FILE,
    Importer,
    ImportError_,
    Parsed,
    Summary,
    expand,
)

__all__ = ["MAX_OSU_FILE", "ImportError_", "Importer", "Parsed", "Summary", "expand"]
