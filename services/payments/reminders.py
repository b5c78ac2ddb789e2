"""Reminder emails before an unpaid invoice's due date (once per invoice)."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from extensions import db
from models import GuardianLink, Invoice
from models.base import utcnow
from services.billing import balances
from services.mail import send_email
from services.urls import public_url
from services.workflow_store import definition_of, published_version

PAYMENT_WORKFLOW = "paiement"
DEFAULT_DAYS_BEFORE = 7


def days_before_due() -> int:
    """Return how many days before the due date to remind, from paiement.yaml's settings."""
    version = published_version(PAYMENT_WORKFLOW)
    if version is None:
        return DEFAULT_DAYS_BEFORE
    value = definition_of(version).settings.get("rappel_jours_avant_echeance")
    return value if isinstance(value, int) and value >= 0 else DEFAULT_DAYS_BEFORE


def invoices_to_remind(today: date, days_before: int) -> list[Invoice]:
    """Return payable invoices due within `days_before` days, unpaid and not yet reminded."""
    candidates = list(
        db.session.scalars(
            sa.select(Invoice)
            .where(
                Invoice.cancelled_at.is_(None),
                Invoice.payable_online.is_(True),
                Invoice.reminder_sent_at.is_(None),
                Invoice.due_on >= today,
                Invoice.due_on <= today + timedelta(days=days_before),
            )
            .order_by(Invoice.due_on, Invoice.id)
        )
    )
    found = balances(candidates)
    return [invoice for invoice in candidates if found[invoice.id].available > 0]


def recipients(invoice: Invoice) -> list[str]:
    """Return the addresses of the pupil's legal guardians: confirmed account, else SIECLE."""
    links = db.session.scalars(
        sa.select(GuardianLink).where(
            GuardianLink.pupil_id == invoice.pupil_id,
            GuardianLink.is_legal.is_(True),
            GuardianLink.active.is_(True),
        )
    )
    addresses: dict[str, str] = {}
    for link in links:
        account = link.guardian.account
        if account is not None and account.email and account.email_confirmed_at:
            address = account.email
        else:
            address = link.guardian.email or ""
        if address:
            addresses.setdefault(address.lower(), address)
    return list(addresses.values())


def send_reminders(today: date, days_before: int | None = None) -> int:
    """Email the reminders due today; return how many invoices were reminded."""
    days = days_before_due() if days_before is None else days_before
    invoices = invoices_to_remind(today, days)
    found = balances(invoices)
    reminded = 0
    for invoice in invoices:
        for address in recipients(invoice):
            send_email(
                address,
                f"Facture {invoice.number} à payer avant le {invoice.due_on:%d/%m/%Y}",
                "invoice_reminder",
                school_id=invoice.school_id,
                invoice=invoice,
                remaining=found[invoice.id].remaining,
                invoices_url=public_url("payments.invoices"),
            )
        invoice.reminder_sent_at = utcnow()
        reminded += 1
    return reminded
