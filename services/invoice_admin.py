"""What the agent comptable changes on invoices: create one by hand, correct it, cancel it, and
record or void a payment handed over at the counter (through the checkout service).

Every change is audited with the staff member who made it. Corrections and cancellations
lock the invoice row first (as reserving a payment does), so the balance they check cannot
move under them. Services flush, the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from engine.templates import euros
from extensions import db
from models import Account, Guardian, GuardianLink, Invoice, Payment, Pupil, School
from models.base import utcnow
from services import audit
from services.billing import balance_of
from services.invoice_import import MAX_CENTS
from services.payments import checkout
from services.payments.checkout import OfflinePayment, PaymentError


class InvoiceAdminError(ValueError):
    """A change to an invoice that cannot be made, explained in French.

    `field` names the form field the message belongs to, when there is one.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# -- lookups ---------------------------------------------------------------------------------


def find_pupil(school: School, ref: str) -> Pupil | None:
    """Return the school's pupil with this SIECLE ELEVE_ID or INE, as the CSV import reads it."""
    ref = ref.strip()
    if not ref:
        return None
    by_siecle = db.session.scalars(
        sa.select(Pupil).filter_by(school_id=school.id, siecle_id=ref)
    ).first()
    if by_siecle is not None:
        return by_siecle
    return db.session.scalars(
        sa.select(Pupil).where(
            Pupil.school_id == school.id, sa.func.upper(Pupil.ine) == ref.upper()
        )
    ).first()


def possible_payers(invoice: Invoice) -> list[Guardian]:
    """Return the guardians who may be the invoice's payer, as the CSV import allows them.

    A legal guardian of the pupil with an active link, or with any legal link once the
    pupil has left; the current payer is always kept in the list.
    """
    pupil = invoice.pupil
    query = (
        sa.select(Guardian)
        .join(GuardianLink, GuardianLink.guardian_id == Guardian.id)
        .where(GuardianLink.pupil_id == pupil.id, GuardianLink.is_legal.is_(True))
        .order_by(Guardian.last_name, Guardian.first_name, Guardian.id)
    )
    if pupil.left_on is None:
        query = query.where(GuardianLink.active.is_(True))
    guardians = list(db.session.scalars(query))
    if invoice.payer is not None and invoice.payer not in guardians:
        guardians.append(invoice.payer)
    return guardians


# -- create ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InvoiceDraft:
    """An invoice typed by the accountant."""

    number: str
    pupil_ref: str
    label: str
    amount_cents: int
    issued_on: date
    due_on: date
    payable_online: bool


def _check_amount(amount_cents: int) -> None:
    if amount_cents <= 0:
        raise InvoiceAdminError("Le montant doit être supérieur à zéro.", "amount")
    if amount_cents > MAX_CENTS:
        raise InvoiceAdminError(f"Le montant dépasse {euros(MAX_CENTS)}.", "amount")


def create_invoice(school: School, draft: InvoiceDraft, staff: Account) -> Invoice:
    """Create an invoice by hand, its number unique within the school."""
    number = draft.number.strip()
    if not 0 < len(number) <= 30:
        raise InvoiceAdminError("Le numéro compte de 1 à 30 caractères.", "number")
    # Imports and other creations of the school wait here: the number check cannot race.
    db.session.execute(sa.select(School.id).filter_by(id=school.id).with_for_update())
    taken = db.session.scalar(
        sa.select(Invoice.id).filter_by(school_id=school.id, number=number).limit(1)
    )
    if taken is not None:
        raise InvoiceAdminError(
            f"Le numéro {number} est déjà celui d'une facture de l'établissement.", "number"
        )
    pupil = find_pupil(school, draft.pupil_ref)
    if pupil is None:
        raise InvoiceAdminError(
            f"Aucun élève de l'établissement n'a l'INE ou l'identifiant SIECLE "
            f"« {draft.pupil_ref.strip()} ».",
            "pupil",
        )
    _check_amount(draft.amount_cents)
    if draft.due_on < draft.issued_on:
        raise InvoiceAdminError("L'échéance ne peut pas précéder la date d'émission.", "due_on")
    invoice = Invoice(
        school_id=school.id,
        number=number,
        pupil_id=pupil.id,
        label=draft.label.strip(),
        amount_cents=draft.amount_cents,
        issued_on=draft.issued_on,
        due_on=draft.due_on,
        payable_online=draft.payable_online,
    )
    db.session.add(invoice)
    db.session.flush()
    audit.record(
        "invoice.created",
        actor=staff,
        target=invoice,
        school_id=school.id,
        data={
            "number": number,
            "pupil": pupil.siecle_id,
            "label": invoice.label,
            "amount_cents": invoice.amount_cents,
            "issued_on": invoice.issued_on.isoformat(),
            "due_on": invoice.due_on.isoformat(),
            "payable_online": invoice.payable_online,
        },
    )
    return invoice


# -- correct ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InvoiceCorrection:
    """The fields of an invoice the accountant may correct."""

    label: str
    amount_cents: int
    due_on: date
    payable_online: bool
    payer_id: int | None


