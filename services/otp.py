"""One-time codes sent by SMS: drawn, kept hashed, checked, and rate-limited per number."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app

from extensions import db
from models import Channel, OutboxMessage
from services.sms import send_sms

CODE_TEMPLATE = "code"


def draw_code(length: int = 6) -> str:
    """Return a random numeric code."""
    return f"{secrets.randbelow(10**length):0{length}d}"


def code_hash(code: str, salt: str) -> str:
    """Hash a code with the app's secret and a per-case salt (a stolen table reveals nothing)."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{salt}:{code}".encode(), hashlib.sha256).hexdigest()


def code_matches(typed: str, stored_hash: str | None, salt: str) -> bool:
    """Compare a typed code with the stored hash in constant time."""
    if not stored_hash or not typed:
        return False
    return hmac.compare_digest(code_hash(typed.strip(), salt), stored_hash)


@dataclass(frozen=True)
class SendLimit:
    """How often codes may go to one number."""

    min_interval: timedelta
    per_hour: int


def refusal(phone: str, limit: SendLimit, now: datetime) -> str | None:
    """Return why no code may be sent to this number now (in French), or None."""
    recent = list(
        db.session.scalars(
            db.select(OutboxMessage.created_at)
            .where(
                OutboxMessage.channel == Channel.SMS,
                OutboxMessage.to == phone,
                OutboxMessage.template == CODE_TEMPLATE,
                OutboxMessage.created_at >= now - timedelta(hours=1),
            )
            .order_by(OutboxMessage.created_at.desc())
        )
    )
    if len(recent) >= limit.per_hour:
        return (
            f"Vous avez demandé {limit.per_hour} codes en une heure : "
            "patientez avant d'en demander un nouveau."
        )
    if recent and now - recent[0] < limit.min_interval:
        seconds = int(limit.min_interval.total_seconds())
        return (
            f"Un code vient d'être envoyé : attendez {seconds} secondes avant d'en redemander un."
        )
    return None


def send_code(phone: str, code: str, validity_minutes: int, school_id: int | None) -> None:
    """Send a code by SMS (after the commit, through the outbox)."""
    message = send_sms(
        phone,
        f"Guichet : votre code de sécurité est {code}. Il est valable {validity_minutes} minutes. "
        "Ne le communiquez à personne.",
        school_id=school_id,
    )
    message.template = CODE_TEMPLATE
