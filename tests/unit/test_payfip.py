"""The PayFiP adapter against a local PayFiP: messages, results, faults, failures, safety."""

from __future__ import annotations

import http.client
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from payfip_server import (
    CLIENT_NUMBER,
    FakePayfip,
    PayfipFaultError,
    fault_body,
)
from support import free_port

from services.payments import (
    GatewayError,
    InvalidPaymentRequestError,
    PaymentRequest,
    PaymentStatus,
    expire_if_stale,
    to_objet,
)
from services.payments.gateway import PARIS, paris_time
from services.payments.payfip import (
    DEFAULT_PAYMENT_URL,
    DEFAULT_SOAP_URL,
    SERVICE_NS,
    PayfipGateway,
)

OTHER_CLIENT = "654321"
EMAIL = "camille.lefevre@example.org"
NOW = datetime(2025, 11, 3, 9, 30, tzinfo=UTC)
NOTIFY = "https://guichet.example.org/paiement/notification?ecole=0360009P&v=1"
RETURN = "https://guichet.example.org/paiement/retour"


@pytest.fixture
def payfip() -> Iterator[FakePayfip]:
    with FakePayfip(client_numbers=(CLIENT_NUMBER, OTHER_CLIENT)) as fake:
        yield fake


def make_gateway(payfip: FakePayfip, **overrides: Any) -> PayfipGateway:
    settings: dict[str, Any] = {
        "soap_url": payfip.soap_url,
        "payment_url": payfip.payment_url,
        "client_number": CLIENT_NUMBER,
        "mode": "T",
        "timeout": 2.0,
        "clock": lambda: NOW,
    }
    return PayfipGateway(**{**settings, **overrides})


@pytest.fixture
def gateway(payfip: FakePayfip) -> PayfipGateway:
    return make_gateway(payfip)


def make_request(**overrides: Any) -> PaymentRequest:
    values: dict[str, Any] = {
        "refdet": "F2025000123T1",
        "amount_cents": 4550,
        "payer_email": EMAIL,
        "label": "Demi-pension 1er trimestre",
        "year": 2025,
        "notification_url": NOTIFY,
        "return_url": RETURN,
    }
    return PaymentRequest.build(**{**values, **overrides})


def settled(payfip: FakePayfip, gateway: PayfipGateway, code: str, **kwargs: Any):
    operation = gateway.create_operation(make_request())
    payfip.settle(operation.id_op, code, **kwargs)
    return gateway.fetch_result(operation.id_op)


# The request and its envelope.


@pytest.mark.parametrize(
    ("label", "objet"),
    [
        ("Cantine & internat <2e trimestre>", "Cantine internat 2e trimestre"),
        ("Élève : Zoé Lœuvre — voyage à Séville", "Eleve Zoe Loeuvre voyage a Seville"),
        ("Demi-pension/Internat, n°12", "Demi pension Internat n 12"),
        ("Sortie « théâtre »  2025", "Sortie theatre 2025"),
        ("«»<&>", ""),
        ("Voyage " + "x" * 120, ("Voyage " + "x" * 120)[:100]),
        ("Voyage " + "a" * 92 + " fin", "Voyage " + "a" * 92),  # no trailing space once cut
    ],
)
def test_a_french_label_becomes_a_valid_objet(label, objet):
    assert to_objet(label) == objet
    assert make_request(label=label).objet == objet


def test_the_envelope_carries_every_field_escaped(payfip, gateway):
    gateway.create_operation(make_request(label="Cantine & <internat> d’été"))
    [call] = payfip.soap_requests()
    assert call.operation == "creerPaiementSecurise"
    assert call.fields == {
        "exer": "2025",
        "mel": EMAIL,
        "montant": "4550",
        "numcli": CLIENT_NUMBER,
        "objet": "Cantine internat d ete",
        "refdet": "F2025000123T1",
        "saisie": "T",
        "urlnotif": NOTIFY,
        "urlredirect": RETURN,
    }
    assert call.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert call.headers["SOAPAction"] == '""'
    body = call.body.decode()
    assert body.startswith("<?xml version='1.0' encoding='utf-8'?>")
    assert f'="{SERVICE_NS}"' in body
    assert (
        "<urlnotif>https://guichet.example.org/paiement/notification?ecole=0360009P&amp;v=1<"
        in body
    )
    assert "<arg0><exer>2025</exer>" in body


