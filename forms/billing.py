"""The upload form for the invoices file an accountant exports from the accounting software."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import SelectField


class InvoiceImportForm(FlaskForm):
    """Upload one CSV file of invoices, for one of the accountant's schools."""

    _has_file = True  # the form macro then sends multipart/form-data

    school = SelectField("Établissement", coerce=int)
    invoices = FileField(
        "Fichier des factures",
        description=(
            "Fichier CSV (séparateur point-virgule) : "
            "numero;eleve;objet;montant;emission;echeance;paiement_en_ligne, payeur en option."
        ),
        validators=[
            FileRequired("Choisissez le fichier des factures."),
            FileAllowed(["csv", "txt"], "Déposez un fichier CSV (extension .csv)."),
        ],
        render_kw={"accept": ".csv,text/csv,text/plain"},
    )
