"""Email: render a .txt/.html template pair, record it in the outbox, deliver it after commit."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.utils import make_msgid
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_mail import Message

from extensions import db, mail
from jobs import enqueue
from models import Channel, OutboxAttachment, OutboxMessage


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file to send with an email."""

    filename: str
    content_type: str
    data: bytes


def send_email(
    to: str,
    subject: str,
    template: str,
    *,
    school_id: int | None = None,
    attachments: Iterable[Attachment] = (),
    headers: Mapping[str, str] | None = None,
    **context: object,
) -> OutboxMessage:
    """Record an email built from templates/email/<template>.{txt,html}; deliver it after commit.

    `headers` may set Message-ID, In-Reply-To, References and Reply-To (threaded replies).
    """
    message = OutboxMessage(
        channel=Channel.EMAIL,
        to=to,
        subject=subject,
        body=render_template(f"email/{template}.txt", **context),
        html=render_template(f"email/{template}.html", subject=subject, **context),
        template=template,
        school_id=school_id,
        headers=dict(headers) if headers else None,
        attachments=[
            OutboxAttachment(filename=a.filename, content_type=a.content_type, data=a.data)
            for a in attachments
        ],
    )
    db.session.add(message)
    db.session.flush()
    enqueue("jobs.messages.deliver", message.id, queue="high")
    return message


def new_message_id() -> str:
    """Return a fresh Message-ID on Guichet's own domain, without its angle brackets."""
    host = urlsplit(current_app.config["PUBLIC_URL"]).hostname or "guichet.invalid"
    return make_msgid(idstring="guichet", domain=host).strip("<>")


def _deliver_smtp(message: OutboxMessage) -> None:
    headers = dict(message.headers or {})
    message_id = headers.pop("Message-ID", None)
    mail_message = Message(
        subject=message.subject,
        recipients=[message.to],
        body=message.body,
        html=message.html,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
        reply_to=headers.pop("Reply-To", None),
        extra_headers=headers or None,
    )
    if message_id:
        mail_message.msgId = message_id  # the one recorded in the thread, not a new one
    for attachment in message.attachments:
        mail_message.attach(attachment.filename, attachment.content_type, attachment.data)
    mail.send(mail_message)


# Backends named by MAIL_BACKEND; "outbox" keeps the record only (development, demo).
EMAIL_BACKENDS: dict[str, Callable[[OutboxMessage], None] | None] = {
    "outbox": None,
    "smtp": _deliver_smtp,
}


def email_backend() -> Callable[[OutboxMessage], None] | None:
    """Return the delivery function configured for email (None: keep in the outbox only)."""
    name = current_app.config["MAIL_BACKEND"]
    try:
        return EMAIL_BACKENDS[name]
    except KeyError:
        raise RuntimeError(f"unknown MAIL_BACKEND {name!r}") from None
