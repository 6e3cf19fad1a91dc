"""Metadata hub: online presence (with friends' presence across workers), the beatmap change
queue, the daily challenge room (`DailyChallengeUpdated`) and room score statistics (ppy/osu
osu.Game/Online/Metadata/IMetadataServer.cs)."""

from __future__ import annotations

from core.config import Section
from core.hooks import hookimpl
from plugins.metadata import hub
from plugins.metadata.hub import MetadataHub


@hookimpl
def hubs() -> list[type[MetadataHub]]:
    return [MetadataHub]


@hookimpl
def settings_sections() -> list[Section]:
    return [hub.SECTION]
