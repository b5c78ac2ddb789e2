"""The upload form for a school's two SIECLE exports."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired

NOT_XML = "Déposez le fichier XML exporté de SIECLE (extension .xml)."


class SiecleImportForm(FlaskForm):
    """Upload the pupils file and the guardians file exported from SIECLE."""

    _has_file = True  # the form macro then sends multipart/form-data

    pupils = FileField(
        "Fichier des élèves",
        description="ElevesSansAdresses.xml ou ElevesAvecAdresses.xml, tel que SIECLE l'exporte.",
        validators=[
            FileRequired("Choisissez le fichier des élèves."),
            FileAllowed(["xml"], NOT_XML),
        ],
        render_kw={"accept": ".xml,text/xml,application/xml"},
    )
    guardians = FileField(
        "Fichier des responsables",
        description=(
            "ResponsablesSansAdresses.xml ou ResponsablesAvecAdresses.xml, "
            "du même export que le fichier des élèves."
        ),
        validators=[
            FileRequired("Choisissez le fichier des responsables."),
            FileAllowed(["xml"], NOT_XML),
        ],
        render_kw={"accept": ".xml,text/xml,application/xml"},
    )
