"""The administrator's pages: importing the school's SIECLE exports."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from forms.siecle import SiecleImportForm
from models import Role
from services.siecle_import import apply_exports, find_school, read_exports
from services.siecle_parser import SiecleFileError

bp = Blueprint("admin", __name__, url_prefix="/espace/admin")

F = TypeVar("F", bound=Callable[..., Any])


def admin_required(view: F) -> F:
    """Let only signed-in administrators through (403 for accountants and parents)."""

    @wraps(view)
    @login_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.has_role(Role.ADMIN):
            abort(403)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@bp.route("/siecle", methods=["GET", "POST"])
@admin_required
def siecle_import() -> tuple[str, int] | str:
    """Upload the two SIECLE exports and show what the import did."""
    form = SiecleImportForm()
    if not form.validate_on_submit():
        return render_template("admin/siecle.html", form=form)
    try:
        exports = read_exports(form.pupils.data.read(), form.guardians.data.read())
        school = find_school(exports)
        if not current_user.has_role(Role.ADMIN, school.id):
            raise SiecleFileError(
                f"Ces fichiers concernent l'établissement {school.uai} ({school.name}), "
                "dont vous n'êtes pas administrateur : import refusé."
            )
        report = apply_exports(school, exports, actor=current_user)
    except SiecleFileError as error:
        # 422 makes the request boundary roll back, though nothing was written yet.
        return render_template("admin/siecle.html", form=form, error=str(error)), 422
    return render_template("admin/siecle.html", form=SiecleImportForm(formdata=None), report=report)
