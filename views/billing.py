"""The accountant's pages about invoices: the CSV import."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask_login import current_user

from forms.billing import InvoiceImportForm
from models import Role, School
from services.invoice_import import InvoiceFileError, import_invoices
from views.staff import roles_required

bp = Blueprint("billing", __name__, url_prefix="/espace/factures")

BILLING_ROLES = (Role.ACCOUNTANT, Role.ADMIN)


def billing_schools() -> list[School]:
    """Return the schools where the signed-in account is accountant or administrator."""
    schools = {m.school_id: m.school for m in current_user.memberships if m.role in BILLING_ROLES}
    return sorted(schools.values(), key=lambda school: school.name)


accountant_required = roles_required(*BILLING_ROLES)


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
