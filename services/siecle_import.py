"""Import a school's SIECLE exports: pupils, guardians and their links, idempotently.

Rows are keyed by their SIECLE ids (ELEVE_ID, PERSONNE_ID) within the school. Nothing is
ever deleted: a pupil who left gets `left_on`, a link no longer exported gets
`active = False`, a guardian keeps their account. Existing rows are loaded once into
dicts and new ones added in bulk, so the cost does not grow with a query per row.
Services flush and never commit: the caller commits once, or rolls back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from extensions import db
from models import Account, Guardian, GuardianLink, Pupil, School
from services import audit
from services.phones import is_mobile, normalise_mobile
from services.siecle_parser import (
    GuardianRecord,
    GuardiansFile,
    LinkRecord,
    PupilsFile,
    Rejection,
    SiecleFileError,
    parse_guardians,
    parse_pupils,
)

PARIS = ZoneInfo("Europe/Paris")


class SiecleImportError(SiecleFileError):
    """The exports cannot be imported (unknown school, mismatched files…); nothing changed."""


@dataclass
class Exports:
    """The two parsed files of one school, checked to belong together."""

    pupils: PupilsFile
    guardians: GuardiansFile

    @property
    def uai(self) -> str:
        """Return the school both files name (PARAMETRES/UAJ)."""
        return self.pupils.header.uai

    @property
    def export_date(self) -> date:
        """Return the pupils file's export date (today in Paris if it has none)."""
        exported = self.pupils.header.export_date or self.guardians.header.export_date
        return exported or _today()


@dataclass
class Counts:
    """What happened to one kind of row."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    left: int = 0

    def as_dict(self) -> dict[str, int]:
        """Return the counts as JSON-ready values."""
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "left": self.left,
        }


@dataclass(frozen=True)
class Child:
    """A pupil as the no-mobile list names them."""

    siecle_id: str
    name: str
    class_code: str | None


@dataclass
class MissingMobile:
    """A legal guardian of a current pupil who cannot receive the activation SMS."""

    siecle_id: str
    name: str
    reason: str
    children: list[Child] = field(default_factory=list)


@dataclass
class ImportReport:
    """Everything an import did, for the page, the command and its --json output."""

    uai: str
    school_name: str
    export_date: date
    school_year: int | None
    layouts: dict[str, str]
    pupils: Counts = field(default_factory=Counts)
    guardians: Counts = field(default_factory=Counts)
    links: Counts = field(default_factory=Counts)
    rejected: list[Rejection] = field(default_factory=list)
    without_mobile: list[MissingMobile] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the report as one JSON-ready object."""
        return {
            "school": {"uai": self.uai, "name": self.school_name},
            "export_date": self.export_date.isoformat(),
            "school_year": self.school_year,
            "layouts": dict(self.layouts),
            "pupils": self.pupils.as_dict(),
            "guardians": self.guardians.as_dict(),
            "links": self.links.as_dict(),
            "rejected": [rejection.as_dict() for rejection in self.rejected],
            "without_mobile": [
                {
                    "id": entry.siecle_id,
                    "name": entry.name,
                    "reason": entry.reason,
                    "children": [
                        {"id": c.siecle_id, "name": c.name, "class": c.class_code}
                        for c in entry.children
                    ],
                }
                for entry in self.without_mobile
            ],
        }


# -- the steps a caller runs ---------------------------------------------------------------


def read_exports(pupils_data: bytes, guardians_data: bytes) -> Exports:
    """Parse both files and check they name the same school; raise SiecleFileError if not."""
    exports = Exports(parse_pupils(pupils_data), parse_guardians(guardians_data))
    other = exports.guardians.header.uai
    if other != exports.uai:
        raise SiecleImportError(
            f"Les deux fichiers ne concernent pas le même établissement : {exports.uai} pour "
            f"les élèves, {other} pour les responsables."
        )
    return exports


