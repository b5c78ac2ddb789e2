"""Actions of workflows/paiement.yaml: reserve the payment, note the bank's result."""

from __future__ import annotations

from engine import ActionContext, ActionRegistry, Param
from extensions import db
from models import Account, WorkflowInstance
from services.payments import checkout


def register_payment_actions(registry: ActionRegistry) -> None:
    """Add the actions the payment workflow may call."""

    @registry.action(
        "reserve_payment",
        params={
            "field": Param(str, default="montant"),
            "minimum": Param(int, required=True),
        },
        produces=["paiement", "refus_paiement"],
    )
    def reserve_payment(ctx: ActionContext) -> None:
        """Reserve the chosen amount against the invoice (refused: say why, keep nothing)."""
        row = db.session.scalars(
            db.select(WorkflowInstance).filter_by(public_id=ctx.instance_id or "")
        ).first()
        account = applicant_account(row.applicant if row else None)
        invoice = ctx.data.get("facture") or {}
        ctx.set("paiement", None)
        if account is None or not isinstance(invoice.get("id"), int):
            ctx.set("refus_paiement", "Ce paiement ne peut pas être fait depuis ce compte.")
            return
        try:
            payment = checkout.reserve(
                invoice["id"],
                account,
                int(ctx.data.get(ctx.params["field"]) or 0),
                minimum_cents=ctx.params["minimum"],
                today=ctx.today,
                instance_id=row.id if row else None,
            )
        except checkout.PaymentError as error:
            ctx.set("refus_paiement", str(error))
            return
        ctx.set("refus_paiement", "")
        ctx.set("paiement", payment.public_id)

    @registry.action("note_payment_result", produces=["ticket", "reste_apres"])
    def note_payment_result(ctx: ActionContext) -> None:
        """Keep the ticket number and the balance left, as the bank's answer gave them."""
        ctx.set("ticket", str(ctx.payload.get("ticket") or ""))
        remaining = ctx.payload.get("reste")
        ctx.set("reste_apres", remaining if isinstance(remaining, int) else None)


def applicant_account(applicant: str | None) -> Account | None:
    """Return the account an instance's applicant names ("account:12"), if any."""
    if not applicant or not applicant.startswith("account:"):
        return None
    try:
        return db.session.get(Account, int(applicant.removeprefix("account:")))
    except ValueError:
        return None
