"""The embedded test bank's page (PAYMENT_BACKEND=sandbox): pick a test card, come back."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request
from werkzeug.wrappers import Response

from extensions import db
from models import SandboxOperation
from services.payments import sandbox

bp = Blueprint("sandbox_bank", __name__, url_prefix="/banque-test")


@bp.before_request
def only_in_sandbox() -> None:
    if current_app.config["PAYMENT_BACKEND"] != "sandbox":
        abort(404)


@bp.route("/<id_op>", methods=["GET", "POST"])
def page(id_op: str) -> str | Response | tuple[str, int]:
    """Show the test bank's card page; on submit, decide, notify and send the parent back."""
    operation = sandbox.open_operation(id_op)
    if operation is None:
        known = db.session.get(SandboxOperation, id_op)
        if known is None:
            abort(404)
        return render_template("sandbox_bank/closed.html", operation=known), 410
    if request.method == "GET":
        return render_template(
            "sandbox_bank/page.html", operation=operation, cards=sandbox.TEST_CARDS
        )
    choice = None if "abandonner" in request.form else request.form.get("carte", "")
    try:
        sandbox.decide(operation, choice)
    except sandbox.SandboxError as error:
        return (
            render_template(
                "sandbox_bank/page.html", operation=operation, cards=sandbox.TEST_CARDS,
                error=str(error), typed=choice,
            ),
            422,
        )  # fmt: skip
    return redirect(operation.return_url, code=303)
