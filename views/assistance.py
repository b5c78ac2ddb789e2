"""Contacter l'assistance: a parent starts the assistance workflow from their account."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from engine import EngineError, NotAllowedError
from extensions import db
from models import School
from services import workflows
from services.desk.requests import invoice_choices

bp = Blueprint("assistance", __name__, url_prefix="/assistance")

ASSISTANCE_WORKFLOW = "assistance"


def _family_schools() -> list[School]:
    ids = {g.school_id for g in current_user.guardians}
    if not ids:
        return []
    return list(
        db.session.scalars(db.select(School).where(School.id.in_(ids)).order_by(School.name))
    )


@bp.get("/")
@login_required
def contact() -> Response | str:
    """Open the request form (resuming one left half-filled), in the family's school."""
    if current_user.is_staff:
        abort(403)
    if not (current_user.email and current_user.email_confirmed_at):
        flash(
            "Confirmez votre adresse électronique : c'est là que la réponse vous arrivera.", "error"
        )
        return redirect(url_for("account.overview"))
    actor = workflows.actor_of(current_user)
    ongoing = workflows.ongoing(ASSISTANCE_WORKFLOW, actor.id)
    if ongoing is not None:
        return redirect(url_for("workflows.step", public_id=ongoing.public_id))
    schools = _family_schools()
    uai = request.args.get("etablissement")
    chosen = [s for s in schools if s.uai == uai] if uai else schools
    if len(chosen) != 1:
        if not schools:
            abort(403)
        return render_template("assistance/choose_school.html", schools=schools)
    school = chosen[0]
    try:
        row = workflows.start(
            ASSISTANCE_WORKFLOW,
            actor,
            school,
            data={"factures": invoice_choices(current_user, school)},
        )
    except NotAllowedError:
        abort(403)
    except EngineError:
        abort(404)
    return redirect(url_for("workflows.step", public_id=row.public_id))