def find_school(exports: Exports, expected_uai: str | None = None) -> School:
    """Return the school the files name; refuse another one than expected, or an unknown one."""
    if expected_uai is not None and expected_uai.strip().upper() != exports.uai:
        raise SiecleImportError(
            f"Les fichiers concernent l'établissement {exports.uai}, "
            f"pas {expected_uai.strip().upper()} : import refusé."
        )
    school = db.session.scalars(db.select(School).filter_by(uai=exports.uai)).first()
    if school is None:
        raise SiecleImportError(
            f"L'établissement {exports.uai} (UAJ des fichiers) n'est pas déclaré dans Guichet : "
            f"créez-le d'abord (flask schools create --uai {exports.uai} --name …)."
        )
    return school


def import_exports(
    pupils_data: bytes,
    guardians_data: bytes,
    *,
    expected_uai: str | None = None,
    actor: Account | None = None,
    actor_label: str | None = None,
) -> ImportReport:
    """Parse both files, find their school and apply them; raise SiecleFileError on bad files."""
    exports = read_exports(pupils_data, guardians_data)
    school = find_school(exports, expected_uai)
    return apply_exports(school, exports, actor=actor, actor_label=actor_label)


def apply_exports(
    school: School,
    exports: Exports,
    *,
    actor: Account | None = None,
    actor_label: str | None = None,
) -> ImportReport:
    """Bring the school's pupils, guardians and links in line with the exports (flush only)."""
    # Two imports of one school at once would race on the unique keys: queue them.
    db.session.execute(db.select(School.id).filter_by(id=school.id).with_for_update())
    report = ImportReport(
        uai=school.uai,
        school_name=school.name,
        export_date=exports.export_date,
        school_year=exports.pupils.header.school_year,
        layouts={"pupils": exports.pupils.layout, "guardians": exports.guardians.layout},
        rejected=[*exports.pupils.rejected, *exports.guardians.rejected],
    )
    pupils = _sync_pupils(school, exports, report)
    guardians = _sync_guardians(school, exports.guardians, report)
    links = _sync_links(school, exports, pupils, guardians, report)
    db.session.flush()
    report.without_mobile = _without_mobile(links, pupils, guardians, exports)
    audit.record(
        "siecle.imported",
        actor=actor,
        actor_label=actor_label,
        target=school,
        school_id=school.id,
        data=_audit_data(report),
    )
    return report


# -- pupils --------------------------------------------------------------------------------


def _sync_pupils(school: School, exports: Exports, report: ImportReport) -> dict[str, Pupil]:
    existing = _load(Pupil, school)
    counts = report.pupils
    new_rows = []
    for record in exports.pupils.pupils:
        values = {
            "ine": record.ine,
            "last_name": record.last_name,
            "usage_name": record.usage_name,
            "first_name": record.first_name,
            "birth_date": record.birth_date,
            "class_code": record.class_code,
            "left_on": record.left_on,
        }
        pupil = existing.get(record.siecle_id)
        if pupil is None:
            new_rows.append({"school_id": school.id, "siecle_id": record.siecle_id, **values})
            counts.created += 1
            continue
        newly_left = pupil.left_on is None and record.left_on is not None
        changed = _assign(pupil, values)
        if newly_left:
            counts.left += 1
        elif changed:
            counts.updated += 1
        else:
            counts.unchanged += 1
    # A record rejected this time is still in the file: its pupil has not left.
    kept = {record.siecle_id for record in exports.pupils.pupils}
    kept |= {rejection.ref for rejection in exports.pupils.rejected}
    for siecle_id, pupil in existing.items():
        if siecle_id not in kept and pupil.left_on is None:
            pupil.left_on = exports.export_date
            counts.left += 1
    return _insert(Pupil, school, existing, new_rows)


# -- guardians -----------------------------------------------------------------------------


