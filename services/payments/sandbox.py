"""The embedded test bank (PAYMENT_BACKEND=sandbox): PayFiP's protocol shape, no real money.

Guichet opens an operation, sends the parent to the test bank's page (views/sandbox_bank.py),
the parent picks a test card, the bank records the result, notifies Guichet with the idOp
only, and sends the parent back. As with PayFiP, Guichet then asks the result
back-channel (`fetch_result`), here by reading the operation's row.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from extensions import db
from jobs import enqueue
from models import SandboxOperation
from models.base import utcnow
from services.payments.gateway import (
    OPERATION_LIFETIME,
    Operation,
    PaymentRequest,
    PaymentResult,
    PaymentStatus,
)
from services.urls import public_url


@dataclass(frozen=True)
class TestCard:
    """A card number the test bank knows, and what it does with it."""

    number: str
    result: str  # PayFiP's resultrans: P accepted, R refused
    label: str
    notify: bool = True  # False: the notification is "lost", the re-check job settles it


TEST_CARDS = (
    TestCard("4970 1000 0000 0014", "P", "paiement accepté"),
    TestCard("4970 1000 0000 0022", "R", "paiement refusé par la banque"),
    TestCard(
        "4970 1000 0000 0030", "P", "paiement accepté, notification perdue (vérifié plus tard)",
        notify=False,
    ),
)  # fmt: skip


def card(number: str) -> TestCard | None:
    """Return the test card with that number, spaces ignored."""
    digits = "".join(number.split())
    return next((c for c in TEST_CARDS if c.number.replace(" ", "") == digits), None)


class SandboxGateway:
    """The test bank behind the `Gateway` protocol; its operations live in the database."""

    def create_operation(self, request: PaymentRequest) -> Operation:
        """Record the operation and return the test bank's page for it."""
        operation = SandboxOperation(
            id_op=secrets.token_hex(16),
            refdet=request.refdet,
            amount_cents=request.amount_cents,
            payer_email=request.payer_email,
            objet=request.objet,
            year=request.year,
            notification_url=request.notification_url,
            return_url=request.return_url,
            created_at=utcnow(),
        )
        db.session.add(operation)
        db.session.flush()
        page = public_url("sandbox_bank.page", id_op=operation.id_op)
        return Operation(operation.id_op, page, operation.created_at)

    def fetch_result(self, id_op: str) -> PaymentResult:
        """Answer like PayFiP: PENDING while on the page, UNKNOWN for an unknown idOp."""
        operation = db.session.get(SandboxOperation, id_op, populate_existing=True)
        if operation is None:
            return PaymentResult(id_op, PaymentStatus.UNKNOWN, "P1")
        if operation.result is None:
            return PaymentResult(id_op, PaymentStatus.PENDING, "P5")
        status = {"P": PaymentStatus.PAID, "R": PaymentStatus.REFUSED}.get(
            operation.result, PaymentStatus.CANCELLED
        )
        return PaymentResult(
            id_op=id_op,
            status=status,
            result_code=operation.result,
            refdet=operation.refdet,
            amount_cents=operation.amount_cents,
            authorisation=operation.authorisation,
            paid_at=operation.decided_at if status is PaymentStatus.PAID else None,
            payer_email=operation.payer_email,
        )


class SandboxError(ValueError):
    """A choice the test bank's page refuses, in French."""


def open_operation(id_op: str, now: datetime | None = None) -> SandboxOperation | None:
    """Return an operation the parent may still act on (undecided and not expired)."""
    operation = db.session.get(SandboxOperation, id_op, with_for_update=True)
    if operation is None or operation.result is not None:
        return None
    if (now or utcnow()) - operation.created_at > OPERATION_LIFETIME:
        return None
    return operation


def decide(operation: SandboxOperation, card_number: str | None) -> TestCard | None:
    """Record the parent's choice (a test card, or None to abandon) and notify Guichet."""
    chosen = None
    if card_number is None:
        operation.result = "A"
    else:
        chosen = card(card_number)
        if chosen is None:
            raise SandboxError("Ce numéro n'est pas une carte de la banque de test.")
        operation.result = chosen.result
        if chosen.result == "P":
            operation.authorisation = f"{secrets.randbelow(10**6):06d}"
    operation.decided_at = utcnow()
    if chosen is None or chosen.notify:
        # PayFiP calls urlnotif server to server with the idOp; the job does the same.
        enqueue("jobs.payments.notify", operation.id_op, queue="high")
    return chosen
