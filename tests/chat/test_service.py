"""core.chat rules that need no HTTP: content cleaning, settings, the default channels."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.chat import service as chat
from core.chat.store import ANNOUNCE, PM, PUBLIC, pm_name, pm_user_ids
from core.config import settings_from
from core.http import ApiError


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  hi  ", "hi"),
        ("a\nb\r\nc", "a b  c"),
        ("tab\tinside", "tab\tinside"),
        ("👍🏽 ok", "👍🏽 ok"),
        ("\u202eright-to-left", "\u202eright-to-left"),
    ],
)
def test_clean_content_keeps_text(raw: str, expected: str) -> None:
    assert chat.clean_content(raw, PUBLIC, 450) == expected


def test_announcements_keep_newlines_and_allow_1024() -> None:
    assert chat.clean_content("a\nb", ANNOUNCE, 450) == "a\nb"
    assert len(chat.clean_content("x" * 1024, ANNOUNCE, 450)) == 1024
    with pytest.raises(ApiError):
        chat.clean_content("x" * 1025, ANNOUNCE, 450)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", chat.EMPTY),
        (" \n ", chat.EMPTY),
        (None, chat.EMPTY),
        (5, chat.EMPTY),
        ("x" * 101, chat.TOO_LONG),
        ("a\x00b", chat.BAD_CHARACTERS),
        ("a\x7fb", chat.BAD_CHARACTERS),
        ("a\ud800b", chat.BAD_CHARACTERS),
    ],
)
def test_clean_content_refuses(raw: object, message: str) -> None:
    with pytest.raises(ApiError) as caught:
        chat.clean_content(raw, PM, 100)
    assert caught.value.status == 422
    assert caught.value.body == {"error": message}


def test_pm_names() -> None:
    assert pm_name(7, 3) == "#pm_3-7"
    assert pm_user_ids("#pm_3-7") == [3, 7]
    assert pm_user_ids("#osu") == [] and pm_user_ids("#pm_x-1") == []


def test_default_channels_setting(tmp_path: Path) -> None:
    settings = settings_from({"data": {"dir": str(tmp_path)}}, {})
    assert chat.default_channels(settings) == [
        ("#osu", chat.DEFAULT_DESCRIPTIONS["#osu"]),
        ("#lobby", chat.DEFAULT_DESCRIPTIONS["#lobby"]),
    ]
    env = {"HITCIRCLE_CHAT_CHANNELS": "#osu,#help=Ask here, "}
    settings = settings_from({"data": {"dir": str(tmp_path)}}, env)
    assert chat.default_channels(settings) == [
        ("#osu", chat.DEFAULT_DESCRIPTIONS["#osu"]),
        ("#help", "Ask here"),
    ]
