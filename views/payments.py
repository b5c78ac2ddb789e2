"""The family's side of paying: invoices, PAYER, the bank's return, tickets, Mes paiements."""

from __future__ import annotations

import io
import logging
from datetime import date, timedelta

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from werkzeug.wrappers import Response

from engine import EngineError, NotAllowedError
from extensions import csrf, db, limiter
from models import Invoice, Payment, PaymentStatus
from models.base import utcnow
from services import billing, workflows
from services.payments import checkout, receipts, workflow_link
from services.payments.gateway import PARIS
from services.tickets import render_pdf, ticket_filename
from services.urls import public_url

log = logging.getLogger(__name__)

bp = Blueprint("payments", __name__)

PAYMENT_WORKFLOW = "paiement"
HISTORY_DAYS = 365  # "Mes paiements" shows twelve months


def _today() -> date:
    return utcnow().astimezone(PARIS).date()


@bp.get("/factures")
@login_required
def invoices() -> str:
    """List the family's invoices by issue date, with PAYER where it may be used."""
    lines = billing.family_invoice_lines(current_user, _today())
    groups: dict[str, list[billing.FamilyInvoice]] = {}
    for line in lines:
        groups.setdefault(line.issued_text, []).append(line)
    return render_template(
        "payments/invoices.html",
        groups=groups,
        email_confirmed=bool(current_user.email and current_user.email_confirmed_at),
        csrf=generate_csrf(),  # one token for every PAYER form of the page
        any_payable=any(line.payable for line in lines),
    )


def _invoice_of_family(invoice_id: int) -> Invoice:
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None:
        abort(404)
    if not billing.may_pay(current_user, invoice):
        abort(403)
    return invoice


@bp.post("/factures/<int:invoice_id>/payer")
@login_required
def pay(invoice_id: int) -> Response:
    """Start paying an invoice: the payment workflow opens on the amount step."""
    invoice = _invoice_of_family(invoice_id)
    if not (current_user.email and current_user.email_confirmed_at):
        flash("Confirmez votre adresse électronique pour payer en ligne.", "error")
        return redirect(url_for("account.overview"))
    balance = billing.balance_of(invoice)
    reason = billing.why_not_payable(invoice, balance, _today())
    if reason:
        flash(reason, "warning")
        return redirect(url_for("payments.invoices"))
    pupil = invoice.pupil
    given = {
        "facture": {
            "id": invoice.id,
            "numero": invoice.number,
            "objet": invoice.label,
            "eleve": f"{pupil.first_name} {pupil.usage_name or pupil.last_name}",
            "montant": invoice.amount_cents,
            "paye": balance.paid,
            "reste": balance.remaining,
            "payable": balance.available,
            "echeance": invoice.due_on.isoformat(),
        },
        "montant": balance.available,
    }
    actor = workflows.actor_of(current_user)
    try:
        row = workflows.start(PAYMENT_WORKFLOW, actor, invoice.school, data=given)
    except NotAllowedError:
        abort(403)
    except EngineError:
        abort(404)
    return redirect(url_for("workflows.step", public_id=row.public_id))


def _own_payment(public_id: str) -> Payment:
    payment = checkout.payment_by_public_id(public_id)
    if payment is None:
        abort(404)
    if payment.account_id != current_user.id and not billing.may_pay(current_user, payment.invoice):
        abort(403)
    return payment


def _result_page(payment: Payment) -> Response:
    row = payment.workflow_instance
    if row is not None:
        return redirect(url_for("workflows.step", public_id=row.public_id))
    return redirect(url_for("payments.payment", public_id=payment.public_id))


@bp.get("/paiements/<public_id>/banque")
@login_required
def to_bank(public_id: str) -> Response:
    """Open the bank operation of a reserved payment and send the parent to its page."""
    payment = _own_payment(public_id)
    if payment.account_id != current_user.id:
        abort(403)
    if payment.status is not PaymentStatus.PENDING:
        return _result_page(payment)
    try:
        bank_url = checkout.open_operation(
            payment,
            notification_url=public_url("payments.notification"),
            return_url=public_url("payments.back_from_bank", public_id=payment.public_id),
        )
    except checkout.PaymentError as error:
        if payment.workflow_instance is None:  # else its result page says it in its words
            flash(str(error), "error")
        return _result_page(payment)
    return redirect(bank_url)


# The bank sends the parent back here, by GET or POST, from its own site: no CSRF token
# and perhaps no session cookie. Nothing from the request is trusted: the payment is
# looked up by its id in the URL and its result asked from the bank back-channel.
@bp.route("/paiements/<public_id>/retour", methods=["GET", "POST"])
@csrf.exempt
@limiter.limit("30 per minute")
def back_from_bank(public_id: str) -> Response:
    """Bring the parent back from the bank: settle now if the bank knows, else wait."""
    payment = checkout.payment_by_public_id(public_id)
    if payment is None:
        abort(404)
    if payment.status is PaymentStatus.PENDING:
        checkout.check(payment)
        if payment.status is PaymentStatus.PENDING:
            workflow_link.came_back(payment)
    return _result_page(payment)


@bp.post("/paiements/notification")
@csrf.exempt
@limiter.limit("120 per minute")
def notification() -> tuple[str, int]:
    """Receive the bank's notification (idOp only) and settle from the back-channel answer."""
    id_op = (request.form.get("idOp") or request.form.get("idop") or "").strip()
    payment = checkout.payment_by_operation(id_op[:64]) if id_op else None
    if payment is None:
        log.warning("notification for an unknown operation from %s", request.remote_addr)
        return "operation inconnue", 404
    checkout.check(payment)
    return "OK", 200


@bp.get("/paiements")
@login_required
def history() -> str:
    """List the account's payments of the last twelve months, with their tickets."""
    since = utcnow() - timedelta(days=HISTORY_DAYS)
    return render_template(
        "payments/history.html", payments=billing.family_payments(current_user, since)
    )


@bp.get("/paiements/<public_id>")
@login_required
def payment(public_id: str) -> str:
    """Show one payment: its ticket once paid, or where it stands."""
    found = _own_payment(public_id)
    ticket = receipts.ticket_of(found) if found.status is PaymentStatus.PAID else None
    return render_template("payments/payment.html", payment=found, ticket=ticket)


@bp.get("/paiements/<public_id>/ticket.pdf")
@login_required
def ticket_pdf(public_id: str) -> Response:
    """Download the ticket of a paid payment as a PDF."""
    found = _own_payment(public_id)
    if found.status is not PaymentStatus.PAID:
        abort(404)
    ticket = receipts.ticket_of(found)
    return send_file(
        io.BytesIO(render_pdf(ticket)),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=ticket_filename(ticket),
    )
