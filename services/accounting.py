"""What the agent comptable reads: invoices and payments lists, the day's export, the watch list.

Everything is scoped to the schools the caller passes (those where the signed-in account is
accountant or administrator): an invoice or payment of another school is never returned.
Searches by name ignore case and accents: the database cannot fold accents portably, so the
text filter reads a light list of the filtered rows' names and folds them here, then loads
only the page shown. Nothing here writes, except `recheck` through the checkout service.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload

from engine.templates import euros
from extensions import db
from forms.fields import format_euros
from models import (
    AuditEvent,
    Guardian,
    GuardianLink,
    Invoice,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Pupil,
)
from models.base import utcnow
from services.billing import InvoiceLine, InvoiceState, invoice_lines
from services.identity import fold
from services.payments import checkout
from services.payments.gateway import EXPIRE_AFTER, PARIS

PAGE_SIZE = 50
T = TypeVar("T")
EXPORT_HEADER = (
    "date",
    "heure",
    "ticket",
    "facture",
    "eleve",
    "classe",
    "payeur",
    "moyen",
    "montant",
    "autorisation",
    "reference",
)
# How the accounting software reads the method: short, accent-free codes.
EXPORT_METHODS = {
    PaymentMethod.ONLINE: "carte",
    PaymentMethod.CHEQUE: "cheque",
    PaymentMethod.CASH: "especes",
    PaymentMethod.TRANSFER: "virement",
}


def paris_today(now: datetime | None = None) -> date:
    """Return today's date in the schools' time zone."""
    return (now or utcnow()).astimezone(PARIS).date()


def paris_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """Return the UTC instants that open the first day and close the last one, Paris time."""
    start = datetime.combine(first, time(), PARIS)
    end = datetime.combine(last + timedelta(days=1), time(), PARIS)
    return start.astimezone(UTC), end.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list: its rows, how many rows match in all, and where it stands."""

    items: list[T]
    total: int
    number: int
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        """Return how many pages the list has (at least one)."""
        return max((self.total + self.size - 1) // self.size, 1)


def _page_number(page: int) -> int:
    return max(page, 1)


def _words(text: str) -> list[str]:
    return fold(text).split()


def _matches(words: list[str], *parts: str | None) -> bool:
    haystack = fold(" ".join(part for part in parts if part))
    return all(word in haystack for word in words)


def _names(first: str | None, last: str | None, usage: str | None) -> str:
    return " ".join(part for part in (first, last, usage) if part)


# -- invoices --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InvoiceFilters:
    """The filters of the invoices list; None or empty means any."""

    issued_from: date | None = None
    issued_to: date | None = None
    class_code: str | None = None
    state: InvoiceState | None = None
    text: str = ""


def _state_condition(
    state: InvoiceState, today: date, paid: sa.ColumnElement[int]
) -> sa.ColumnElement[bool]:
    # The SQL twin of services.billing.state_of (a test checks they agree on every state).
    open_ = Invoice.cancelled_at.is_(None)
    unpaid = sa.and_(open_, paid < Invoice.amount_cents)
    online = sa.and_(unpaid, Invoice.payable_online.is_(True))
    current = sa.and_(online, Invoice.due_on >= today)
    conditions = {
        InvoiceState.CANCELLED: Invoice.cancelled_at.is_not(None),
        InvoiceState.PAID: sa.and_(open_, paid >= Invoice.amount_cents),
        InvoiceState.DIRECT_DEBIT: sa.and_(unpaid, Invoice.payable_online.is_(False)),
        InvoiceState.OVERDUE: sa.and_(online, Invoice.due_on < today),
        InvoiceState.PARTIAL: sa.and_(current, paid > 0),
        InvoiceState.TO_PAY: sa.and_(current, paid == 0),
    }
    return conditions[state]


def _filtered_invoices(
    school_ids: list[int], filters: InvoiceFilters, today: date
) -> sa.Select[Any]:
    payer = aliased(Guardian)
    query = (
        sa.select(
            Invoice.id,
            Invoice.number,
            Invoice.pupil_id,
            Pupil.first_name,
            Pupil.last_name,
            Pupil.usage_name,
            Pupil.ine,
            Pupil.siecle_id,
            payer.first_name.label("payer_first"),
            payer.last_name.label("payer_last"),
            payer.usage_name.label("payer_usage"),
        )
        .join(Pupil, Pupil.id == Invoice.pupil_id)
        .outerjoin(payer, payer.id == Invoice.payer_id)
        .where(Invoice.school_id.in_(school_ids))
    )
    if filters.issued_from:
        query = query.where(Invoice.issued_on >= filters.issued_from)
    if filters.issued_to:
        query = query.where(Invoice.issued_on <= filters.issued_to)
    if filters.class_code:
        query = query.where(Pupil.class_code == filters.class_code)
    if filters.state:
        sums = (
            sa.select(Payment.invoice_id, sa.func.sum(Payment.amount_cents).label("paid"))
            .where(Payment.school_id.in_(school_ids), Payment.status == PaymentStatus.PAID)
            .group_by(Payment.invoice_id)
            .subquery()
        )
        query = query.outerjoin(sums, sums.c.invoice_id == Invoice.id).where(
            _state_condition(filters.state, today, sa.func.coalesce(sums.c.paid, 0))
        )
    return query.order_by(Invoice.issued_on.desc(), Invoice.number.desc(), Invoice.id.desc())


def _legal_guardian_names(school_ids: Iterable[int]) -> dict[int, list[str]]:
    rows = db.session.execute(
        sa.select(
            GuardianLink.pupil_id, Guardian.first_name, Guardian.last_name, Guardian.usage_name
        )
        .join(Guardian, Guardian.id == GuardianLink.guardian_id)
        .where(Guardian.school_id.in_(list(school_ids)), GuardianLink.is_legal.is_(True))
    )
    names: dict[int, list[str]] = defaultdict(list)
    for pupil_id, first, last, usage in rows:
        names[pupil_id].append(_names(first, last, usage))
    return names


def _page_ids(
    query: sa.Select[Any],
    page: int,
    matches: Callable[[sa.Row[Any]], bool] | None,
) -> tuple[list[int], int]:
    if matches is None:
        total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
        ids = list(
            db.session.scalars(
                query.with_only_columns(query.selected_columns[0])
                .limit(PAGE_SIZE)
                .offset((page - 1) * PAGE_SIZE)
            )
        )
        return ids, total
    found = [row[0] for row in db.session.execute(query) if matches(row)]
    return found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE], len(found)


