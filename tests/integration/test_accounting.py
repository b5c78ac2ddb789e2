"""The accountant's side of invoices: lists and filters, an invoice's page and its changes,
invoices by hand, payments received at the counter, the accounting export, the watch list."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from support import PASSWORD, login

from extensions import db
from models import (
    Account,
    AuditEvent,
    Invoice,
    Membership,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Role,
)
from models.base import utcnow
from services import accounting
from services.billing import InvoiceState, balances, state_of
from services.passwords import hash_password

BASE = "/espace/factures"


def today() -> date:
    return accounting.paris_today()


def text(html: str) -> str:
    return " ".join(
        re.sub(r"<[^>]+>", " ", html).replace("\u202f", " ").replace("\xa0", " ").split()
    )


def page_text(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return text(response.get_data(as_text=True))


def token(client, url: str = f"{BASE}/nouvelle") -> str:
    """Return the session's CSRF token, read from any form of a page (prefixed or not)."""
    html = client.get(url).get_data(as_text=True)
    found = re.search(r'name="[\w-]*csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="[\w-]*csrf_token"', html
    )
    assert found, f"no CSRF token on {url}"
    return found.group(1)


def add_invoice(school, pupil, number: str, cents: int, **kw) -> Invoice:
    values = {
        "label": "Demi-pension 1er trimestre",
        "issued_on": today() - timedelta(days=10),
        "due_on": today() + timedelta(days=20),
        "payable_online": True,
        **kw,
    }
    invoice = Invoice(
        school_id=school.id, number=number, pupil_id=pupil.id, amount_cents=cents, **values
    )
    db.session.add(invoice)
    db.session.flush()
    return invoice


def add_payment(invoice: Invoice, cents: int, status=PaymentStatus.PAID, **kw) -> Payment:
    values = {"method": PaymentMethod.ONLINE, **kw}
    if status is PaymentStatus.PAID:
        values.setdefault("paid_at", utcnow())
        values.setdefault("settled_at", values["paid_at"])
    payment = Payment(
        school_id=invoice.school_id, invoice=invoice, status=status, amount_cents=cents, **values
    )
    db.session.add(payment)
    db.session.flush()
    return payment


@pytest.fixture
def school(make_school, make_pupil, make_guardian):
    """A school with two pupils in two classes and their legal guardians."""
    school = make_school()
    mael = make_pupil(school, "2087420", "LE GALL", "Maël", "6A", ine="070123456AA")
    zoe = make_pupil(school, "2415302", "LECŒUR", "Zoé", "5B", ine="070123456AB")
    make_guardian(school, "880101", "LE GALL", "Erwan", (mael, True))
    make_guardian(school, "880102", "ROBIN", "Hélène", (zoe, True))
    make_guardian(school, "880106", "MARTIN", "Julie", (mael, False))  # a contact only
    db.session.commit()
    return school


def pupils(school):
    from models import Pupil

    found = db.session.scalars(db.select(Pupil).filter_by(school_id=school.id)).all()
    return {p.siecle_id: p for p in found}


@pytest.fixture
def other_school(make_school, make_pupil):
    """Another school, with one invoice of its own."""
    other = make_school(uai="0360010R", name="Lycée Jean Giraudoux")
    pupil = make_pupil(other, "999001", "AUTRE", "Camille", "2NDE1")
    db.session.flush()
    add_invoice(other, pupil, "L-001", 5000)
    db.session.commit()
    return other


@pytest.fixture
def accountant(client, school, make_staff):
    """The school's accountant, signed in."""
    make_staff(role=Role.ACCOUNTANT, schools=[school])
    assert login(client, "comptable@example.org").status_code == 302
    return client


def events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    query = db.select(AuditEvent).filter_by(action=action).order_by(AuditEvent.id)
    return list(db.session.scalars(query))


# -- the invoices list -----------------------------------------------------------------------


