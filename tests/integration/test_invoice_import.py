"""Importing the invoices CSV: the service, the `flask invoices import` command and the page."""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
from support import PASSWORD, csrf_token, login

from models import Account, AuditEvent, Invoice, Membership, Role
from services.invoice_import import InvoiceFileError, import_invoices
from services.passwords import hash_password

PAGE = "/espace/factures/import"
HEADER = "numero;eleve;objet;montant;emission;echeance;paiement_en_ligne;payeur\n"
TWO_ROWS = (
    HEADER
    + "F-001;2087420;Demi-pension 1er trimestre;123,45;01/09/2025;30/09/2025;oui;880101\n"
    + "F-002;070123456AB;Voyage à Séville;1 250.5;02/09/2025;15/10/2025;non;\n"
)


@pytest.fixture
def school(make_school, make_pupil, make_guardian, db):
    """A school with two pupils (one left) and their guardians."""
    school = make_school()
    mael = make_pupil(school, "2087420", "LE GALL", "Maël", ine="070123456AA")
    make_pupil(school, "2415302", "LECŒUR", "Zoé", ine="070123456AB")
    gone = make_pupil(school, "1990001", "ANCIEN", "Paul", left_on=date(2025, 7, 5))
    erwan = make_guardian(school, "880101", "LE GALL", "Erwan", (mael, True))
    erwan.links[0].pays_fees = True
    make_guardian(school, "880106", "MARTIN", "Julie", (mael, False))  # a contact only
    old = make_guardian(school, "880190", "ANCIEN", "Rose", (gone, True))
    old.links[0].active = False  # the pupil has left: the link was closed by an import
    db.session.commit()
    return school


def run(db, school, text: str | bytes, encoding: str = "utf-8"):
    data = text if isinstance(text, bytes) else text.encode(encoding)
    report = import_invoices(data, school)
    db.session.commit()
    return report


def invoices(db) -> dict[str, Invoice]:
    db.session.expire_all()
    return {i.number: i for i in db.session.scalars(db.select(Invoice))}


# -- the service -----------------------------------------------------------------------------


def test_utf8_with_bom_creates_the_invoices(db, school):
    report = run(db, school, "\ufeff" + TWO_ROWS)
    assert report.imported and report.encoding == "utf-8"
    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)
    assert report.total_cents == report.created_cents == 12345 + 125050
    stored = invoices(db)
    first, second = stored["F-001"], stored["F-002"]
    assert (first.pupil.siecle_id, first.payer.siecle_id, first.amount_cents) == (
        "2087420",
        "880101",
        12345,
    )
    assert (first.issued_on, first.due_on, first.payable_online) == (
        date(2025, 9, 1),
        date(2025, 9, 30),
        True,
    )
    assert (second.pupil.siecle_id, second.label, second.payer_id) == (
        "2415302",
        "Voyage à Séville",
        None,
    )
    assert (second.amount_cents, second.payable_online) == (125050, False)
    event = db.session.scalars(db.select(AuditEvent).filter_by(action="invoices.imported")).one()
    assert event.school_id == school.id and event.data["created"] == 2


def test_iso_8859_15_with_accents_and_odd_header(db, school):
    text = (
        "Numéro ; ÉLÈVE;Objet;Montant;Émission;Échéance;Paiement en ligne\r\n"
        "F-010;2415302;Cotisation foyer socio-éducatif - Œuvre €;15;01/09/2025;01/09/2025;O\r\n"
    )
    report = run(db, school, text, "iso-8859-15")
    assert report.imported and report.encoding == "iso-8859-15"
    assert invoices(db)["F-010"].label == "Cotisation foyer socio-éducatif - Œuvre €"
    assert invoices(db)["F-010"].amount_cents == 1500


def test_a_second_import_of_the_same_file_changes_nothing(db, school):
    run(db, school, TWO_ROWS)
    ids = {n: i.id for n, i in invoices(db).items()}
    report = run(db, school, TWO_ROWS)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 2)
    assert {n: i.id for n, i in invoices(db).items()} == ids
    assert db.session.query(AuditEvent).filter_by(action="invoice.updated").count() == 0


