"""The administrator's pages: SIECLE import, families' accounts, activation letters."""

from __future__ import annotations

import io

import phonenumbers
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers import Response

from forms.admin import GuardianSearchForm, LettersForm, ResetAccountForm
from forms.siecle import SiecleImportForm
from models import Role
from services import admin_accounts
from services.letters import build_letters
from services.siecle_import import apply_exports, find_school, read_exports
from services.siecle_parser import SiecleFileError
from views.staff import roles_required

bp = Blueprint("admin", __name__, url_prefix="/espace/admin")


admin_required = roles_required(Role.ADMIN)


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


@bp.get("/")
@admin_required
def home() -> str:
    """Link to everything an administrator can do."""
    return render_template("admin/home.html")


@bp.get("/responsables")
@admin_required
def guardians() -> str:
    """Search the guardians of the administrator's schools and show their accounts."""
    form = GuardianSearchForm(request.args)
    query = (form.q.data or "").strip()
    result = admin_accounts.search_guardians(current_user, query) if form.validate() else None
    return render_template(
        "admin/guardians.html",
        form=form,
        query=query,
        result=result,
        several_schools=len(admin_accounts.admin_school_ids(current_user)) > 1,
    )


@bp.route("/comptes/<int:account_id>/reinitialiser", methods=["GET", "POST"])
@admin_required
def reset_account(account_id: int) -> str | Response:
    """Confirm, then reset a parent account (and maybe detach it from the guardian)."""
    account = admin_accounts.account_in_scope(current_user, account_id)
    if account is None:
        abort(404)
    form = ResetAccountForm()
    back = request.args.get("q", "")
    if not form.validate_on_submit():
        rows = admin_accounts.account_guardians(current_user, account)
        return render_template(
            "admin/reset.html", account=account, rows=rows, form=form, query=back
        )
    detached = admin_accounts.reset_account(account, current_user, detach=form.detach.data)
    if detached:
        flash(
            f"Le compte {account.identifiant} est réinitialisé et détaché du responsable : "
            "il peut activer un nouveau compte ou recevoir une lettre d'activation.",
            "success",
        )
    else:
        flash(
            f"Le compte {account.identifiant} est réinitialisé : son mot de passe ne fonctionne "
            "plus, le responsable doit passer par « Mot de passe oublié ».",
            "success",
        )
    return redirect(url_for("admin.guardians", q=back or account.identifiant))


@bp.get("/statistiques")
@admin_required
def statistics() -> str:
    """Show, per class, how many pupils have a legal guardian with an active account."""
    return render_template(
        "admin/statistics.html", schools=admin_accounts.activation_stats(current_user)
    )


@bp.route("/lettres", methods=["GET", "POST"])
@admin_required
def letters() -> str | Response | tuple[str, int]:
    """List who needs a letter; on POST, create their accounts and download the letters."""
    form = LettersForm()
    if not form.validate_on_submit():
        return _letters_page(form)
    if form.all_without_mobile.data:
        guardians = [row.guardian for row in admin_accounts.letter_candidates(current_user)]
    else:
        guardians = admin_accounts.guardians_in_scope(current_user, form.guardian_ids.data)
        if guardians is None:
            abort(404)
    try:
        issued = admin_accounts.issue_activation_letters(guardians, current_user)
    except admin_accounts.AdminAccountsError as error:
        # 422 rolls the request back: no account is created unless every letter is printed.
        return _letters_page(form, error=str(error)), 422
    pdf = build_letters(issued, current_app.config["PUBLIC_URL"])
    response = send_file(
        io.BytesIO(pdf),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"lettres-activation-{issued[0].issued_on.isoformat()}.pdf",
    )
    response.headers["Cache-Control"] = "no-store"  # it holds passwords
    return response


def _letters_page(form: LettersForm, error: str | None = None) -> str:
    return render_template(
        "admin/letters.html",
        form=form,
        candidates=admin_accounts.letter_candidates(current_user),
        today=admin_accounts.paris_today(),
        error=error,
        months=admin_accounts.LETTER_VALIDITY_MONTHS,
        several_schools=len(admin_accounts.admin_school_ids(current_user)) > 1,
    )


@bp.app_template_filter("phone")
def phone(e164: str | None) -> str:
    """Show an E.164 number the way people write it: 06 39 98 01 10 in France."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    style = phonenumbers.PhoneNumberFormat
    national = number.country_code == 33  # France's calling code
    return phonenumbers.format_number(number, style.NATIONAL if national else style.INTERNATIONAL)