def test_the_list_shows_each_invoice_with_its_balance_and_status(accountant, school):
    kids = pupils(school)
    first = add_invoice(school, kids["2087420"], "F-001", 4550)
    add_payment(first, 2000)
    add_payment(first, 500, PaymentStatus.PENDING)
    add_payment(first, 1000, PaymentStatus.REFUSED)
    add_invoice(school, kids["2415302"], "F-002", 12000, payable_online=False)
    db.session.commit()
    page = page_text(accountant, f"{BASE}/")
    assert "2 factures" in page
    row = page[page.index("F-001") :]
    assert row.startswith(
        "F-001 Maël LE GALL 6A Demi-pension 1er trimestre 45,50 € 20,00 € + 5,00 € en cours 25,50 €"
    )
    assert "Partiellement payée" in row
    assert "F-002 Zoé LECŒUR 5B" in page and "Prélèvement" in page


def test_the_list_computes_balances_in_one_query(accountant, school):
    kids = pupils(school)
    for number in range(30):
        invoice = add_invoice(school, kids["2087420"], f"N-{number:02d}", 1000)
        add_payment(invoice, 300)
    db.session.commit()

    def statements(url: str) -> int:
        import sqlalchemy as sa

        seen: list[str] = []

        def listen(conn, cursor, statement, *args):
            seen.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", listen)
        try:
            assert accountant.get(url).status_code == 200
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listen)
        return len(seen)

    assert statements(f"{BASE}/") <= 12


def test_filters_by_class_dates_status_and_text(accountant, school):
    kids = pupils(school)
    mael, zoe = kids["2087420"], kids["2415302"]
    add_invoice(school, mael, "F-001", 1000, issued_on=date(2025, 9, 1))
    paid = add_invoice(school, mael, "F-002", 1000, issued_on=date(2025, 10, 1))
    add_payment(paid, 1000)
    add_invoice(school, zoe, "F-003", 1000, issued_on=date(2025, 11, 1))
    add_invoice(school, zoe, "F-004", 1000, due_on=today() - timedelta(days=1))
    db.session.commit()

    def numbers(query: str) -> list[str]:
        page = page_text(accountant, f"{BASE}/?{query}")
        return sorted(set(re.findall(r"\bF-00\d\b", page)))

    assert numbers("classe=6A") == ["F-001", "F-002"]
    assert numbers("du=2025-09-15&au=2025-11-01") == ["F-002", "F-003"]
    assert numbers("statut=payee") == ["F-002"]
    assert numbers("statut=echue") == ["F-004"]
    assert numbers("statut=a_payer&classe=5B") == ["F-003"]
    assert numbers("q=mael") == ["F-001", "F-002"]  # no accent needed
    assert numbers("q=helene+robin") == ["F-003", "F-004"]  # the pupil's legal guardian
    assert numbers("q=f-003") == ["F-003"]
    assert numbers("q=julie") == []  # a contact is not a payer
    page = page_text(accountant, f"{BASE}/?du=pas-une-date&classe=6A")
    assert "Saisissez une date valide" in page and "2 factures" in page


def test_the_status_filter_agrees_with_the_displayed_status(app, school):
    kids = pupils(school)
    pupil = kids["2087420"]
    past, soon = today() - timedelta(days=1), today() + timedelta(days=5)
    made = [
        add_invoice(school, pupil, "S-1", 1000),
        add_invoice(school, pupil, "S-2", 1000),
        add_invoice(school, pupil, "S-3", 1000),
        add_invoice(school, pupil, "S-4", 1000, due_on=past),
        add_invoice(school, pupil, "S-5", 1000, due_on=past),
        add_invoice(school, pupil, "S-6", 1000, payable_online=False),
        add_invoice(school, pupil, "S-7", 1000, payable_online=False),
        add_invoice(school, pupil, "S-8", 1000, cancelled_at=utcnow(), cancel_reason="x"),
        add_invoice(school, pupil, "S-9", 1000, due_on=today()),
        add_invoice(school, pupil, "S-10", 1000, due_on=soon),
    ]
    add_payment(made[1], 400)
    add_payment(made[2], 1000)
    add_payment(made[4], 1000)
    add_payment(made[6], 200)
    add_payment(made[8], 100, PaymentStatus.PENDING)
    add_payment(made[9], 999, PaymentStatus.REFUSED)
    db.session.commit()
    found = balances(made)
    expected = {invoice.id: state_of(invoice, found[invoice.id], today()) for invoice in made}
    assert set(expected.values()) == set(InvoiceState)
    for state in InvoiceState:
        page = accounting.invoice_page(
            [school.id], accounting.InvoiceFilters(state=state), 1, today()
        )
        assert {line.invoice.id for line in page.items} == {
            i for i, s in expected.items() if s is state
        }, state
        assert all(line.state is state for line in page.items)


