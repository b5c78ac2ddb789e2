"""Fixed forms of the parent's account page."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from forms.auth import REQUIRED
from services.passwords import POLICY_TEXT


class EmailChangeForm(FlaskForm):
    """Give a new email address (it must then be confirmed)."""

    email = EmailField(
        "Nouvelle adresse électronique",
        description="Format attendu : nom@domaine.fr",
        validators=[
            DataRequired(REQUIRED),
            Email("Saisissez une adresse électronique valide.", check_deliverability=False),
            Length(max=254),
        ],
        render_kw={"autocomplete": "email"},
    )


class PasswordChangeForm(FlaskForm):
    """Change the password, proving the current one."""

    current = PasswordField(
        "Mot de passe actuel",
        validators=[DataRequired(REQUIRED)],
        render_kw={"autocomplete": "current-password"},
    )
    password = PasswordField(
        "Nouveau mot de passe",
        description=POLICY_TEXT,
        validators=[DataRequired(REQUIRED), Length(max=200)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Confirmer le nouveau mot de passe",
        validators=[
            DataRequired(REQUIRED),
            EqualTo("password", "Les deux mots de passe ne sont pas identiques."),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class ConfirmForm(FlaskForm):
    """A single button, so confirming needs a deliberate click (mail scanners only GET)."""
