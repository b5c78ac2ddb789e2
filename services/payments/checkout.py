"""Online payments from reservation to settlement: the only code that moves money states.

1. `reserve` locks the invoice row, checks the amount against the balance less payments
   in progress, and records a PENDING payment (the reservation). The caller commits.
2. `open_operation` asks the bank for an operation, after that commit: a bank that is down
   turns the payment FAILED (the reservation is released) and loses nothing.
3. `check` asks the bank back-channel how the operation ended and `settle`s it. The
   notification handler, the parent's return and the re-check job all go through it, so a
   result is never taken from the browser and a repeated notification changes nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from engine.templates import euros
from extensions import db
from jobs import enqueue
from models import (
    Account,
    Invoice,
    Payment,
    PaymentMethod,
    PaymentStatus,
    TicketCounter,
)
from models.base import utcnow
from services import audit
from services.billing import MIN_ONLINE_CENTS, balance_of, may_pay, why_not_payable
from services.counters import next_number
from services.payments.gateway import (
    EXPIRE_AFTER,
    PARIS,
    Gateway,
    GatewayError,
    PaymentRequest,
    PaymentResult,
)
from services.payments.gateway import PaymentStatus as BankStatus

log = logging.getLogger(__name__)

# When to ask the bank again about a payment whose notification has not come, counted
# from the opening of its operation; the last one is past EXPIRE_AFTER so that it settles
# or expires.
CHECK_DELAYS = (timedelta(minutes=2), timedelta(minutes=8), EXPIRE_AFTER + timedelta(minutes=1))
# A confirmed summary must reach the bank within this time, else it starts again.
RESERVATION_LIFETIME = timedelta(minutes=10)

BANK_OUTCOMES = {
    BankStatus.PAID: PaymentStatus.PAID,
    BankStatus.REFUSED: PaymentStatus.REFUSED,
    BankStatus.CANCELLED: PaymentStatus.ABANDONED,
    BankStatus.EXPIRED: PaymentStatus.EXPIRED,
}


class PaymentError(ValueError):
    """A payment that cannot be made, explained in French for the parent."""


def _gateway_factories() -> dict[str, Callable[[], Gateway]]:
    from services.payments.payfip import PayfipGateway
    from services.payments.sandbox import SandboxGateway

    return {
        "sandbox": SandboxGateway,
        "payfip": lambda: PayfipGateway.from_settings(current_app.config),
    }


def gateway() -> Gateway:
    """Return the bank adapter PAYMENT_BACKEND names (sandbox or payfip)."""
    name = current_app.config["PAYMENT_BACKEND"]
    try:
        return _gateway_factories()[name]()
    except KeyError:
        raise RuntimeError(f"unknown PAYMENT_BACKEND {name!r}") from None


def locked_invoice(invoice_id: int) -> Invoice | None:
    """Return an invoice with its row locked until the commit (SELECT … FOR UPDATE)."""
    return db.session.get(Invoice, invoice_id, with_for_update=True, populate_existing=True)


def reserve(
    invoice_id: int,
    account: Account,
    amount_cents: int,
    *,
    minimum_cents: int,
    today: date,
    instance_id: int | None = None,
) -> Payment:
    """Reserve an online payment against an invoice's balance, under the invoice's lock."""
    invoice = locked_invoice(invoice_id)
    if invoice is None or not may_pay(account, invoice):
        raise PaymentError("Cette facture ne fait pas partie de celles de vos enfants.")
    if account.email_confirmed_at is None or not account.email:
        raise PaymentError(
            "Confirmez d'abord votre adresse électronique : le ticket de paiement y sera envoyé."
        )
    # The balance is read after the lock: a payment another guardian reserved is counted.
    balance = balance_of(invoice)
    reason = why_not_payable(invoice, balance, today)
    if reason:
        raise PaymentError(reason)
    lowest = min(minimum_cents, balance.available)
    if amount_cents < lowest:
        raise PaymentError(f"Le montant minimum est de {euros(lowest)}.")
    if amount_cents > balance.available:
        raise PaymentError(
            f"Vous pouvez payer au plus {euros(balance.available)}"
            + (
                " : un autre paiement est en cours sur cette facture."
                if balance.in_progress
                else "."
            )
        )
    if 0 < balance.available - amount_cents < MIN_ONLINE_CENTS:
        raise PaymentError(
            f"Payez la totalité ({euros(balance.available)}) ou laissez au moins "
            f"{euros(MIN_ONLINE_CENTS)} à payer plus tard : la banque n'accepte pas de "
            "paiement plus petit."
        )
    guardian = next((g for g in account.guardians if g.school_id == invoice.school_id), None)
    payment = Payment(
        school_id=invoice.school_id,
        invoice=invoice,
        account_id=account.id,
        guardian_id=guardian.id if guardian else None,
        method=PaymentMethod.ONLINE,
        status=PaymentStatus.PENDING,
        amount_cents=amount_cents,
        payer_email=account.email,
        workflow_instance_id=instance_id,
    )
    db.session.add(payment)
    db.session.flush()
    payment.refdet = refdet_for(invoice.number, payment.id)
    # Released even if the parent never reaches the bank (a closed tab).
    enqueue(
        "jobs.payments.check_payment",
        payment.id,
        at=payment.created_at + EXPIRE_AFTER + timedelta(minutes=1),
    )
    audit.record(
        "payment.reserved",
        actor=account,
        target=payment,
        school_id=invoice.school_id,
        data={"invoice": invoice.number, "amount_cents": amount_cents},
    )
    return payment


def refdet_for(invoice_number: str, payment_id: int) -> str:
    """Return the bank reference of one attempt: the invoice number, T, the attempt's id."""
    letters = re.sub(r"[^A-Za-z0-9]", "", invoice_number)[:18]
    return f"{letters}T{payment_id:06d}"[:30]