def test_an_empty_objet_is_left_out(payfip, gateway):
    gateway.create_operation(make_request(label="«»"))
    assert "objet" not in payfip.soap_requests()[0].fields


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"refdet": "F2025-000123"}, "refdet 'F2025-000123' must be 1 to 30 letters and digits"),
        ({"refdet": "A" * 31}, "must be 1 to 30 letters and digits"),
        ({"refdet": ""}, "must be 1 to 30 letters and digits"),
        ({"amount_cents": 45.5}, "amount_cents must be an integer"),
        ({"amount_cents": True}, "amount_cents must be an integer"),
        ({"amount_cents": 0}, "amount_cents must be positive"),
        ({"payer_email": "camille.lefevre"}, "email *** is not an address"),
        ({"payer_email": "camille <c@example.org>"}, "is not an address the bank takes"),
        ({"payer_email": "c@" + "e" * 80 + ".org"}, "is not an address the bank takes"),
        ({"year": 25}, "year 25 is not a four-digit year"),
        ({"notification_url": "/paiement/notification"}, "notification_url must be an absolute"),
        ({"return_url": "javascript:alert(1)"}, "return_url must be an absolute"),
    ],
)
def test_a_request_the_bank_would_refuse_is_refused_first(overrides, message):
    with pytest.raises(InvalidPaymentRequestError) as caught:
        make_request(**overrides)
    assert message in str(caught.value)
    assert caught.value.retryable is False
    assert "camille.lefevre" not in str(caught.value)


def test_an_objet_is_checked_when_not_built_from_a_label():
    with pytest.raises(InvalidPaymentRequestError, match="build it with to_objet"):
        PaymentRequest("F1", 100, EMAIL, "Cantine & co", 2025, NOTIFY, RETURN)


def test_the_payers_email_stays_out_of_a_requests_repr():
    assert EMAIL not in repr(make_request())


# Creating an operation.


def test_a_created_operation_redirects_to_the_bank_page_with_its_idop(payfip, gateway):
    operation = gateway.create_operation(make_request())
    assert operation.id_op in payfip.operations
    assert operation.redirect_url == f"{payfip.payment_url}?idop={operation.id_op}"
    assert operation.created_at == NOW


@pytest.mark.parametrize("amount", [99, 10_000_001])
def test_amounts_outside_1_to_100000_euros_are_refused_before_calling(payfip, gateway, amount):
    with pytest.raises(InvalidPaymentRequestError, match="1 € to 100,000 €") as caught:
        gateway.create_operation(make_request(amount_cents=amount))
    assert caught.value.retryable is False
    assert payfip.requests == []


@pytest.mark.parametrize("amount", [100, 10_000_000])
def test_amounts_at_the_limits_are_accepted(gateway, amount):
    assert gateway.create_operation(make_request(amount_cents=amount)).id_op


def test_a_functional_fault_is_not_retryable_and_keeps_payfips_code(payfip):
    gateway = make_gateway(payfip, client_number="999999")
    with pytest.raises(GatewayError) as caught:
        gateway.create_operation(make_request())
    error = caught.value
    assert (error.code, error.retryable, error.severity) == ("T2", False, "2")
    assert error.label == "Le numéro client doit exister dans la base PayFiP."
    assert str(error).startswith("PayFiP FonctionnelleErreur T2: Le numéro client")


