"""What staff do with a help request: take it, hand it over, note, reply, close, reopen."""

from __future__ import annotations

import re

from flask import current_app

from extensions import db
from models import (
    Account,
    HelpMessage,
    HelpRequest,
    MessageKind,
    RequestStatus,
    Role,
)
from models.base import utcnow
from services import audit
from services.accounts import staff_of
from services.desk.mail import reference_in
from services.mail import new_message_id, send_email

DESK_ROLES = (Role.ACCOUNTANT, Role.ADMIN)
MAX_TEXT = 20_000
REFERENCES_KEPT = 10  # the References header names at most this many earlier messages
_REPLY_PREFIX = re.compile(r"^\s*((re|tr|fwd?|aw)\s*:\s*)+", re.IGNORECASE)


class DeskActionError(ValueError):
    """An action that cannot be done on this request now; the message is for staff."""


def locked(request_id: int) -> HelpRequest:
    """Reload a request under a row lock, so that two colleagues act one after the other."""
    found = db.session.get(HelpRequest, request_id, with_for_update=True, populate_existing=True)
    if found is None:
        raise DeskActionError("Cette demande n'existe plus.")
    return found


def colleagues(request: HelpRequest) -> list[Account]:
    """Return the staff who may work on a request: its school's accountants and admins."""
    return staff_of(request.school_id, DESK_ROLES)


def claim(request: HelpRequest, staff: Account) -> None:
    """Take a request: it leaves the common list for the staff member's own."""
    if request.assignee_id not in (None, staff.id):
        raise DeskActionError(f"{request.assignee.name} traite déjà cette demande.")
    _assign(request, staff, staff)


def assign(request: HelpRequest, staff: Account, colleague: Account) -> None:
    """Hand a request to a colleague of the same school."""
    if colleague.id not in {c.id for c in colleagues(request)}:
        raise DeskActionError(
            "Cette personne ne travaille pas sur les demandes de cet établissement."
        )
    _assign(request, staff, colleague)


def _assign(request: HelpRequest, staff: Account, to: Account) -> None:
    if request.status is RequestStatus.CLOSED:
        raise DeskActionError("Cette demande est close : rouvrez-la d'abord.")
    before = request.assignee_id
    request.assignee_id = to.id
    if request.status is RequestStatus.NEW:
        request.status = RequestStatus.OPEN
    _audit("help_request.assigned", request, staff, {"before": before, "after": to.id})


def release(request: HelpRequest, staff: Account) -> None:
    """Put a request back in the common list."""
    before = request.assignee_id
    request.assignee_id = None
    _audit("help_request.released", request, staff, {"before": before})


def add_note(request: HelpRequest, staff: Account, text: str) -> HelpMessage:
    """Add an internal note: colleagues see it, the family never does."""
    note = _message(request, MessageKind.NOTE, staff, _clean(text))
    _audit("help_request.note", request, staff, {"message": note.id})
    return note


def reply(request: HelpRequest, staff: Account, text: str, *, close: bool = False) -> HelpMessage:
    """Answer the family by email (sent after the commit) and wait for them, or close."""
    if not request.requester_email:
        raise DeskActionError("Cette demande n'a pas d'adresse où répondre.")
    body = _clean(text)
    message = _message(request, MessageKind.REPLY, staff, body)
    message.message_id = new_message_id()
    message.subject = reply_subject(request)
    # Message-IDs are kept without their angle brackets (as parsed from incoming mail).
    earlier = [f"<{m.message_id}>" for m in request.messages if m.message_id and m is not message]
    headers = {
        "Message-ID": f"<{message.message_id}>",
        # The family answers the agent comptable's mailbox, which the desk reads.
        "Reply-To": request.school.accountant_email or current_app.config["DESK_ADDRESS"],
    }
    if earlier:
        headers["In-Reply-To"] = earlier[-1]
        headers["References"] = " ".join(earlier[-REFERENCES_KEPT:])
    last_from_family = next(
        (m for m in reversed(request.messages) if m.kind is MessageKind.INCOMING), None
    )
    message.outbox_message = send_email(
        request.requester_email,
        message.subject,
        "desk_reply",
        school_id=request.school_id,
        headers=headers,
        help=request,
        text=body,
        staff=staff,
        quoted=last_from_family,
    )
    request.first_response_at = request.first_response_at or message.received_at
    if request.assignee_id is None:
        request.assignee_id = staff.id
    request.status = RequestStatus.WAITING
    _audit("help_request.replied", request, staff, {"message": message.id, "close": close})
    if close:
        _close(request)
    return message


def close(request: HelpRequest, staff: Account) -> None:
    """Close a request: answered, or nothing to do."""
    if request.status is RequestStatus.CLOSED:
        raise DeskActionError("Cette demande est déjà close.")
    _close(request)
    _audit("help_request.closed", request, staff, {})


def _close(request: HelpRequest) -> None:
    request.status = RequestStatus.CLOSED
    request.closed_at = utcnow()


def reopen(request: HelpRequest, staff: Account) -> None:
    """Bring a closed request back to the queue."""
    if request.status is not RequestStatus.CLOSED:
        raise DeskActionError("Cette demande n'est pas close.")
    request.status = RequestStatus.OPEN
    request.closed_at = None
    _audit("help_request.reopened", request, staff, {})


def reply_subject(request: HelpRequest) -> str:
    """Return "Re: <subject> [DEM-…]": the reference threads the family's answer back."""
    subject = _REPLY_PREFIX.sub("", request.subject).strip() or "Votre demande"
    if reference_in(subject) != request.reference:
        subject = f"{subject} [{request.reference}]"
    return f"Re: {subject}"[:300]


def _clean(text: str) -> str:
    cleaned = (text or "").replace("\r\n", "\n").strip()
    if not cleaned:
        raise DeskActionError("Écrivez un message.")
    if len(cleaned) > MAX_TEXT:
        raise DeskActionError(f"Le message dépasse {MAX_TEXT} caractères.")
    return cleaned


def _message(request: HelpRequest, kind: MessageKind, staff: Account, text: str) -> HelpMessage:
    now = utcnow()
    message = HelpMessage(
        request_id=request.id,
        kind=kind,
        sender_email="",
        sender_name=staff.name[:200],
        text=text,
        visible_text=text,
        received_at=now,
        author_id=staff.id,
    )
    db.session.add(message)
    request.messages.append(message)
    if kind is MessageKind.REPLY:
        request.last_message_at = now
    db.session.flush()
    return message


def _audit(action: str, request: HelpRequest, staff: Account, data: dict[str, object]) -> None:
    audit.record(
        action,
        actor=staff,
        target=request,
        school_id=request.school_id,
        data={"reference": request.reference, **data},
    )