def open_operation(payment: Payment, *, notification_url: str, return_url: str) -> str:
    """Open the bank operation of a committed reservation and return where to send the parent.

    Called again for the same payment (a reloaded page), it returns the same operation.
    """
    payment = db.session.get(Payment, payment.id, with_for_update=True, populate_existing=True)
    if payment.status is not PaymentStatus.PENDING:
        raise PaymentError("Ce paiement n'est plus en cours.")
    if payment.bank_url:
        return payment.bank_url
    now = utcnow()
    if now - payment.created_at > RESERVATION_LIFETIME:
        # A summary confirmed long ago: the amount may no longer be right. Start again.
        settle(payment, None, now)
        raise PaymentError("Ce paiement a expiré : recommencez depuis vos factures.")
    invoice = payment.invoice
    try:
        request = PaymentRequest.build(
            refdet=payment.refdet or "",
            amount_cents=payment.amount_cents,
            payer_email=payment.payer_email or "",
            label=f"Facture {invoice.number} {invoice.label}",
            year=payment.created_at.astimezone(PARIS).year,
            notification_url=notification_url,
            return_url=return_url,
        )
        operation = gateway().create_operation(request)
    except GatewayError as error:
        log.warning("bank refused to open payment %s: %s", payment.id, error)
        payment.status = PaymentStatus.FAILED
        payment.settled_at = utcnow()
        payment.bank_result = (error.code or "error")[:10]
        audit.record(
            "payment.failed", actor_label="banque", target=payment,
            school_id=payment.school_id, data={"error": str(error)[:300]},
        )  # fmt: skip
        _announce(payment)
        raise PaymentError(
            "La banque n'a pas pu ouvrir le paiement. Aucune somme n'a été prélevée : "
            "réessayez dans quelques minutes."
        ) from error
    payment.id_op = operation.id_op
    payment.bank_url = operation.redirect_url
    payment.opened_at = now
    for delay in CHECK_DELAYS:
        enqueue("jobs.payments.check_payment", payment.id, at=now + delay)
    return operation.redirect_url


def check(payment: Payment, now: datetime | None = None, *, strict: bool = False) -> bool:
    """Ask the bank how a pending payment ended and settle it; True when it changed.

    An EXPIRED payment that had an operation is asked too: a bank that took the money
    after Guichet gave up must still be heard. With `strict`, a bank that cannot answer
    raises (a job then retries) instead of leaving the check for later.
    """
    late = payment.status is PaymentStatus.EXPIRED and payment.id_op is not None
    if payment.status is not PaymentStatus.PENDING and not late:
        return False
    now = now or utcnow()
    if payment.id_op is None:
        # The bank never gave an operation (the parent never reached it): nothing to ask.
        if now - payment.created_at >= EXPIRE_AFTER:
            return settle(payment, None, now)
        return False
    try:
        result = gateway().fetch_result(payment.id_op)
    except GatewayError as error:
        log.warning("could not check payment %s: %s", payment.id, error)
        _count_check(payment, now)
        if strict and error.retryable:
            raise
        return False
    if late:
        return _paid_after_expiry(payment, result, now)
    return settle(payment, result, now)


def _paid_after_expiry(payment: Payment, result: PaymentResult, now: datetime) -> bool:
    """Count money the bank took after Guichet expired the payment, and flag it."""
    payment = db.session.get(Payment, payment.id, with_for_update=True, populate_existing=True)
    if payment.status is not PaymentStatus.EXPIRED or result.status is not BankStatus.PAID:
        return False
    if result.amount_cents not in (None, payment.amount_cents):
        _doubt(payment, "Encaissé après son expiration, pour un autre montant.")
        return False
    log.error("payment %s paid at the bank after it expired", payment.id)
    payment.status = PaymentStatus.PENDING  # settle() below records it as any payment
    settled = settle(payment, result, now)
    payment.anomaly = (
        "Encaissé par la banque après son expiration : vérifiez qu'il n'y a pas de trop-perçu."
    )
    return settled


