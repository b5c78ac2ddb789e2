"""Read and deliver the outbox: every message Guichet sends goes through here."""

from __future__ import annotations

import re
from datetime import timedelta

from extensions import db
from jobs import enqueue
from models import Channel, DeliveryStatus, OutboxMessage
from models.base import utcnow
from services.mail import email_backend
from services.otp import CODE_TEMPLATE
from services.sms import sms_backend

SECURITY_CODE = re.compile(r"\b\d{6}\b")


def recent_messages(limit: int = 50, channel: Channel | None = None) -> list[OutboxMessage]:
    """Return the latest messages, newest first."""
    query = db.select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if channel is not None:
        query = query.filter_by(channel=channel)
    return list(db.session.scalars(query))


def deliver(message: OutboxMessage) -> None:
    """Hand a queued message to its channel's backend and record the outcome."""
    if message.status in (DeliveryStatus.SENT, DeliveryStatus.STORED):
        return  # a retried job must not send twice
    backend = email_backend() if message.channel == Channel.EMAIL else sms_backend()
    message.attempts += 1
    if backend is None:
        message.status = DeliveryStatus.STORED
        return
    try:
        backend(message)
    except Exception as error:
        message.status = DeliveryStatus.FAILED
        message.error = f"{type(error).__name__}: {error}"
        raise
    message.status = DeliveryStatus.SENT
    message.sent_at = utcnow()
    message.error = None
    if message.channel == Channel.SMS and message.template == CODE_TEMPLATE:
        # Once on the phone, a security code has no reason to stay readable in the outbox.
        message.body = SECURITY_CODE.sub("••••••", message.body)


def stuck_messages(older_than: timedelta) -> list[OutboxMessage]:
    """Return messages still queued, or failed, after a delay: their job was lost or gave up."""
    limit = utcnow() - older_than
    query = db.select(OutboxMessage).where(
        OutboxMessage.status.in_([DeliveryStatus.QUEUED, DeliveryStatus.FAILED]),
        OutboxMessage.updated_at <= limit,
    )
    return list(db.session.scalars(query.order_by(OutboxMessage.id)))


def requeue(message: OutboxMessage) -> None:
    """Queue a delivery job again for a message (after the commit, like the first one)."""
    message.status = DeliveryStatus.QUEUED
    message.error = None
    enqueue("jobs.messages.deliver", message.id, queue="high")
