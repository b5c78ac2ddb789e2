"""Importing SIECLE exports into the database: the command, the upload page and what is stored."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import date

import pytest
import sqlalchemy as sa
from support import PASSWORD, csrf_token, login

from bench.siecle_import import generate_exports
from config import ROOT
from models import Account, AuditEvent, Guardian, GuardianLink, Membership, Pupil, Role
from services.passwords import hash_password
from services.siecle_import import ImportReport, import_exports
from services.siecle_parser import SiecleFileError
from views import admin as admin_views

DEMO = ROOT / "demo" / "siecle"
PUPILS = (DEMO / "ElevesSansAdresses.xml").read_bytes()
GUARDIANS = (DEMO / "ResponsablesAvecAdresses.xml").read_bytes()
LEGACY_PUPILS = (DEMO / "legacy" / "ElevesSansAdresses.xml").read_bytes()
LEGACY_GUARDIANS = (DEMO / "legacy" / "ResponsablesAvecAdresses.xml").read_bytes()
PAGE = "/espace/admin/siecle"
NAMES = ("ElevesSansAdresses.xml", "ResponsablesAvecAdresses.xml")
UNKNOWN_PUPIL = "Lien vers l'élève 1990017 absent du fichier des élèves"


@pytest.fixture
def school(make_school):
    """The school the sample exports name (0360009P)."""
    return make_school()


def run_import(pupils: bytes = PUPILS, guardians: bytes = GUARDIANS, **kw) -> ImportReport:
    """Import as the command does: one commit."""
    from extensions import db

    report = import_exports(pupils, guardians, **kw)
    db.session.commit()
    return report


def edited(data: bytes, change: Callable[[ET.Element], None]) -> bytes:
    """Return the export with `change` applied to its tree, re-encoded in ISO-8859-15."""
    root = ET.fromstring(data)  # noqa: S314 - the project's own sample files
    change(root)
    return ET.tostring(root, encoding="ISO-8859-15", xml_declaration=True)


def without(path: str, attribute: str, value: str) -> Callable[[ET.Element], None]:
    """Return a change removing the elements at `path` whose attribute or child equals value."""

    def change(root: ET.Element) -> None:
        parent_path, tag = path.rsplit("/", 1)
        for parent in root.iterfind(parent_path):
            for element in parent.findall(tag):
                if element.get(attribute, element.findtext(attribute)) == value:
                    parent.remove(element)

    return change


def exported_on(day: str) -> Callable[[ET.Element], None]:
    def change(root: ET.Element) -> None:
        root.find("PARAMETRES/DATE_EXPORT").text = day

    return change


def pupil(db, siecle_id: str) -> Pupil:
    return db.session.scalars(db.select(Pupil).filter_by(siecle_id=siecle_id)).one()


def guardian(db, siecle_id: str) -> Guardian:
    return db.session.scalars(db.select(Guardian).filter_by(siecle_id=siecle_id)).one()


def link(db, pupil_id: str, guardian_id: str) -> GuardianLink:
    query = (
        db.select(GuardianLink)
        .join(GuardianLink.pupil)
        .join(GuardianLink.guardian)
        .where(Pupil.siecle_id == pupil_id, Guardian.siecle_id == guardian_id)
    )
    return db.session.scalars(query).one()


def snapshot(db) -> dict[str, dict]:
    """Everything the import stores, keyed by SIECLE ids; names as the school shows them."""
    return {
        "pupils": {
            p.siecle_id: (p.ine, p.display_name, p.birth_date, p.class_code, p.left_on)
            for p in db.session.scalars(db.select(Pupil))
        },
        "guardians": {
            g.siecle_id: (g.civility, g.display_name, g.mobile, g.email, g.account_id)
            for g in db.session.scalars(db.select(Guardian))
        },
        "links": {
            (lk.pupil.siecle_id, lk.guardian.siecle_id): (
                lk.is_legal, lk.pays_fees, lk.relationship_code, lk.active
            )
            for lk in db.session.scalars(db.select(GuardianLink))
        },
    }  # fmt: skip


def row_ids(db) -> dict[str, set[int]]:
    return {
        model.__name__: set(db.session.scalars(db.select(model.id)))
        for model in (Pupil, Guardian, GuardianLink)
    }


# -- a first import ----------------------------------------------------------------------------


def test_first_import_creates_the_families_and_reports_it(db, school):
    report = run_import()
    assert report.pupils.as_dict() == {"created": 13, "updated": 0, "unchanged": 0, "left": 0}
    assert report.guardians.as_dict() == {"created": 15, "updated": 0, "unchanged": 0, "left": 0}
    assert report.links.as_dict() == {"created": 23, "updated": 0, "unchanged": 0, "left": 0}
    assert [(r.kind, r.ref, r.reason) for r in report.rejected] == [
        ("link", "1990017/880102", UNKNOWN_PUPIL)
    ]
    assert db.session.query(Pupil).filter_by(school_id=school.id).count() == 13
    assert db.session.query(Guardian).filter_by(school_id=school.id).count() == 15
    assert db.session.query(GuardianLink).count() == 23
    event = db.session.scalars(db.select(AuditEvent).filter_by(action="siecle.imported")).one()
    assert event.school_id == school.id
    assert event.data["pupils"]["created"] == 13


def test_names_with_spaces_hyphens_accents_and_oe_are_stored_as_written(db, school):
    run_import()
    eloise = pupil(db, "2087420")  # 1
    assert (eloise.last_name, eloise.first_name) == ("LE GALL-NGUYEN", "Éloïse")
    assert pupil(db, "2415301").first_name == "Maël"
    assert pupil(db, "2415302").last_name == "LECŒUR"  # 2: not "LEC¼UR"
    assert guardian(db, "880103").last_name == "LECŒUR"
    assert guardian(db, "880103").first_name == "Anne-Sophie"


def test_siblings_twins_and_a_guardian_of_several_children(db, school):
    run_import()
    erwan = guardian(db, "880101")  # 4, 5: three children in three classes
    classes = {lk.pupil.first_name: lk.pupil.class_code for lk in erwan.links}
    assert classes == {"Maël": "6A", "Tristan": "5B", "Éloïse": "3 A"}
    zoe, noe = pupil(db, "2415302"), pupil(db, "2415303")  # twins
    assert zoe.id != noe.id
    assert zoe.birth_date == noe.birth_date == date(2014, 7, 19)
    assert (zoe.class_code, noe.class_code) == ("6A", "6A")
    assert {lk.guardian.siecle_id for lk in zoe.guardian_links} == {"880103", "880104"}


def test_usage_names_are_kept_beside_family_names(db, school):
    run_import()
    linh = guardian(db, "880102")  # 6
    assert (linh.last_name, linh.usage_name, linh.display_name) == (
        "NGUYEN",
        "LE GALL",
        "Linh LE GALL",
    )
    jules = pupil(db, "2298712")  # 7
    assert (jules.last_name, jules.usage_name) == ("MARCHETTI", "BERTHIER-MARCHETTI")
    assert jules.display_name == "Jules BERTHIER-MARCHETTI"


def test_separated_parents_each_keep_their_mobile_and_role(db, school):
    run_import()
    mother, father = link(db, "2298712", "880108"), link(db, "2298712", "880109")  # 8
    assert (mother.is_legal, mother.pays_fees, mother.relationship_code) == (True, False, "10")
    assert (father.is_legal, father.pays_fees, father.relationship_code) == (True, True, "20")
    assert guardian(db, "880108").mobile == "+33639980108"
    assert guardian(db, "880109").mobile == "+33639980109"


def test_a_guardian_without_mobile_nor_email_is_kept_and_reported(db, school):
    report = run_import()
    karima = guardian(db, "880105")  # 9, 19
    assert (karima.mobile, karima.email) == (None, None)
    assert link(db, "2415304", "880105").is_legal
    assert [(e.siecle_id, e.name, e.reason) for e in report.without_mobile] == [
        ("880105", "Karima BENALI", "aucun numéro de portable dans SIECLE")
    ]
    assert [(c.siecle_id, c.name, c.class_code) for c in report.without_mobile[0].children] == [
        ("2415304", "Inès BENALI", "6A")
    ]


def test_a_mere_contact_is_linked_but_not_a_legal_guardian(db, school):
    run_import()
    contact = link(db, "2415304", "880106")  # 10
    assert (contact.is_legal, contact.pays_fees, contact.relationship_code) == (False, False, "39")
    assert contact.active
    assert guardian(db, "880106").email is None  # no <MEL> element


def test_foreign_mobile_and_tutor(db, school):
    run_import()
    assert guardian(db, "880114").mobile == "+32450001234"  # 11
    tutor = link(db, "2415305", "880107")  # 16
    assert (tutor.is_legal, tutor.pays_fees, tutor.relationship_code) == (True, True, "50")
    assert guardian(db, "880107").last_name == "SOW"


def test_two_mothers_shared_mobile_and_homonyms_stay_distinct(db, school):
    run_import()
    assert link(db, "2415302", "880103").relationship_code == "10"  # 12
    assert link(db, "2415302", "880104").relationship_code == "10"
    helene, francois = guardian(db, "880110"), guardian(db, "880111")  # 13
    assert helene.id != francois.id
    assert helene.mobile == francois.mobile == "+33639980110"
    assert helene.email == francois.email == "famille.robin@example.org"
    julien_a, julien_b = guardian(db, "880112"), guardian(db, "880113")  # 14
    assert julien_a.display_name == julien_b.display_name == "Julien MARTIN"
    assert [lk.pupil.first_name for lk in julien_a.links] == ["Jade"]
    assert [lk.pupil.first_name for lk in julien_b.links] == ["Hugo"]


def test_a_pupil_who_left_is_stored_with_the_date_and_no_mobile_is_asked(db, school):
    run_import()
    hugo = pupil(db, "2087423")  # 15
    assert hugo.left_on == date(2025, 9, 12)
    assert hugo.class_code == "3 A"
    assert link(db, "2087423", "880113").active  # the history stays; left_on bars access


def test_class_is_the_division_whatever_the_order_and_spaces(db, school):
    run_import()
    assert pupil(db, "2298711").class_code == "5B"  # 17: LAT5 (G) comes first
    assert pupil(db, "2087420").class_code == "3 A"
    assert {p.class_code for p in db.session.scalars(db.select(Pupil))} == {"6A", "5B", "3 A"}


def test_a_link_to_an_unknown_pupil_is_rejected_and_nothing_made_up(db, school):
    report = run_import()  # 21
    assert UNKNOWN_PUPIL in [r.reason for r in report.rejected]
    assert db.session.query(Pupil).filter_by(siecle_id="1990017").count() == 0
    assert len(guardian(db, "880102").links) == 3


# -- both layouts ------------------------------------------------------------------------------


def test_legacy_and_current_layouts_store_the_same_families(db, school):
    run_import(LEGACY_PUPILS, LEGACY_GUARDIANS)
    legacy = snapshot(db)
    report = run_import()
    assert snapshot(db) == legacy
    # Only the names the legacy layout could not split change: Jules and Linh.
    assert report.pupils.as_dict() == {"created": 0, "updated": 1, "unchanged": 12, "left": 0}
    assert report.guardians.as_dict() == {"created": 0, "updated": 1, "unchanged": 14, "left": 0}
    assert report.links.as_dict() == {"created": 0, "updated": 0, "unchanged": 23, "left": 0}
    assert guardian(db, "880114").mobile == "+32450001234"  # was 0032… in the legacy file


def test_legacy_national_numbers_become_e164(db, school):
    run_import(LEGACY_PUPILS, LEGACY_GUARDIANS)
    assert guardian(db, "880101").mobile == "+33639980101"
    assert guardian(db, "880114").mobile == "+32450001234"
    assert link(db, "2415304", "880106").is_legal is False  # RESP_LEGAL 0


# -- importing again ---------------------------------------------------------------------------


def test_importing_the_same_files_again_changes_nothing(db, school):
    run_import()
    account = Account(identifiant="l.legall", name="Linh LE GALL", password_hash="x")
    db.session.add(account)
    db.session.flush()
    guardian(db, "880102").account_id = account.id
    db.session.commit()
    before, ids = snapshot(db), row_ids(db)
    stamps = {g.siecle_id: g.updated_at for g in db.session.scalars(db.select(Guardian))}

    report = run_import()
    assert report.pupils.as_dict() == {"created": 0, "updated": 0, "unchanged": 13, "left": 0}
    assert report.guardians.as_dict() == {"created": 0, "updated": 0, "unchanged": 15, "left": 0}
    assert report.links.as_dict() == {"created": 0, "updated": 0, "unchanged": 23, "left": 0}
    db.session.expire_all()
    assert snapshot(db) == before
    assert row_ids(db) == ids
    assert guardian(db, "880102").account_id == account.id
    assert {g.siecle_id: g.updated_at for g in db.session.scalars(db.select(Guardian))} == stamps


def test_a_changed_record_is_updated_in_place_and_keeps_its_account(db, school):
    run_import()
    account = Account(identifiant="e.legall", name="Erwan LE GALL", password_hash="x")
    db.session.add(account)
    db.session.flush()
    erwan = guardian(db, "880101")
    erwan.account_id, erwan_id = account.id, erwan.id
    db.session.commit()

    def change(root: ET.Element) -> None:
        for person in root.iterfind("DONNEES/PERSONNES/PERSONNE"):
            if person.get("PERSONNE_ID") == "880101":
                person.find("TEL_PORTABLE").text = "+33639980199"

    report = run_import(guardians=edited(GUARDIANS, change))
    assert report.guardians.updated == 1
    erwan = guardian(db, "880101")
    assert (erwan.id, erwan.mobile, erwan.account_id) == (erwan_id, "+33639980199", account.id)


def test_a_pupil_missing_from_a_later_export_has_left_on_its_date(db, school):
    run_import()
    later = edited(PUPILS, without("DONNEES/ELEVES/ELEVE", "ELEVE_ID", "2415301"))
    later = edited(later, exported_on("02/10/2025"))
    his_links = without("DONNEES/RESPONSABLES/RESPONSABLE_ELEVE", "ELEVE_ID", "2415301")
    guardians = edited(GUARDIANS, his_links)
    report = run_import(later, guardians)
    mael = pupil(db, "2415301")
    assert mael.left_on == date(2025, 10, 2)
    assert report.pupils.left == 1
    assert report.links.left == 2  # his two parents' links, now inactive, not deleted
    assert not link(db, "2415301", "880101").active
    assert link(db, "2298711", "880101").active  # the siblings' links stay

    report = run_import()  # he is back in the next export
    assert pupil(db, "2415301").left_on is None
    assert link(db, "2415301", "880101").active
    assert (report.pupils.updated, report.links.updated) == (1, 2)


def test_a_pupil_whose_departure_appears_counts_as_left(db, school):
    run_import()

    def leave(root: ET.Element) -> None:
        for eleve in root.iterfind("DONNEES/ELEVES/ELEVE"):
            if eleve.get("ELEVE_ID") == "2298714":
                ET.SubElement(eleve, "DATE_SORTIE").text = "30/09/2025"

    report = run_import(edited(PUPILS, leave))
    assert report.pupils.as_dict() == {"created": 0, "updated": 0, "unchanged": 12, "left": 1}
    assert pupil(db, "2298714").left_on == date(2025, 9, 30)


def test_a_link_gone_from_the_export_is_deactivated_not_deleted(db, school):
    run_import()
    contact_gone = without("DONNEES/RESPONSABLES/RESPONSABLE_ELEVE", "PERSONNE_ID", "880106")
    report = run_import(guardians=edited(GUARDIANS, contact_gone))
    contact = link(db, "2415304", "880106")
    assert contact.active is False
    assert report.links.as_dict() == {"created": 0, "updated": 0, "unchanged": 22, "left": 1}
    assert report.guardians.left == 0  # Farida is still in the file, just unlinked
    assert db.session.query(GuardianLink).count() == 23


def test_a_guardian_gone_from_the_export_loses_access_but_keeps_the_account(db, school):
    run_import()
    account = Account(identifiant="n.ouedraogo", name="Nadia OUEDRAOGO", password_hash="x")
    db.session.add(account)
    db.session.flush()
    guardian(db, "880104").account_id = account.id
    db.session.commit()
    gone = edited(GUARDIANS, without("DONNEES/PERSONNES/PERSONNE", "PERSONNE_ID", "880104"))
    gone = edited(gone, without("DONNEES/RESPONSABLES/RESPONSABLE_ELEVE", "PERSONNE_ID", "880104"))
    report = run_import(guardians=gone)
    assert report.guardians.left == 1
    assert report.links.left == 2
    nadia = guardian(db, "880104")
    assert nadia.account_id == account.id
    assert [lk.active for lk in nadia.links] == [False, False]


# -- rejected records --------------------------------------------------------------------------


def test_rejected_records_are_listed_and_their_rows_left_alone(db, school):
    run_import()

    def spoil_pupil(root: ET.Element) -> None:
        for eleve in root.iterfind("DONNEES/ELEVES/ELEVE"):
            if eleve.get("ELEVE_ID") == "2298713":
                eleve.find("DATE_NAISS").text = "2013-09-03"

    def spoil_person(root: ET.Element) -> None:
        for person in root.iterfind("DONNEES/PERSONNES/PERSONNE"):
            if person.get("PERSONNE_ID") == "880115":
                person.find("PRENOM").text = ""

    report = run_import(edited(PUPILS, spoil_pupil), edited(GUARDIANS, spoil_person))
    reasons = [r.reason for r in report.rejected]
    assert reasons == [
        "Élève 2298713 : date de naissance illisible « 2013-09-03 » (jj/mm/aaaa attendu)",
        "Responsable 880115 sans prénom : fiche ignorée",
        "Lien vers l'élève 2298713, dont la fiche a été rejetée",
        "Lien vers l'élève 2298713, dont la fiche a été rejetée",
        "Lien vers le responsable 880115, dont la fiche a été rejetée",
        UNKNOWN_PUPIL,
    ]
    # A rejected record is still in the export: its pupil has not left, its links stay.
    assert pupil(db, "2298713").left_on is None
    assert link(db, "2298713", "880110").active
    assert link(db, "2087421", "880115").active
    assert guardian(db, "880115").first_name == "Claire"
    assert report.pupils.left == report.links.left == 0


def test_a_landline_in_the_mobile_field_is_not_a_usable_mobile(db, school):
    def landline(root: ET.Element) -> None:
        for person in root.iterfind("DONNEES/PERSONNES/PERSONNE"):
            if person.get("PERSONNE_ID") == "880115":
                person.find("TEL_PORTABLE").text = "02 61 91 01 15"
            if person.get("PERSONNE_ID") == "880106":
                person.find("TEL_PORTABLE").text = ""

    report = run_import(guardians=edited(GUARDIANS, landline))
    assert guardian(db, "880115").mobile is None
    assert [(e.name, e.reason) for e in report.without_mobile] == [
        ("Claire DUMONT", "le numéro du champ portable est un fixe (+33261910115)"),
        ("Karima BENALI", "aucun numéro de portable dans SIECLE"),
    ]  # Farida HADDAD, a mere contact, is not listed


def test_guardians_of_a_pupil_who_left_are_not_asked_for_a_mobile(db, school):
    def no_mobile(root: ET.Element) -> None:
        for person in root.iterfind("DONNEES/PERSONNES/PERSONNE"):
            if person.get("PERSONNE_ID") == "880113":  # Hugo's father; Hugo has left
                person.find("TEL_PORTABLE").text = ""

    report = run_import(guardians=edited(GUARDIANS, no_mobile))
    assert [e.siecle_id for e in report.without_mobile] == ["880105"]


# -- files that change nothing -----------------------------------------------------------------

BOMB = (
    b'<?xml version="1.0" encoding="ISO-8859-15"?>\n'
    b'<!DOCTYPE BEE_ELEVES [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
    b"<BEE_ELEVES><PARAMETRES><UAJ>0360009P</UAJ></PARAMETRES>&b;</BEE_ELEVES>"
)
OTHER_SCHOOL = GUARDIANS.replace(b"<UAJ>0360009P</UAJ>", b"<UAJ>0360010R</UAJ>")
BAD_FILES = {
    "not-xml": (b"%PDF-1.4 bulletin", GUARDIANS, "n'est pas un fichier XML lisible"),
    "swapped": (GUARDIANS, PUPILS, "les deux fichiers ont sans doute été inversés"),
    "uaj-mismatch": (
        PUPILS,
        OTHER_SCHOOL,
        "Les deux fichiers ne concernent pas le même établissement : 0360009P pour les "
        "élèves, 0360010R pour les responsables.",
    ),
    "entity-bomb": (BOMB, GUARDIANS, "DOCTYPE ou ENTITY, refusée par sécurité"),
    "wrong-encoding": (
        PUPILS.decode("iso8859-15").encode("utf-8"),
        GUARDIANS,
        "a été enregistré en UTF-8",
    ),
}


@pytest.mark.parametrize(("pupils", "guardians", "message"), BAD_FILES.values(), ids=BAD_FILES)
def test_a_bad_file_changes_nothing(db, school, pupils, guardians, message):
    run_import()
    before = snapshot(db)
    events = db.session.query(AuditEvent).count()
    with pytest.raises(SiecleFileError) as refused:
        run_import(pupils, guardians)
    assert message in str(refused.value)
    db.session.rollback()
    assert snapshot(db) == before
    assert db.session.query(AuditEvent).count() == events


def test_an_unknown_school_is_refused_by_its_uai(db, make_school):
    make_school(uai="0360010R", name="Lycée Jean Giraudoux")
    with pytest.raises(SiecleFileError) as refused:
        run_import()
    assert str(refused.value).startswith(
        "L'établissement 0360009P (UAJ des fichiers) n'est pas déclaré dans Guichet"
    )
    assert db.session.query(Pupil).count() == 0


# -- the command -------------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path):
    """Write export files where the command can read them; return a function giving paths."""

    def write(pupils: bytes = PUPILS, guardians: bytes = GUARDIANS) -> list[str]:
        for name, data in zip(NAMES, (pupils, guardians), strict=True):
            (tmp_path / name).write_bytes(data)
        return [str(tmp_path / name) for name in NAMES]

    return write


def test_command_prints_a_french_summary(runner, db, school, files):
    result = runner.invoke(args=["siecle", "import", *files()])
    assert result.exit_code == 0, result.output
    assert "Import SIECLE : Collège des Tilleuls (0360009P), export du 15/09/2025" in result.output
    assert "Élèves                 13          0          0          0" in result.output
    assert UNKNOWN_PUPIL in result.output
    assert (
        "Karima BENALI (880105) : aucun numéro de portable dans SIECLE ; enfants : Inès BENALI (6A)"
    ) in result.output
    assert db.session.query(Pupil).count() == 13


def test_command_json_report_shape(runner, db, school, files):
    result = runner.invoke(args=["siecle", "import", *files(), "--json", "--school", "0360009p"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report) == {
        "school", "export_date", "school_year", "layouts", "pupils", "guardians", "links",
        "rejected", "without_mobile", "dry_run",
    }  # fmt: skip
    assert report["school"] == {"uai": "0360009P", "name": "Collège des Tilleuls"}
    assert report["export_date"] == "2025-09-15"
    assert report["school_year"] == 2025
    assert report["layouts"] == {"pupils": "current", "guardians": "current"}
    assert report["pupils"] == {"created": 13, "updated": 0, "unchanged": 0, "left": 0}
    assert report["links"]["created"] == 23
    assert report["rejected"] == [
        {"file": "responsables", "kind": "link", "ref": "1990017/880102", "reason": UNKNOWN_PUPIL}
    ]
    assert report["without_mobile"] == [
        {
            "id": "880105",
            "name": "Karima BENALI",
            "reason": "aucun numéro de portable dans SIECLE",
            "children": [{"id": "2415304", "name": "Inès BENALI", "class": "6A"}],
        }
    ]
    assert report["dry_run"] is False


def test_command_dry_run_changes_nothing(runner, db, school, files):
    result = runner.invoke(args=["siecle", "import", *files(), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Simulation : rien n'a été enregistré." in result.output
    assert db.session.query(Pupil).count() == 0


def test_command_refuses_another_school_than_asked(runner, db, school, files):
    result = runner.invoke(args=["siecle", "import", *files(), "--school", "0360010R"])
    assert result.exit_code == 1
    refused = "Import refusé : Les fichiers concernent l'établissement 0360009P, pas 0360010R"
    assert refused in result.output
    assert db.session.query(Pupil).count() == 0


def test_command_json_error(runner, db, school, files):
    result = runner.invoke(args=["siecle", "import", *files(PUPILS, OTHER_SCHOOL), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.output) == {
        "error": "Les deux fichiers ne concernent pas le même établissement : 0360009P pour "
        "les élèves, 0360010R pour les responsables."
    }
    assert db.session.query(Pupil).count() == 0


# -- no query per row --------------------------------------------------------------------------


def count_statements(db, pupils: bytes, guardians: bytes) -> int:
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        run_import(pupils, guardians)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    return len(statements)


def test_the_number_of_queries_does_not_grow_with_the_school(db, make_school):
    make_school()
    small = count_statements(db, *generate_exports(20, 35))
    big = count_statements(db, *generate_exports(200, 350, uai="0360009P"))
    assert big <= small + 5, (small, big)
    again = count_statements(db, *generate_exports(200, 350))
    assert again <= small + 5, (small, again)


# -- the upload page ---------------------------------------------------------------------------


def upload(client, pupils: bytes = PUPILS, guardians: bytes = GUARDIANS, token: str | None = None):
    data = {
        "pupils": (io.BytesIO(pupils), "ElevesSansAdresses.xml"),
        "guardians": (io.BytesIO(guardians), "ResponsablesAvecAdresses.xml"),
    }
    if token is not None:
        data["csrf_token"] = token
    return client.post(PAGE, data=data, content_type="multipart/form-data")


@pytest.fixture
def admin_client(client, school, make_staff):
    make_staff(email="admin@example.org", role=Role.ADMIN, schools=[school], name="Camille Admin")
    login(client, "admin@example.org")
    return client


def test_admin_uploads_both_files_and_sees_the_report(admin_client, db):
    page = admin_client.get(PAGE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html
    assert "Fichier des élèves" in html and "Fichier des responsables" in html

    response = upload(admin_client, token=csrf_token(admin_client, PAGE))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Import enregistré" in html
    assert "export SIECLE du 15/09/2025" in html
    assert "<td>13</td>" in html
    assert "Lien vers l&#39;élève 1990017 absent du fichier des élèves" in html
    assert "Karima BENALI" in html and "Inès BENALI (6A)" in html
    db.session.expire_all()
    assert db.session.query(Pupil).count() == 13
    event = db.session.scalars(db.select(AuditEvent).filter_by(action="siecle.imported")).one()
    assert event.actor_label == "admin@example.org"


def test_a_bad_upload_gets_a_french_error_and_changes_nothing(admin_client, db):
    response = upload(admin_client, OTHER_SCHOOL, GUARDIANS, token=csrf_token(admin_client, PAGE))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Import refusé : rien n’a été modifié" in html
    assert "Ce fichier est l&#39;export des responsables" in html
    assert db.session.query(Pupil).count() == 0


def test_missing_files_are_asked_for(admin_client, db):
    token = csrf_token(admin_client, PAGE)
    response = admin_client.post(PAGE, data={"csrf_token": token})
    html = response.get_data(as_text=True)
    assert "Choisissez le fichier des élèves." in html
    assert "Choisissez le fichier des responsables." in html
    assert db.session.query(Pupil).count() == 0


def test_an_admin_of_another_school_cannot_import_these_files(client, db, make_school, make_staff):
    make_school()  # 0360009P, the files' school
    other = make_school(uai="0360010R", name="Lycée Jean Giraudoux")
    make_staff(email="admin@example.org", role=Role.ADMIN, schools=[other], name="Camille Admin")
    login(client, "admin@example.org")
    response = upload(client, token=csrf_token(client, PAGE))
    assert response.status_code == 422
    assert "dont vous n&#39;êtes pas administrateur" in response.get_data(as_text=True)
    assert db.session.query(Pupil).count() == 0


def test_the_upload_needs_the_csrf_token(admin_client, db):
    response = upload(admin_client)
    assert response.status_code == 400
    assert db.session.query(Pupil).count() == 0


def test_an_accountant_is_refused(client, school, make_staff):
    make_staff(role=Role.ACCOUNTANT, schools=[school])
    login(client, "comptable@example.org")
    assert client.get(PAGE).status_code == 403
    assert upload(client).status_code in (400, 403)


def test_a_parent_is_refused(client, db, school):
    parent = Account(
        identifiant="p.robin", name="Hélène ROBIN", password_hash=hash_password(PASSWORD)
    )
    parent.memberships.append(Membership(school_id=school.id, role=Role.PARENT))
    db.session.add(parent)
    db.session.commit()
    login(client, "p.robin")
    assert client.get(PAGE).status_code == 403


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, school):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert "/connexion" in response.headers["Location"]


def test_an_upload_over_the_size_limit_is_refused(make_app, make_school, make_staff):
    app = make_app(MAX_CONTENT_LENGTH=20_000)
    if "admin" not in app.blueprints:
        app.register_blueprint(admin_views.bp)
    with app.app_context():
        school = make_school()
        make_staff(email="admin@example.org", role=Role.ADMIN, schools=[school], name="C Admin")
        client = app.test_client()
        login(client, "admin@example.org")
        response = upload(client, token=csrf_token(client, PAGE))
        assert response.status_code == 413
        assert "Fichier trop volumineux" in response.get_data(as_text=True)
