"""Delivery. ``SMTP_URL`` = ``smtp://[user:pass@]host[:port]`` (``smtp+starttls://`` or ``smtps://`` for TLS).

Without ``SMTP_URL`` (the embedded default), messages are written to ``$TAJI_DATA_DIR/mail/*.eml`` and a log
line names the file: a mail log a developer can open.
"""

from __future__ import annotations

import asyncio
import datetime
import secrets
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path
from urllib.parse import unquote, urlsplit

import structlog

from tajiconnect.settings import Settings

log = structlog.get_logger(__name__)


def header_text(value: str) -> str:
    """A header value on one line: every run of whitespace (CR and LF included) becomes one space."""
    return " ".join(value.split())


def build_message(
    *, sender_name: str, sender: str, to: str, subject: str, text: str, html: str | None,
    message_id: str | None = None,
) -> EmailMessage:
    """The message; header values are folded onto one line, so no input can add a header."""
    msg = EmailMessage()
    msg["From"] = formataddr((header_text(sender_name), sender))
    msg["To"] = header_text(to)
    msg["Subject"] = header_text(subject)
    msg["Message-ID"] = message_id or make_msgid(domain=sender.rsplit("@", 1)[-1])
    msg["Date"] = datetime.datetime.now(datetime.UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg


def _send_smtp(url: str, msg: EmailMessage) -> None:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or "localhost"
    if scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, parts.port or 465, timeout=20,
                                                 context=ssl.create_default_context())
    elif scheme in ("smtp", "smtp+starttls"):
        client = smtplib.SMTP(host, parts.port or (587 if scheme == "smtp+starttls" else 25), timeout=20)
    else:
        raise ValueError("SMTP_URL must start with smtp://, smtp+starttls:// or smtps://")
    with client:
        if scheme == "smtp+starttls":
            client.starttls(context=ssl.create_default_context())
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(msg)


def _write_mail_log(directory: Path, msg: EmailMessage) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S")
    path = directory / f"{stamp}-{secrets.token_hex(4)}.eml"
    path.write_bytes(bytes(msg))
    return path


async def deliver(settings: Settings, msg: EmailMessage) -> None:
    if settings.smtp_url:
        await asyncio.to_thread(_send_smtp, settings.smtp_url.get(), msg)
        log.info("mail sent", to=msg["To"], subject=msg["Subject"])
    else:
        path = await asyncio.to_thread(_write_mail_log, settings.data_dir / "mail", msg)
        log.info("mail written to the local mail log", to=msg["To"], subject=msg["Subject"], file=str(path))