def _count_check(payment: Payment, now: datetime) -> None:
    db.session.execute(
        sa.update(Payment)
        .where(Payment.id == payment.id)
        .values(checks=Payment.checks + 1, last_checked_at=now)
    )


def settle(payment: Payment, result: PaymentResult | None, now: datetime | None = None) -> bool:
    """Record the bank's back-channel answer on a payment, once; True when it changed."""
    now = now or utcnow()
    payment = db.session.get(Payment, payment.id, with_for_update=True, populate_existing=True)
    if payment.status is not PaymentStatus.PENDING:
        return False  # already settled: a repeated notification or a late check
    if result is None and payment.id_op is not None:
        return False  # the operation opened meanwhile: ask the bank instead
    payment.checks += 1
    payment.last_checked_at = now
    status = _outcome(payment, result, now)
    if status is None:
        return False
    payment.status = status
    payment.settled_at = now
    payment.bank_result = result.result_code[:10] if result else None
    if status is PaymentStatus.PAID and result is not None:
        payment.authorisation = result.authorisation
        payment.paid_at = (result.paid_at or now).astimezone(UTC)
        payment.ticket_number = next_ticket_number(payment.school_id, payment.paid_at)
    audit.record(
        f"payment.{status.value}",
        actor_label="banque",
        target=payment,
        school_id=payment.school_id,
        data={"amount_cents": payment.amount_cents, "bank_result": payment.bank_result},
    )
    _announce(payment)
    return True


def _outcome(payment: Payment, result: PaymentResult | None, now: datetime) -> PaymentStatus | None:
    if result is None:
        return PaymentStatus.EXPIRED
    if result.id_op != payment.id_op:
        _doubt(payment, "La banque a répondu pour une autre opération.")
        return None
    if result.refdet not in (None, payment.refdet):
        _doubt(payment, f"Référence {result.refdet} au lieu de {payment.refdet}.")
        return None
    if result.amount_cents not in (None, payment.amount_cents):
        # Never settle on an amount we did not ask for: the accountant looks at it.
        _doubt(
            payment,
            f"La banque annonce {euros(result.amount_cents)} au lieu de "
            f"{euros(payment.amount_cents)}.",
        )
        return None
    if result.status in (BankStatus.PENDING, BankStatus.UNKNOWN):
        # UNKNOWN (P1): the bank never saw the parent. Either way it ends after the lifetime.
        started = payment.opened_at or payment.created_at
        return PaymentStatus.EXPIRED if now - started >= EXPIRE_AFTER else None
    return BANK_OUTCOMES[result.status]


def _doubt(payment: Payment, reason: str) -> None:
    log.error("payment %s in doubt: %s", payment.id, reason)
    if payment.anomaly != reason:
        payment.anomaly = reason
        audit.record(
            "payment.in_doubt", actor_label="banque", target=payment,
            school_id=payment.school_id, data={"reason": reason},
        )  # fmt: skip


def next_ticket_number(school_id: int, paid_at: datetime) -> str:
    """Give the next ticket number of a school for the year of a payment (2026-000042)."""
    year = paid_at.astimezone(PARIS).year
    return f"{year}-{next_number(TicketCounter, school_id=school_id, year=year):06d}"


def _announce(payment: Payment) -> None:
    # Inside the settling transaction: the ticket email and the workflow's move are rows
    # and jobs that leave only with the commit. Imported here: both sit above this module.
    from services.payments import receipts, workflow_link

    workflow_link.advance(payment)
    if payment.status is PaymentStatus.PAID:
        receipts.email_ticket(payment)


def payment_by_operation(id_op: str) -> Payment | None:
    """Return the payment of a bank operation id."""
    return db.session.scalars(sa.select(Payment).filter_by(id_op=id_op)).first()


def payment_by_public_id(public_id: str) -> Payment | None:
    """Return the payment with this public id."""
    return db.session.scalars(sa.select(Payment).filter_by(public_id=public_id)).first()


def due_for_check(now: datetime | None = None, limit: int = 200) -> list[int]:
    """Return pending payments a notification should have settled by now, oldest first."""
    now = now or utcnow()
    query = (
        sa.select(Payment.id)
        .where(
            Payment.status == PaymentStatus.PENDING,
            Payment.created_at <= now - CHECK_DELAYS[0],
        )
        .order_by(Payment.created_at)
        .limit(limit)
    )
    return list(db.session.scalars(query))


