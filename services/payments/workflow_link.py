"""Keep a payment's workflow instance (workflows/paiement.yaml) in step with the payment."""

from __future__ import annotations

import logging

from engine import SYSTEM, ConflictError, EngineError
from engine.templates import euros
from extensions import db
from models import Payment, PaymentStatus, WorkflowInstance
from services.billing import balance_of

log = logging.getLogger(__name__)

# The system events of paiement.yaml, by the payment's final status.
EVENTS = {
    PaymentStatus.PAID: "accepte",
    PaymentStatus.REFUSED: "refuse",
    PaymentStatus.ABANDONED: "abandonne",
    PaymentStatus.EXPIRED: "expire",
    PaymentStatus.FAILED: "echec",
}


def advance(payment: Payment) -> None:
    """Fire the event that moves the payment's instance to its result page."""
    event = EVENTS.get(payment.status)
    if payment.workflow_instance_id is None or event is None:
        return
    from services import workflows

    row = db.session.get(WorkflowInstance, payment.workflow_instance_id)
    if row is None:
        return
    try:
        workflows.fire(row, event, SYSTEM, result_payload(payment))
    except (ConflictError, EngineError) as error:
        # The payment is what counts; the page reads the payment when the instance lags.
        log.warning("payment %s: workflow %s not moved: %s", payment.id, row.public_id, error)


def came_back(payment: Payment) -> None:
    """The parent is back from the bank before its answer: show the waiting page."""
    if payment.workflow_instance_id is None or payment.status is not PaymentStatus.PENDING:
        return
    from services import workflows

    row = db.session.get(WorkflowInstance, payment.workflow_instance_id)
    if row is not None:
        try:
            workflows.fire(row, "retour_banque", SYSTEM, {})
        except (ConflictError, EngineError) as error:
            log.warning("payment %s: workflow not moved: %s", payment.id, error)


def result_payload(payment: Payment) -> dict[str, object]:
    """Return what the result page of paiement.yaml shows: ticket and balance left."""
    balance = balance_of(payment.invoice)
    return {
        "ticket": payment.ticket_number or "",
        "autorisation": payment.authorisation or "",
        "reste": balance.remaining,
        "reste_texte": euros(balance.remaining),
    }
