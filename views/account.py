"""The parent's account: children, email address (with confirmation), password."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from engine import SYSTEM
from forms.account import ConfirmForm, EmailChangeForm, PasswordChangeForm
from models.base import utcnow
from services import parents, workflows
from services.accounts import AccountError, set_password
from services.passwords import verify_password

bp = Blueprint("account", __name__, url_prefix="/compte")


def _confirmation_validity() -> timedelta:
    return timedelta(hours=current_app.config["EMAIL_CONFIRMATION_HOURS"])


@bp.get("/")
@login_required
def overview() -> str:
    """Show the children linked to the account, its email address and password forms."""
    return _overview(PasswordChangeForm())


@bp.post("/courriel")
@login_required
def change_email() -> str | Response:
    """Ask for a new address; it replaces the old one once confirmed."""
    form = EmailChangeForm()
    if not form.validate_on_submit():
        flash("Saisissez une adresse électronique valide.", "error")
        return redirect(url_for("account.overview"))
    parents.request_email_confirmation(current_user, form.email.data, _confirmation_validity())
    flash(f"Un lien de confirmation a été envoyé à {form.email.data}.", "success")
    return redirect(url_for("account.overview"))


@bp.post("/courriel/renvoyer")
@login_required
def resend_confirmation() -> Response:
    """Send the confirmation link again to the address waiting for it."""
    pending = current_user.new_email
    if pending:
        parents.request_email_confirmation(current_user, pending, _confirmation_validity())
        flash(f"Un nouveau lien a été envoyé à {pending}.", "success")
    return redirect(url_for("account.overview"))


@bp.post("/mot-de-passe")
@login_required
def change_password() -> str | Response:
    """Change the password after checking the current one."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        if not verify_password(current_user.password_hash, form.current.data):
            form.current.errors.append("Le mot de passe actuel est incorrect.")
        else:
            try:
                set_password(current_user, form.password.data)
            except AccountError as error:
                form.password.errors.append(str(error))
            else:
                current_user.must_change_password = False
                current_user.password_expires_at = None
                flash("Votre mot de passe est changé.", "success")
                return redirect(url_for("account.overview"))
    return _overview(form)


def _overview(password_form: PasswordChangeForm) -> str:
    return render_template(
        "account/overview.html",
        children=parents.children_of(current_user, utcnow().date()),
        email_form=EmailChangeForm(),
        password_form=password_form,
    )


@bp.route("/confirmer/<token>", methods=["GET", "POST"])
def confirm_email(token: str) -> str | Response:
    """Confirm an email address from the link sent to it (one click on a button)."""
    found = parents.account_for_confirmation(token, utcnow())
    if found is None:
        return render_template("account/confirm_invalid.html"), 404
    account, email, activation_id = found
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template("account/confirm.html", form=form, email=email)
    parents.confirm_email(account, email)
    row = workflows.get_instance(activation_id) if activation_id else None
    if row is not None:
        workflows.fire(row, "email_confirme", SYSTEM)
    flash(
        "Votre adresse électronique est confirmée. "
        f"Connectez-vous avec votre identifiant : {account.identifiant}",
        "success",
    )
    return redirect(url_for("auth.login", identifiant=account.identifiant))
