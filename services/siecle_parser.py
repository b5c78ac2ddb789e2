"""Read SIECLE exports (pupils and guardians files, current and pre-2018 layouts) into records.

This module knows XML and SIECLE's quirks, nothing of the database: services.siecle_import
turns the records into rows. Every message is French, for the school's staff.
"""

from __future__ import annotations

import codecs
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date, datetime

PUPILS_ROOT = "BEE_ELEVES"
GUARDIANS_ROOT = "BEE_RESPONSABLES"
FILE_LABELS = {PUPILS_ROOT: "des élèves", GUARDIANS_ROOT: "des responsables"}
UAI = re.compile(r"^\d{7}[A-Z]$")
DECLARATION = re.compile(rb"""^<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
# Single-byte, ASCII-compatible encodings only: the DOCTYPE check below is a byte search.
ACCEPTED_ENCODINGS = {"iso8859-15", "latin-1", "cp1252", "utf-8", "ascii"}
SINGLE_BYTE = {"iso8859-15", "latin-1", "cp1252"}
TRUE_WORDS = {"1", "true", "oui", "o", "vrai"}
LEGAL_LEVEL = "1"  # NIVEAU_RESPONSABILITE: 1 légal, 2 personne en charge, 3 à contacter
LEGACY_LEGAL = {"1", "2"}  # RESP_LEGAL: 1 and 2 legal guardians, 0 other contact
LIMITS = {"siecle_id": 20, "name": 100, "civility": 10, "class_code": 30, "relationship": 4}
CIVILITIES = {"MONSIEUR": "M.", "MADAME": "MME"}


class SiecleFileError(ValueError):
    """A file that cannot be imported at all; the message is French and names the file."""


@dataclass(frozen=True)
class Header:
    """The PARAMETRES block: which school, which year, when exported."""

    uai: str
    school_year: int | None
    export_date: date | None
    version: str


@dataclass(frozen=True)
class PupilRecord:
    """One ELEVE, as Guichet keeps it."""

    siecle_id: str
    ine: str | None
    last_name: str
    usage_name: str | None
    first_name: str
    birth_date: date | None
    class_code: str | None
    left_on: date | None


@dataclass(frozen=True)
class GuardianRecord:
    """One PERSONNE, with the phone as written in the file."""

    siecle_id: str
    civility: str | None
    last_name: str
    usage_name: str | None
    first_name: str
    mobile_text: str | None
    email: str | None

    @property
    def display_name(self) -> str:
        """Return the first name and usage (or family) name."""
        return f"{self.first_name} {self.usage_name or self.last_name}"


@dataclass(frozen=True)
class LinkRecord:
    """One RESPONSABLE_ELEVE: a person's tie to a pupil."""

    pupil_id: str
    guardian_id: str
    is_legal: bool
    pays_fees: bool
    relationship_code: str | None

    @property
    def ref(self) -> str:
        """Name the link for a report: pupil id / person id."""
        return f"{self.pupil_id}/{self.guardian_id}"


@dataclass(frozen=True)
class Rejection:
    """A record left out of the import, and why (in French)."""

    file: str  # "eleves" or "responsables"
    kind: str  # "pupil", "guardian" or "link"
    ref: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        """Return the rejection as plain JSON-ready values."""
        return {"file": self.file, "kind": self.kind, "ref": self.ref, "reason": self.reason}


@dataclass
class PupilsFile:
    """What ElevesSansAdresses.xml / ElevesAvecAdresses.xml holds for Guichet."""

    header: Header
    layout: str  # "current" (NOM_DE_FAMILLE) or "legacy" (NOM)
    pupils: list[PupilRecord] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)


@dataclass
class GuardiansFile:
    """What ResponsablesSansAdresses.xml / ResponsablesAvecAdresses.xml holds for Guichet."""

    header: Header
    layout: str  # "current" (NIVEAU_RESPONSABILITE) or "legacy" (RESP_LEGAL)
    guardians: list[GuardianRecord] = field(default_factory=list)
    links: list[LinkRecord] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)


class _RecordError(ValueError):
    """A record that cannot be kept; the message is the French reason."""


# -- documents ---------------------------------------------------------------------------