def test_a_changed_invoice_is_updated_in_place_and_audited(db, school):
    run(db, school, TWO_ROWS)
    before = invoices(db)["F-001"].id
    changed = HEADER + "F-001;2087420;Demi-pension 1er trimestre;130;01/09/2025;30/09/2025;non;\n"
    report = run(db, school, changed)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    assert report.updated_cents == 13000
    stored = invoices(db)
    assert stored["F-001"].id == before
    assert (stored["F-001"].amount_cents, stored["F-001"].payable_online) == (13000, False)
    assert stored["F-001"].payer_id is None  # the payeur column is there, empty
    assert "F-002" in stored  # absent from the file: left alone
    event = db.session.scalars(db.select(AuditEvent).filter_by(action="invoice.updated")).one()
    assert event.target_id == str(before)
    assert (event.data["old_amount_cents"], event.data["new_amount_cents"]) == (12345, 13000)


def test_without_payeur_column_the_payer_is_kept(db, school):
    run(db, school, TWO_ROWS)
    text = (
        "numero;eleve;objet;montant;emission;echeance;paiement_en_ligne\n"
        "F-001;2087420;Demi-pension 1er trimestre;123,45;01/09/2025;30/09/2025;oui\n"
    )
    assert run(db, school, text).unchanged == 1
    assert invoices(db)["F-001"].payer.siecle_id == "880101"


@pytest.mark.parametrize(
    ("amount", "cents"),
    [("123,45", 12345), ("123.45", 12345), ("12,5", 1250), ("7", 700),
     ("1 234,56", 123456), ("1234,56 €", 123456)],
)  # fmt: skip
def test_amount_formats(db, school, amount, cents):
    run(db, school, HEADER + f"F-1;2087420;Cantine;{amount};01/09/2025;30/09/2025;oui;\n")
    assert invoices(db)["F-1"].amount_cents == cents


def test_every_bad_row_is_reported_with_its_line_and_nothing_is_written(db, school):
    good = "F-100;2087420;Cantine;10;01/09/2025;30/09/2025;oui;\n"
    text = (
        HEADER
        + good  # line 2
        + ";2087420;Cantine;10;01/09/2025;30/09/2025;oui;\n"  # 3
        + f"{'X' * 31};2087420;Cantine;10;01/09/2025;30/09/2025;oui;\n"  # 4
        + "F-104;9999999;Cantine;10;01/09/2025;30/09/2025;oui;\n"  # 5
        + "F-105;2087420;;10;01/09/2025;30/09/2025;oui;\n"  # 6
        + f"F-106;2087420;{'x' * 201};10;01/09/2025;30/09/2025;oui;\n"  # 7
        + "F-107;2087420;Cantine;0;01/09/2025;30/09/2025;oui;\n"  # 8
        + "F-108;2087420;Cantine;-5;01/09/2025;30/09/2025;oui;\n"  # 9
        + "F-109;2087420;Cantine;12,345;01/09/2025;30/09/2025;oui;\n"  # 10
        + "F-110;2087420;Cantine;10;2025-09-01;30/09/2025;oui;\n"  # 11
        + "F-111;2087420;Cantine;10;31/02/2025;30/09/2025;oui;\n"  # 12
        + "F-112;2087420;Cantine;10;01/09/2025;31/08/2025;oui;\n"  # 13
        + "F-113;2087420;Cantine;10;01/09/2025;30/09/2025;peut-être;\n"  # 14
        + "F-114;2087420;Cantine;10;01/09/2025;30/09/2025;oui;999999\n"  # 15
        + "F-115;2087420;Cantine;10;01/09/2025;30/09/2025;oui;880106\n"  # 16
        + "\n"  # 17: blank lines are skipped
        + good  # 18: the same number again
        + "F-119;2087420;Cantine\n"  # 19
    )
    report = run(db, school, text)
    assert not report.imported
    assert (report.created, report.updated, report.unchanged) == (0, 0, 0)
    reasons = {r.line: r.reason for r in report.rejected}
    assert sorted(reasons) == [3, 4, *range(5, 17), 18, 19]
    assert reasons[3] == "numéro de facture manquant"
    assert reasons[4].startswith("numéro « XXXX") and "30 caractères au plus" in reasons[4]
    assert "élève « 9999999 » inconnu" in reasons[5]
    assert reasons[6] == "objet manquant"
    assert reasons[7] == "objet trop long (201 caractères, 200 au plus)"
    assert reasons[8] == "le montant doit être supérieur à zéro"
    assert reasons[9] == "montant « -5 » illisible (exemple : 123,45)"
    assert reasons[10] == "montant « 12,345 » illisible (exemple : 123,45)"
    assert reasons[11] == "date d'émission « 2025-09-01 » invalide (jj/mm/aaaa attendu)"
    assert reasons[12] == "date d'émission « 31/02/2025 » invalide (jj/mm/aaaa attendu)"
    assert reasons[13] == "échéance (31/08/2025) antérieure à l'émission (01/09/2025)"
    assert reasons[14] == "paiement_en_ligne « peut-être » : oui ou non attendu"
    assert reasons[15] == "payeur « 999999 » inconnu dans l'établissement"
    assert reasons[16] == "le payeur « 880106 » n'est pas responsable légal de l'élève « 2087420 »"
    assert reasons[18] == "numéro F-100 déjà présent ligne 2"
    assert reasons[19].startswith("3 colonnes au lieu de 8")
    assert db.session.query(Invoice).count() == 0
    assert db.session.query(AuditEvent).count() == 0


