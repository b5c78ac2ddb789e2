"""SMS through Brevo's HTTP API, against a local HTTP server that plays Brevo.

The server checks what Brevo documents (the api-key header, the JSON body of
POST /v3/transactionalSMS/send) and answers as each test configures it.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from support import free_port

import jobs.messages
from config import ConfigError, load_config
from extensions import db
from models import DeliveryStatus, OutboxMessage
from services.sms import send_sms
from services.sms_providers import SmsProviderUnavailableError

PATH = "/v3/transactionalSMS/send"
API_KEY = "test-key"
PHONE = "+33612345678"
CODE = "739251"  # stands for the security code every real SMS carries
BODY = f"Guichet : votre code de sécurité est {CODE}. Ne le communiquez à personne."
MESSAGE_ID = 1511882900176220


@dataclass
class FakeBrevo:
    """What the local Brevo received, and how it answers."""

    url: str
    status: int = 201
    answer: dict[str, Any] = field(default_factory=lambda: {"messageId": MESSAGE_ID})
    requests: list[dict[str, Any]] = field(default_factory=list)
    hang: bool = False  # accept the request but never answer (a timeout)
    released: threading.Event = field(default_factory=threading.Event)

    def answer_with(self, status: int, answer: dict[str, Any]) -> None:
        self.status, self.answer = status, answer


def _shape_error(body: Any) -> str | None:
    """Check a request body as Brevo's sendTransacSms model describes it."""
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    allowed = {"sender", "recipient", "content", "type", "unicodeEnabled", "tag", "webUrl"}
    if set(body) - allowed:
        return f"unknown parameters {sorted(set(body) - allowed)}"
    if not re.fullmatch(r"[A-Za-z0-9]{1,11}|[0-9]{1,15}", str(body.get("sender", ""))):
        return "sender is invalid"
    if not re.fullmatch(r"\+?[0-9]{6,15}", str(body.get("recipient", ""))):
        return "recipient is invalid"
    if not isinstance(body.get("content"), str) or not body["content"]:
        return "content is missing"
    if body.get("type", "transactional") not in ("transactional", "marketing"):
        return "type is invalid"
    if not isinstance(body.get("unicodeEnabled", False), bool):
        return "unicodeEnabled is not a boolean"
    return None


def _handler(fake: FakeBrevo) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            fake.requests.append({"path": self.path, "headers": dict(self.headers), "json": body})
            if self.path != PATH:
                return self._send(404, {"code": "not_found", "message": "Unknown path"})
            if self.headers.get("api-key") != API_KEY:
                return self._send(401, {"code": "unauthorized", "message": "Key not found"})
            if self.headers.get("content-type") != "application/json":
                return self._send(415, {"code": "bad_request", "message": "JSON expected"})
            problem = _shape_error(body)
            if problem:
                return self._send(400, {"code": "invalid_parameter", "message": problem})
            if fake.hang:
                fake.released.wait(timeout=5)
                return None
            return self._send(fake.status, fake.answer)

        def _send(self, status: int, answer: dict[str, Any]) -> None:
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() then joins the request threads


@pytest.fixture
def brevo() -> Iterator[FakeBrevo]:
    """A local HTTP server playing Brevo's transactional SMS API, on a free loopback port."""
    fake = FakeBrevo(url="")
    server = _Server(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}{PATH}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield fake
    finally:
        fake.released.set()
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def make_sms_app(make_app, brevo):
    """Build an app sending SMS through the local Brevo (overrides as keyword arguments)."""

    def build(**overrides: Any):
        settings = {"SMS_BACKEND": "brevo", "SMS_API_URL": brevo.url, "SMS_API_KEY": API_KEY}
        return make_app(**{**settings, **overrides})

    return build


@pytest.fixture
def sms_app(make_sms_app):
    app = make_sms_app()
    with app.app_context():
        yield app


def _add_test_routes(app) -> None:
    app.config["WTF_CSRF_ENABLED"] = False

    @app.post("/test/sms")
    def send_and_succeed():
        send_sms(PHONE, BODY)
        return "ok"

    @app.post("/test/sms-then-fail")
    def send_then_crash():
        send_sms(PHONE, BODY)
        raise RuntimeError("the database rejected something after the SMS was queued")


