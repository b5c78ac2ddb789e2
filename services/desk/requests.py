"""Requests a parent sends from their account, acknowledged by email with their reference."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app

from extensions import db
from models import (
    Account,
    HelpAttachment,
    HelpMessage,
    HelpRequest,
    Invoice,
    MessageKind,
    RequestStatus,
    School,
    UploadedFile,
)
from models.base import utcnow
from services import audit
from services.billing import family_invoices
from services.desk.ingest import next_reference
from services.mail import new_message_id, send_email

FORM_CHANNEL = "formulaire"


class RequestRefusedError(ValueError):
    """A request that cannot be recorded; the message is for the parent."""


def invoice_choices(account: Account, school: School) -> list[dict[str, str]]:
    """Return the family's invoices of a school as choices ({value, label}) for the form."""
    return [
        {
            "value": str(invoice.id),
            "label": f"{invoice.number} — {invoice.label} ({invoice.pupil.first_name})",
        }
        for invoice in family_invoices(account)
        if invoice.school_id == school.id
    ]


def open_request(
    account: Account,
    school: School,
    *,
    category: str,
    category_label: str,
    text: str,
    invoice_id: int | None = None,
    upload: Mapping[str, Any] | None = None,
) -> HelpRequest:
    """Record a parent's request in the queue and acknowledge it by email after the commit."""
    if not (account.email and account.email_confirmed_at):
        raise RequestRefusedError("Confirmez votre adresse électronique pour recevoir la réponse.")
    invoice = _own_invoice(account, school, invoice_id)
    subject = category_label + (f" — facture {invoice.number}" if invoice else "")
    now = utcnow()
    request = HelpRequest(
        reference=next_reference(now),
        school_id=school.id,
        status=RequestStatus.NEW,
        subject=subject[:300],
        requester_email=account.email,
        requester_name=account.name[:200],
        account_id=account.id,
        channel=FORM_CHANNEL,
        category=category,
        invoice_id=invoice.id if invoice else None,
        last_message_at=now,
    )
    db.session.add(request)
    db.session.flush()
    # The acknowledgement carries this Message-ID: a family replying to it threads back here.
    message = HelpMessage(
        request_id=request.id,
        kind=MessageKind.INCOMING,
        message_id=new_message_id(),
        sender_email=account.email,
        sender_name=account.name[:200],
        subject=subject[:300],
        text=text,
        visible_text=text,
        received_at=now,
        author_id=account.id,
        attachments=_attachments(upload),
    )
    db.session.add(message)
    db.session.flush()
    send_email(
        account.email,
        f"Votre demande {request.reference} : {subject}"[:300],
        "desk_acknowledgement",
        school_id=school.id,
        headers={
            "Message-ID": f"<{message.message_id}>",
            "Reply-To": school.accountant_email or current_app.config["DESK_ADDRESS"],
            # RFC 3834: an out-of-office answering this automatic message would loop.
            "Auto-Submitted": "auto-replied",
        },
        help=request,
        text=text,
    )
    audit.record(
        "help_request.created", actor=account, target=request, school_id=school.id,
        data={"reference": request.reference, "via": FORM_CHANNEL},
    )  # fmt: skip
    return request


def _own_invoice(account: Account, school: School, invoice_id: int | None) -> Invoice | None:
    if invoice_id is None:
        return None
    for invoice in family_invoices(account):
        if invoice.id == invoice_id and invoice.school_id == school.id:
            return invoice
    raise RequestRefusedError("Cette facture n'est pas une facture de votre famille.")


def _attachments(upload: Mapping[str, Any] | None) -> list[HelpAttachment]:
    if not upload or not isinstance(upload.get("file"), str):
        return []
    stored = db.session.scalars(db.select(UploadedFile).filter_by(public_id=upload["file"])).first()
    if stored is None:
        return []
    return [
        HelpAttachment(
            filename=stored.filename,
            content_type=stored.content_type,
            size=stored.size,
            data=stored.data,
        )
    ]