def invoice_page(
    school_ids: Iterable[int], filters: InvoiceFilters, page: int, today: date
) -> Page[InvoiceLine]:
    """Return one page of the schools' invoices matching the filters, newest first."""
    school_ids = list(school_ids)
    page = _page_number(page)
    query = _filtered_invoices(school_ids, filters, today)
    words = _words(filters.text)
    matches: Callable[[sa.Row[Any]], bool] | None = None
    if words:
        guardians = _legal_guardian_names(school_ids)

        def match(row: sa.Row[Any]) -> bool:
            return _matches(
                words,
                row.number,
                _names(row.first_name, row.last_name, row.usage_name),
                row.ine,
                row.siecle_id,
                _names(row.payer_first, row.payer_last, row.payer_usage),
                *guardians.get(row.pupil_id, ()),
            )

        matches = match
    ids, total = _page_ids(query, page, matches)
    invoices = _load(Invoice, ids, Invoice.pupil, Invoice.payer, Invoice.school)
    return Page(invoice_lines(invoices, today), total, page)


def _load(model: type[T], ids: Sequence[int], *relations: Any) -> list[T]:
    if not ids:
        return []
    query = sa.select(model).where(model.id.in_(ids))  # type: ignore[attr-defined]
    for relation in relations:
        query = query.options(joinedload(relation))
    by_id = {row.id: row for row in db.session.scalars(query).unique()}  # type: ignore[attr-defined]
    return [by_id[i] for i in ids if i in by_id]


def class_codes(school_ids: Iterable[int]) -> list[str]:
    """Return the class codes of the schools' pupils, sorted."""
    query = (
        sa.select(Pupil.class_code)
        .where(Pupil.school_id.in_(list(school_ids)), Pupil.class_code.is_not(None))
        .distinct()
        .order_by(Pupil.class_code)
    )
    return [code for code in db.session.scalars(query) if code]


def invoice_in_scope(school_ids: Iterable[int], invoice_id: int) -> Invoice | None:
    """Return an invoice of one of these schools, else None."""
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None or invoice.school_id not in set(school_ids):
        return None
    return invoice


