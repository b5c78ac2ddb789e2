"""Forms of the assistance desk: notes, replies, handing a request to a colleague."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from services.desk.actions import MAX_TEXT

WRITE = "Écrivez un message."
TOO_LONG = f"Le message dépasse {MAX_TEXT} caractères."


class DeskActionForm(FlaskForm):
    """A button only (take, release, close, reopen): CSRF-protected, no input."""


class NoteForm(FlaskForm):
    """An internal note, never sent to the family."""

    note = TextAreaField(
        "Note interne (visible des collègues seulement)",
        validators=[DataRequired(WRITE), Length(max=MAX_TEXT, message=TOO_LONG)],
    )


class ReplyForm(FlaskForm):
    """A reply sent to the family by email."""

    text = TextAreaField(
        "Réponse à la famille",
        validators=[DataRequired(WRITE), Length(max=MAX_TEXT, message=TOO_LONG)],
    )
    send = SubmitField("Envoyer et attendre la famille")
    send_and_close = SubmitField("Envoyer et clore")


class AssignForm(FlaskForm):
    """Hand the request to a colleague of the school."""

    colleague = SelectField(
        "Confier à",
        coerce=int,
        invalid_choice_message="Choisissez une personne de la liste.",
        invalid_value_message="Choisissez une personne de la liste.",
    )
