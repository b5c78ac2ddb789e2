"""Import the invoices (créances) a school's accounting software exports as CSV, idempotently.

The file has a header row and `;` separators, in UTF-8 (with or without BOM) or ISO-8859-15:
`numero;eleve;objet;montant;emission;echeance;paiement_en_ligne[;payeur]`. Invoices are keyed
by their number within the school: a new number creates an invoice, a known one is updated in
place, an invoice absent from the file is left alone (files are often incremental).

All or nothing: if any row is bad, nothing is written and the report lists every bad row with
its line in the file and the reason, in French. The school's pupils, guardians, legal links and
invoices are loaded once into dicts: no query per row. Services flush, the caller commits.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from engine.templates import euros
from extensions import db
from forms.fields import parse_euros
from models import Account, Guardian, GuardianLink, Invoice, Pupil, School
from services import audit
from services.billing import balances

REQUIRED = ("numero", "eleve", "objet", "montant", "emission", "echeance", "paiement_en_ligne")
OPTIONAL = ("payeur",)
MAX_CENTS = 99_999_999  # 999 999,99 €: far above any school fee, well inside the INTEGER column
DATE = re.compile(r"^\d{1,2}/\d{1,2}/\d{4}$")
TRUE = {"oui", "o", "1", "true", "vrai"}
FALSE = {"non", "n", "0", "false", "faux"}
BOM = "\ufeff"


class InvoiceFileError(ValueError):
    """The file cannot be read as an invoices file at all (empty, missing columns…)."""


@dataclass(frozen=True)
class Rejection:
    """A bad row: its line in the file, its invoice number if readable, the reasons in French."""

    line: int
    number: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """Return the rejection as JSON-ready values."""
        return {"line": self.line, "number": self.number, "reason": self.reason}


@dataclass
class InvoiceReport:
    """What an import did (or, when rows were rejected, why it did nothing)."""

    uai: str
    school_name: str
    encoding: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    total_cents: int = 0  # every row of the file
    created_cents: int = 0
    updated_cents: int = 0  # the new amounts of the updated invoices

    @property
    def imported(self) -> bool:
        """Tell whether the file was applied (no bad row)."""
        return not self.rejected

    def as_dict(self) -> dict[str, Any]:
        """Return the report as one JSON-ready object."""
        return {
            "school": {"uai": self.uai, "name": self.school_name},
            "encoding": self.encoding,
            "imported": self.imported,
            "rows": self.rows,
            "invoices": {
                "created": self.created,
                "updated": self.updated,
                "unchanged": self.unchanged,
            },
            "totals_cents": {
                "file": self.total_cents,
                "created": self.created_cents,
                "updated": self.updated_cents,
            },
            "rejected": [rejection.as_dict() for rejection in self.rejected],
        }


@dataclass
class _Row:
    line: int
    number: str
    values: dict[str, Any]


# -- reading the file ------------------------------------------------------------------------


def decode(data: bytes) -> tuple[str, str]:
    """Return (text, encoding): UTF-8 (BOM stripped) if it decodes strictly, else ISO-8859-15."""
    try:
        text, encoding = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = data.decode("iso-8859-15"), "iso-8859-15"
    return text.removeprefix(BOM), encoding


def column_key(name: str) -> str:
    """Normalise a header name: no case, accents, surrounding spaces; spaces become _."""
    plain = unicodedata.normalize("NFKD", name.strip().removeprefix(BOM))
    plain = "".join(c for c in plain if not unicodedata.combining(c)).lower()
    return re.sub(r"[\s\-]+", "_", plain)


def _read_rows(text: str) -> tuple[dict[str, int], list[tuple[int, list[str]]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    try:
        header = next(reader)
    except StopIteration:
        raise InvoiceFileError(
            "Le fichier est vide : il faut au moins la ligne d'en-tête."
        ) from None
    except csv.Error as error:
        raise InvoiceFileError(f"Ligne d'en-tête illisible : {error}.") from None
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        key = column_key(name)
        if key in columns and key in (*REQUIRED, *OPTIONAL):
            raise InvoiceFileError(f"La colonne « {key} » figure deux fois dans l'en-tête.")
        columns.setdefault(key, index)
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise InvoiceFileError(
            f"Colonne{plural} obligatoire{plural} absente{plural} de l'en-tête : "
            f"{', '.join(missing)}. L'en-tête attendu est "
            f"« {';'.join(REQUIRED)} » (séparateur point-virgule), « payeur » en option."
        )
    rows: list[tuple[int, list[str]]] = []
    line = reader.line_num
    try:
        for cells in reader:
            start, line = line + 1, reader.line_num
            if any(cell.strip() for cell in cells):
                rows.append((start, cells))
    except csv.Error as error:
        raise InvoiceFileError(f"Ligne {line + 1} illisible : {error}.") from None
    return columns, rows


# -- the import ------------------------------------------------------------------------------


def _money_conflicts(rows: list[_Row], context: _Context) -> list[Rejection]:
    """Refuse changes the payments already made forbid, with the invoices locked."""
    touched = {
        context.invoices[row.number].id: row
        for row in rows
        if row.number in context.invoices
        and (
            row.values["amount_cents"] != context.invoices[row.number].amount_cents
            or row.values["pupil_id"] != context.invoices[row.number].pupil_id
        )
    }
    if not touched:
        return []
    # Locked like a parent's reservation locks them: no payment starts while we decide.
    locked = db.session.scalars(
        db.select(Invoice).where(Invoice.id.in_(touched)).with_for_update()
    ).all()
    found = balances(locked)
    problems = []
    for invoice in locked:
        row, balance = touched[invoice.id], found[invoice.id]
        committed = balance.paid + balance.in_progress
        if row.values["pupil_id"] != invoice.pupil_id and committed:
            problems.append(
                Rejection(
                    row.line,
                    row.number,
                    "l'élève ne peut plus changer : la facture a des paiements",
                )
            )
        elif row.values["amount_cents"] < committed:
            problems.append(
                Rejection(
                    row.line, row.number,
                    f"montant inférieur à ce qui est déjà payé ou en cours ({euros(committed)})",
                )
            )  # fmt: skip
    return sorted(problems, key=lambda rejection: rejection.line)


def import_invoices(
    data: bytes,
    school: School,
    *,
    actor: Account | None = None,
    actor_label: str | None = None,
) -> InvoiceReport:
    """Check every row, then create or update the school's invoices (flush only).

    Raise InvoiceFileError when the file itself is unusable. When a row is bad, write
    nothing and return the report with its rejected rows.
    """
    text, encoding = decode(data)
    columns, raw_rows = _read_rows(text)
    report = InvoiceReport(uai=school.uai, school_name=school.name, encoding=encoding)
    # Two imports of one school at once would race on the unique numbers: queue them.
    db.session.execute(db.select(School.id).filter_by(id=school.id).with_for_update())
    context = _Context.load(school)
    rows: list[_Row] = []
    seen: dict[str, int] = {}
    for line, cells in raw_rows:
        report.rows += 1
        row, errors = _check_row(line, cells, columns, context)
        if row.number and row.number in seen:
            errors.append(f"numéro {row.number} déjà présent ligne {seen[row.number]}")
        elif row.number:
            seen[row.number] = line
        if errors:
            report.rejected.append(Rejection(line, row.number, " ; ".join(errors)))
        else:
            report.total_cents += row.values["amount_cents"]
            rows.append(row)
    report.rejected.extend(_money_conflicts(rows, context))
    if report.rejected:
        report.total_cents = 0
        return report
    new: list[dict[str, Any]] = []
    for row in rows:
        invoice = context.invoices.get(row.number)
        if invoice is None:
            new.append(
                {"payer_id": None, **row.values, "school_id": school.id, "number": row.number}
            )
            report.created += 1
            report.created_cents += row.values["amount_cents"]
            continue
        before = {name: getattr(invoice, name) for name in row.values}
        changed = {name for name, value in row.values.items() if before[name] != value}
        if not changed:
            report.unchanged += 1
            continue
        for name in changed:
            setattr(invoice, name, row.values[name])
        if "due_on" in changed:
            invoice.reminder_sent_at = None  # a new due date deserves its own reminder
        report.updated += 1
        report.updated_cents += invoice.amount_cents
        audit.record(
            "invoice.updated",
            actor=actor,
            actor_label=actor_label,
            target=invoice,
            school_id=school.id,
            data={
                "number": invoice.number,
                "old_amount_cents": before["amount_cents"],
                "new_amount_cents": invoice.amount_cents,
                "changed": sorted(changed),
            },
        )
    if new:
        # One executemany, where adding objects would cost a round trip each. render_nulls
        # keeps every row's columns identical, else the batch splits wherever a value is None.
        db.session.execute(db.insert(Invoice).execution_options(render_nulls=True), new)
    db.session.flush()
    audit.record(
        "invoices.imported",
        actor=actor,
        actor_label=actor_label,
        target=school,
        school_id=school.id,
        data={
            "rows": report.rows,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "total_cents": report.total_cents,
        },
    )
    return report


@dataclass
class _Context:
    """The school's rows the checks need, loaded once."""

    pupils_by_ine: dict[str, Pupil]
    pupils_by_siecle_id: dict[str, Pupil]
    guardians: dict[str, Guardian]
    legal_links: dict[tuple[int, int], bool]  # (guardian_id, pupil_id) -> active
    invoices: dict[str, Invoice]

    @classmethod
    def load(cls, school: School) -> _Context:
        pupils = list(db.session.scalars(db.select(Pupil).filter_by(school_id=school.id)))
        links = db.session.execute(
            db.select(GuardianLink.guardian_id, GuardianLink.pupil_id, GuardianLink.active)
            .join(Pupil, GuardianLink.pupil_id == Pupil.id)
            .where(Pupil.school_id == school.id, GuardianLink.is_legal.is_(True))
        )
        guardians = db.select(Guardian).filter_by(school_id=school.id)
        invoices = db.select(Invoice).filter_by(school_id=school.id)
        return cls(
            pupils_by_ine={p.ine.upper(): p for p in pupils if p.ine},
            pupils_by_siecle_id={p.siecle_id: p for p in pupils},
            guardians={g.siecle_id: g for g in db.session.scalars(guardians)},
            legal_links={(g, p): active for g, p, active in links},
            invoices={i.number: i for i in db.session.scalars(invoices)},
        )

    def pupil(self, ref: str) -> Pupil | None:
        return self.pupils_by_siecle_id.get(ref) or self.pupils_by_ine.get(ref.upper())