def payment_in_scope(school_ids: Iterable[int], payment_id: int) -> Payment | None:
    """Return a payment of one of these schools, else None."""
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.school_id not in set(school_ids):
        return None
    return payment


# -- the invoice's audit trail ---------------------------------------------------------------

_ACTIONS = {
    "invoice.created": "Facture créée",
    "invoice.updated": "Facture mise à jour par un import",
    "invoice.corrected": "Facture corrigée",
    "invoice.cancelled": "Facture annulée",
    "payment.reserved": "Paiement en ligne commencé",
    "payment.paid": "Paiement en ligne accepté",
    "payment.refused": "Paiement en ligne refusé",
    "payment.abandoned": "Paiement en ligne abandonné",
    "payment.expired": "Paiement en ligne expiré",
    "payment.failed": "Paiement en ligne en échec technique",
    "payment.in_doubt": "Paiement en doute",
    "payment.recorded": "Paiement enregistré au guichet",
    "payment.resolved": "Paiement en doute réglé à la main",
    "payment.voided": "Paiement enregistré annulé",
}
_FIELDS = {
    "label": "objet",
    "amount_cents": "montant",
    "due_on": "échéance",
    "issued_on": "émission",
    "payable_online": "paiement en ligne",
    "payer": "payeur",
    "payer_id": "payeur",
    "pupil_id": "élève",
}


@dataclass(frozen=True, slots=True)
class TrailEntry:
    """One line of an invoice's history: when, who, what, and the details in French."""

    at: datetime
    who: str
    what: str
    details: list[str]


def _shown(name: str, value: Any) -> str:
    if value is None or value == "":
        return "aucun"
    if name == "amount_cents" and isinstance(value, int):
        return euros(value)
    if isinstance(value, bool):
        return "oui" if value else "non"
    if name in ("due_on", "issued_on") and isinstance(value, str):
        try:
            return date.fromisoformat(value).strftime("%d/%m/%Y")
        except ValueError:
            return value
    return str(value)


def _details(event: AuditEvent) -> list[str]:
    data = event.data or {}
    details: list[str] = []
    before, after = data.get("before"), data.get("after")
    if isinstance(before, dict) and isinstance(after, dict):
        for name in after:
            details.append(
                f"{_FIELDS.get(name, name)} : {_shown(name, before.get(name))} → "
                f"{_shown(name, after[name])}"
            )
    if "old_amount_cents" in data and data.get("old_amount_cents") != data.get("new_amount_cents"):
        details.append(
            f"montant : {_shown('amount_cents', data['old_amount_cents'])} → "
            f"{_shown('amount_cents', data.get('new_amount_cents'))}"
        )
    if data.get("changed") and "before" not in data:
        details.append("champs modifiés : " + ", ".join(_FIELDS.get(c, c) for c in data["changed"]))
    if event.target_type == "Payment" and isinstance(data.get("amount_cents"), int):
        details.append(f"montant : {euros(data['amount_cents'])}")
    if data.get("method"):
        try:
            details.append(f"moyen : {PaymentMethod(data['method']).label}")
        except ValueError:
            details.append(f"moyen : {data['method']}")
    if data.get("reason"):
        details.append(f"motif : {data['reason']}")
    return details


def invoice_trail(invoice: Invoice) -> list[TrailEntry]:
    """Return the audit events of an invoice and of its payments, oldest first."""
    payment_ids = [str(payment.id) for payment in invoice.payments]
    targets = sa.and_(AuditEvent.target_type == "Invoice", AuditEvent.target_id == str(invoice.id))
    if payment_ids:
        targets = sa.or_(
            targets,
            sa.and_(AuditEvent.target_type == "Payment", AuditEvent.target_id.in_(payment_ids)),
        )
    events = db.session.scalars(
        sa.select(AuditEvent).where(targets).order_by(AuditEvent.created_at, AuditEvent.id)
    )
    return [
        TrailEntry(
            at=event.created_at,
            who=event.actor_label or "—",
            what=_ACTIONS.get(event.action, event.action),
            details=_details(event),
        )
        for event in events
    ]


# -- payments --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaymentFilters:
    """The filters of the payments list; None or empty means any."""

    date_from: date | None = None
    date_to: date | None = None
    class_code: str | None = None
    status: PaymentStatus | None = None
    method: PaymentMethod | None = None
    text: str = ""


