"""Jobs that deliver outbox messages."""

from __future__ import annotations

import logging

from extensions import db
from models import OutboxMessage
from services.outbox import deliver as deliver_message

log = logging.getLogger(__name__)


def deliver(message_id: int) -> None:
    """Deliver one outbox message; a failure is recorded, committed, then re-raised for retry."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        log.warning("outbox message %s vanished before delivery", message_id)
        return
    try:
        deliver_message(message)
    except Exception as error:
        db.session.commit()  # keep the recorded error even though the job fails
        if getattr(error, "retryable", True):
            raise
        # A refusal (bad number, bad key) gets the same answer on every try: no retry.
        log.warning("outbox message %s refused for good: %s", message_id, error)
