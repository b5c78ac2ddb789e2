"""Development helpers: the outbox page showing every email and SMS Guichet sent."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template

from services.outbox import recent_messages

bp = Blueprint("dev", __name__, url_prefix="/dev")


@bp.before_request
def only_when_enabled() -> None:
    if not current_app.config.get("SHOW_DEV_OUTBOX"):
        abort(404)


@bp.get("/outbox")
def outbox() -> str:
    """Show the latest messages of the outbox, newest first."""
    return render_template("dev/outbox.html", messages=recent_messages(100))