@dataclass(frozen=True, slots=True)
class PaymentPage:
    """A page of payments, with the count and sum of the PAID ones among all that match."""

    page: Page[Payment]
    paid_count: int
    paid_cents: int


def payment_time() -> sa.ColumnElement[datetime]:
    """Return when a payment happened: paid_at once paid, else when it was created."""
    return sa.func.coalesce(Payment.paid_at, Payment.created_at)


def _filtered_payments(school_ids: Iterable[int], filters: PaymentFilters) -> sa.Select[Any]:
    by, payer = aliased(Guardian), aliased(Guardian)
    when = payment_time()
    query = (
        sa.select(
            Payment.id,
            Payment.status,
            Payment.amount_cents,
            Payment.ticket_number,
            Payment.refdet,
            Payment.payer_email,
            Payment.note,
            Invoice.number,
            Pupil.first_name,
            Pupil.last_name,
            Pupil.usage_name,
            by.first_name.label("by_first"),
            by.last_name.label("by_last"),
            by.usage_name.label("by_usage"),
            payer.first_name.label("payer_first"),
            payer.last_name.label("payer_last"),
            payer.usage_name.label("payer_usage"),
        )
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .join(Pupil, Pupil.id == Invoice.pupil_id)
        .outerjoin(by, by.id == Payment.guardian_id)
        .outerjoin(payer, payer.id == Invoice.payer_id)
        .where(Payment.school_id.in_(list(school_ids)))
    )
    if filters.date_from:
        query = query.where(when >= paris_bounds(filters.date_from, filters.date_from)[0])
    if filters.date_to:
        query = query.where(when < paris_bounds(filters.date_to, filters.date_to)[1])
    if filters.class_code:
        query = query.where(Pupil.class_code == filters.class_code)
    if filters.status:
        query = query.where(Payment.status == filters.status)
    if filters.method:
        query = query.where(Payment.method == filters.method)
    return query.order_by(when.desc(), Payment.id.desc())


def payment_page(school_ids: Iterable[int], filters: PaymentFilters, page: int) -> PaymentPage:
    """Return one page of the schools' payments matching the filters, latest first."""
    page = _page_number(page)
    query = _filtered_payments(school_ids, filters)
    words = _words(filters.text)
    if words:
        rows = [
            row
            for row in db.session.execute(query)
            if _matches(
                words,
                row.number,
                row.ticket_number,
                row.refdet,
                row.payer_email,
                row.note,
                _names(row.first_name, row.last_name, row.usage_name),
                _names(row.by_first, row.by_last, row.by_usage),
                _names(row.payer_first, row.payer_last, row.payer_usage),
            )
        ]
        ids = [row.id for row in rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]]
        total = len(rows)
        paid = [row.amount_cents for row in rows if row.status == PaymentStatus.PAID]
        paid_count, paid_cents = len(paid), sum(paid)
    else:
        ids, total = _page_ids(query, page, None)
        matching = query.subquery()
        paid_count, paid_cents = db.session.execute(
            sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(matching.c.amount_cents), 0))
            .select_from(matching)
            .where(matching.c.status == PaymentStatus.PAID)
        ).one()
    payments = _load(
        Payment, ids, Payment.invoice, Payment.guardian, Payment.recorded_by, Payment.school
    )
    return PaymentPage(Page(payments, total, page), int(paid_count), int(paid_cents))


# -- the day's export ------------------------------------------------------------------------


def day_payments(school_ids: Iterable[int], day: date) -> list[Payment]:
    """Return the schools' PAID payments recorded on a Paris day, in order.

    By the day Guichet recorded them (settled_at), not the day they were made: a cheque
    dated Friday but typed in on Monday, or a card payment the bank confirmed after
    midnight, goes into Monday's file instead of a file already sent.
    """
    start, end = paris_bounds(day, day)
    query = (
        sa.select(Payment)
        .where(
            Payment.school_id.in_(list(school_ids)),
            Payment.status == PaymentStatus.PAID,
            Payment.settled_at >= start,
            Payment.settled_at < end,
        )
        .options(
            joinedload(Payment.invoice).joinedload(Invoice.pupil),
            joinedload(Payment.invoice).joinedload(Invoice.payer),
            joinedload(Payment.guardian),
        )
        .order_by(Payment.settled_at, Payment.id)
    )
    return list(db.session.scalars(query).unique())