def test_one_bad_row_blocks_the_updates_too(db, school):
    run(db, school, TWO_ROWS)
    text = (
        HEADER
        + "F-001;2087420;Demi-pension 1er trimestre;999;01/09/2025;30/09/2025;oui;880101\n"
        + "F-003;inconnu;Cantine;10;01/09/2025;30/09/2025;oui;\n"
    )
    report = run(db, school, text)
    assert [r.line for r in report.rejected] == [3]
    assert invoices(db)["F-001"].amount_cents == 12345
    assert len(invoices(db)) == 2


def test_a_pupil_who_left_is_accepted_with_their_former_legal_guardian(db, school):
    text = HEADER + "F-200;1990001;Solde cantine 2024-2025;42;01/09/2025;30/09/2025;non;880190\n"
    report = run(db, school, text)
    assert report.imported
    assert invoices(db)["F-200"].payer.siecle_id == "880190"


def test_pupils_of_another_school_are_unknown(db, school, make_school):
    other = make_school(uai="0360010R", name="Lycée Jean Giraudoux")
    report = run(db, other, TWO_ROWS)
    assert [r.line for r in report.rejected] == [2, 3]
    assert db.session.query(Invoice).count() == 0


def test_missing_columns_are_named(db, school):
    with pytest.raises(InvoiceFileError, match="absentes de l'en-tête : montant, echeance"):
        import_invoices(b"numero;eleve;objet;emission;paiement_en_ligne\n", school)
    with pytest.raises(InvoiceFileError, match="Le fichier est vide"):
        import_invoices(b"", school)


def test_a_comma_separated_file_is_refused(db, school):
    with pytest.raises(InvoiceFileError, match="Colonnes obligatoires absentes"):
        import_invoices(HEADER.replace(";", ",").encode(), school)


def test_no_query_per_row(db, school):
    import sqlalchemy as sa

    def count(text: str) -> int:
        statements = []

        def listen(*args):
            statements.append(args)

        sa.event.listen(db.engine, "before_cursor_execute", listen)
        try:
            run(db, school, text)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listen)
        return len(statements)

    def rows(n: int, amount: str) -> str:
        return HEADER + "".join(
            f"N-{i};2087420;Cantine;{amount};01/09/2025;30/09/2025;oui;880101\n" for i in range(n)
        )

    small = count(rows(2, "10"))
    assert count(rows(60, "11")) <= small + 8  # updates of existing rows may be batched apart


# -- the command -----------------------------------------------------------------------------


def invoke(runner, tmp_path, text: str, *args: str):
    path = tmp_path / "factures.csv"
    path.write_text(text, encoding="utf-8")
    return runner.invoke(args=["invoices", "import", str(path), *args])


def test_command_json_report_shape(runner, db, school, tmp_path):
    result = invoke(runner, tmp_path, TWO_ROWS, "--json", "--school", "0360009p")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "school": {"uai": "0360009P", "name": "Collège des Tilleuls"},
        "encoding": "utf-8",
        "imported": True,
        "rows": 2,
        "invoices": {"created": 2, "updated": 0, "unchanged": 0},
        "totals_cents": {"file": 137395, "created": 137395, "updated": 0},
        "rejected": [],
        "dry_run": False,
    }
    assert db.session.query(Invoice).count() == 2