def _sync_guardians(
    school: School, guardians_file: GuardiansFile, report: ImportReport
) -> dict[str, Guardian]:
    existing = _load(Guardian, school)
    counts = report.guardians
    new_rows = []
    for record in guardians_file.guardians:
        values = {
            "civility": record.civility,
            "last_name": record.last_name,
            "usage_name": record.usage_name,
            "first_name": record.first_name,
            "mobile": usable_mobile(record.mobile_text)[0],
            "email": record.email,
        }
        guardian = existing.get(record.siecle_id)
        if guardian is None:
            # account_id stays unset: only activation ties a guardian to an account.
            new_rows.append({"school_id": school.id, "siecle_id": record.siecle_id, **values})
            counts.created += 1
        elif _assign(guardian, values):
            counts.updated += 1
        else:
            counts.unchanged += 1
    return _insert(Guardian, school, existing, new_rows)


def usable_mobile(text: str | None) -> tuple[str | None, str | None]:
    """Return (E.164 mobile, None), or (None, why it cannot receive an SMS, in French)."""
    if text is None:
        return None, "aucun numéro de portable dans SIECLE"
    e164 = normalise_mobile(text)
    if e164 is None:
        return None, f"numéro de portable illisible « {text} »"
    if not is_mobile(e164):
        return None, f"le numéro du champ portable est un fixe ({e164})"
    return e164, None


# -- links ---------------------------------------------------------------------------------


def _sync_links(
    school: School,
    exports: Exports,
    pupils: dict[str, Pupil],
    guardians: dict[str, Guardian],
    report: ImportReport,
) -> dict[tuple[str, str], LinkRecord]:
    existing = _load_links(school, pupils, guardians)
    valid_pupils = {record.siecle_id for record in exports.pupils.pupils}
    valid_guardians = {record.siecle_id for record in exports.guardians.guardians}
    rejected_pupils = {r.ref for r in exports.pupils.rejected}
    rejected_guardians = {r.ref for r in exports.guardians.rejected if r.kind == "guardian"}
    counts = report.links
    kept: dict[tuple[str, str], LinkRecord] = {}
    untouched: set[tuple[str, str]] = set()
    new_rows = []
    for record in exports.guardians.links:
        key = (record.pupil_id, record.guardian_id)
        reason = _link_problem(
            record, valid_pupils, valid_guardians, rejected_pupils, rejected_guardians
        )
        if reason is not None:
            report.rejected.append(Rejection("responsables", "link", record.ref, reason))
            untouched.add(key)
            continue
        values = {
            "is_legal": record.is_legal,
            "pays_fees": record.pays_fees,
            "relationship_code": record.relationship_code,
            "active": True,
        }
        kept[key] = record
        link = existing.get(key)
        if link is None:
            ids = {"pupil_id": pupils[key[0]].id, "guardian_id": guardians[key[1]].id}
            new_rows.append({**ids, **values})
            counts.created += 1
        elif _assign(link, values):
            counts.updated += 1
        else:
            counts.unchanged += 1
    _deactivate_missing(existing, set(kept), untouched, valid_guardians, report)
    if new_rows:
        _bulk_insert(GuardianLink, new_rows)
    return kept


def _load_links(
    school: School, pupils: dict[str, Pupil], guardians: dict[str, Guardian]
) -> dict[tuple[str, str], GuardianLink]:
    pupil_ids = {pupil.id: siecle_id for siecle_id, pupil in pupils.items()}
    guardian_ids = {guardian.id: siecle_id for siecle_id, guardian in guardians.items()}
    query = db.select(GuardianLink).join(Guardian).filter(Guardian.school_id == school.id)
    return {
        (pupil_ids.get(link.pupil_id, ""), guardian_ids[link.guardian_id]): link
        for link in db.session.scalars(query)
    }


def _link_problem(
    record: LinkRecord,
    valid_pupils: set[str],
    valid_guardians: set[str],
    rejected_pupils: set[str],
    rejected_guardians: set[str],
) -> str | None:
    if record.pupil_id in rejected_pupils:
        return f"Lien vers l'élève {record.pupil_id}, dont la fiche a été rejetée"
    if record.pupil_id not in valid_pupils:
        return f"Lien vers l'élève {record.pupil_id} absent du fichier des élèves"
    if record.guardian_id in rejected_guardians:
        return f"Lien vers le responsable {record.guardian_id}, dont la fiche a été rejetée"
    if record.guardian_id not in valid_guardians:
        return f"Lien vers le responsable {record.guardian_id} absent du fichier des responsables"
    return None


