"""core.mail against a local SMTP server."""

from __future__ import annotations

import dataclasses

import pytest

from core.config import ConfigError, Settings
from core.mail import MailUnavailable, mail_enabled, mail_settings, send_mail
from core.testing import free_port
from tests.conftest import MailSink


def with_mail(settings: Settings, **section: object) -> Settings:
    return dataclasses.replace(settings, extra={**settings.extra, "mail": section})


async def test_a_message_reaches_the_server(settings: Settings, mail_sink: MailSink) -> None:
    configured = with_mail(settings, **mail_sink.settings())
    assert mail_enabled(configured)
    await send_mail(configured, "player@example.com", "Hello", "Your key: 1234\n")
    message = await mail_sink.next("player@example.com")
    assert message["Subject"] == "Hello"
    assert message["From"] == "osu! <noreply@example.com>"
    assert message.get_content().strip() == "Your key: 1234"


async def test_no_server_or_a_dead_one_is_mail_unavailable(settings: Settings) -> None:
    assert not mail_enabled(settings)
    with pytest.raises(MailUnavailable, match="no mail server"):
        await send_mail(settings, "a@example.com", "x", "y")
    dead = with_mail(
        settings,
        host="127.0.0.1",
        port=free_port(),
        security="none",
        from_address="a@example.com",
        timeout=2.0,
    )
    with pytest.raises(MailUnavailable):
        await send_mail(dead, "a@example.com", "x", "y")


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"security": "ssl3"}, "mail.security"),
        ({"port": 0}, "mail.port"),
        ({"timeout": -1}, "mail.timeout"),
        ({"host": "smtp.example.com"}, "mail.from_address"),
        ({"hots": "x"}, "mail.hots"),
    ],
)
def test_bad_settings_are_refused(settings: Settings, section: dict, key: str) -> None:
    with pytest.raises(ConfigError) as refused:
        mail_settings(with_mail(settings, **section))
    assert refused.value.key == key