@dataclass(frozen=True)
class OfflinePayment:
    """A payment handed to the agent comptable: cheque, cash or transfer."""

    method: PaymentMethod
    amount_cents: int
    paid_on: date
    note: str = ""


def record_offline(invoice_id: int, entry: OfflinePayment, staff: Account) -> Payment:
    """Record a payment received outside Guichet; it counts at once against the balance."""
    if entry.method is PaymentMethod.ONLINE:
        raise PaymentError("Un paiement en ligne ne s'enregistre pas à la main.")
    invoice = locked_invoice(invoice_id)
    if invoice is None:
        raise PaymentError("Facture inconnue.")
    if invoice.cancelled_at is not None:
        raise PaymentError("Cette facture est annulée.")
    balance = balance_of(invoice)
    if entry.amount_cents <= 0:
        raise PaymentError("Le montant doit être positif.")
    if entry.amount_cents > balance.available:
        raise PaymentError(
            f"Le montant dépasse le reste à payer ({euros(balance.available)}"
            + (
                f", dont {euros(balance.in_progress)} en cours en ligne)"
                if balance.in_progress
                else ")"
            )
        )
    paid_at = datetime(
        entry.paid_on.year, entry.paid_on.month, entry.paid_on.day, 12, tzinfo=PARIS
    ).astimezone(UTC)
    payment = Payment(
        school_id=invoice.school_id,
        invoice=invoice,
        guardian_id=invoice.payer_id,
        method=entry.method,
        status=PaymentStatus.PAID,
        amount_cents=entry.amount_cents,
        paid_at=paid_at,
        settled_at=utcnow(),
        recorded_by_id=staff.id,
        note=entry.note[:200] or None,
    )
    db.session.add(payment)
    db.session.flush()
    payment.ticket_number = next_ticket_number(invoice.school_id, paid_at)
    audit.record(
        "payment.recorded",
        actor=staff,
        target=payment,
        school_id=invoice.school_id,
        data={
            "invoice": invoice.number,
            "amount_cents": entry.amount_cents,
            "method": entry.method.value,
        },
    )
    return payment


def may_resolve(payment: Payment, now: datetime | None = None) -> bool:
    """Tell whether an accountant may close a payment by hand: online, pending, and in doubt
    (an answer that could not be trusted, or no answer within the operation's lifetime)."""
    if payment.method is not PaymentMethod.ONLINE or payment.status is not PaymentStatus.PENDING:
        return False
    return payment.anomaly is not None or (now or utcnow()) - payment.created_at >= EXPIRE_AFTER


def resolve_doubt(
    payment: Payment,
    staff: Account,
    *,
    paid: bool,
    reason: str,
    amount_cents: int | None = None,
) -> None:
    """Close a payment in doubt as the bank's back office showed it: paid (with its ticket,
    emailed to the family, for the amount the bank took) or not paid (the reservation is
    released)."""
    payment = db.session.get(Payment, payment.id, with_for_update=True, populate_existing=True)
    if not may_resolve(payment):
        raise PaymentError("Ce paiement n'est pas en doute : interrogez la banque ou attendez.")
    reason = reason.strip()
    if not reason:
        raise PaymentError("Indiquez ce que la banque a confirmé.")
    if paid and amount_cents is not None and amount_cents <= 0:
        raise PaymentError("Le montant encaissé doit être positif.")
    asked = payment.amount_cents
    now = utcnow()
    payment.status = PaymentStatus.PAID if paid else PaymentStatus.EXPIRED
    payment.settled_at = now
    payment.note = reason[:200]
    payment.recorded_by_id = staff.id  # the decision is the accountant's
    if paid:
        payment.amount_cents = amount_cents or asked  # what the bank took, if it differs
        payment.paid_at = now
        payment.ticket_number = next_ticket_number(payment.school_id, now)
    audit.record(
        "payment.resolved", actor=staff, target=payment, school_id=payment.school_id,
        data={"paid": paid, "reason": reason, "anomaly": payment.anomaly,
              "asked_cents": asked, "amount_cents": payment.amount_cents},
    )  # fmt: skip
    _announce(payment)


def void_offline(payment: Payment, staff: Account, reason: str) -> None:
    """Cancel an offline payment recorded by mistake (the row and its ticket number stay)."""
    payment = db.session.get(Payment, payment.id, with_for_update=True, populate_existing=True)
    if payment.method is PaymentMethod.ONLINE or payment.status is not PaymentStatus.PAID:
        raise PaymentError("Seul un paiement enregistré à la main peut être annulé ici.")
    payment.status = PaymentStatus.VOIDED
    payment.note = f"{payment.note or ''} — annulé : {reason}".strip(" —")[:200]
    audit.record(
        "payment.voided", actor=staff, target=payment, school_id=payment.school_id,
        data={"reason": reason},
    )  # fmt: skip
