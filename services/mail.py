"""Email: render a .txt/.html template pair, record it in the outbox, deliver it after commit."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

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
    **context: object,
) -> OutboxMessage:
    """Record an email built from templates/email/<template>.{txt,html}; deliver it after commit."""
    message = OutboxMessage(
        channel=Channel.EMAIL,
        to=to,
        subject=subject,
        body=render_template(f"email/{template}.txt", **context),
        html=render_template(f"email/{template}.html", subject=subject, **context),
        template=template,
        school_id=school_id,
        attachments=[
            OutboxAttachment(filename=a.filename, content_type=a.content_type, data=a.data)
            for a in attachments
        ],
    )
    db.session.add(message)
    db.session.flush()
    enqueue("jobs.messages.deliver", message.id, queue="high")
    return message


def _deliver_smtp(message: OutboxMessage) -> None:
    mail_message = Message(
        subject=message.subject,
        recipients=[message.to],
        body=message.body,
        html=message.html,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
    )
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
