"""The accountants' assistance desk: the queue of help requests and their threads."""

from __future__ import annotations

import io

from flask import Blueprint, abort, render_template, request, send_file
from flask_login import current_user
from werkzeug.wrappers import Response

from models import HelpRequest, Role
from services.desk import queue
from views.staff import roles_required

bp = Blueprint("desk", __name__, url_prefix="/espace/assistance")

DESK_ROLES = (Role.ACCOUNTANT, Role.ADMIN)
desk_required = roles_required(*DESK_ROLES)


def _school_ids() -> list[int]:
    return sorted({m.school_id for m in current_user.memberships if m.role in DESK_ROLES})


@bp.get("/")
@desk_required
def inbox() -> str:
    """List the requests of one box (new, mine, waiting, closed), with every box's count."""
    try:
        box = queue.Box(request.args.get("liste", queue.Box.NEW.value))
    except ValueError:
        abort(404)
    search = request.args.get("q", "").strip()[:100]
    page = queue.queue(_school_ids(), current_user, box, search)
    return render_template("desk/inbox.html", page=page, boxes=list(queue.Box), search=search)


def _request(reference: str) -> HelpRequest:
    found = queue.request_in_scope(_school_ids(), reference)
    if found is None:
        abort(404)  # another school's request does not exist for this accountant
    return found


@bp.get("/<reference>")
@desk_required
def thread(reference: str) -> str:
    """Show a request: its whole thread, the family and its invoices at hand."""
    found = _request(reference)
    return render_template("desk/thread.html", help=found, invoices=queue.family_invoices(found))


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
