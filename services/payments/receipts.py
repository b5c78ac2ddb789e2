"""Payment tickets: the proof a family keeps, on screen, as a PDF and by email."""

from __future__ import annotations

import sqlalchemy as sa

from extensions import db
from models import Payment, PaymentStatus
from services.mail import Attachment, send_email
from services.tickets import TicketDocument, render_pdf, ticket_filename
from services.urls import public_url


def remaining_after(payment: Payment) -> int:
    """Return what was left to pay on the invoice once this payment was counted."""
    paid_until_then = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Payment.amount_cents), 0)).where(
            Payment.invoice_id == payment.invoice_id,
            Payment.status == PaymentStatus.PAID,
            Payment.id <= payment.id,
        )
    )
    return max(payment.invoice.amount_cents - int(paid_until_then or 0), 0)


def _name(person: object | None) -> str:
    if person is None:
        return ""
    last = getattr(person, "usage_name", None) or getattr(person, "last_name", "")
    return f"{getattr(person, 'first_name', '')} {last}".strip()


def ticket_of(payment: Payment) -> TicketDocument:
    """Describe the ticket of a paid payment."""
    if payment.status is not PaymentStatus.PAID or payment.ticket_number is None:
        raise ValueError("only a paid payment has a ticket")
    invoice, school = payment.invoice, payment.school
    payer = payment.guardian
    if payer is None and payment.account is not None:
        payer = next(iter(payment.account.guardians), None)
    return TicketDocument(
        number=payment.ticket_number,
        paid_at=payment.paid_at or payment.settled_at or payment.created_at,
        school_name=school.name,
        school_address=school.address,
        school_uai=school.uai,
        invoice_number=invoice.number,
        invoice_label=invoice.label,
        pupil_name=_name(invoice.pupil),
        payer_name=_name(payer) or (payment.payer_email or ""),
        amount_cents=payment.amount_cents,
        method_label=payment.method.label,
        authorisation=payment.authorisation,
        remaining_cents=remaining_after(payment),
        reference=payment.refdet or (payment.note or ""),
    )


def email_ticket(payment: Payment) -> None:
    """Email the ticket (text, HTML and PDF) to the payer; it leaves after the commit."""
    if not payment.payer_email:
        return
    ticket = ticket_of(payment)
    send_email(
        payment.payer_email,
        f"Ticket de paiement n° {ticket.number} — {payment.school.name}",
        "payment_ticket",
        school_id=payment.school_id,
        attachments=[Attachment(ticket_filename(ticket), "application/pdf", render_pdf(ticket))],
        ticket=ticket,
        tickets_url=public_url("payments.history"),
    )