def test_the_list_is_paginated_by_fifty(accountant, school):
    pupil = pupils(school)["2087420"]
    db.session.execute(
        db.insert(Invoice),
        [
            {
                "school_id": school.id,
                "number": f"P-{n:03d}",
                "pupil_id": pupil.id,
                "label": "Cantine",
                "amount_cents": 100,
                "issued_on": date(2025, 9, 1),
                "due_on": date(2025, 9, 30),
                "payable_online": True,
            }
            for n in range(55)
        ],
    )
    db.session.commit()
    first = page_text(accountant, f"{BASE}/")
    assert "55 factures" in first and "page 1 sur 2" in first
    assert len(re.findall(r"\bP-\d{3}\b", first)) == 50
    html = accountant.get(f"{BASE}/?classe=6A&page=2").get_data(as_text=True)
    assert len(re.findall(r">P-\d{3}<", html)) == 5
    assert "page=1" in html and "classe=6A" in html  # the links keep the filters
    found = accounting.invoice_page([school.id], accounting.InvoiceFilters(text="p-0"), 2, today())
    assert (found.total, len(found.items), found.pages) == (55, 5, 2)


# -- scope -----------------------------------------------------------------------------------


def test_an_accountant_sees_only_the_schools_they_serve(accountant, school, other_school):
    add_invoice(school, pupils(school)["2087420"], "F-001", 1000)
    db.session.commit()
    foreign = db.session.scalars(db.select(Invoice).filter_by(number="L-001")).one()
    add_payment(foreign, 5000)
    db.session.commit()
    page = page_text(accountant, f"{BASE}/")
    assert "F-001" in page and "L-001" not in page
    assert "L-001" not in page_text(accountant, f"{BASE}/paiements")
    assert "L-001" not in accountant.get(f"{BASE}/paiements/export.csv").get_data(as_text=True)
    assert accountant.get(f"{BASE}/{foreign.id}").status_code == 404
    csrf = token(accountant)
    for action in ("corriger", "annuler", "paiements"):
        response = accountant.post(f"{BASE}/{foreign.id}/{action}", data={"csrf_token": csrf})
        assert response.status_code == 404, action
    payment = foreign.payments[0]
    response = accountant.post(f"{BASE}/paiements/{payment.id}/verifier", data={"csrf_token": csrf})
    assert response.status_code == 404
    assert accountant.get(f"{BASE}/paiements/export.csv?school=0360010R").status_code == 404


def test_a_parent_is_refused_everywhere(client, school):
    invoice = add_invoice(school, pupils(school)["2087420"], "F-001", 1000)
    parent = Account(
        identifiant="h.robin", name="Hélène ROBIN", password_hash=hash_password(PASSWORD)
    )
    parent.memberships.append(Membership(school_id=school.id, role=Role.PARENT))
    db.session.add(parent)
    db.session.commit()
    login(client, "h.robin")
    for url in (
        f"{BASE}/",
        f"{BASE}/{invoice.id}",
        f"{BASE}/nouvelle",
        f"{BASE}/paiements",
        f"{BASE}/paiements/export.csv",
        f"{BASE}/paiements/suivi",
    ):
        assert client.get(url).status_code == 403, url


# -- correcting and cancelling ---------------------------------------------------------------


def correction(client, invoice: Invoice, **changes) -> object:
    data = {
        "corriger-csrf_token": token(client),
        "corriger-label": invoice.label,
        "corriger-amount": f"{invoice.amount_cents / 100:.2f}".replace(".", ","),
        "corriger-due_on": invoice.due_on.isoformat(),
        "corriger-payer": str(invoice.payer_id or ""),
    }
    if invoice.payable_online:
        data["corriger-payable_online"] = "y"
    for name, value in changes.items():
        if value is None:
            data.pop(f"corriger-{name}", None)
        else:
            data[f"corriger-{name}"] = value
    return client.post(f"{BASE}/{invoice.id}/corriger", data=data)


