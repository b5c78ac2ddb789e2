"""Balances of invoices, computed from their payments, and what a family may pay online.

Nothing about money is stored twice: an invoice's paid amount is the sum of its PAID
payments, and the amount in progress the sum of its PENDING ones (reserved against the
balance until the bank answers).
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, joinedload

from engine.templates import euros
from extensions import db
from models import (
    Account,
    Guardian,
    GuardianLink,
    Invoice,
    Payment,
    PaymentStatus,
    Pupil,
    School,
)

# PayFiP refuses payments under 1 €: a smaller balance is settled with the agent comptable.
MIN_ONLINE_CENTS = 100


@dataclass(frozen=True, slots=True)
class Balance:
    """An invoice's amount, what was paid and what payments in progress hold, in cents."""

    amount: int
    paid: int = 0
    in_progress: int = 0

    @property
    def remaining(self) -> int:
        """Return what the family still owes."""
        return max(self.amount - self.paid, 0)

    @property
    def available(self) -> int:
        """Return what may still be paid now: the balance less payments in progress."""
        return max(self.remaining - self.in_progress, 0)


class InvoiceState(enum.StrEnum):
    """The status a parent and an accountant read on an invoice."""

    TO_PAY = "a_payer"
    PARTIAL = "partielle"
    PAID = "payee"
    OVERDUE = "echue"
    DIRECT_DEBIT = "prelevement"
    CANCELLED = "annulee"

    @property
    def label(self) -> str:
        """Return the status in French."""
        return _STATE_LABELS[self]

    @property
    def badge(self) -> str:
        """Return the DSFR badge modifier that colours this status."""
        return _STATE_BADGES[self]


_STATE_LABELS = {
    InvoiceState.TO_PAY: "À payer",
    InvoiceState.PARTIAL: "Partiellement payée",
    InvoiceState.PAID: "Payée",
    InvoiceState.OVERDUE: "Échue",
    InvoiceState.DIRECT_DEBIT: "Prélèvement",
    InvoiceState.CANCELLED: "Annulée",
}
_STATE_BADGES = {
    InvoiceState.TO_PAY: "fr-badge--info",
    InvoiceState.PARTIAL: "fr-badge--new",
    InvoiceState.PAID: "fr-badge--success",
    InvoiceState.OVERDUE: "fr-badge--error",
    InvoiceState.DIRECT_DEBIT: "",
    InvoiceState.CANCELLED: "",
}


def balances(invoices: Iterable[Invoice]) -> dict[int, Balance]:
    """Return the balance of each invoice, with one query for all of them."""
    by_id = {invoice.id: invoice for invoice in invoices}
    sums: dict[int, dict[PaymentStatus, int]] = defaultdict(dict)
    if by_id:
        rows = db.session.execute(
            sa.select(Payment.invoice_id, Payment.status, sa.func.sum(Payment.amount_cents))
            .where(
                Payment.invoice_id.in_(by_id),
                Payment.status.in_((PaymentStatus.PAID, PaymentStatus.PENDING)),
            )
            .group_by(Payment.invoice_id, Payment.status)
        )
        for invoice_id, status, total in rows:
            sums[invoice_id][PaymentStatus(status)] = int(total or 0)
    return {
        invoice_id: Balance(
            invoice.amount_cents,
            sums[invoice_id].get(PaymentStatus.PAID, 0),
            sums[invoice_id].get(PaymentStatus.PENDING, 0),
        )
        for invoice_id, invoice in by_id.items()
    }


def balance_of(invoice: Invoice) -> Balance:
    """Return one invoice's balance."""
    return balances([invoice])[invoice.id]


class Dated(Protocol):
    """What the status rules read of an invoice (an Invoice, or a row of its columns)."""

    cancelled_at: datetime | None
    payable_online: bool
    due_on: date


def state_of(invoice: Dated, balance: Balance, today: date) -> InvoiceState:
    """Tell where an invoice stands on a given day."""
    if invoice.cancelled_at is not None:
        return InvoiceState.CANCELLED
    if balance.remaining == 0:
        return InvoiceState.PAID
    if not invoice.payable_online:
        return InvoiceState.DIRECT_DEBIT
    if invoice.due_on < today:
        return InvoiceState.OVERDUE
    if balance.paid > 0:
        return InvoiceState.PARTIAL
    return InvoiceState.TO_PAY