def test_a_reference_is_used_once_a_new_attempt_needs_a_new_suffix(gateway):
    gateway.create_operation(make_request(refdet="F2025000123T1"))
    with pytest.raises(GatewayError) as caught:
        gateway.create_operation(make_request(refdet="F2025000123T1"))
    assert (caught.value.code, caught.value.retryable) == ("R4", False)
    assert gateway.create_operation(make_request(refdet="F2025000123T2")).id_op


@pytest.mark.parametrize(
    ("kind", "retryable"),
    [
        ("TechIndisponibiliteErreur", True),
        ("TechDysfonctionnementErreur", True),
        ("TechProtocolaireErreur", False),
        ("FonctionnelleErreur", False),
    ],
)
def test_each_kind_of_soap_fault_says_whether_to_retry(payfip, gateway, kind, retryable):
    payfip.answer_next(500, fault_body(PayfipFaultError(kind, "999", "Service en maintenance")))
    with pytest.raises(GatewayError) as caught:
        gateway.create_operation(make_request())
    assert caught.value.retryable is retryable
    assert caught.value.code == "999"
    assert f"PayFiP {kind} 999: Service en maintenance" in str(caught.value)


def test_a_fault_quoting_the_payers_email_is_masked(payfip, gateway, caplog):
    caplog.set_level(logging.DEBUG)
    fault = PayfipFaultError("FonctionnelleErreur", "A2", f"Adresse mel incorrecte : {EMAIL}")
    payfip.answer_next(500, fault_body(fault))
    with pytest.raises(GatewayError) as caught:
        gateway.create_operation(make_request())
    assert EMAIL not in str(caught.value)
    assert EMAIL not in (caught.value.label or "")
    assert "c***@example.org" in str(caught.value)


@pytest.mark.parametrize("status", [502, 503, 504, 429])
def test_an_unavailable_service_is_retryable(payfip, gateway, status):
    payfip.fail_next(status)
    with pytest.raises(GatewayError, match=f"HTTP {status} \\(temporary\\)") as caught:
        gateway.create_operation(make_request())
    assert caught.value.retryable is True
    assert gateway.create_operation(make_request()).id_op  # the next call goes through


def test_a_500_without_a_soap_message_is_retryable_a_404_is_not(payfip, gateway):
    payfip.answer_next(500, b"<html>Internal Server Error</html>", "text/html")
    with pytest.raises(GatewayError, match="HTTP 500 without a SOAP body") as caught:
        gateway.fetch_result("b8b39742-ec43-11f1-a930-02fc00000001")
    assert caught.value.retryable is True
    payfip.answer_next(500, b"Internal Server Error", "text/plain")
    with pytest.raises(GatewayError, match="HTTP 500 without a SOAP message") as caught:
        gateway.fetch_result("b8b39742-ec43-11f1-a930-02fc00000001")
    assert caught.value.retryable is True
    payfip.answer_next(404, b"Not Found", "text/plain")
    with pytest.raises(GatewayError, match="HTTP 404 without a SOAP message") as caught:
        gateway.fetch_result("b8b39742-ec43-11f1-a930-02fc00000001")
    assert caught.value.retryable is False


def test_a_service_that_does_not_answer_in_time_is_retryable(payfip):
    payfip.hang_next()
    gateway = make_gateway(payfip, timeout=0.3)
    with pytest.raises(GatewayError, match=r"no answer from PayFiP at 127\.0\.0\.1") as caught:
        gateway.create_operation(make_request())
    assert caught.value.retryable is True
    assert "timed out" in str(caught.value)


def test_an_unreachable_service_is_retryable(payfip):
    gateway = make_gateway(payfip, soap_url=f"http://127.0.0.1:{free_port()}/tpa/services/securite")
    with pytest.raises(GatewayError, match="ConnectionRefusedError") as caught:
        gateway.create_operation(make_request())
    assert caught.value.retryable is True