def parse_pupils(data: bytes) -> PupilsFile:
    """Read a pupils export; raise SiecleFileError when the file cannot be imported."""
    root = load_document(data, PUPILS_ROOT)
    header = read_header(root, PUPILS_ROOT)
    pupil_elements = root.findall("DONNEES/ELEVES/ELEVE")
    if not pupil_elements:
        raise SiecleFileError("Le fichier des élèves ne contient aucun élève (DONNEES/ELEVES).")
    classes = read_classes(root)
    current = any(el.find("NOM_DE_FAMILLE") is not None for el in pupil_elements)
    result = PupilsFile(header=header, layout="current" if current else "legacy")
    seen: set[str] = set()
    for element in pupil_elements:
        siecle_id = _clean(element.get("ELEVE_ID"))
        try:
            record = _pupil(element, siecle_id, classes)
        except _RecordError as error:
            result.rejected.append(Rejection("eleves", "pupil", siecle_id or "?", str(error)))
            continue
        if record.siecle_id in seen:
            reason = (
                f"Élève {record.siecle_id} présent deux fois dans le fichier des élèves : "
                "seule la première fiche est importée"
            )
            result.rejected.append(Rejection("eleves", "pupil", record.siecle_id, reason))
            continue
        seen.add(record.siecle_id)
        result.pupils.append(record)
    return result


def parse_guardians(data: bytes) -> GuardiansFile:
    """Read a guardians export; raise SiecleFileError when the file cannot be imported."""
    root = load_document(data, GUARDIANS_ROOT)
    header = read_header(root, GUARDIANS_ROOT)
    people = root.findall("DONNEES/PERSONNES/PERSONNE")
    if not people:
        raise SiecleFileError(
            "Le fichier des responsables ne contient aucune personne (DONNEES/PERSONNES)."
        )
    links = root.findall("DONNEES/RESPONSABLES/RESPONSABLE_ELEVE")
    current = any(el.find("NIVEAU_RESPONSABILITE") is not None for el in links) or any(
        el.find("NOM_DE_FAMILLE") is not None for el in people
    )
    result = GuardiansFile(header=header, layout="current" if current else "legacy")
    _read_people(people, result)
    _read_links(links, result)
    return result


def _read_people(elements: list[ET.Element], result: GuardiansFile) -> None:
    seen: set[str] = set()
    for element in elements:
        siecle_id = _clean(element.get("PERSONNE_ID"))
        try:
            record = _guardian(element, siecle_id)
        except _RecordError as error:
            rejection = Rejection("responsables", "guardian", siecle_id or "?", str(error))
            result.rejected.append(rejection)
            continue
        if record.siecle_id in seen:
            reason = (
                f"Responsable {record.siecle_id} présent deux fois dans le fichier des "
                "responsables : seule la première fiche est importée"
            )
            result.rejected.append(Rejection("responsables", "guardian", record.siecle_id, reason))
            continue
        seen.add(record.siecle_id)
        result.guardians.append(record)


def _read_links(elements: list[ET.Element], result: GuardiansFile) -> None:
    seen: set[tuple[str, str]] = set()
    for element in elements:
        try:
            record = _link(element)
        except _RecordError as error:
            ref = f"{_text(element, 'ELEVE_ID') or '?'}/{_text(element, 'PERSONNE_ID') or '?'}"
            result.rejected.append(Rejection("responsables", "link", ref, str(error)))
            continue
        key = (record.pupil_id, record.guardian_id)
        if key in seen:
            reason = (
                f"Lien entre l'élève {record.pupil_id} et le responsable {record.guardian_id} "
                "présent deux fois : seule la première occurrence est importée"
            )
            result.rejected.append(Rejection("responsables", "link", record.ref, reason))
            continue
        seen.add(key)
        result.links.append(record)


def load_document(data: bytes, expected_root: str) -> ET.Element:
    """Parse an export safely and check its root; raise SiecleFileError with the cause."""
    label = FILE_LABELS[expected_root]
    if not data.strip():
        raise SiecleFileError(f"Le fichier {label} est vide.")
    _check_encoding(data, label)
    _check_safe(data, label)
    try:
        root = ET.fromstring(data)  # noqa: S314 - encoding and DTD-free content checked above
    except ET.ParseError as error:
        line, column = error.position
        raise SiecleFileError(
            f"Le fichier {label} n'est pas un fichier XML lisible "
            f"(erreur ligne {line}, colonne {column}) : déposez l'export XML tel que SIECLE "
            "le produit."
        ) from None
    if root.tag != expected_root:
        raise SiecleFileError(_wrong_root(root.tag, expected_root))
    return root


def _wrong_root(tag: str, expected_root: str) -> str:
    label = FILE_LABELS[expected_root]
    if tag in FILE_LABELS:
        return (
            f"Ce fichier est l'export {FILE_LABELS[tag]} ({tag}), pas celui {label} "
            f"({expected_root}) : les deux fichiers ont sans doute été inversés."
        )
    return (
        f"Ce fichier n'est pas l'export SIECLE {label} : sa racine est <{tag}>, "
        f"<{expected_root}> était attendue."
    )


