"""Jobs of online payments: the bank's notification, and checks of payments left pending."""

from __future__ import annotations

import logging

from extensions import db
from models import Payment
from services.payments import checkout

log = logging.getLogger(__name__)


def notify(id_op: str) -> None:
    """Handle a bank notification: ask the result back-channel and settle the payment."""
    payment = checkout.payment_by_operation(id_op)
    if payment is None:
        log.warning("notification for an unknown operation %s ignored", id_op[:64])
        return
    checkout.check(payment, strict=True)


def check_payment(payment_id: int) -> None:
    """Ask the bank about one payment whose notification may have been lost (a bank that
    cannot answer makes the job fail, and rq tries again later)."""
    payment = db.session.get(Payment, payment_id)
    if payment is not None:
        checkout.check(payment, strict=True)


def check_due() -> int:
    """Check every pending payment a notification should have settled; return how many
    got their final status (run every few minutes: `flask payments check`)."""
    settled = 0
    for payment_id in checkout.due_for_check():
        try:
            payment = db.session.get(Payment, payment_id)
            if payment is not None and checkout.check(payment):
                settled += 1
            db.session.commit()
        except Exception:
            # One payment that cannot be settled must not hold back the others.
            db.session.rollback()
            log.exception("payment %s could not be checked", payment_id)
    return settled