def _send_and_commit(to: str = PHONE, body: str = BODY) -> OutboxMessage:
    message = send_sms(to, body)
    db.session.commit()  # no Redis: the delivery job runs here, after the commit
    db.session.expire_all()
    return message


def _outbox() -> list[OutboxMessage]:
    return list(db.session.scalars(db.select(OutboxMessage)))


def test_committed_request_sends_one_sms_through_the_provider(sms_app, brevo, caplog):
    caplog.set_level(logging.INFO)
    _add_test_routes(sms_app)
    assert sms_app.test_client().post("/test/sms").status_code == 200
    [request] = brevo.requests
    assert request["headers"]["api-key"] == API_KEY
    assert request["json"] == {
        "sender": "Guichet",
        "recipient": "33612345678",
        "content": BODY,
        "type": "transactional",
        "unicodeEnabled": False,
    }
    [row] = _outbox()
    assert row.status == DeliveryStatus.SENT
    assert row.sent_at is not None
    assert row.error is None
    assert f"messageId {MESSAGE_ID}" in caplog.text


def test_rolled_back_request_sends_nothing(sms_app, brevo):
    _add_test_routes(sms_app)
    assert sms_app.test_client().post("/test/sms-then-fail").status_code == 500
    assert brevo.requests == []
    assert _outbox() == []


def test_sender_comes_from_the_settings_and_unicode_is_declared(make_sms_app, brevo):
    with make_sms_app(SMS_SENDER="Tilleuls36").app_context():
        row = _send_and_commit(body="Votre code pour l’espace famille : 123456")
        assert row.status == DeliveryStatus.SENT
    [request] = brevo.requests
    assert request["json"]["sender"] == "Tilleuls36"
    assert request["json"]["unicodeEnabled"] is True


def test_a_refusal_marks_the_row_failed_with_the_providers_message(sms_app, brevo):
    brevo.answer_with(400, {"code": "invalid_parameter", "message": "Invalid phone number"})
    row = _send_and_commit()
    assert len(brevo.requests) == 1
    assert row.status == DeliveryStatus.FAILED
    assert row.error == (
        "SmsRejectedError: Brevo refused the SMS (400): invalid_parameter: Invalid phone number"
    )
    # A refusal gets the same answer every time: the job ends without raising, so rq
    # does not retry it.
    jobs.messages.deliver(row.id)
    assert len(brevo.requests) == 2
    db.session.refresh(row)
    assert row.status == DeliveryStatus.FAILED


def test_a_wrong_api_key_marks_the_row_failed(make_sms_app, brevo):
    with make_sms_app(SMS_API_KEY="not-the-key").app_context():
        row = _send_and_commit()
        assert brevo.requests[0]["headers"]["api-key"] == "not-the-key"
        assert row.status == DeliveryStatus.FAILED
        assert row.error.startswith("SmsRejectedError: Brevo refused the SMS (401): unauthorized")


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_provider_failure_marks_the_row_failed_and_the_job_raises_for_a_retry(
    sms_app, brevo, caplog, status
):
    brevo.answer_with(status, {"code": "internal_error", "message": "Try again"})
    row = _send_and_commit()
    assert row.status == DeliveryStatus.FAILED
    assert row.error.startswith(f"SmsProviderUnavailableError: Brevo answered {status}")
    [failure] = [r for r in caplog.records if r.message.startswith("inline job")]
    assert isinstance(failure.exc_info[1], SmsProviderUnavailableError)
    assert failure.exc_info[1].retryable is True

    # What rq runs again after its back-off: the job raises while Brevo still fails…
    with pytest.raises(SmsProviderUnavailableError):
        jobs.messages.deliver(row.id)
    # …and sends once Brevo is back.
    brevo.answer_with(201, {"messageId": MESSAGE_ID})
    jobs.messages.deliver(row.id)
    db.session.commit()
    db.session.expire_all()
    assert row.status == DeliveryStatus.SENT
    assert row.attempts == 3
    assert len(brevo.requests) == 3


