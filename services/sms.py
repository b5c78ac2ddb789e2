"""SMS: record a text message in the outbox and deliver it after commit."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app

from extensions import db
from jobs import enqueue
from models import Channel, OutboxMessage
from services.sms_providers import deliver_brevo

SMS_MAX_LENGTH = 459  # three concatenated GSM segments


def send_sms(to: str, body: str, *, school_id: int | None = None) -> OutboxMessage:
    """Record an SMS to an E.164 number; deliver it after commit."""
    if len(body) > SMS_MAX_LENGTH:
        raise ValueError("SMS body too long")
    message = OutboxMessage(channel=Channel.SMS, to=to, body=body, school_id=school_id)
    db.session.add(message)
    db.session.flush()
    enqueue("jobs.messages.deliver", message.id, queue="high")
    return message


# Backends named by SMS_BACKEND; "outbox" keeps the record only (development, demo).
SMS_BACKENDS: dict[str, Callable[[OutboxMessage], None] | None] = {
    "outbox": None,
    "brevo": deliver_brevo,
}


def sms_backend() -> Callable[[OutboxMessage], None] | None:
    """Return the delivery function configured for SMS (None: keep in the outbox only)."""
    name = current_app.config["SMS_BACKEND"]
    try:
        return SMS_BACKENDS[name]
    except KeyError:
        raise RuntimeError(f"unknown SMS_BACKEND {name!r}") from None
