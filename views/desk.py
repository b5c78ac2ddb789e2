"""The accountants' assistance desk: the queue of help requests and their threads."""

from __future__ import annotations

import io
from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from extensions import db
from forms.desk import AssignForm, DeskActionForm, NoteForm, ReplyForm
from models import Account, HelpRequest
from services.desk import actions, queue
from services.desk.actions import DESK_ROLES, DeskActionError
from services.desk.desk_settings import desk_settings, response_time
from views.staff import roles_required

bp = Blueprint("desk", __name__, url_prefix="/espace/assistance")

desk_required = roles_required(*DESK_ROLES)


def _school_ids() -> list[int]:
    return sorted({m.school_id for m in current_user.memberships if m.role in DESK_ROLES})


@bp.get("/")
@desk_required
def inbox() -> str:
    """List one box of requests and tasks (to take, mine…), with every box's count."""
    try:
        box = queue.Box(request.args.get("liste", queue.Box.NEW.value))
        kind = queue.Kind(request.args["type"]) if request.args.get("type") else None
    except ValueError:
        abort(404)
    categories = desk_settings().categories
    category = request.args.get("categorie") or None
    filters = queue.Filters(
        search=request.args.get("q", "").strip()[:100],
        kind=kind,
        category=category if category in categories else None,
    )
    page = queue.queue(_school_ids(), current_user, box, filters)
    return render_template(
        "desk/inbox.html",
        page=page,
        boxes=list(queue.Box),
        filters=filters,
        categories=categories,
        kinds=queue.Kind,
    )


def _request(reference: str) -> HelpRequest:
    found = queue.request_in_scope(_school_ids(), reference)
    if found is None:
        abort(404)  # another school's request does not exist for this accountant
    return found


@bp.get("/<reference>")
@desk_required
def thread(reference: str) -> str:
    """Show a request: its whole thread, the family, its children and invoices at hand."""
    found = _request(reference)
    return _thread_page(found, ReplyForm(), NoteForm())


def _thread_page(found: HelpRequest, reply_form: ReplyForm, note_form: NoteForm) -> str:
    assign_form = AssignForm()
    assign_form.colleague.choices = [
        SelectChoice(c.id, c.name) for c in actions.colleagues(found) if c.id != found.assignee_id
    ]
    settings = desk_settings()
    return render_template(
        "desk/thread.html",
        help=found,
        category_label=settings.categories.get(found.category or ""),
        sla=response_time(found, settings),
        invoices=queue.family_invoices(found),
        children=queue.family_children(found),
        reply_form=reply_form,
        note_form=note_form,
        assign_form=assign_form,
        action_form=DeskActionForm(),
    )


def _act(reference: str, act: Callable[[HelpRequest], object], done: str) -> Response:
    """Run an action on the request under a row lock; commit and say so, or say why not."""
    found = actions.locked(_request(reference).id)
    try:
        act(found)
    except DeskActionError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()  # a reply's email is queued by this commit, never before
        flash(done.replace("{email}", found.requester_email), "success")
    return redirect(url_for("desk.thread", reference=found.reference))


def _checked(form: DeskActionForm) -> None:
    if not form.validate_on_submit():
        abort(400)  # only a missing or stale CSRF token gets here


@bp.post("/<reference>/prendre")
@desk_required
def claim(reference: str) -> Response:
    """Take the request."""
    _checked(DeskActionForm())
    return _act(
        reference, lambda found: actions.claim(found, current_user), "Vous traitez cette demande."
    )


@bp.post("/<reference>/liberer")
@desk_required
def release(reference: str) -> Response:
    """Put the request back in the common list."""
    _checked(DeskActionForm())
    return _act(
        reference,
        lambda found: actions.release(found, current_user),
        "La demande est remise dans la file.",
    )


@bp.post("/<reference>/confier")
@desk_required
def assign(reference: str) -> Response:
    """Hand the request to a colleague."""
    form = AssignForm()
    found = _request(reference)
    form.colleague.choices = [SelectChoice(c.id, c.name) for c in actions.colleagues(found)]
    if not form.validate_on_submit():
        flash("Choisissez une personne de la liste.", "error")
        return redirect(url_for("desk.thread", reference=found.reference))
    colleague = db.session.get(Account, form.colleague.data)
    return _act(
        reference,
        lambda found: actions.assign(found, current_user, colleague),
        f"La demande est confiée à {colleague.name}.",
    )


@bp.post("/<reference>/note")
@desk_required
def note(reference: str) -> Response | str:
    """Add an internal note."""
    form = NoteForm()
    if not form.validate_on_submit():
        return _thread_page(_request(reference), ReplyForm(formdata=None), form)
    return _act(
        reference,
        lambda found: actions.add_note(found, current_user, form.note.data),
        "Note ajoutée.",
    )


@bp.post("/<reference>/repondre")
@desk_required
def answer(reference: str) -> Response | str:
    """Reply to the family by email; the request then waits for them, or is closed."""
    form = ReplyForm()
    if not form.validate_on_submit():
        return _thread_page(_request(reference), form, NoteForm(formdata=None))
    close = bool(form.send_and_close.data)
    return _act(
        reference,
        lambda found: actions.reply(found, current_user, form.text.data, close=close),
        "Réponse envoyée à {email}. "
        + ("La demande est close." if close else "La demande attend la réponse de la famille."),
    )


@bp.post("/<reference>/clore")
@desk_required
def close(reference: str) -> Response:
    """Close the request."""
    _checked(DeskActionForm())
    return _act(
        reference, lambda found: actions.close(found, current_user), "La demande est close."
    )


@bp.post("/<reference>/rouvrir")
@desk_required
def reopen(reference: str) -> Response:
    """Reopen a closed request."""
    _checked(DeskActionForm())
    return _act(
        reference, lambda found: actions.reopen(found, current_user), "La demande est rouverte."
    )


@bp.get("/<reference>/pieces/<int:attachment_id>")
@desk_required
def attachment(reference: str, attachment_id: int) -> Response:
    """Download a file that came with a message of the request."""
    found = queue.attachment_of(_request(reference), attachment_id)
    if found is None:
        abort(404)
    return send_file(
        io.BytesIO(found.data),
        mimetype=found.content_type,
        as_attachment=True,
        download_name=found.filename,
    )
