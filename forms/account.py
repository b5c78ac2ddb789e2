"""Fixed forms of the parent's account page."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired

from forms.auth import REQUIRED, email_field, new_password_fields


class EmailChangeForm(FlaskForm):
    """Give a new email address (it must then be confirmed)."""

    email = email_field("Nouvelle adresse électronique")


class PasswordChangeForm(FlaskForm):
    """Change the password, proving the current one."""

    current = PasswordField(
        "Mot de passe actuel",
        validators=[DataRequired(REQUIRED)],
        render_kw={"autocomplete": "current-password"},
    )
    password, confirm = new_password_fields()


class ConfirmForm(FlaskForm):
    """A single button, so confirming needs a deliberate click (mail scanners only GET)."""