def test_a_correction_is_saved_and_audited_with_before_and_after(accountant, school):
    invoice = add_invoice(school, pupils(school)["2087420"], "F-001", 4550)
    db.session.commit()
    erwan = invoice_admin_payers(invoice)[0]
    new_due = today() + timedelta(days=40)
    response = correction(
        accountant,
        invoice,
        label="Demi-pension T1 (rectifiée)",
        amount="50,00",
        due_on=new_due.isoformat(),
        payable_online=None,
        payer=str(erwan.id),
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert (invoice.label, invoice.amount_cents, invoice.due_on) == (
        "Demi-pension T1 (rectifiée)",
        5000,
        new_due,
    )
    assert invoice.payable_online is False and invoice.payer_id == erwan.id
    (event,) = events("invoice.corrected")
    assert event.actor_label == "comptable@example.org"
    assert event.target_type == "Invoice" and event.target_id == str(invoice.id)
    assert event.data["before"] == {
        "label": "Demi-pension 1er trimestre",
        "amount_cents": 4550,
        "due_on": (today() + timedelta(days=20)).isoformat(),
        "payable_online": True,
        "payer": None,
    }
    assert event.data["after"]["amount_cents"] == 5000
    assert event.data["after"]["payer"] == "Erwan LE GALL (880101)"
    page = page_text(accountant, f"{BASE}/{invoice.id}")
    assert "La facture F-001 est corrigée." in page
    assert "Facture corrigée" in page and "montant : 45,50 € → 50,00 €" in page
    # The same values again: nothing to audit.
    assert correction(accountant, invoice).status_code == 302
    assert len(events("invoice.corrected")) == 1


def invoice_admin_payers(invoice):
    from services.invoice_admin import possible_payers

    return possible_payers(invoice)


def test_the_amount_cannot_go_below_what_is_paid_or_in_progress(accountant, school):
    invoice = add_invoice(school, pupils(school)["2087420"], "F-001", 10000)
    add_payment(invoice, 5000)
    add_payment(invoice, 1000, PaymentStatus.PENDING)
    db.session.commit()
    response = correction(accountant, invoice, amount="55,00")
    assert response.status_code == 422
    page = text(response.get_data(as_text=True))
    assert (
        "Le montant ne peut pas être inférieur à 60,00 € (50,00 € déjà payés et 10,00 € en "
        "cours de paiement)." in page
    )
    db.session.expire_all()
    assert invoice.amount_cents == 10000
    assert events("invoice.corrected") == []
    assert correction(accountant, invoice, amount="60").status_code == 302
    db.session.expire_all()
    assert invoice.amount_cents == 6000


def test_a_payer_must_be_a_legal_guardian_of_the_pupil(accountant, school):
    invoice = add_invoice(school, pupils(school)["2087420"], "F-001", 1000)
    db.session.commit()
    from models import Guardian

    julie = db.session.scalars(db.select(Guardian).filter_by(siecle_id="880106")).one()
    response = correction(accountant, invoice, payer=str(julie.id))
    assert response.status_code == 422
    assert "Choisissez une valeur dans la liste." in response.get_data(as_text=True)


def cancel(client, invoice: Invoice, reason: str):
    return client.post(
        f"{BASE}/{invoice.id}/annuler",
        data={"annuler-csrf_token": token(client), "annuler-reason": reason},
    )


def test_cancelling_needs_a_reason_and_no_payment_in_progress(accountant, school):
    invoice = add_invoice(school, pupils(school)["2087420"], "F-001", 10000)
    add_payment(invoice, 3000)
    pending = add_payment(invoice, 2000, PaymentStatus.PENDING)
    db.session.commit()
    response = cancel(accountant, invoice, "")
    assert response.status_code == 422
    assert "Ce champ est obligatoire." in response.get_data(as_text=True)
    response = cancel(accountant, invoice, "Élève parti en cours de trimestre")
    assert response.status_code == 422
    assert "Un paiement en ligne de 20,00 € est en cours" in text(response.get_data(as_text=True))
    db.session.expire_all()
    assert invoice.cancelled_at is None
    pending.status = PaymentStatus.EXPIRED
    db.session.commit()
    assert cancel(accountant, invoice, "Élève parti en cours de trimestre").status_code == 302
    db.session.expire_all()
    assert invoice.cancelled_at is not None
    assert invoice.cancel_reason == "Élève parti en cours de trimestre"
    (event,) = events("invoice.cancelled")
    assert event.actor_id is not None and event.data["paid_cents"] == 3000
    page = page_text(accountant, f"{BASE}/{invoice.id}")
    assert "Facture annulée le" in page and "Annulée" in page
    assert "Les paiements déjà encaissés (30,00 €) restent enregistrés" in page
    assert "remboursement se fait hors de Guichet" in page
    assert "Motif : Élève parti en cours de trimestre" in page
    assert "Enregistrer la correction" not in page  # no more changes
    assert cancel(accountant, invoice, "encore").status_code == 422


# -- payments at the counter -----------------------------------------------------------------


def record(client, invoice: Invoice, amount: str, method: str = "cheque", **kw):
    data = {
        "encaisser-csrf_token": token(client),
        "encaisser-method": method,
        "encaisser-amount": amount,
        "encaisser-paid_on": kw.pop("paid_on", today().isoformat()),
        "encaisser-note": kw.pop("note", ""),
    }
    return client.post(f"{BASE}/{invoice.id}/paiements", data=data)


def test_offline_payments_reduce_the_balance_until_paid(accountant, school):
    invoice = add_invoice(school, pupils(school)["2087420"], "F-001", 4550)
    db.session.commit()
    response = record(accountant, invoice, "20,00", note="Chèque 1234567 Crédit Agricole")
    assert response.status_code == 302
    page = page_text(accountant, f"{BASE}/{invoice.id}")
    assert "Paiement enregistré : ticket n°" in page
    assert "Reste à payer 25,50 €" in page and "Partiellement payée" in page
    assert "Chèque 20,00 € Payé" in page and "Dominique Comptable" in page
    assert "Chèque 1234567 Crédit Agricole" in page
    response = record(accountant, invoice, "30,00", "cash")
    assert response.status_code == 422
    assert "Le montant dépasse le reste à payer (25,50" in text(response.get_data(as_text=True))
    assert record(accountant, invoice, "25,50", "cash").status_code == 302
    page = page_text(accountant, f"{BASE}/{invoice.id}")
    assert "Reste à payer 0,00 €" in page and "Payée" in page
    assert "Payée" in page_text(accountant, f"{BASE}/?statut=payee")
    recorded = events("payment.recorded")
    assert [e.data["amount_cents"] for e in recorded] == [2000, 2550]
    assert {e.actor_label for e in recorded} == {"comptable@example.org"}
    assert "Paiement enregistré au guichet" in page and "moyen : Espèces" in page


def test_an_offline_payment_cannot_be_dated_in_the_future(accountant, school):
    invoice = add_invoice(school, pupils(school)["2087420"], "F-001", 4550)
    db.session.commit()
    tomorrow = (today() + timedelta(days=1)).isoformat()
    response = record(accountant, invoice, "10", paid_on=tomorrow)
    assert response.status_code == 422
    assert "ne peut pas être dans le futur" in response.get_data(as_text=True)
    assert invoice.payments == []


def test_a_payment_recorded_by_mistake_is_voided_with_a_reason(accountant, school):
    invoice = add_invoice(school, pupils(school)["2087420"], "F-001", 4550)
    online = add_payment(invoice, 500)
    db.session.commit()
    assert record(accountant, invoice, "40,50", "transfer").status_code == 302
    db.session.expire_all()
    assert record(accountant, invoice, "1").status_code == 422  # already fully paid
    payment = next(p for p in invoice.payments if p.method is PaymentMethod.TRANSFER)
    assert payment.status is PaymentStatus.PAID and payment.amount_cents == 4050
    url = f"{BASE}/{invoice.id}/paiements/{payment.id}/annuler"
    assert "Annuler ce paiement" in page_text(accountant, url)
    csrf = token(accountant, url)
    assert accountant.post(url, data={"csrf_token": csrf, "reason": ""}).status_code == 422
    response = accountant.post(
        url, data={"csrf_token": csrf, "reason": "Virement d'une autre famille"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert payment.status is PaymentStatus.VOIDED
    page = page_text(accountant, f"{BASE}/{invoice.id}")
    assert "Reste à payer 40,50 €" in page
    assert "motif : Virement d'une autre famille" in page.replace("&#39;", "'")
    (event,) = events("payment.voided")
    assert event.actor_label == "comptable@example.org"
    # An online payment is not voided here.
    online_url = f"{BASE}/{invoice.id}/paiements/{online.id}/annuler"
    response = accountant.post(online_url, data={"csrf_token": csrf, "reason": "non"})
    assert response.status_code == 422
    assert online.status is PaymentStatus.PAID


# -- an invoice by hand ----------------------------------------------------------------------


def create(client, **fields):
    data = {
        "csrf_token": token(client),
        "number": "M-001",
        "pupil": "070123456ab",
        "label": "Voyage à Séville",
        "amount": "120,50",
        "issued_on": today().isoformat(),
        "due_on": (today() + timedelta(days=30)).isoformat(),
        "payable_online": "y",
        **fields,
    }
    return client.post(f"{BASE}/nouvelle", data=data)


def test_an_invoice_is_created_by_hand_and_audited(accountant, school):
    page = page_text(accountant, f"{BASE}/nouvelle")
    assert "INE ou identifiant SIECLE" in page and "Établissement" not in page
    response = create(accountant)
    assert response.status_code == 302
    invoice = db.session.scalars(db.select(Invoice).filter_by(number="M-001")).one()
    assert response.headers["Location"].endswith(f"{BASE}/{invoice.id}")
    assert (invoice.pupil.siecle_id, invoice.amount_cents, invoice.payable_online) == (
        "2415302",
        12050,
        True,
    )
    (event,) = events("invoice.created")
    assert event.actor_label == "comptable@example.org"
    assert event.data["number"] == "M-001" and event.data["amount_cents"] == 12050
    assert "Facture créée" in page_text(accountant, f"{BASE}/{invoice.id}")
    # By SIECLE id, not payable online.
    assert create(accountant, number="M-002", pupil="2087420", payable_online="").status_code == 302
    second = db.session.scalars(db.select(Invoice).filter_by(number="M-002")).one()
    assert second.pupil.siecle_id == "2087420" and second.payable_online is False


def test_a_taken_number_or_an_unknown_pupil_is_refused(accountant, school, other_school):
    assert create(accountant).status_code == 302
    response = create(accountant)
    assert response.status_code == 422
    page = text(response.get_data(as_text=True))
    assert "Le numéro M-001 est déjà celui d'une facture de l'établissement." in page.replace(
        "&#39;", "'"
    )
    response = create(accountant, number="M-002", pupil="999001")  # a pupil of another school
    assert response.status_code == 422
    assert "Aucun élève de l&#39;établissement" in response.get_data(as_text=True)
    response = create(accountant, number="M-003", due_on=(today() - timedelta(days=1)).isoformat())
    assert response.status_code == 422
    assert "L&#39;échéance ne peut pas précéder" in response.get_data(as_text=True)
    assert create(accountant, number="L-001").status_code == 302  # numbers are per school
    assert db.session.query(Invoice).filter_by(school_id=school.id).count() == 2


# -- payments list and export ----------------------------------------------------------------


def test_the_payments_list_filters_and_totals(accountant, school):
    kids = pupils(school)
    first = add_invoice(school, kids["2087420"], "F-001", 10000)
    second = add_invoice(school, kids["2415302"], "F-002", 10000)
    day = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    add_payment(first, 4550, paid_at=day, ticket_number="2026-000001")
    add_payment(first, 1000, PaymentStatus.REFUSED, created_at=day)
    add_payment(second, 2500, paid_at=day + timedelta(days=1), method=PaymentMethod.CHEQUE)
    add_payment(second, 700, PaymentStatus.PENDING)
    db.session.commit()
    page = page_text(accountant, f"{BASE}/paiements")
    assert "4 paiements" in page
    assert "Total encaissé (paiements au statut « Payé ») : 70,50 € en 2 paiements." in page
    page = page_text(accountant, f"{BASE}/paiements?du=2026-03-02&au=2026-03-02")
    assert "2 paiements" in page and ": 45,50 € en 1 paiement." in page
    page = page_text(accountant, f"{BASE}/paiements?classe=5B")
    assert "2 paiements" in page and ": 25,00 € en 1 paiement." in page
    page = page_text(accountant, f"{BASE}/paiements?statut=refused")
    assert "1 paiement" in page and ": 0,00 € en 0 paiement." in page
    page = page_text(accountant, f"{BASE}/paiements?moyen=cheque")
    assert "1 paiement" in page and "Chèque" in page
    page = page_text(accountant, f"{BASE}/paiements?q=lecoeur")
    assert "2 paiements" in page and ": 25,00 € en 1 paiement." in page
    page = page_text(accountant, f"{BASE}/paiements?q=2026-000001")
    assert "1 paiement" in page


def test_the_day_export_for_the_accounting_software(accountant, school):
    kids = pupils(school)
    invoice = add_invoice(school, kids["2087420"], "F-001", 10000)
    other = add_invoice(school, kids["2415302"], "F-002", 10000)
    from models import Guardian

    erwan = db.session.scalars(db.select(Guardian).filter_by(siecle_id="880101")).one()
    # 23:30 UTC on 1 March is 00:30 on 2 March in Paris.
    add_payment(
        invoice,
        4550,
        paid_at=datetime(2026, 3, 1, 23, 30, 5, tzinfo=UTC),
        guardian_id=erwan.id,
        ticket_number="2026-000007",
        authorisation="A12345",
        refdet="F001T000001",
    )
    add_payment(
        other,
        1200,
        paid_at=datetime(2026, 3, 2, 15, 0, tzinfo=UTC),
        method=PaymentMethod.CHEQUE,
        ticket_number="2026-000008",
        note="Chèque 998877",
    )
    add_payment(invoice, 999, PaymentStatus.REFUSED)  # never exported
    add_payment(invoice, 100, paid_at=datetime(2026, 3, 1, 22, 59, tzinfo=UTC))  # 1 March
    db.session.commit()
    response = accountant.get(f"{BASE}/paiements/export.csv?date=2026-03-02")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "paiements-0360009P-2026-03-02.csv" in response.headers["Content-Disposition"]
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[0] == (
        "date;heure;ticket;facture;eleve;classe;payeur;moyen;montant;autorisation;reference"
    )
    assert lines[1] == (
        "02/03/2026;00:30:05;2026-000007;F-001;Maël LE GALL;6A;Erwan LE GALL;carte;45,50;"
        "A12345;F001T000001"
    )
    assert lines[2] == (
        "02/03/2026;16:00:00;2026-000008;F-002;Zoé LECŒUR;5B;;cheque;12,00;;Chèque 998877"
    )
    assert lines[3:] == [""]
    day_before = accountant.get(f"{BASE}/paiements/export.csv?date=2026-03-01").get_data()
    assert day_before.decode("utf-8-sig").count("\r\n") == 2  # header and the 1,00 €
    assert accountant.get(f"{BASE}/paiements/export.csv?date=hier").status_code == 302


def test_the_export_command(runner, school, tmp_path):
    invoice = add_invoice(school, pupils(school)["2087420"], "F-001", 10000)
    add_payment(invoice, 4550, paid_at=datetime(2026, 3, 2, 8, 0, tzinfo=UTC), note="x")
    db.session.commit()
    output = tmp_path / "export.csv"
    args = ["payments", "export", "--date", "2026-03-02", "--school", "0360009p"]
    result = runner.invoke(args=[*args, "--output", str(output)])
    assert result.exit_code == 0, result.output
    lines = output.read_bytes().decode("utf-8-sig").splitlines()
    assert lines[0].startswith("date;heure;ticket;facture;")
    assert lines[1].startswith("02/03/2026;09:00:00;;F-001;Maël LE GALL;6A;;carte;45,50;")
    stdout = runner.invoke(args=args)
    assert stdout.exit_code == 0
    assert stdout.stdout_bytes == output.read_bytes()
    assert runner.invoke(args=["payments", "export", "--school", "9999999X"]).exit_code == 1


# -- payments in progress or in doubt --------------------------------------------------------


def test_the_watch_page_lists_old_pending_payments_and_asks_the_bank(accountant, school):
    invoice = add_invoice(school, pupils(school)["2087420"], "F-001", 10000)
    old = add_payment(
        invoice, 3000, PaymentStatus.PENDING, created_at=utcnow() - timedelta(minutes=45)
    )
    fresh = add_payment(invoice, 2000, PaymentStatus.PENDING, refdet="F001T000099")
    odd = add_payment(
        invoice,
        1000,
        PaymentStatus.PENDING,
        created_at=utcnow() - timedelta(minutes=3),
        anomaly="La banque annonce 12,00 € au lieu de 10,00 €.",
    )
    db.session.commit()
    html = accountant.get(f"{BASE}/paiements/suivi").get_data(as_text=True)
    rows = {
        payment.id: text(html.split(f'id="paiement-{payment.id}"')[1].split("</tr>")[0])
        for payment in (old, fresh, odd)
    }
    assert "45 min" in rows[old.id] and "En doute" in rows[old.id]
    assert "En doute" not in rows[fresh.id] and "0 min" in rows[fresh.id]
    assert "En doute" in rows[odd.id] and "12,00 € au lieu de 10,00 €" in rows[odd.id]
    # The old one never reached the bank: asking now settles it as expired.
    url = f"{BASE}/paiements/{old.id}/verifier"
    response = accountant.post(url, data={"csrf_token": token(accountant)})
    assert response.status_code == 302
    page = page_text(accountant, f"{BASE}/paiements/suivi")
    assert "statut « Expiré »" in page
    db.session.expire_all()
    assert old.status is PaymentStatus.EXPIRED
    assert f'id="paiement-{old.id}"' not in accountant.get(f"{BASE}/paiements/suivi").get_data(
        as_text=True
    )


def test_a_payment_in_doubt_is_settled_by_hand_after_checking_the_bank(accountant, school):
    from models import OutboxMessage

    invoice = add_invoice(school, pupils(school)["2087420"], "F-001", 10000)
    odd = add_payment(
        invoice, 3000, PaymentStatus.PENDING, refdet="F001T000001",
        payer_email="erwan.legall@example.org",
        anomaly="La banque annonce 12,00 € au lieu de 30,00 €.",
    )  # fmt: skip
    silent = add_payment(
        invoice, 2000, PaymentStatus.PENDING, created_at=utcnow() - timedelta(minutes=45)
    )
    fresh = add_payment(invoice, 1000, PaymentStatus.PENDING)
    db.session.commit()
    watch = accountant.get(f"{BASE}/paiements/suivi").get_data(as_text=True)
    assert f"{BASE}/paiements/{odd.id}/resoudre" in watch
    assert f"{BASE}/paiements/{fresh.id}/resoudre" not in watch  # the bank may still answer

    def resolve(payment, decision: str, reason: str, amount: str = ""):
        url = f"{BASE}/paiements/{payment.id}/resoudre"
        data = {"csrf_token": token(accountant, url), "decision": decision, "reason": reason,
                "amount": amount}  # fmt: skip
        return accountant.post(url, data=data)

    assert resolve(odd, "paid", "").status_code == 422  # say what the bank showed
    assert (
        resolve(odd, "paid", "Encaissé 12,00 € le 29/11, autorisation 4411", "12,00").status_code
        == 302
    )
    assert resolve(silent, "not_paid", "Aucune opération chez PayFiP").status_code == 302
    refused = resolve(fresh, "not_paid", "Impatience")
    assert refused.status_code == 422 and "pas en doute" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert odd.status is PaymentStatus.PAID and odd.ticket_number
    assert odd.amount_cents == 1200  # what the bank took, not the 30,00 € asked
    assert silent.status is PaymentStatus.EXPIRED and silent.ticket_number is None
    assert fresh.status is PaymentStatus.PENDING
    ticket = db.session.scalars(db.select(OutboxMessage).filter_by(to=odd.payer_email)).one()
    assert odd.ticket_number in ticket.subject
    [event] = events("payment.resolved")[:1]
    assert event.data["paid"] is True and "autorisation 4411" in event.data["reason"]
    page = page_text(accountant, f"{BASE}/{invoice.id}")
    assert "Paiement en doute réglé à la main" in page


def test_the_dashboard_links_the_accountant_pages(accountant):
    html = accountant.get("/espace/").get_data(as_text=True)
    for path in (f"{BASE}/", f"{BASE}/paiements", f"{BASE}/paiements/suivi"):
        assert f'href="{path}"' in html