def why_not_payable(invoice: Dated, balance: Balance, today: date) -> str | None:
    """Explain in French why an invoice cannot be paid online now, or None if it can."""
    return _why_not(state_of(invoice, balance, today), balance)


def _why_not(state: InvoiceState, balance: Balance) -> str | None:
    if state is InvoiceState.CANCELLED:
        return "Cette facture a été annulée par l'établissement : vous n'avez rien à payer."
    if state is InvoiceState.PAID:
        return "Cette facture est entièrement payée."
    if state is InvoiceState.DIRECT_DEBIT:
        return (
            "Cette facture est réglée par prélèvement ou par un autre moyen convenu avec "
            "l'établissement : elle ne se paie pas en ligne."
        )
    if state is InvoiceState.OVERDUE:
        return (
            "La date d'échéance est passée : le paiement en ligne n'est plus possible. "
            "Contactez l'agent comptable de l'établissement."
        )
    if balance.available == 0 or (balance.in_progress and balance.available < MIN_ONLINE_CENTS):
        return (
            "Un paiement est en cours pour le reste de cette facture. Si vous avez quitté la "
            "page de la banque, il sera annulé d'ici 20 minutes."
        )
    if balance.available < MIN_ONLINE_CENTS:
        return (
            f"Le reste à payer ({euros(balance.available)}) est inférieur au minimum d'un "
            f"paiement en ligne ({euros(MIN_ONLINE_CENTS)}) : réglez-le auprès de l'agent "
            "comptable."
        )
    return None


def family_pupil_ids(account: Account | sa.BindParameter[int]) -> sa.Select[tuple[int]]:
    """Return a subquery of the pupils this account is an active legal guardian of."""
    account_id = account if isinstance(account, sa.BindParameter) else account.id
    return (
        sa.select(GuardianLink.pupil_id)
        .join(Guardian, Guardian.id == GuardianLink.guardian_id)
        .where(
            Guardian.account_id == account_id,
            GuardianLink.is_legal.is_(True),
            GuardianLink.active.is_(True),
        )
    )


def _sum_of(status: PaymentStatus) -> sa.ScalarSelect[int]:
    # Correlated to each invoice row: uses the payments' invoice index, whatever the size
    # of the payments table.
    return (
        sa.select(sa.func.coalesce(sa.func.sum(Payment.amount_cents), 0))
        .where(Payment.invoice_id == Invoice.id, Payment.status == status)
        .correlate(Invoice)
        .scalar_subquery()
    )


def _family_query(account: Account | sa.BindParameter[int]) -> sa.Select:
    return (
        sa.select(Invoice)
        .join(Pupil, Pupil.id == Invoice.pupil_id)
        .where(Invoice.pupil_id.in_(family_pupil_ids(account)))
        .order_by(Invoice.issued_on.desc(), Invoice.number.desc())
        # The page shows each invoice's pupil and school: load them in this one query
        # (the pupil from the join above) rather than one lazy load per pupil and school.
        .options(contains_eager(Invoice.pupil), joinedload(Invoice.school, innerjoin=True))
    )


@dataclass(frozen=True, slots=True)
class FamilyInvoice:
    """An invoice as the family's page shows it: plain values read in one statement."""

    id: int
    number: str
    label: str
    issued_on: date
    due_on: date
    pupil_name: str
    school_name: str
    school_address: str
    school_email: str
    school_phone: str
    balance: Balance
    state: InvoiceState
    blocked_reason: str | None
    # The amounts and dates as the page prints them (formatted here: cheaper than in Jinja).
    amount_text: str = ""
    paid_text: str = ""
    remaining_text: str = ""
    in_progress_text: str = ""
    due_text: str = ""
    issued_text: str = ""

    @property
    def payable(self) -> bool:
        """Tell whether the PAYER button is offered (before the email check)."""
        return self.blocked_reason is None

    @property
    def state_label(self) -> str:
        """Return the status in French."""
        return _STATE_LABELS[self.state]

    @property
    def badge(self) -> str:
        """Return the DSFR badge modifier of the status."""
        return _STATE_BADGES[self.state]


