"""Fixed forms for signing in and resetting a password."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from services.passwords import POLICY_TEXT

REQUIRED = "Ce champ est obligatoire."


class LoginForm(FlaskForm):
    """Sign in with an identifiant (parents) or an email address (staff)."""

    login = StringField(
        "Identifiant",
        description=(
            "Parents : l'identifiant noté à l'activation. Personnel : votre adresse électronique."
        ),
        validators=[DataRequired(REQUIRED), Length(max=254)],
        render_kw={"autocomplete": "username", "spellcheck": "false", "autocapitalize": "none"},
    )
    password = PasswordField(
        "Mot de passe",
        validators=[DataRequired(REQUIRED), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )


def email_field(label: str = "Adresse électronique") -> EmailField:
    """Return an email input with the usual checks and hint."""
    return EmailField(
        label,
        description="Format attendu : nom@domaine.fr",
        validators=[
            DataRequired(REQUIRED),
            Email("Saisissez une adresse électronique valide.", check_deliverability=False),
            Length(max=254),
        ],
        render_kw={"autocomplete": "email"},
    )


def new_password_fields() -> tuple[PasswordField, PasswordField]:
    """Return the new-password input (policy shown as its hint) and its confirmation."""
    render = {"autocomplete": "new-password"}
    password = PasswordField(
        "Nouveau mot de passe",
        description=POLICY_TEXT,
        validators=[DataRequired(REQUIRED), Length(max=200)],
        render_kw=render,
    )
    confirm = PasswordField(
        "Confirmer le mot de passe",
        validators=[
            DataRequired(REQUIRED),
            EqualTo("password", "Les deux mots de passe ne sont pas identiques."),
        ],
        render_kw=render,
    )
    return password, confirm


class ForgotPasswordForm(FlaskForm):
    """Ask for a password reset link (staff)."""

    email = email_field()


class NewPasswordForm(FlaskForm):
    """Choose a new password, typed twice."""

    password, confirm = new_password_fields()
