"""Helpers shared by the test suites: the test password, form helpers, a local SMTP inbox."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from flask.testing import FlaskClient

PASSWORD = "Correct-Horse-42"


def csrf_token(client: FlaskClient, url: str) -> str:
    """Open a page and return the CSRF token of its form."""
    html = client.get(url).get_data(as_text=True)
    tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', html)
    assert tag, f"no CSRF token on {url}"
    return re.search(r'value="([^"]+)"', tag.group(0)).group(1)


def login(client: FlaskClient, login_name: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    """Sign in through the login form, as a person would."""
    token = csrf_token(client, "/connexion")
    return client.post(
        "/connexion", data={"login": login_name, "password": password, "csrf_token": token}
    )


def free_port() -> int:
    """Return a TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SmtpInbox:
    """What a real local SMTP server received."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        message = message_from_bytes(envelope.content, policy=policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"
