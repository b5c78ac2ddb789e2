"""Forms of the workflow studio: the editor, publishing, rolling back, importing."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from services.workflow_drafts import MAX_SOURCE_BYTES
from services.workflow_publishing import MAX_COMMENT

COMMENT_REQUIRED = "Décrivez la modification en une phrase : le commentaire est obligatoire."


class EditorForm(FlaskForm):
    """The YAML text of a workflow, saved as a draft."""

    source = TextAreaField(
        "Définition (YAML)",
        validators=[
            DataRequired("La définition est vide."),
            Length(
                max=MAX_SOURCE_BYTES,
                message=f"La définition dépasse {MAX_SOURCE_BYTES // 1024} Ko.",
            ),
        ],
        render_kw={"spellcheck": "false", "autocomplete": "off", "rows": 30},
    )


class CommentForm(FlaskForm):
    """Publish or roll back: the comment says why, for the audit log and the versions list."""

    comment = StringField(
        "Commentaire",
        description="Ce qui change et pourquoi, par exemple : « Ajout du consentement RGPD ».",
        validators=[
            DataRequired(COMMENT_REQUIRED),
            Length(max=MAX_COMMENT, message=f"{MAX_COMMENT} caractères au plus."),
        ],
    )


class ImportForm(FlaskForm):
    """Upload a YAML definition: it becomes the draft of the workflow its key names."""

    _has_file = True

    file = FileField(
        "Fichier YAML",
        description="Un fichier exporté de Guichet ou écrit à la main (.yaml, UTF-8).",
        validators=[
            FileRequired("Choisissez un fichier."),
            FileAllowed(["yaml", "yml"], "Déposez un fichier .yaml ou .yml."),
        ],
        render_kw={"accept": ".yaml,.yml,text/yaml,application/yaml"},
    )


class ConfirmForm(FlaskForm):
    """A button that changes something: only the CSRF token."""