def test_a_provider_that_does_not_answer_in_time_is_a_retryable_failure(make_sms_app, brevo):
    brevo.hang = True
    with make_sms_app(SMS_TIMEOUT_SECONDS=0.3).app_context():
        row = _send_and_commit()
        assert row.status == DeliveryStatus.FAILED
        assert row.error.startswith("SmsProviderUnavailableError: no answer from Brevo at ")
        assert "timed out" in row.error


def test_an_unreachable_provider_is_a_retryable_failure(make_sms_app):
    url = f"http://127.0.0.1:{free_port()}{PATH}"
    with make_sms_app(SMS_API_URL=url).app_context():
        row = _send_and_commit()
        assert row.status == DeliveryStatus.FAILED
        assert "SmsProviderUnavailableError" in row.error
        assert "ConnectionRefusedError" in row.error


@pytest.mark.parametrize(
    ("overrides", "to", "expected"),
    [
        ({"SMS_SENDER": "Collège Tilleuls"}, PHONE, "SMS_SENDER 'Collège Tilleuls' is not"),
        ({"SMS_API_KEY": None}, PHONE, "SMS_API_KEY is not set"),
        ({}, "0612345678", "the recipient is not an E.164 number"),
    ],
)
def test_what_cannot_be_sent_fails_before_any_request(make_sms_app, brevo, overrides, to, expected):
    with make_sms_app(**overrides).app_context():
        row = _send_and_commit(to=to)
        assert row.status == DeliveryStatus.FAILED
        assert row.error.startswith("SmsRejectedError: ")
        assert expected in row.error
    assert brevo.requests == []


def test_the_sms_text_never_reaches_the_logs_nor_the_error(sms_app, brevo, caplog):
    caplog.set_level(logging.DEBUG)
    sent = _send_and_commit()
    # A provider that echoes the text back in its error must not leak it either.
    brevo.answer_with(400, {"code": "invalid_parameter", "message": f"Bad content: {BODY}"})
    refused = _send_and_commit()
    brevo.answer_with(500, {"message": BODY})
    failed = _send_and_commit()
    assert [sent.status, refused.status, failed.status] == [
        DeliveryStatus.SENT,
        DeliveryStatus.FAILED,
        DeliveryStatus.FAILED,
    ]
    assert len(brevo.requests) == 3
    assert "[SMS text]" in refused.error
    assert "messageId" in caplog.text  # the log did run
    assert CODE not in caplog.text
    assert CODE not in refused.error
    assert CODE not in failed.error


@pytest.fixture
def env(monkeypatch):
    for name in ("GUICHET_ENV", "SMS_BACKEND", "SMS_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRET_KEY", "a-long-random-production-secret-0123456789")
    monkeypatch.setenv("DATABASE_URL", "postgresql://guichet@db.internal/guichet")
    monkeypatch.setenv("REDIS_URL", "redis://cache.internal:6379/0")
    monkeypatch.setenv("PAYFIP_CLIENT_NUMBER", "012345")
    monkeypatch.setenv("PUBLIC_URL", "https://guichet.college-tilleuls.fr")
    return monkeypatch


def test_production_refuses_the_provider_without_an_api_key(env):
    env.setenv("SMS_BACKEND", "brevo")
    with pytest.raises(ConfigError, match="SMS_API_KEY is not set"):
        load_config("production")
    env.setenv("SMS_API_KEY", "xkeysib-production")
    config = load_config("production")
    assert config.SMS_API_URL == "https://api.brevo.com/v3/transactionalSMS/send"
    assert config.SMS_SENDER == "Guichet"
    assert config.SMS_TIMEOUT_SECONDS == 10


def test_a_delivered_security_code_does_not_stay_readable_in_the_outbox(sms_app, brevo):
    from services.otp import send_code

    send_code("+33639980110", "482913", 10, None)
    db.session.commit()
    [request] = brevo.requests
    assert "482913" in request["json"]["content"]  # the phone got it
    [row] = _outbox()
    assert row.status == DeliveryStatus.SENT
    assert "482913" not in row.body and "••••••" in row.body