# Reading answers safely.

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>
<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>&lol2;</S:Body></S:Envelope>
"""


@pytest.mark.parametrize(
    "answer",
    [
        BOMB,
        BOMB.replace(b"DOCTYPE", b"doctype"),
        BOMB.decode().replace('"1.0"?>', '"1.0" encoding="UTF-16"?>').encode("utf-16"),
        b"\xff\xfe" + BOMB.decode().encode("utf-16-le"),
    ],
    ids=["doctype", "lower-case", "utf-16", "utf-16-le"],
)
@pytest.mark.parametrize("status", [200, 500])
def test_an_answer_with_a_dtd_is_refused_before_parsing(payfip, gateway, answer, status):
    payfip.answer_next(status, answer)
    with pytest.raises(GatewayError) as caught:
        gateway.fetch_result("b8b39742-ec43-11f1-a930-02fc00000001")
    message = str(caught.value)
    assert "DTD" in message or "not UTF-8" in message
    assert "lollol" not in message


def test_an_answer_that_is_not_soap_is_refused(payfip, gateway):
    payfip.answer_next(200, b"<html><body>Maintenance</body></html>")
    with pytest.raises(GatewayError, match="without a SOAP body") as caught:
        gateway.create_operation(make_request())
    assert caught.value.retryable is False


# Fetching results.


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("P", PaymentStatus.PAID),
        ("V", PaymentStatus.PAID),
        ("R", PaymentStatus.REFUSED),
        ("Z", PaymentStatus.REFUSED),
        ("A", PaymentStatus.CANCELLED),
    ],
)
def test_each_result_code_maps_to_a_status(payfip, gateway, code, status):
    result = settled(payfip, gateway, code, numauto="A55A" if status.value == "paid" else None)
    assert (result.status, result.result_code) == (status, code)
    assert result.status.final
    assert result.refdet == "F2025000123T1"
    assert result.amount_cents == 4550
    assert result.payer_email == EMAIL
    if status is PaymentStatus.PAID:
        assert result.authorisation == "A55A"
        assert result.paid_at is not None
    else:
        assert result.authorisation is None
        assert result.paid_at is None


def test_paid_at_is_the_paris_time_of_dattrans_and_heurtrans(payfip, gateway):
    # 30 March 2025, 01:30 UTC: just after the switch to summer time, 03:30 in Paris.
    result = settled(payfip, gateway, "P", at=datetime(2025, 3, 30, 1, 30, tzinfo=UTC))
    [detail] = [o for o in payfip.operations.values() if o.resultrans]
    assert detail.settled_at.strftime("%d%m%Y %H%M") == "30032025 0330"
    assert result.paid_at == datetime(2025, 3, 30, 1, 30, tzinfo=UTC)
    assert result.paid_at.tzinfo is PARIS
    assert result.paid_at.utcoffset() == timedelta(hours=2)


def test_paris_time_reads_winter_dates_too():
    moment = paris_time("15012026", "0905")
    assert moment == datetime(2026, 1, 15, 8, 5, tzinfo=UTC)
    assert moment.utcoffset() == timedelta(hours=1)
    with pytest.raises(ValueError, match="not DDMMYYYY and HHMM"):
        paris_time("2026-01-15", "0905")


def test_an_unfinished_operation_is_pending_then_expired_by_the_caller(gateway):
    operation = gateway.create_operation(make_request())
    result = gateway.fetch_result(operation.id_op)
    assert (result.status, result.result_code) == (PaymentStatus.PENDING, "P5")
    assert not result.status.final
    created = operation.created_at
    assert expire_if_stale(result, created, created + timedelta(minutes=19)) is result
    expired = expire_if_stale(result, created, created + timedelta(minutes=20))
    assert (expired.status, expired.result_code) == (PaymentStatus.EXPIRED, "P5")


def test_a_final_result_never_expires(payfip, gateway):
    result = settled(payfip, gateway, "P")
    assert expire_if_stale(result, NOW - timedelta(days=1)) is result


def test_an_unknown_or_purged_operation_is_unknown(payfip, gateway):
    result = gateway.fetch_result("00000000-0000-0000-0000-000000000000")
    assert (result.status, result.result_code) == (PaymentStatus.UNKNOWN, "P1")
    operation = gateway.create_operation(make_request())
    payfip.purge(operation.id_op)
    assert gateway.fetch_result(operation.id_op).status is PaymentStatus.UNKNOWN


def test_an_idop_that_cannot_be_payfips_is_refused_before_calling(payfip, gateway):
    with pytest.raises(InvalidPaymentRequestError, match="is not a PayFiP idOp"):
        gateway.fetch_result("<idOp>&")
    assert payfip.requests == []


def test_a_test_payment_is_not_a_payment_in_production(payfip, gateway):
    operation = gateway.create_operation(make_request())  # saisie T
    payfip.settle(operation.id_op, "P")
    production = make_gateway(payfip, mode="W")
    with pytest.raises(GatewayError, match="a test payment is not a payment") as caught:
        production.fetch_result(operation.id_op)
    assert caught.value.retryable is False


def test_an_answer_for_another_client_is_refused(payfip, gateway):
    operation = gateway.create_operation(make_request())
    payfip.settle(operation.id_op, "P")
    other = make_gateway(payfip, client_number=OTHER_CLIENT)
    with pytest.raises(GatewayError, match="another client number"):
        other.fetch_result(operation.id_op)


def test_the_payers_email_never_reaches_the_logs(payfip, gateway, caplog):
    caplog.set_level(logging.DEBUG)
    result = settled(payfip, gateway, "P")
    assert "opened" in caplog.text
    assert "paid (P)" in caplog.text
    assert "c***@example.org" in caplog.text
    assert EMAIL not in caplog.text
    assert EMAIL not in repr(result)


# The fake's bank page, for the tests of the payment flow to come.


def _http(url: str, method: str = "GET", form: dict[str, str] | None = None) -> tuple[int, str]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        body = urlencode(form) if form is not None else None
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if form else {}
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def test_the_bank_page_settles_notifies_and_offers_the_way_back(payfip):
    gateway = make_gateway(payfip)
    notify = f"{payfip.base_url}/guichet/notification"
    request = make_request(notification_url=notify)
    operation = gateway.create_operation(request)
    status, page = _http(operation.redirect_url)
    assert status == 200
    assert "F2025000123T1" in page
    assert "4550 centimes" in page
    status, page = _http(payfip.payment_url, "POST", {"idop": operation.id_op, "resultrans": "P"})
    assert status == 200
    assert f'action="{RETURN}"' in page
    assert f'name="idop" value="{operation.id_op}"' in page
    # The notification reached the (here, the fake's own 404) notification URL, idop only.
    assert payfip.notifications == [(operation.id_op, "404")]
    [notification] = [r for r in payfip.requests if r.path == "/guichet/notification"]
    assert notification.body == f"idop={operation.id_op}".encode()
    assert gateway.fetch_result(operation.id_op).status is PaymentStatus.PAID
    assert _http(operation.redirect_url)[0] == 404  # a finished operation has no page


# Settings.


def test_settings_build_the_adapter_with_payfips_public_urls():
    gateway = PayfipGateway.from_settings({"PAYFIP_CLIENT_NUMBER": "012345", "PAYFIP_MODE": "W"})
    assert (gateway.soap_url, gateway.payment_url) == (DEFAULT_SOAP_URL, DEFAULT_PAYMENT_URL)
    assert (gateway.client_number, gateway.mode, gateway.timeout) == ("012345", "W", 10.0)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"client_number": "12345"}, "must be 6 digits"),
        ({"mode": "P"}, "must be T \\(test\\), X \\(activation\\) or W"),
        ({"soap_url": "ftp://payfip.example/"}, "soap_url is not an http"),
    ],
)
def test_a_misconfigured_adapter_refuses_to_start(overrides, message):
    settings = {"client_number": CLIENT_NUMBER, "mode": "T", **overrides}
    with pytest.raises(ValueError, match=message):
        PayfipGateway(**settings)
