"""Forms of the administrator's account pages: search, reset, activation letters."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectMultipleField, StringField
from wtforms.validators import Length


class GuardianSearchForm(FlaskForm):
    """Search guardians by name, identifiant or email (a GET form: nothing changes)."""

    class Meta:
        csrf = False  # a search changes nothing, and its URL should be shareable

    q = StringField(
        "Nom, prénom, identifiant ou adresse électronique",
        description="Majuscules et accents indifférents, par exemple : helene robin",
        validators=[Length(max=100)],
        render_kw={"type": "search", "spellcheck": "false", "autocomplete": "off"},
    )


class ResetAccountForm(FlaskForm):
    """Confirm an account reset, optionally detaching the account from the guardian."""

    detach = BooleanField(
        "Détacher aussi le compte du responsable",
        description=(
            "Pour une personne qui n'a plus accès ni à son portable ni à sa messagerie : "
            "elle devra activer un nouveau compte, ou recevoir une lettre d'activation."
        ),
    )


class LettersForm(FlaskForm):
    """Choose the guardians to print activation letters for, or all those without mobile."""

    # Choices are the guardians of the admin's schools: checked by the view, not listed here.
    guardian_ids = SelectMultipleField("Responsables", coerce=int, validate_choice=False)
    all_without_mobile = BooleanField(
        "Tous les responsables légaux sans portable utilisable et sans compte"
    )
