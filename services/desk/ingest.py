"""Turning emails to the agent comptable into help requests, or into replies to them."""

from __future__ import annotations

import dataclasses
import enum
import hashlib
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from engine.clock import PARIS
from extensions import db
from models import (
    Account,
    HelpAttachment,
    HelpMessage,
    HelpRequest,
    MessageKind,
    RequestCounter,
    RequestStatus,
    School,
)
from models.base import utcnow
from services import audit
from services.counters import next_number
from services.desk.mail import IncomingMail, parse_message, reference_in, visible_text


class Outcome(enum.StrEnum):
    """What ingesting one email did."""

    CREATED = "created"  # a new request
    JOINED = "joined"  # a new message of an existing request
    DUPLICATE = "duplicate"  # already ingested (same Message-ID): nothing done
    IGNORED = "ignored"  # sent by a machine (auto-reply, bounce, list): nothing done
    ERROR = "error"  # could not be recorded: nothing done, the others go on


@dataclass(frozen=True)
class IngestResult:
    """The outcome for one email, with the request it went to and why."""

    outcome: Outcome
    reference: str | None = None
    reason: str = ""

    def as_dict(self) -> dict[str, str | None]:
        """Return the result as JSON-ready values."""
        return {"outcome": self.outcome.value, "reference": self.reference, "reason": self.reason}


MESSAGE_ID_MAX = 300  # the column's size; a longer Message-ID is kept as its digest
ADDRESS_MAX = 254


def stored_id(message_id: str) -> str:
    """Return how a Message-ID is kept: as is, or a digest when too long for the column."""
    if len(message_id) <= MESSAGE_ID_MAX:
        return message_id
    return "sha256:" + hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()


def _storable(mail: IncomingMail) -> IncomingMail:
    """Fit what the database keeps: no NUL characters, ids and addresses within columns."""
    return dataclasses.replace(
        mail,
        message_id=stored_id(mail.message_id) if mail.message_id else mail.message_id,
        in_reply_to=stored_id(mail.in_reply_to) if mail.in_reply_to else None,
        references=tuple(stored_id(i) for i in mail.references),
        sender_address=mail.sender_address[:ADDRESS_MAX],
        sender_name=mail.sender_name.replace("\x00", ""),
        subject=mail.subject.replace("\x00", ""),
        text=mail.text.replace("\x00", ""),
    )


def ingest(raw: bytes, school: School) -> IngestResult:
    """Record one email: a new request, a message of the one it answers, or nothing."""
    mail = _storable(parse_message(raw))
    if mail.auto_generated:
        return IngestResult(Outcome.IGNORED, reason=mail.reason or "message automatique")
    if mail.message_id and _known(mail.message_id):
        return IngestResult(Outcome.DUPLICATE, reason="déjà reçu (même Message-ID)")
    request = _thread_of(mail, school)
    created = request is None
    if request is None:
        request = _new_request(mail, school)
    elif request.status is RequestStatus.WAITING:
        request.status = RequestStatus.OPEN  # the family answered
    elif request.status is RequestStatus.CLOSED:
        request.status = RequestStatus.OPEN  # a closed request comes back to the queue
    _add_message(request, mail)
    if created:
        audit.record(
            "help_request.created", actor_label=mail.sender_address, target=request,
            school_id=school.id, data={"reference": request.reference, "via": "email"},
        )  # fmt: skip
    return IngestResult(
        Outcome.CREATED if created else Outcome.JOINED,
        request.reference,
        "nouvelle demande" if created else "réponse à une demande existante",
    )


def _known(message_id: str) -> bool:
    found = db.session.scalar(sa.select(HelpMessage.id).filter_by(message_id=message_id))
    return found is not None


def _thread_of(mail: IncomingMail, school: School) -> HelpRequest | None:
    """Find the request this email answers: its reference in the subject, else its
    In-Reply-To/References among the messages Guichet knows."""
    reference = reference_in(mail.subject)
    if reference:
        request = db.session.scalars(
            sa.select(HelpRequest).filter_by(reference=reference, school_id=school.id)
        ).first()
        if request is not None:
            return request
    if mail.thread_ids:
        return db.session.scalars(
            sa.select(HelpRequest)
            .join(HelpMessage, HelpMessage.request_id == HelpRequest.id)
            .where(HelpMessage.message_id.in_(mail.thread_ids), HelpRequest.school_id == school.id)
            .order_by(HelpMessage.id.desc())
            .limit(1)
        ).first()
    return None


def _new_request(mail: IncomingMail, school: School) -> HelpRequest:
    now = utcnow()
    request = HelpRequest(
        reference=next_reference(now),
        school_id=school.id,
        status=RequestStatus.NEW,
        subject=(mail.subject or "(sans objet)")[:300],
        requester_email=mail.sender_address,
        requester_name=mail.sender_name[:200],
        account_id=_account_of(mail.sender_address),
        last_message_at=now,
    )
    db.session.add(request)
    db.session.flush()
    return request


def _account_of(address: str) -> int | None:
    """Return the parent account whose confirmed address this is, if exactly one."""
    if not address:
        return None
    ids = db.session.scalars(
        sa.select(Account.id)
        .where(sa.func.lower(Account.email) == address, Account.email_confirmed_at.is_not(None))
        .limit(2)
    ).all()
    return ids[0] if len(ids) == 1 else None  # a shared mailbox names nobody in particular


def _add_message(request: HelpRequest, mail: IncomingMail) -> HelpMessage:
    received = mail.date or utcnow()
    message = HelpMessage(
        request_id=request.id,
        kind=MessageKind.INCOMING,
        message_id=mail.message_id,
        sender_email=mail.sender_address,
        sender_name=mail.sender_name[:200],
        subject=mail.subject[:300],
        text=mail.text,
        visible_text=visible_text(mail.text),
        received_at=received,
        attachments=[
            HelpAttachment(
                filename=a.filename[:255], content_type=a.content_type[:100], size=a.size,
                data=a.data,
            )
            for a in mail.attachments
        ],
    )  # fmt: skip
    db.session.add(message)
    request.last_message_at = max(request.last_message_at or received, received)
    db.session.flush()
    return message


def next_reference(now: datetime) -> str:
    """Give the next request reference of the year, DEM-2026-000123 (locked counter row)."""
    year = now.astimezone(PARIS).year
    return f"DEM-{year}-{next_number(RequestCounter, year=year):06d}"