def _check_encoding(data: bytes, label: str) -> None:
    # SIECLE writes ISO-8859-15. Refuse what expat would misread or what would let a DOCTYPE
    # hide from the byte search (UTF-16/32 put NUL bytes between the ASCII letters).
    if b"\x00" in data:
        raise SiecleFileError(
            f"Le fichier {label} est encodé en UTF-16 ou UTF-32 : les exports SIECLE sont en "
            "ISO-8859-15. Déposez le fichier tel que SIECLE le produit."
        )
    has_bom = data.startswith(codecs.BOM_UTF8)
    match = DECLARATION.match(data[3:] if has_bom else data)
    declared = match.group(1).decode("ascii") if match else "UTF-8"
    try:
        encoding = codecs.lookup(declared).name
    except LookupError:
        encoding = ""
    if encoding not in ACCEPTED_ENCODINGS:
        raise SiecleFileError(
            f"Le fichier {label} annonce l'encodage « {declared} », que Guichet ne lit pas : "
            "les exports SIECLE sont en ISO-8859-15."
        )
    if encoding in SINGLE_BYTE and (has_bom or (not data.isascii() and _is_utf8(data))):
        raise SiecleFileError(
            f"Le fichier {label} annonce l'encodage {declared} mais a été enregistré en UTF-8 "
            "(ouvert puis réenregistré dans un éditeur ?) : les accents seraient mal lus. "
            "Déposez le fichier tel que SIECLE le produit."
        )
    if encoding == "utf-8" and not _is_utf8(data):
        raise SiecleFileError(
            f"Le fichier {label} n'est pas en UTF-8 comme il l'annonce (sans déclaration, "
            'UTF-8 est supposé) : les exports SIECLE déclarent encoding="ISO-8859-15".'
        )


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _check_safe(data: bytes, label: str) -> None:
    # The expat bundled with Python 3.11 (2.5) still expands internal entities ("billion
    # laughs"); a SIECLE export never has a DTD, so refuse any before the parser sees it.
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise SiecleFileError(
            f"Le fichier {label} contient une déclaration DOCTYPE ou ENTITY, refusée par "
            "sécurité : un export SIECLE n'en contient jamais."
        )


def read_header(root: ET.Element, expected_root: str) -> Header:
    """Read PARAMETRES: the UAJ is required, the year and export date are optional."""
    label = FILE_LABELS[expected_root]
    uai = (_text(root, "PARAMETRES/UAJ") or "").upper()
    if not UAI.match(uai):
        shown = f"« {uai} »" if uai else "absent"
        raise SiecleFileError(
            f"Le fichier {label} n'indique pas d'établissement valide (PARAMETRES/UAJ {shown})."
        )
    year_text = _text(root, "PARAMETRES/ANNEE_SCOLAIRE")
    school_year = int(year_text) if year_text and year_text.isdigit() else None
    try:
        export_date = _date(_text(root, "PARAMETRES/DATE_EXPORT"))
    except ValueError:
        export_date = None
    return Header(uai, school_year, export_date, root.get("VERSION", ""))


def read_classes(root: ET.Element) -> dict[str, str]:
    """Map each ELEVE_ID to its class: the STRUCTURE of TYPE_STRUCTURE D (G are groups)."""
    classes: dict[str, str] = {}
    for holder in root.iterfind("DONNEES/STRUCTURES/STRUCTURES_ELEVE"):
        siecle_id = _clean(holder.get("ELEVE_ID"))
        for structure in holder.iterfind("STRUCTURE"):
            code = (structure.findtext("CODE_STRUCTURE") or "").strip()
            if _text(structure, "TYPE_STRUCTURE") == "D" and code and siecle_id:
                classes.setdefault(siecle_id, code)
    return classes


# -- records -----------------------------------------------------------------------------


def _pupil(element: ET.Element, siecle_id: str | None, classes: dict[str, str]) -> PupilRecord:
    who = f"Élève {siecle_id}"
    if not siecle_id:
        raise _RecordError(f"Élève {_loose_name(element)} sans identifiant ELEVE_ID : ignoré")
    _check_length(who, "identifiant", siecle_id, LIMITS["siecle_id"])
    last_name, usage_name, first_name = _names(element, who)
    class_code = classes.get(siecle_id)
    _check_length(who, "classe", class_code, LIMITS["class_code"])
    ine = _text(element, "ID_NATIONAL")
    return PupilRecord(
        siecle_id=siecle_id,
        ine=ine if ine and len(ine) <= 11 else None,
        last_name=last_name,
        usage_name=usage_name,
        first_name=first_name,
        birth_date=_record_date(element, "DATE_NAISS", who, "date de naissance"),
        class_code=class_code,
        left_on=_record_date(element, "DATE_SORTIE", who, "date de sortie"),
    )


