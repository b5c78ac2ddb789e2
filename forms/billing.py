"""The accountant's forms: invoices import, list filters, an invoice by hand, its corrections,
its cancellation, and payments received at the counter."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from forms.fields import MoneyField
from models import PaymentMethod, PaymentStatus
from services.billing import InvoiceState

REQUIRED = "Ce champ est obligatoire."
BAD_DATE = "Saisissez une date valide, par exemple 31/01/2026."
BAD_CHOICE = "Choisissez une valeur dans la liste."
OFFLINE_METHODS = (PaymentMethod.CHEQUE, PaymentMethod.CASH, PaymentMethod.TRANSFER)


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


def optional_id(value: Any) -> int | None:
    """Coerce a select's value to an id, the empty option to None."""
    if value in (None, "", "None"):
        return None
    return int(value)


def school_choices(schools: list[Any]) -> list[SelectChoice]:
    """Return the choices of a school select: name and UAI."""
    return [SelectChoice(str(s.id), f"{s.name} ({s.uai})") for s in schools]


def _day(label: str, **kw: Any) -> DateField:
    return DateField(label, invalid_value_message=BAD_DATE, **kw)


def _filter(label: str, choices: list[SelectChoice], any_label: str = "Tous") -> SelectField:
    return SelectField(
        label,
        choices=[SelectChoice("", any_label), *choices],
        validators=[Optional()],
        invalid_choice_message=BAD_CHOICE,
    )


def _search(label: str) -> StringField:
    return StringField(
        label,
        validators=[Length(max=100, message="Saisissez au plus 100 caractères.")],
        render_kw={"type": "search", "spellcheck": "false", "autocomplete": "off"},
    )


class InvoiceFilterForm(FlaskForm):
    """Filter the invoices list (a GET form: nothing changes, the URL can be shared)."""

    class Meta:
        csrf = False

    du = _day("Émises à partir du", validators=[Optional()])
    au = _day("Émises jusqu'au", validators=[Optional()])
    classe = _filter("Classe", [], "Toutes")  # the view lists the classes
    statut = _filter("Statut", [SelectChoice(s.value, s.label) for s in InvoiceState])
    q = _search("Payeur, élève ou numéro")


class PaymentFilterForm(FlaskForm):
    """Filter the payments list (a GET form)."""

    class Meta:
        csrf = False

    du = _day("Du", description="Date du paiement (ou de la tentative)", validators=[Optional()])
    au = _day("Au", validators=[Optional()])
    classe = _filter("Classe", [], "Toutes")
    statut = _filter("Statut", [SelectChoice(s.value, s.label) for s in PaymentStatus])
    moyen = _filter("Moyen de paiement", [SelectChoice(m.value, m.label) for m in PaymentMethod])
    q = _search("Payeur, élève, facture ou ticket")


class ExportForm(FlaskForm):
    """Choose the day (and the school) of the payments export (a GET form)."""

    class Meta:
        csrf = False

    date = _day("Journée", validators=[Optional()])
    school = SelectField("Établissement", choices=[], validate_choice=False)


def _amount(label: str, description: str = "En euros, par exemple 12,50") -> MoneyField:
    return MoneyField(
        label,
        description=description,
        validators=[InputRequired(REQUIRED)],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )


def _label() -> StringField:
    return StringField(
        "Objet",
        validators=[
            InputRequired(REQUIRED),
            Length(max=200, message="Saisissez au plus 200 caractères."),
        ],
    )


def _reason(label: str, description: str) -> TextAreaField:
    return TextAreaField(
        label,
        description=description,
        validators=[
            InputRequired(REQUIRED),
            Length(max=200, message="Saisissez au plus 200 caractères."),
        ],
    )


class InvoiceForm(FlaskForm):
    """An invoice typed by hand, for one of the accountant's schools."""

    school = SelectField("Établissement", coerce=int, invalid_choice_message=BAD_CHOICE)
    number = StringField(
        "Numéro de facture",
        description="Unique dans l'établissement, 30 caractères au plus.",
        validators=[
            InputRequired(REQUIRED),
            Length(max=30, message="Saisissez au plus 30 caractères."),
        ],
    )
    pupil = StringField(
        "Élève",
        description="INE ou identifiant SIECLE (ELEVE_ID), comme dans le fichier d'import.",
        validators=[InputRequired(REQUIRED), Length(max=20)],
        render_kw={"spellcheck": "false", "autocomplete": "off"},
    )
    label = _label()
    amount = _amount("Montant")
    issued_on = _day("Date d'émission", validators=[InputRequired(REQUIRED)])
    due_on = _day("Date d'échéance", validators=[InputRequired(REQUIRED)])
    payable_online = BooleanField(
        "Payable en ligne",
        description="Décochez pour une facture réglée par prélèvement ou un autre moyen.",
        default=True,
    )


class CorrectionForm(FlaskForm):
    """Correct an invoice: label, amount, due date, payable online, payer."""

    label = _label()
    amount = _amount("Montant", "Pas moins que ce qui est déjà payé ou en cours de paiement.")
    due_on = _day("Date d'échéance", validators=[InputRequired(REQUIRED)])
    payable_online = BooleanField(
        "Payable en ligne",
        description="Décochez pour une facture réglée par prélèvement ou un autre moyen.",
    )
    # Choices: the pupil's legal guardians (set by the view), and "none".
    payer = SelectField(
        "Payeur",
        coerce=optional_id,
        choices=[],
        invalid_choice_message=BAD_CHOICE,
        invalid_value_message=BAD_CHOICE,
    )


class CancelForm(FlaskForm):
    """Cancel an invoice, saying why."""

    reason = _reason(
        "Motif de l'annulation", "Visible dans l'historique de la facture, 200 caractères au plus."
    )


class OfflinePaymentForm(FlaskForm):
    """Record a cheque, cash or transfer handed to the agent comptable."""

    method = SelectField(
        "Moyen de paiement",
        choices=[SelectChoice(m.value, m.label) for m in OFFLINE_METHODS],
        invalid_choice_message=BAD_CHOICE,
    )
    amount = _amount("Montant reçu")
    paid_on = _day("Date de réception", validators=[InputRequired(REQUIRED)])
    note = StringField(
        "Référence",
        description="Numéro du chèque et banque, référence du virement… (facultatif)",
        validators=[Optional(), Length(max=150, message="Saisissez au plus 150 caractères.")],
    )


class ResolveDoubtForm(FlaskForm):
    """Close a payment in doubt after checking the bank's back office."""

    decision = SelectField(
        "Ce que montre la banque",
        choices=[
            SelectChoice("paid", "Le paiement a été encaissé : le compter comme payé"),
            SelectChoice("not_paid", "Rien n'a été encaissé : libérer le montant réservé"),
        ],
        invalid_choice_message=BAD_CHOICE,
    )
    amount = MoneyField(
        "Montant encaissé",
        description="Si la banque a encaissé un autre montant que celui demandé (en euros).",
        validators=[Optional()],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    reason = _reason("Vérification faite", "Par exemple : encaissé le 29/11, autorisation 123456.")


class VoidPaymentForm(FlaskForm):
    """Void a payment recorded by mistake, saying why."""

    reason = _reason("Motif", "Par exemple : chèque enregistré sur la mauvaise facture.")
