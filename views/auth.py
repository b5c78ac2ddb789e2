"""Sign in, sign out, and reset a forgotten staff password."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from extensions import limiter
from forms.auth import ForgotPasswordForm, LoginForm, NewPasswordForm
from models import Account
from services import accounts

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def _home_of(account: Account) -> str:
    return url_for("staff.dashboard" if account.is_staff else "account.overview")


def _safe_next(target: str | None) -> str | None:
    # Only same-site paths: an absolute URL in ?next= would make us an open redirect.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None


@bp.route("/connexion", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> str | Response:
    """Sign in with an identifiant or a staff email address."""
    if current_user.is_authenticated:
        return redirect(_home_of(current_user))
    form = LoginForm()
    if request.method == "GET" and request.args.get("identifiant"):
        form.login.data = request.args["identifiant"][:64]  # after confirming an address
    if form.validate_on_submit():
        account = accounts.authenticate(form.login.data, form.password.data)
        if account is not None:
            session.permanent = True  # expires after SESSION_LIFETIME_SECONDS of inactivity
            login_user(account)
            flash(f"Bienvenue, {account.name}.", "success")
            if account.must_change_password:
                flash("Choisissez maintenant votre propre mot de passe.", "warning")
                return redirect(url_for("account.overview"))
            return redirect(_safe_next(request.args.get("next")) or _home_of(account))
        if accounts.is_locked(accounts.find_by_login(form.login.data)):
            flash(
                "Trop d'essais infructueux : le compte est bloqué pendant 15 minutes. "
                "Vous pouvez réinitialiser votre mot de passe.",
                "error",
            )
        else:
            flash("Identifiant ou mot de passe incorrect.", "error")
        # The failure counter must survive the 4xx-means-rollback rule of the request.
        return render_template("auth/login.html", form=form), 200
    return render_template("auth/login.html", form=form)


@bp.post("/deconnexion")
def logout() -> Response:
    """Sign out (a POST with a CSRF token, so no link can sign someone out)."""
    logout_user()
    flash("Vous êtes déconnecté.", "info")
    return redirect(url_for("public.home"))


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def forgot_password() -> str | Response:
    """Send a reset link to a staff address (same answer whether it exists or not)."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data)
        flash(
            "Si cette adresse correspond à un compte du personnel, un lien de "
            "réinitialisation vient d'y être envoyé. Il est valable une heure.",
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/mot-de-passe/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> str | Response:
    """Choose a new password from a reset link."""
    account = accounts.account_for_reset_token(token)
    if account is None:
        abort(404)
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.set_password(account, form.password.data)
        except accounts.AccountError as error:
            form.password.errors.append(str(error))
        else:
            flash("Votre mot de passe a été changé. Vous pouvez vous connecter.", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)