def _guardian(element: ET.Element, siecle_id: str | None) -> GuardianRecord:
    who = f"Responsable {siecle_id}"
    if not siecle_id:
        raise _RecordError(
            f"Responsable {_loose_name(element)} sans identifiant PERSONNE_ID : ignoré"
        )
    _check_length(who, "identifiant", siecle_id, LIMITS["siecle_id"])
    last_name, usage_name, first_name = _names(element, who)
    civility = _text(element, "LC_CIVILITE") or CIVILITIES.get(_text(element, "LL_CIVILITE") or "")
    return GuardianRecord(
        siecle_id=siecle_id,
        civility=civility if civility and len(civility) <= LIMITS["civility"] else None,
        last_name=last_name,
        usage_name=usage_name,
        first_name=first_name,
        mobile_text=_text(element, "TEL_PORTABLE"),
        email=_email(_text(element, "MEL")),
    )


def _names(element: ET.Element, who: str) -> tuple[str, str | None, str]:
    """Return (family name, usage name or None, first name), whichever layout."""
    # Before 2016 NOM held the name in use; NOM_DE_FAMILLE / NOM_USAGE split it since.
    last_name = _text(element, "NOM_DE_FAMILLE") or _text(element, "NOM")
    first_name = _text(element, "PRENOM")
    if not last_name or not first_name:
        missing = "nom" if not last_name else "prénom"
        raise _RecordError(f"{who} sans {missing} : fiche ignorée")
    usage_name = _text(element, "NOM_USAGE")
    for label, value in (("nom", last_name), ("nom d'usage", usage_name), ("prénom", first_name)):
        _check_length(who, label, value, LIMITS["name"])
    return last_name, usage_name if usage_name != last_name else None, first_name


def _loose_name(element: ET.Element) -> str:
    names = (_text(element, tag) for tag in ("PRENOM", "NOM_DE_FAMILLE", "NOM"))
    return " ".join(name for name in names if name) or "sans nom"


def _link(element: ET.Element) -> LinkRecord:
    pupil_id = _text(element, "ELEVE_ID")
    guardian_id = _text(element, "PERSONNE_ID")
    if not pupil_id or not guardian_id:
        missing = "ELEVE_ID" if not pupil_id else "PERSONNE_ID"
        raise _RecordError(f"Lien sans {missing} : ignoré")
    level = _text(element, "NIVEAU_RESPONSABILITE")
    if level is not None:
        is_legal = level == LEGAL_LEVEL
    else:
        is_legal = _text(element, "RESP_LEGAL") in LEGACY_LEGAL
    payer = _first_text(element, "PAIE_FRAIS_SCOLAIRES", "PERS_PAIMENT", "RESP_FINANCIER")
    code = _text(element, "CODE_PARENTE")
    return LinkRecord(
        pupil_id=pupil_id,
        guardian_id=guardian_id,
        is_legal=is_legal,
        pays_fees=parse_bool(payer),
        relationship_code=code if code and len(code) <= LIMITS["relationship"] else None,
    )


# -- values ------------------------------------------------------------------------------


def _clean(text: str | None) -> str | None:
    """Collapse runs of spaces; an empty or blank value is None (empty = absent)."""
    if text is None:
        return None
    text = " ".join(text.split())
    return text or None


def _text(element: ET.Element, path: str) -> str | None:
    return _clean(element.findtext(path))


def _first_text(element: ET.Element, *paths: str) -> str | None:
    for path in paths:
        value = _text(element, path)
        if value is not None:
            return value
    return None


def parse_bool(text: str | None) -> bool:
    """Read SIECLE's mixed booleans: 1/0, true/false (any case), oui/non; absent is False."""
    return (text or "").strip().lower() in TRUE_WORDS


def _date(text: str | None) -> date | None:
    if text is None:
        return None
    return datetime.strptime(text, "%d/%m/%Y").date()


def _record_date(element: ET.Element, tag: str, who: str, label: str) -> date | None:
    text = _text(element, tag)
    try:
        return _date(text)
    except ValueError:
        raise _RecordError(f"{who} : {label} illisible « {text} » (jj/mm/aaaa attendu)") from None


def _check_length(who: str, label: str, value: str | None, limit: int) -> None:
    if value is not None and len(value) > limit:
        raise _RecordError(f"{who} : {label} trop long ({len(value)} caractères, {limit} au plus)")


def _email(text: str | None) -> str | None:
    # Keep anything that looks like an address; a typo is the school's to fix in SIECLE.
    if text is None or len(text) > 254 or " " in text or text.count("@") != 1:
        return None
    local, domain = text.split("@")
    return text if local and "." in domain else None
