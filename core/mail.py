"""Outgoing e-mail over SMTP (aiosmtplib): verification keys and password resets.

Settings: `[mail]`. With no `host` the server sends no mail, and the features that need it (a
required e-mail verification, mailed session keys, password resets) say so instead of working.
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from loguru import logger

from core.config import ConfigError, Key, Section, Settings, positive

SECTION = Section(
    "mail",
    (
        Key("host", "", "The SMTP server; empty sends no mail at all."),
        Key("port", 587, "Its port.", min=1, max=65535),
        Key(
            "security",
            "starttls",
            "'starttls' (port 587), 'tls' (implicit TLS, port 465) or 'none' (a local relay).",
            choices=("starttls", "tls", "none"),
        ),
        Key("username", "", "SMTP user; empty: no authentication."),
        Key("password", "", "SMTP password."),
        Key("from_address", "", 'The From: of every message, e.g. "osu! <noreply@example.com>".'),
        Key("timeout", 10.0, "Seconds for connecting and each SMTP exchange.", check=positive),
    ),
    "Outgoing mail: sign-up verification, password resets, session keys.",
)


class MailUnavailable(Exception):
    """No mail server is configured, or it refused or did not answer."""


def mail_settings(settings: Settings) -> dict[str, Any]:
    values = SECTION.read(settings)
    if values["host"] and "@" not in values["from_address"]:
        raise ConfigError("mail.from_address", "an address is required when mail.host is set")
    return values


def mail_enabled(settings: Settings) -> bool:
    return bool(mail_settings(settings)["host"])


async def send_mail(settings: Settings, to: str, subject: str, text: str) -> None:
    """Send one plain-text message; MailUnavailable when it cannot be handed over."""
    import aiosmtplib

    conf = mail_settings(settings)
    if not conf["host"]:
        raise MailUnavailable("no mail server is configured (mail.host)")
    message = EmailMessage()
    message["From"] = conf["from_address"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    try:
        await aiosmtplib.send(
            message,
            hostname=conf["host"],
            port=conf["port"],
            username=conf["username"] or None,
            password=conf["password"] or None,
            use_tls=conf["security"] == "tls",
            start_tls=conf["security"] == "starttls",
            timeout=conf["timeout"],
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        logger.warning("mail to {} not sent: {}", to, exc)
        raise MailUnavailable(str(exc)) from exc