def payer_name(payment: Payment) -> str:
    """Return who paid: the paying guardian, else the invoice's payer, else the email used."""
    guardian = payment.guardian or payment.invoice.payer
    if guardian is not None:
        return guardian.display_name
    return payment.payer_email or ""


def export_row(payment: Payment) -> list[str]:
    """Return a payment as one line of the accounting export."""
    paid_at = (payment.paid_at or payment.created_at).astimezone(PARIS)
    invoice = payment.invoice
    reference = payment.refdet if payment.method is PaymentMethod.ONLINE else payment.note
    return [
        paid_at.strftime("%d/%m/%Y"),
        paid_at.strftime("%H:%M:%S"),
        payment.ticket_number or "",
        invoice.number,
        invoice.pupil.display_name,
        invoice.pupil.class_code or "",
        payer_name(payment),
        EXPORT_METHODS[payment.method],
        format_euros(payment.amount_cents),
        payment.authorisation or "",
        reference or "",
    ]


def export_csv(payments: Iterable[Payment]) -> bytes:
    """Write payments as the accounting CSV: UTF-8 with BOM, `;`, decimal commas."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(EXPORT_HEADER)
    writer.writerows(export_row(payment) for payment in payments)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def export_filename(day: date, uai: str | None = None) -> str:
    """Return the export's file name: paiements-UAI-YYYY-MM-DD.csv."""
    return f"paiements-{uai + '-' if uai else ''}{day.isoformat()}.csv"


# -- payments in progress or in doubt --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WatchedPayment:
    """A payment the accountant should look at: still pending, or with an anomaly."""

    payment: Payment
    age: timedelta

    @property
    def in_doubt(self) -> bool:
        """Tell whether the bank's answer is overdue or could not be trusted."""
        return self.payment.anomaly is not None or (
            self.payment.status is PaymentStatus.PENDING and self.age > EXPIRE_AFTER
        )

    @property
    def age_text(self) -> str:
        """Return the age in French: '12 min', '2 h 05', '3 j'."""
        minutes = int(self.age.total_seconds() // 60)
        if minutes < 60:
            return f"{max(minutes, 0)} min"
        if minutes < 24 * 60:
            return f"{minutes // 60} h {minutes % 60:02d}"
        return f"{minutes // (24 * 60)} j"


WATCH_SETTLED_FOR = timedelta(days=30)


def watched_payments(
    school_ids: Iterable[int], now: datetime | None = None
) -> list[WatchedPayment]:
    """Return the schools' pending payments and those with an anomaly, oldest first."""
    now = now or utcnow()
    query = (
        sa.select(Payment)
        .where(
            Payment.school_id.in_(list(school_ids)),
            sa.or_(
                # Payments in doubt stay PENDING until the bank or an accountant settles them.
                Payment.status == PaymentStatus.PENDING,
                # Money the bank took after Guichet had given up: a possible overpayment.
                sa.and_(
                    Payment.status == PaymentStatus.PAID,
                    Payment.anomaly.is_not(None),
                    Payment.recorded_by_id.is_(None),
                    Payment.settled_at >= now - WATCH_SETTLED_FOR,
                ),
            ),
        )
        .options(
            joinedload(Payment.invoice).joinedload(Invoice.pupil),
            joinedload(Payment.guardian),
            joinedload(Payment.school),
        )
        .order_by(Payment.created_at, Payment.id)
    )
    return [
        WatchedPayment(payment, now - payment.created_at)
        for payment in db.session.scalars(query).unique()
    ]


def recheck(payment: Payment, now: datetime | None = None) -> tuple[bool, str]:
    """Ask the bank about a payment now; return (changed, what to tell the accountant)."""
    label = f"Paiement {payment.refdet or payment.id} ({euros(payment.amount_cents)})"
    if payment.status is not PaymentStatus.PENDING:
        return False, f"{label} : déjà réglé, statut « {payment.status.label} »."
    # settle() works on this very object (the session's identity map): no refresh, which
    # would drop its unflushed changes.
    changed = checkout.check(payment, now)
    if changed:
        return True, f"{label} : statut « {payment.status.label} »."
    if payment.anomaly:
        return False, f"{label} : toujours en doute. {payment.anomaly}"
    return False, f"{label} : la banque n'a pas encore donné d'issue, il reste en cours."