def _deactivate_missing(
    existing: dict[tuple[str, str], GuardianLink],
    kept: set[tuple[str, str]],
    untouched: set[tuple[str, str]],
    valid_guardians: set[str],
    report: ImportReport,
) -> None:
    gone: set[str] = set()
    for key, link in existing.items():
        if key in kept or key in untouched or not link.active:
            continue
        link.active = False
        report.links.left += 1
        if key[1] not in valid_guardians:
            gone.add(key[1])
    # A guardian absent from the file has left when they lose their last active link.
    still_linked = {key[1] for key, link in existing.items() if link.active}
    report.guardians.left = len(gone - still_linked - {key[1] for key in kept})


# -- the no-mobile list --------------------------------------------------------------------


def _without_mobile(
    links: dict[tuple[str, str], LinkRecord],
    pupils: dict[str, Pupil],
    guardians: dict[str, Guardian],
    exports: Exports,
) -> list[MissingMobile]:
    records = {record.siecle_id: record for record in exports.guardians.guardians}
    found: dict[str, MissingMobile] = {}
    for (pupil_id, guardian_id), link in links.items():
        pupil = pupils[pupil_id]
        current = pupil.left_on is None or pupil.left_on > exports.export_date
        if not (link.is_legal and current) or guardians[guardian_id].mobile is not None:
            continue
        entry = found.get(guardian_id)
        if entry is None:
            entry = _missing(records[guardian_id])
            found[guardian_id] = entry
        entry.children.append(Child(pupil_id, pupil.display_name, pupil.class_code))
    for entry in found.values():
        entry.children.sort(key=lambda child: child.name)
    return sorted(found.values(), key=lambda entry: (entry.name, entry.siecle_id))


def _missing(record: GuardianRecord) -> MissingMobile:
    reason = usable_mobile(record.mobile_text)[1] or ""
    return MissingMobile(record.siecle_id, record.display_name, reason)


# -- helpers -------------------------------------------------------------------------------


SchoolRow = TypeVar("SchoolRow", Pupil, Guardian)


def _load(model: type[SchoolRow], school: School) -> dict[str, SchoolRow]:
    """Return the school's rows of a model by SIECLE id, in one query."""
    rows = db.session.scalars(db.select(model).filter_by(school_id=school.id))
    return {row.siecle_id: row for row in rows}


def _insert(
    model: type[SchoolRow],
    school: School,
    existing: dict[str, SchoolRow],
    new_rows: list[dict[str, Any]],
) -> dict[str, SchoolRow]:
    """Insert new rows in one statement, then load them back (with their ids) in one query."""
    if not new_rows:
        return existing
    _bulk_insert(model, new_rows)
    return _load(model, school)


def _bulk_insert(model: type[Any], rows: list[dict[str, Any]]) -> None:
    # One executemany, where adding objects would cost a round trip each. render_nulls keeps
    # every row's columns identical, else the batch splits wherever a value is None.
    db.session.execute(db.insert(model).execution_options(render_nulls=True), rows)


def _assign(row: Any, values: dict[str, Any]) -> bool:
    # Only real changes are written, so an unchanged re-import issues no UPDATE at all.
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _today() -> date:
    return datetime.now(PARIS).date()


def _audit_data(report: ImportReport) -> dict[str, Any]:
    # Counts only: the audit trail needs no copy of the families' personal data.
    return {
        "export_date": report.export_date.isoformat(),
        "pupils": report.pupils.as_dict(),
        "guardians": report.guardians.as_dict(),
        "links": report.links.as_dict(),
        "rejected": len(report.rejected),
        "without_mobile": len(report.without_mobile),
    }
