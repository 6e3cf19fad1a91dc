"""The core's own configuration sections, each declared beside the code that reads it.

Plugins declare theirs through the `settings_sections` hook; these are always there, since the
concepts that read them (`core/chat`, `core/scores`, ...) are part of the host.
"""

from __future__ import annotations

from core.auth import SECTION as AUTH
from core.beatmaps.sources import SECTION as BEATMAPS
from core.chat.service import SECTION as CHAT
from core.config import Section
from core.content.site import SECTION as CONTENT
from core.geoip import SECTION as GEOIP
from core.mail import SECTION as MAIL
from core.plugins import PP_SECTION
from core.reports.filing import SECTION as REPORTS
from core.rooms.playlists import SECTION as ROOMS
from core.scores.submit import SECTION as SCORES
from core.signalr.host import SECTION as SIGNALR
from core.users.profiles import SECTION as ACCOUNTS


def core_sections() -> list[Section]:
    return [
        ACCOUNTS,
        AUTH,
        BEATMAPS,
        CHAT,
        CONTENT,
        GEOIP,
        MAIL,
        PP_SECTION,
        REPORTS,
        ROOMS,
        SCORES,
        SIGNALR,
    ]
