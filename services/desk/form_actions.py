"""Actions of workflows/assistance.yaml: record the parent's request in the desk's queue."""

from __future__ import annotations

from engine import ActionContext, ActionRegistry
from extensions import db
from models import School, WorkflowInstance
from services.desk.requests import RequestRefusedError, open_request
from services.payments.actions import applicant_account


def register_desk_actions(registry: ActionRegistry) -> None:
    """Add the actions the assistance workflow may call."""

    # open_request queues the acknowledgement in the outbox, released after the commit.
    @registry.action(
        "open_help_request",
        produces=["reference", "refus_demande"],
        sends=["email:desk_acknowledgement"],
    )
    def open_help_request(ctx: ActionContext) -> None:
        """Turn the submitted form into a request with a reference, or say why not."""
        ctx.set("reference", "")
        row = db.session.scalars(
            db.select(WorkflowInstance).filter_by(public_id=ctx.instance_id or "")
        ).first()
        account = applicant_account(row.applicant if row else None)
        school = db.session.get(School, row.school_id) if row and row.school_id else None
        if account is None or school is None:
            ctx.set("refus_demande", "Connectez-vous à votre compte pour écrire à l'assistance.")
            return
        categories = {str(c["value"]): str(c["label"]) for c in ctx.settings["categories"]}
        category = str(ctx.data.get("categorie") or "")
        invoice = str(ctx.data.get("facture") or "")
        try:
            request = open_request(
                account,
                school,
                category=category,
                category_label=categories.get(category, "Autre question"),
                text=str(ctx.data.get("message") or "").strip(),
                invoice_id=int(invoice) if invoice.isdigit() else None,
                upload=ctx.data.get("piece") or None,
            )
        except RequestRefusedError as error:
            ctx.set("refus_demande", str(error))
            return
        ctx.set("refus_demande", "")
        ctx.set("reference", request.reference)