def _check_row(
    line: int, cells: list[str], columns: dict[str, int], context: _Context
) -> tuple[_Row, list[str]]:
    def cell(name: str) -> str:
        index = columns[name]
        return cells[index].strip() if index < len(cells) else ""

    errors: list[str] = []
    needed = max(columns[name] for name in (*REQUIRED, *OPTIONAL) if name in columns) + 1
    if len(cells) < needed:
        errors.append(f"{len(cells)} colonnes au lieu de {needed} (séparateur « ; » attendu)")
    number = cell("numero")
    if not number:
        errors.append("numéro de facture manquant")
    elif len(number) > 30:
        errors.append(f"numéro « {number[:30]}… » trop long (30 caractères au plus)")
    values: dict[str, Any] = {}

    pupil_ref = cell("eleve")
    pupil = context.pupil(pupil_ref) if pupil_ref else None
    if not pupil_ref:
        errors.append("élève manquant (INE ou identifiant SIECLE)")
    elif pupil is None:
        errors.append(f"élève « {pupil_ref} » inconnu dans l'établissement (ni INE ni ELEVE_ID)")
    else:
        values["pupil_id"] = pupil.id

    label = cell("objet")
    if not label:
        errors.append("objet manquant")
    elif len(label) > 200:
        errors.append(f"objet trop long ({len(label)} caractères, 200 au plus)")
    else:
        values["label"] = label

    amount_text = cell("montant")
    amount = parse_euros(amount_text) if amount_text else None
    if not amount_text:
        errors.append("montant manquant")
    elif amount is None:
        errors.append(f"montant « {amount_text} » illisible (exemple : 123,45)")
    elif amount <= 0:
        errors.append("le montant doit être supérieur à zéro")
    elif amount > MAX_CENTS:
        errors.append(f"montant « {amount_text} » trop élevé")
    else:
        values["amount_cents"] = amount

    issued = _date(cell("emission"), "date d'émission", errors)
    due = _date(cell("echeance"), "date d'échéance", errors)
    if issued and due and due < issued:
        errors.append(f"échéance ({due:%d/%m/%Y}) antérieure à l'émission ({issued:%d/%m/%Y})")
    if issued and due:
        values["issued_on"], values["due_on"] = issued, due

    online = cell("paiement_en_ligne").lower()
    if online in TRUE or online in FALSE:
        values["payable_online"] = online in TRUE
    else:
        shown = f"« {cell('paiement_en_ligne')} »" if online else "vide"
        errors.append(f"paiement_en_ligne {shown} : oui ou non attendu")

    if "payeur" in columns:
        values["payer_id"] = None
        payer_ref = cell("payeur")
        if payer_ref:
            payer = context.guardians.get(payer_ref)
            if payer is None:
                errors.append(f"payeur « {payer_ref} » inconnu dans l'établissement")
            elif pupil is not None:
                active = context.legal_links.get((payer.id, pupil.id))
                if active is None or not (active or pupil.left_on):
                    errors.append(
                        f"le payeur « {payer_ref} » n'est pas responsable légal de l'élève "
                        f"« {pupil_ref} »"
                    )
                else:
                    values["payer_id"] = payer.id
    return _Row(line, number if 0 < len(number) <= 30 else "", values), errors


def _date(text: str, what: str, errors: list[str]) -> date | None:
    if not text:
        errors.append(f"{what} manquante")
        return None
    if DATE.match(text):
        try:
            return datetime.strptime(text, "%d/%m/%Y").date()
        except ValueError:
            pass
    errors.append(f"{what} « {text} » invalide (jj/mm/aaaa attendu)")
    return None
