"""Sending email behind a small interface: an offline outbox by default, SMTP when configured.

``REFERRAL_HUB_SMTP_URL`` (read from the environment or ``app.config["SMTP_URL"]``) selects SMTP, e.g.
``smtp+starttls://user:password@mail.example.org:587?from=hub@example.org``; schemes ``smtp``, ``smtp+starttls``
and ``smtps``. Without it, messages are written as ``.eml`` files under ``instance/outbox/`` so a single-machine
install and the tests work without a mail server. Messages must never carry PHI: account mail holds a link only.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import time
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from flask import Flask, current_app

DEFAULT_SENDER = "no-reply@referral-hub.invalid"


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    text: str


class EmailSender(Protocol):
    def send(self, message: OutgoingEmail) -> None: ...


def _build(message: OutgoingEmail, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Message-ID"] = f"<{uuid.uuid4()}@referral-hub>"
    email.set_content(message.text)
    return email


class OutboxDirectorySender:
    """Writes each message to ``<directory>/<time>-<uuid>.eml`` (offline mode; readable by any mail client)."""

    def __init__(self, directory: Path, sender: str = DEFAULT_SENDER) -> None:
        self.directory = directory
        self.sender = sender

    def send(self, message: OutgoingEmail) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}-{uuid.uuid4().hex}.eml"
        tmp = self.directory / (name + ".tmp")
        tmp.write_bytes(_build(message, self.sender).as_bytes())
        tmp.chmod(0o600)
        tmp.replace(self.directory / name)

    def messages(self) -> list[EmailMessage]:
        """Stored messages, oldest first (tests and the demo read them)."""
        if not self.directory.exists():
            return []
        parser = BytesParser(policy=default_policy)
        return [parser.parsebytes(p.read_bytes()) for p in sorted(self.directory.glob("*.eml"))]  # type: ignore[misc]


class SmtpSender:
    """Sends through an SMTP server described by a URL (see module docstring)."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtp+starttls", "smtps"):
            raise ValueError("SMTP URL scheme must be smtp, smtp+starttls or smtps")
        self.scheme = parts.scheme
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if parts.scheme == "smtps" else 587 if parts.scheme == "smtp+starttls" else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = parse_qs(parts.query).get("from", [DEFAULT_SENDER])[0]
        self.timeout = timeout

    def send(self, message: OutgoingEmail) -> None:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.scheme == "smtps":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            if self.scheme == "smtp+starttls":
                smtp.starttls(context=context)
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(_build(message, self.sender))


def sender_for(app: Flask) -> EmailSender:
    """The configured sender of ``app`` (SMTP when an URL is configured, else the instance outbox)."""
    url = app.config.get("SMTP_URL") or os.environ.get("REFERRAL_HUB_SMTP_URL")
    if url:
        return SmtpSender(url)
    directory = Path(app.config.get("EMAIL_OUTBOX_DIR") or Path(app.instance_path) / "outbox")
    return OutboxDirectorySender(directory, app.config.get("EMAIL_SENDER", DEFAULT_SENDER))


def send_email(to: str, subject: str, text: str) -> None:
    """Send one message with the current app's sender."""
    sender = current_app.extensions.get("hub_email_sender") or sender_for(current_app)
    sender.send(OutgoingEmail(to=to, subject=subject, text=text))


__all__ = ["EmailSender", "OutboxDirectorySender", "OutgoingEmail", "SmtpSender", "send_email", "sender_for"]
