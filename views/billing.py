"""The accountant's pages about invoices: the CSV import."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, abort, render_template
from flask_login import current_user

from forms.billing import InvoiceImportForm
from models import Role, School
from services.invoice_import import InvoiceFileError, import_invoices
from views.staff import staff_required

bp = Blueprint("billing", __name__, url_prefix="/espace/factures")

F = TypeVar("F", bound=Callable[..., Any])
BILLING_ROLES = (Role.ACCOUNTANT, Role.ADMIN)


def billing_schools() -> list[School]:
    """Return the schools where the signed-in account is accountant or administrator."""
    schools = {m.school_id: m.school for m in current_user.memberships if m.role in BILLING_ROLES}
    return sorted(schools.values(), key=lambda school: school.name)


def accountant_required(view: F) -> F:
    """Let only accountants and administrators through (403 for parents)."""

    @wraps(view)
    @staff_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not billing_schools():
            abort(403)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _form(schools: list[School], **kw: Any) -> InvoiceImportForm:
    form = InvoiceImportForm(**kw)
    if len(schools) > 1:
        form.school.choices = [(s.id, f"{s.name} ({s.uai})") for s in schools]
    else:
        del form.school
    return form


@bp.route("/import", methods=["GET", "POST"])
@accountant_required
def invoice_import() -> tuple[str, int] | str:
    """Upload the invoices CSV and show what the import did, or every bad row."""
    schools = billing_schools()
    form = _form(schools)
    if not form.validate_on_submit():
        return render_template("billing/import.html", form=form)
    school = (
        next(s for s in schools if s.id == form.school.data) if len(schools) > 1 else schools[0]
    )
    try:
        report = import_invoices(form.invoices.data.read(), school, actor=current_user)
    except InvoiceFileError as error:
        # 422 makes the request boundary roll back, though nothing was written.
        return render_template("billing/import.html", form=form, error=str(error)), 422
    if not report.imported:
        return render_template("billing/import.html", form=form, report=report), 422
    return render_template("billing/import.html", form=_form(schools, formdata=None), report=report)
