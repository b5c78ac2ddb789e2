"""Contacter l'assistance: a parent's request from their account, through workflows/
assistance.yaml, lands in the accountants' queue and is acknowledged by email."""

from __future__ import annotations

import io
import re

from payment_support import emails, make_parent, text
from support import PASSWORD, csrf_token, login

from extensions import db
from models import HelpRequest, RequestStatus, Role
from services.desk.ingest import Outcome, ingest


def open_form(client) -> str:
    """Follow "Contacter l'assistance" from the account page to the form; return its URL."""
    account = client.get("/compte/").get_data(as_text=True)
    assert 'href="/assistance/"' in account
    started = client.get("/assistance/")
    assert started.status_code == 302, started.get_data(as_text=True)
    return started.headers["Location"]


def requests() -> list[HelpRequest]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(HelpRequest).order_by(HelpRequest.id)))


def test_a_parent_asks_about_an_invoice_with_a_receipt(client, family):
    login(client, "l.legall")
    url = open_form(client)
    form = client.get(url).get_data(as_text=True)
    # The categories come from the YAML, the invoices are the family's own only.
    for label in ("Un paiement", "Une facture", "Mon compte Guichet", "Autre question"):
        assert label in form
    assert "F-001" in form and "F-002" in form and "F-004" not in form  # F-004: the Benali's
    receipt = (io.BytesIO(b"%PDF-1.4 releve"), "releve banque.pdf")
    answer = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "categorie": "paiement",
            "facture": str(family["payable"].id),
            "message": "Ma carte a été débitée deux fois pour la cantine de Maël.",
            "piece": receipt,
        },
        content_type="multipart/form-data",
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)
    done = text(client.get(url).get_data(as_text=True))
    [request] = requests()
    assert f"Votre demande {request.reference} est enregistrée" in done

    assert request.status is RequestStatus.NEW and request.channel == "formulaire"
    assert (request.category, request.invoice_id) == ("paiement", family["payable"].id)
    assert request.subject.startswith("Un paiement") and "facture F-001" in request.subject
    assert request.requester_email == "linh.nguyen@example.org"
    [message] = request.messages
    assert "débitée deux fois" in message.text
    [piece] = message.attachments
    assert (piece.filename, piece.data) == ("releve banque.pdf", b"%PDF-1.4 releve")

    [ack] = emails("linh.nguyen@example.org")
    assert request.reference in ack.subject
    assert "débitée deux fois" in ack.body and "agent comptable" in ack.body.lower()
    assert ack.headers["Reply-To"] == "agent-comptable@example.org"
    assert ack.headers["Auto-Submitted"] == "auto-replied"  # no out-of-office ping-pong

    # Answering the acknowledgement threads back to the request, even without the reference.
    reply = (
        "From: linh.nguyen@example.org\r\nSubject: complement\r\n"
        "Message-ID: <complement-1@example.org>\r\n"
        f"In-Reply-To: {ack.headers['Message-ID']}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nJ'ajoute le relevé de novembre.\r\n"
    ).encode()
    assert ingest(reply, request.school).outcome is Outcome.JOINED
    db.session.commit()
    assert len(requests()[0].messages) == 2


def test_the_accountant_sees_the_category_invoice_and_family(client, family, make_staff, app):
    login(client, "l.legall")
    url = open_form(client)
    client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "categorie": "facture",
            "facture": str(family["overdue"].id),
            "message": "Je ne comprends pas le montant de cette facture.",
        },
    )
    [request] = requests()
    make_staff(role=Role.ACCOUNTANT, schools=[request.school])
    staff = app.test_client()
    login(staff, "comptable@example.org")
    inbox = staff.get("/espace/assistance/").get_data(as_text=True)
    assert request.reference in inbox
    page = text(staff.get(f"/espace/assistance/{request.reference}").get_data(as_text=True))
    assert "Catégorie : Une facture" in page and "Facture : F-002" in page
    assert "Maël LE GALL-NGUYEN (6A)" in page  # the children at hand
    assert "envoyée depuis le compte" in page


def test_bad_input_is_refused_in_french_and_records_nothing(client, family):
    login(client, "l.legall")
    url = open_form(client)
    token = csrf_token(client, url)
    short = client.post(url, data={"csrf_token": token, "categorie": "paiement", "message": "?"})
    assert short.status_code == 200
    assert "Saisissez entre 10 et 5000 caractères." in text(short.get_data(as_text=True))
    other_family = client.post(
        url,
        data={
            "csrf_token": token,
            "categorie": "facture",
            "facture": str(family["benali"].id),
            "message": "Une question sur la facture de ma voisine.",
        },
    )
    assert other_family.status_code == 200
    assert "Choisissez une réponse dans la liste" in text(other_family.get_data(as_text=True))
    no_category = client.post(url, data={"csrf_token": token, "message": "Bonjour, une question."})
    assert "Choisissez une réponse dans la liste" in text(no_category.get_data(as_text=True))
    assert requests() == [] and emails("linh.nguyen@example.org") == []


def test_the_reply_address_must_be_confirmed_first(client, family, make_pupil, make_guardian):
    school = family["payable"].school
    pupil = make_pupil(school, "2415399", "DURAND", "Zoé")
    guardian = make_guardian(school, "880199", "DURAND", "Paul", (pupil, True))
    make_parent([guardian], "p.durand", "paul.durand@example.org", confirmed=False)
    db.session.commit()
    login(client, "p.durand")
    answer = client.get("/assistance/", follow_redirects=True)
    assert "Confirmez votre adresse électronique" in text(answer.get_data(as_text=True))
    assert requests() == []


def test_a_half_filled_request_is_resumed_not_duplicated(client, family):
    login(client, "l.legall")
    first = open_form(client)
    assert client.get("/assistance/").headers["Location"] == first


def test_staff_and_visitors_do_not_open_the_parent_form(client, family, make_staff):
    assert client.get("/assistance/").status_code == 302  # sign in first
    assert re.search(r"/connexion", client.get("/assistance/").headers["Location"])
    make_staff(role=Role.ACCOUNTANT, schools=[family["payable"].school])
    login(client, "comptable@example.org", PASSWORD)
    assert client.get("/assistance/").status_code == 403
