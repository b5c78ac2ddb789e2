"""The whole payment through PAYMENT_BACKEND=payfip, against the local fake PayFiP server:
the real SOAP calls, the bank's notification (idop only) and the parent's POSTed return."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from payfip_server import FakePayfip
from payment_support import Payer, payments, text

from models import PaymentStatus


@pytest.fixture
def payfip():
    with FakePayfip(notify=False) as fake:  # the test client delivers the notification
        yield fake


@pytest.fixture
def payfip_client(make_app, payfip, family):
    app = make_app(
        PAYMENT_BACKEND="payfip",
        PAYFIP_SOAP_URL=payfip.soap_url,
        PAYFIP_PAYMENT_URL=payfip.payment_url,
        PAYFIP_CLIENT_NUMBER=payfip.client_number,
        PAYFIP_MODE="T",
        PUBLIC_URL="https://guichet.example.org",
    )
    with app.app_context():
        yield app.test_client()


def open_at_bank(client, family) -> tuple[str, str]:
    """Go as far as PayFiP's page; return the step page and the idOp."""
    payer = Payer(client, "l.legall")
    step = payer.start(family["payable"]).headers["Location"]
    payer.submit(step, montant="45,50")
    payer.submit(step)
    bank = client.get(client.get(step).headers["Location"])
    assert bank.status_code == 302
    location = urlsplit(bank.headers["Location"])
    assert location.path == "/tpa/paiementws.web"
    return step, parse_qs(location.query)["idop"][0]


def test_payfip_receives_the_operation_guichet_reserved(payfip_client, payfip, family):
    open_at_bank(payfip_client, family)
    sent = payfip.soap_requests("creerPaiementSecurise")[0].fields
    payment = payments()[0]
    assert sent["montant"] == "4550" and sent["refdet"] == payment.refdet
    assert sent["mel"] == "linh.nguyen@example.org" and sent["saisie"] == "T"
    assert sent["urlnotif"] == "https://guichet.example.org/paiements/notification"
    assert (
        sent["urlredirect"] == f"https://guichet.example.org/paiements/{payment.public_id}/retour"
    )
    assert sent["objet"].startswith("Facture F 001 Demi pension")


def test_a_payment_accepted_at_payfip(payfip_client, payfip, family):
    _step, id_op = open_at_bank(payfip_client, family)
    payfip.settle(id_op, "P", numauto="A55A")
    assert payfip_client.post("/paiements/notification", data={"idop": id_op}).status_code == 200
    payment = payments()[0]
    assert payment.status is PaymentStatus.PAID and payment.authorisation == "A55A"
    # PayFiP brings the parent back with a POST and no CSRF token.
    back = payfip_client.post(f"/paiements/{payment.public_id}/retour", data={"idop": id_op})
    page = text(payfip_client.get(back.headers["Location"]).get_data(as_text=True))
    assert "Paiement accepté" in page and payment.ticket_number in page
    assert "Reste à payer sur cette facture : 54,50 €" in page


def test_the_parent_back_before_the_notification_is_settled_by_asking_payfip(
    payfip_client, payfip, family
):
    step, id_op = open_at_bank(payfip_client, family)
    payfip.settle(id_op, "R")
    payment = payments()[0]
    payfip_client.post(f"/paiements/{payment.public_id}/retour", data={"idop": id_op})
    assert payments()[0].status is PaymentStatus.REFUSED
    assert "Paiement refusé" in text(payfip_client.get(step).get_data(as_text=True))


def test_payfip_still_waiting_leaves_the_payment_pending(payfip_client, payfip, family):
    step, _id_op = open_at_bank(payfip_client, family)
    payment = payments()[0]
    payfip_client.get(f"/paiements/{payment.public_id}/retour")  # P5: no result yet
    assert payments()[0].status is PaymentStatus.PENDING
    assert "en cours de vérification" in payfip_client.get(step).get_data(as_text=True)