def test_command_json_lists_the_rejected_rows_and_fails(runner, db, school, tmp_path):
    text = HEADER + "F-1;2087420;Cantine;abc;01/09/2025;30/09/2025;oui;\n"
    result = invoke(runner, tmp_path, text, "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["imported"] is False
    assert report["rejected"] == [
        {"line": 2, "number": "F-1", "reason": "montant « abc » illisible (exemple : 123,45)"}
    ]
    assert db.session.query(Invoice).count() == 0


def test_command_text_and_dry_run(runner, db, school, tmp_path):
    result = invoke(runner, tmp_path, TWO_ROWS, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Créées : 2" in result.output and "Simulation" in result.output
    assert db.session.query(Invoice).count() == 0


def test_command_needs_school_when_several(runner, db, school, make_school, tmp_path):
    make_school(uai="0360010R", name="Lycée Jean Giraudoux")
    result = invoke(runner, tmp_path, TWO_ROWS, "--json")
    assert result.exit_code == 1
    assert "précisez --school" in json.loads(result.output)["error"]
    result = invoke(runner, tmp_path, TWO_ROWS, "--school", "0360009P")
    assert result.exit_code == 0, result.output


# -- the page --------------------------------------------------------------------------------


@pytest.fixture
def page_app(app):
    return app


def upload(client, text: str = TWO_ROWS, token: str | None = None, name: str = "f.csv"):
    data = {"invoices": (io.BytesIO(text.encode("utf-8")), name)}
    if token is not None:
        data["csrf_token"] = token
    return client.post(PAGE, data=data, content_type="multipart/form-data")


@pytest.fixture
def accountant_client(page_app, client, school, make_staff):
    make_staff(role=Role.ACCOUNTANT, schools=[school])
    login(client, "comptable@example.org")
    return client


def test_accountant_uploads_and_sees_the_report(accountant_client, db):
    page = accountant_client.get(PAGE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html and "Fichier des factures" in html
    response = upload(accountant_client, token=csrf_token(accountant_client, PAGE))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Import enregistré" in html and "<td>2</td>" in html
    assert db.session.query(Invoice).count() == 2
    event = db.session.scalars(db.select(AuditEvent).filter_by(action="invoices.imported")).one()
    assert event.actor_label == "comptable@example.org"


def test_bad_rows_give_422_with_the_french_errors(accountant_client, db):
    text = TWO_ROWS + "F-003;2087420;Cantine;10;01/09/2025;31/08/2025;oui;\n"
    response = upload(accountant_client, text, token=csrf_token(accountant_client, PAGE))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Import refusé : rien n’a été modifié" in html
    assert "<td>4</td>" in html and "antérieure à l&#39;émission" in html
    assert db.session.query(Invoice).count() == 0


def test_an_unreadable_file_gives_422(accountant_client, db):
    response = upload(accountant_client, "a;b\n", token=csrf_token(accountant_client, PAGE))
    assert response.status_code == 422
    assert "Colonnes obligatoires absentes" in response.get_data(as_text=True)


def test_an_admin_may_import_too(page_app, client, school, make_staff, db):
    make_staff(email="admin@example.org", role=Role.ADMIN, schools=[school], name="C Admin")
    login(client, "admin@example.org")
    assert upload(client, token=csrf_token(client, PAGE)).status_code == 200


def test_the_upload_needs_the_csrf_token(accountant_client, db):
    assert upload(accountant_client).status_code == 400
    assert db.session.query(Invoice).count() == 0


def test_a_parent_is_refused(page_app, client, db, school):
    parent = Account(
        identifiant="p.robin", name="Hélène ROBIN", password_hash=hash_password(PASSWORD)
    )
    parent.memberships.append(Membership(school_id=school.id, role=Role.PARENT))
    db.session.add(parent)
    db.session.commit()
    login(client, "p.robin")
    assert client.get(PAGE).status_code == 403


def test_an_anonymous_visitor_is_sent_to_the_login_page(page_app, client, school):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert "/connexion" in response.headers["Location"]
