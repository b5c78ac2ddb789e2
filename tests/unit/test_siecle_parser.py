"""Reading SIECLE exports: both layouts, the tricky records, and the files refused outright."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import date

import pytest

from config import ROOT
from services.siecle_parser import (
    SiecleFileError,
    parse_bool,
    parse_guardians,
    parse_pupils,
)

DEMO = ROOT / "demo" / "siecle"


def sample(name: str, legacy: bool = False) -> bytes:
    """Return one of the sample exports shipped in demo/siecle, as bytes."""
    return ((DEMO / "legacy") if legacy else DEMO).joinpath(name).read_bytes()


def pupils_sample(legacy: bool = False) -> bytes:
    return sample("ElevesSansAdresses.xml", legacy)


def guardians_sample(legacy: bool = False) -> bytes:
    return sample("ResponsablesAvecAdresses.xml", legacy)


def edited(data: bytes, change: Callable[[ET.Element], None]) -> bytes:
    """Return the export with `change` applied to its tree, re-encoded in ISO-8859-15."""
    root = ET.fromstring(data)  # noqa: S314 - the project's own sample files
    change(root)
    return ET.tostring(root, encoding="ISO-8859-15", xml_declaration=True)


def by_id(records: list) -> dict:
    return {record.siecle_id: record for record in records}


def test_the_samples_are_iso_8859_15_with_an_oe_ligature():
    raw = pupils_sample()
    assert raw.startswith(b'<?xml version="1.0" encoding="ISO-8859-15"?>')
    assert b"LEC\xbcUR" in raw  # Œ is 0xBC in ISO-8859-15 (¼ in Latin-1)


@pytest.mark.parametrize("legacy", [False, True], ids=["current", "legacy"])
def test_pupils_file_reads_every_pupil(legacy):
    result = parse_pupils(pupils_sample(legacy))
    assert result.layout == ("legacy" if legacy else "current")
    assert result.header.uai == "0360009P"
    assert result.header.export_date == date(2025, 9, 15)
    assert result.header.school_year == 2025
    assert len(result.pupils) == 13
    assert result.rejected == []
    pupils = by_id(result.pupils)
    assert pupils["2415302"].last_name == "LECŒUR"
    assert pupils["2087420"].first_name == "Éloïse"
    assert pupils["2087420"].last_name == "LE GALL-NGUYEN"
    assert pupils["2087420"].class_code == "3 A"  # a code with a space
    assert pupils["2298711"].class_code == "5B"  # the D structure, listed after a G group
    assert pupils["2087423"].left_on == date(2025, 9, 12)
    assert pupils["2415302"].birth_date == pupils["2415303"].birth_date == date(2014, 7, 19)


def test_current_layout_splits_family_and_usage_names():
    jules = by_id(parse_pupils(pupils_sample()).pupils)["2298712"]
    assert (jules.last_name, jules.usage_name) == ("MARCHETTI", "BERTHIER-MARCHETTI")
    linh = by_id(parse_guardians(guardians_sample()).guardians)["880102"]
    assert (linh.last_name, linh.usage_name, linh.display_name) == (
        "NGUYEN",
        "LE GALL",
        "Linh LE GALL",
    )


def test_legacy_layout_has_only_the_name_in_use():
    jules = by_id(parse_pupils(pupils_sample(legacy=True)).pupils)["2298712"]
    assert (jules.last_name, jules.usage_name) == ("BERTHIER-MARCHETTI", None)
    linh = by_id(parse_guardians(guardians_sample(legacy=True)).guardians)["880102"]
    assert (linh.last_name, linh.usage_name, linh.display_name) == ("LE GALL", None, "Linh LE GALL")


@pytest.mark.parametrize("legacy", [False, True], ids=["current", "legacy"])
def test_guardians_file_reads_people_and_links(legacy):
    result = parse_guardians(guardians_sample(legacy))
    assert result.layout == ("legacy" if legacy else "current")
    assert len(result.guardians) == 15
    assert len(result.links) == 24  # the link to the unknown pupil is for the importer to judge
    assert result.rejected == []
    links = {(link.pupil_id, link.guardian_id): link for link in result.links}
    contact = links["2415304", "880106"]  # NIVEAU_RESPONSABILITE 3 / RESP_LEGAL 0
    assert (contact.is_legal, contact.pays_fees, contact.relationship_code) == (False, False, "39")
    mother = links["2298712", "880108"]  # hosts Jules, does not pay
    father = links["2298712", "880109"]  # pays, does not host
    assert (mother.is_legal, mother.pays_fees) == (True, False)
    assert (father.is_legal, father.pays_fees) == (True, True)
    assert links["2415302", "880104"].is_legal  # second MME with CODE_PARENTE 10
    assert links["2415305", "880107"].relationship_code == "50"  # a tutor


def test_empty_and_absent_elements_both_mean_nothing():
    guardians = by_id(parse_guardians(guardians_sample()).guardians)
    karima = guardians["880105"]  # <TEL_PORTABLE/> and no <MEL> at all
    assert (karima.mobile_text, karima.email) == (None, None)
    assert guardians["880101"].usage_name is None
    pupils_with_empty_usage = edited(
        pupils_sample(),
        lambda root: ET.SubElement(root.find("DONNEES/ELEVES/ELEVE"), "NOM_USAGE"),
    )
    assert parse_pupils(pupils_with_empty_usage).pupils[0].usage_name is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", True), ("true", True), ("TRUE", True), (" True ", True), ("oui", True),
     ("0", False), ("false", False), ("False", False), ("", False), (None, False)],
)  # fmt: skip
def test_booleans_come_in_several_spellings(text, expected):
    assert parse_bool(text) is expected


def test_mixed_booleans_in_one_file_give_the_payer():
    def mix(root: ET.Element) -> None:
        for link in root.iterfind("DONNEES/RESPONSABLES/RESPONSABLE_ELEVE"):
            payer = link.find("PAIE_FRAIS_SCOLAIRES")
            if payer is not None:
                payer.text = {"1": "true", "0": "false"}[payer.text]

    links = parse_guardians(edited(guardians_sample(), mix)).links
    original = parse_guardians(guardians_sample()).links
    assert [link.pays_fees for link in links] == [link.pays_fees for link in original]


def test_names_keep_their_spaces_hyphens_and_accents_but_not_stray_blanks():
    def blank(root: ET.Element) -> None:
        root.find("DONNEES/ELEVES/ELEVE/PRENOM").text = "  Maël \n"
        root.find("DONNEES/ELEVES/ELEVE/NOM_DE_FAMILLE").text = "LE  GALL-NGUYEN "

    pupil = parse_pupils(edited(pupils_sample(), blank)).pupils[0]
    assert (pupil.first_name, pupil.last_name) == ("Maël", "LE GALL-NGUYEN")


def test_bad_records_are_rejected_with_a_french_reason():
    def spoil(root: ET.Element) -> None:
        eleves = root.findall("DONNEES/ELEVES/ELEVE")
        eleves[0].find("PRENOM").text = ""
        eleves[1].find("DATE_NAISS").text = "31/02/2014"
        del eleves[2].attrib["ELEVE_ID"]
        eleves[4].set("ELEVE_ID", eleves[3].get("ELEVE_ID"))

    result = parse_pupils(edited(pupils_sample(), spoil))
    reasons = [rejection.reason for rejection in result.rejected]
    assert reasons == [
        "Élève 2415301 sans prénom : fiche ignorée",
        "Élève 2415302 : date de naissance illisible « 31/02/2014 » (jj/mm/aaaa attendu)",
        "Élève Noé LECŒUR sans identifiant ELEVE_ID : ignoré",
        "Élève 2415304 présent deux fois dans le fichier des élèves : "
        "seule la première fiche est importée",
    ]
    assert len(result.pupils) == 9


def test_a_link_without_person_is_rejected():
    def spoil(root: ET.Element) -> None:
        link = root.find("DONNEES/RESPONSABLES/RESPONSABLE_ELEVE")
        link.remove(link.find("PERSONNE_ID"))

    result = parse_guardians(edited(guardians_sample(), spoil))
    assert [(r.kind, r.ref, r.reason) for r in result.rejected] == [
        ("link", "2415301/?", "Lien sans PERSONNE_ID : ignoré")
    ]


def test_an_unusable_email_is_dropped():
    def spoil(root: ET.Element) -> None:
        root.find("DONNEES/PERSONNES/PERSONNE/MEL").text = "erwan.legall chez example.org"

    assert parse_guardians(edited(guardians_sample(), spoil)).guardians[0].email is None


# -- files refused outright ------------------------------------------------------------------

BOMB = (
    b'<?xml version="1.0" encoding="ISO-8859-15"?>\n'
    b'<!DOCTYPE lol [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
    b"<BEE_ELEVES><PARAMETRES><UAJ>0360009P</UAJ></PARAMETRES>&b;</BEE_ELEVES>"
)


PUPILS_TEXT = pupils_sample().decode("iso8859-15")
EMPTY_PUPILS = (
    b'<?xml version="1.0"?><BEE_ELEVES><PARAMETRES><UAJ>0360009P</UAJ></PARAMETRES>'
    b"<DONNEES><ELEVES/></DONNEES></BEE_ELEVES>"
)
REFUSED = {
    "empty": (b"", "Le fichier des élèves est vide."),
    "csv": (b"ELEVE_ID;NOM\n1;MARTIN\n", "n'est pas un fichier XML lisible (erreur ligne 1"),
    "swapped": (
        guardians_sample(),
        "Ce fichier est l'export des responsables (BEE_RESPONSABLES), pas celui des élèves",
    ),
    "html": (b"<html><body/></html>", "sa racine est <html>, <BEE_ELEVES> était attendue"),
    "entity-bomb": (BOMB, "déclaration DOCTYPE ou ENTITY, refusée par sécurité"),
    "resaved-utf8": (PUPILS_TEXT.encode("utf-8"), "a été enregistré en UTF-8"),
    "utf16": (PUPILS_TEXT.encode("utf-16"), "encodé en UTF-16 ou UTF-32"),
    "lying-utf8": (
        pupils_sample().replace(b"ISO-8859-15", b"UTF-8"),
        "n'est pas en UTF-8 comme il l'annonce",
    ),
    "unknown-encoding": (
        pupils_sample().replace(b"ISO-8859-15", b"EBCDIC-CP-FR"),
        "annonce l'encodage « EBCDIC-CP-FR »",
    ),
    "bad-uaj": (
        pupils_sample().replace(b"<UAJ>0360009P", b"<UAJ>036"),
        "pas d'établissement valide (PARAMETRES/UAJ « 036 »)",
    ),
    "no-pupil": (EMPTY_PUPILS, "ne contient aucun élève"),
}


@pytest.mark.parametrize(("data", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_unreadable_pupils_files_are_refused_with_a_french_message(data, message):
    with pytest.raises(SiecleFileError) as refused:
        parse_pupils(data)
    assert message in str(refused.value)


def test_a_doctype_hidden_in_the_guardians_file_is_refused_too():
    data = guardians_sample().replace(
        b"<BEE_RESPONSABLES",
        b'<!DOCTYPE BEE_RESPONSABLES SYSTEM "file:///etc/passwd">\n<BEE_RESPONSABLES',
    )
    with pytest.raises(SiecleFileError, match="DOCTYPE ou ENTITY"):
        parse_guardians(data)


def test_an_ascii_file_without_declaration_is_read_as_utf8():
    data = pupils_sample().decode("iso8859-15").encode("utf-8").split(b"?>", 1)[1]
    pupils = by_id(parse_pupils(data).pupils)
    assert pupils["2415302"].last_name == "LECŒUR"