@cache
def _family_page_query() -> sa.Select:
    # Built once per process (composing it costs more than running it), and only the
    # columns the page shows: no ORM objects to build for a read-only page.
    account = sa.bindparam("account_id", type_=sa.Integer)
    columns = (
        Invoice.id, Invoice.number, Invoice.label, Invoice.issued_on, Invoice.due_on,
        Invoice.amount_cents, Invoice.payable_online, Invoice.cancelled_at,
        Pupil.first_name, sa.func.coalesce(Pupil.usage_name, Pupil.last_name).label("name"),
        School.name.label("school_name"), School.address, School.accountant_email, School.phone,
        _sum_of(PaymentStatus.PAID).label("paid"),
        _sum_of(PaymentStatus.PENDING).label("pending"),
    )  # fmt: skip
    return (
        sa.select(*columns)
        .join(Pupil, Pupil.id == Invoice.pupil_id)
        .join(School, School.id == Invoice.school_id)
        .where(Invoice.pupil_id.in_(family_pupil_ids(account)))
        .order_by(Invoice.issued_on.desc(), Invoice.number.desc())
    )


def family_invoices(account: Account) -> list[Invoice]:
    """Return every invoice of the pupils this account is legal guardian of, newest first."""
    return list(db.session.scalars(_family_query(account)))


def family_payments(account: Account, since: datetime) -> list[Payment]:
    """Return the account's own payments and the paid ones of its family's invoices
    (the other parent's, the counter's) made since a moment, newest first."""
    family = sa.select(Invoice.id).where(Invoice.pupil_id.in_(family_pupil_ids(account)))
    query = (
        sa.select(Payment)
        .where(
            Payment.created_at >= since,
            sa.or_(
                Payment.account_id == account.id,
                sa.and_(Payment.invoice_id.in_(family), Payment.status == PaymentStatus.PAID),
            ),
        )
        .order_by(Payment.created_at.desc(), Payment.id.desc())
        .options(joinedload(Payment.invoice))
    )
    return list(db.session.scalars(query))


def family_invoice_lines(account: Account, today: date) -> list[FamilyInvoice]:
    """Describe the family's invoices for its page, newest first: invoices, pupils, schools
    and balances in one statement."""
    lines = []
    # A Core statement: the connection runs it without the ORM's per-statement work.
    rows = db.session.connection().execute(_family_page_query(), {"account_id": account.id})
    for row in rows:
        balance = Balance(row.amount_cents, int(row.paid), int(row.pending))
        state = state_of(row, balance, today)
        lines.append(
            FamilyInvoice(
                id=row.id,
                number=row.number,
                label=row.label,
                issued_on=row.issued_on,
                due_on=row.due_on,
                pupil_name=f"{row.first_name} {row.name}",
                school_name=row.school_name,
                school_address=row.address,
                school_email=row.accountant_email,
                school_phone=row.phone,
                balance=balance,
                state=state,
                blocked_reason=_why_not(state, balance),
                amount_text=euros(balance.amount),
                paid_text=euros(balance.paid),
                remaining_text=euros(balance.remaining),
                in_progress_text=euros(balance.in_progress) if balance.in_progress else "",
                due_text=_day(row.due_on),
                issued_text=_day(row.issued_on),
            )
        )
    return lines


def _day(day: date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


def may_pay(account: Account, invoice: Invoice) -> bool:
    """Tell whether this account is a legal guardian of the invoice's pupil."""
    pupils = family_pupil_ids(account).where(GuardianLink.pupil_id == invoice.pupil_id)
    return db.session.scalar(pupils.limit(1)) is not None


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """An invoice as the family's page shows it."""

    invoice: Invoice
    balance: Balance
    state: InvoiceState
    blocked_reason: str | None

    @property
    def payable(self) -> bool:
        """Tell whether the PAYER button is offered (before the email check)."""
        return self.blocked_reason is None


def invoice_lines(invoices: list[Invoice], today: date) -> list[InvoiceLine]:
    """Describe invoices for display, with one balance query."""
    found = balances(invoices)
    return [_line(invoice, found[invoice.id], today) for invoice in invoices]


def _line(invoice: Invoice, balance: Balance, today: date) -> InvoiceLine:
    state = state_of(invoice, balance, today)
    return InvoiceLine(invoice, balance, state, why_not_payable(invoice, balance, today))