def _locked(invoice_id: int) -> Invoice:
    invoice = checkout.locked_invoice(invoice_id)
    if invoice is None:
        raise InvoiceAdminError("Facture inconnue.")
    return invoice


def _shown(name: str, value: Any) -> Any:
    if name == "payer":
        return f"{value.display_name} ({value.siecle_id})" if value is not None else None
    return value.isoformat() if isinstance(value, date) else value


def correct_invoice(
    invoice_id: int, correction: InvoiceCorrection, staff: Account
) -> dict[str, tuple[Any, Any]]:
    """Correct an invoice and audit what changed; return {field: (before, after)}."""
    invoice = _locked(invoice_id)
    if invoice.cancelled_at is not None:
        raise InvoiceAdminError("Cette facture est annulée : elle ne peut plus être corrigée.")
    _check_amount(correction.amount_cents)
    if correction.due_on < invoice.issued_on:
        raise InvoiceAdminError(
            f"L'échéance ne peut pas précéder la date d'émission ({invoice.issued_on:%d/%m/%Y}).",
            "due_on",
        )
    # Read after the lock: a payment reserved meanwhile is counted.
    balance = balance_of(invoice)
    committed = balance.paid + balance.in_progress
    if correction.amount_cents < committed:
        detail = f"{euros(balance.paid)} déjà payés"
        if balance.in_progress:
            detail += f" et {euros(balance.in_progress)} en cours de paiement"
        raise InvoiceAdminError(
            f"Le montant ne peut pas être inférieur à {euros(committed)} ({detail}).", "amount"
        )
    payer = invoice.payer
    if correction.payer_id != invoice.payer_id:
        payer = next((g for g in possible_payers(invoice) if g.id == correction.payer_id), None)
        if correction.payer_id is not None and payer is None:
            raise InvoiceAdminError("Ce payeur n'est pas responsable légal de l'élève.", "payer")
    wanted = {
        "label": correction.label.strip(),
        "amount_cents": correction.amount_cents,
        "due_on": correction.due_on,
        "payable_online": correction.payable_online,
        "payer": payer,
    }
    changed = [name for name, value in wanted.items() if getattr(invoice, name) != value]
    if not changed:
        return {}
    changes = {
        name: (_shown(name, getattr(invoice, name)), _shown(name, wanted[name])) for name in changed
    }
    for name in changed:
        setattr(invoice, name, wanted[name])
    if "due_on" in changed:
        invoice.reminder_sent_at = None  # a new due date deserves its own reminder
    audit.record(
        "invoice.corrected",
        actor=staff,
        target=invoice,
        school_id=invoice.school_id,
        data={
            "number": invoice.number,
            "before": {name: before for name, (before, _) in changes.items()},
            "after": {name: after for name, (_, after) in changes.items()},
        },
    )
    return changes


# -- cancel ----------------------------------------------------------------------------------


def cancel_invoice(invoice_id: int, reason: str, staff: Account) -> Invoice:
    """Cancel an invoice with a reason; its paid payments stay recorded (refunds are outside)."""
    reason = reason.strip()
    if not reason:
        raise InvoiceAdminError("Indiquez le motif de l'annulation.", "reason")
    invoice = _locked(invoice_id)
    if invoice.cancelled_at is not None:
        raise InvoiceAdminError("Cette facture est déjà annulée.")
    balance = balance_of(invoice)
    if balance.in_progress:
        raise InvoiceAdminError(
            f"Un paiement en ligne de {euros(balance.in_progress)} est en cours sur cette "
            "facture : attendez la réponse de la banque (20 minutes au plus) avant de l'annuler."
        )
    invoice.cancelled_at = utcnow()
    invoice.cancel_reason = reason[:300]
    audit.record(
        "invoice.cancelled",
        actor=staff,
        target=invoice,
        school_id=invoice.school_id,
        data={
            "number": invoice.number,
            "reason": invoice.cancel_reason,
            "paid_cents": balance.paid,
        },
    )
    return invoice


# -- payments at the counter -----------------------------------------------------------------


def record_payment(invoice_id: int, entry: OfflinePayment, staff: Account, today: date) -> Payment:
    """Record a cheque, cash or transfer received for an invoice (never in the future)."""
    if entry.paid_on > today:
        raise InvoiceAdminError("La date du paiement ne peut pas être dans le futur.", "paid_on")
    try:
        return checkout.record_offline(invoice_id, entry, staff)
    except PaymentError as error:
        raise InvoiceAdminError(str(error)) from error


def void_payment(payment: Payment, staff: Account, reason: str) -> None:
    """Void an offline payment recorded by mistake, with a reason."""
    reason = reason.strip()
    if not reason:
        raise InvoiceAdminError("Indiquez pourquoi ce paiement est annulé.", "reason")
    try:
        checkout.void_offline(payment, staff, reason)
    except PaymentError as error:
        raise InvoiceAdminError(str(error)) from error
