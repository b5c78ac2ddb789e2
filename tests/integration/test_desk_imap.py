"""The desk's mailbox read over IMAP from a real Dovecot: `flask desk fetch` and its job.

Messages are delivered by IMAP APPEND; the tests then look at what the server says about
them (\\Seen, $GuichetError) as well as at the requests recorded.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from dovecot_server import DovecotServer, dovecot_binary
from rq import SimpleWorker

from extensions import db as _db
from jobs import rq_queue
from jobs.runner import use_app
from models import HelpMessage, HelpRequest
from services.desk import imap as imap_module
from services.desk import ingest as ingest_module
from services.desk.imap import ERROR_KEYWORD, ImapSettings, MailboxError, fetch_mailbox
from services.desk.ingest import Outcome, ingest

CORPUS = Path(__file__).resolve().parents[1] / "desk_mail"
PLAIN = (CORPUS / "01_gmail_plain_utf8.eml").read_bytes()
HTML = (CORPUS / "02_outlook_html_only_cp1252.eml").read_bytes()
OUT_OF_OFFICE = (CORPUS / "08_out_of_office.eml").read_bytes()
EURO = (CORPUS / "04_thunderbird_iso8859_15_euro.eml").read_bytes()
SEEN = "\\Seen"


def reply_to_plain() -> bytes:
    """Camille's answer to her first message, threaded by In-Reply-To only."""
    return (
        b"From: Camille Moreau <camille.moreau@example.org>\r\n"
        b"To: agent.comptable@clg-tilleuls.example.fr\r\n"
        b"Subject: Re: ma question\r\n"
        b"Message-ID: <reply-01@mail.gmail.com>\r\n"
        b"In-Reply-To: <CAHx7q2N4kTz0e1Qm9VbYp3=gmail-01@mail.gmail.com>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
        b"J'ajoute le justificatif de la sortie scolaire.\r\n"
    )


@pytest.fixture(scope="module")
def dovecot() -> Iterator[DovecotServer]:
    """One Dovecot for the module (started in about 0.1 s, stopped in about 1 s)."""
    if dovecot_binary() is None:
        message = "dovecot is not installed: apt-get install dovecot-imapd"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with DovecotServer.start() as server:
        yield server


@pytest.fixture
def mailbox(dovecot: DovecotServer) -> DovecotServer:
    """The Dovecot, its INBOX emptied for this test."""
    dovecot.empty()
    return dovecot


@pytest.fixture
def imap_config(mailbox: DovecotServer) -> dict[str, object]:
    """DESK_IMAP_* settings for the test mailbox, over TLS from the start."""
    return {
        "DESK_IMAP_HOST": mailbox.host,
        "DESK_IMAP_PORT": mailbox.ssl_port,
        "DESK_IMAP_SECURITY": "ssl",
        "DESK_IMAP_USER": mailbox.user,
        "DESK_IMAP_PASSWORD": mailbox.password,
        "DESK_IMAP_CA_FILE": str(mailbox.ca_file),
        "DESK_IMAP_TIMEOUT_SECONDS": 10,
    }


@pytest.fixture
def app(make_app, imap_config):
    """The app reading the test mailbox (overrides conftest's `app`)."""
    app = make_app(**imap_config)
    with app.app_context():
        yield app


@pytest.fixture
def school(make_school, db):
    school = make_school()
    db.session.commit()
    return school


@pytest.fixture
def settings(app) -> ImapSettings:
    return ImapSettings.from_config(app.config)


def requests() -> list[HelpRequest]:
    _db.session.expire_all()
    return list(_db.session.scalars(_db.select(HelpRequest).order_by(HelpRequest.id)))


def uids(mailbox: DovecotServer) -> list[int]:
    return sorted(mailbox.flags())


def test_unread_mail_becomes_requests_and_is_flagged_seen(mailbox, settings, school):
    mailbox.append(PLAIN, HTML, OUT_OF_OFFICE, reply_to_plain())
    plain, html, auto, reply = uids(mailbox)

    results = fetch_mailbox(settings, school)

    assert [(r.uid, r.result.outcome) for r in results] == [
        (plain, Outcome.CREATED),
        (html, Outcome.CREATED),
        (auto, Outcome.IGNORED),
        (reply, Outcome.JOINED),
    ]
    assert results[3].result.reference == results[0].result.reference
    assert results[3].as_dict() == {
        "uid": reply,
        "outcome": "joined",
        "reference": results[0].result.reference,
        "reason": "réponse à une demande existante",
    }
    first, second = requests()
    assert [m.message_id for m in first.messages] == [
        "CAHx7q2N4kTz0e1Qm9VbYp3=gmail-01@mail.gmail.com",
        "reply-01@mail.gmail.com",
    ]
    assert "paiement" in second.messages[0].text  # the HTML-only message, as text
    assert mailbox.flags() == {uid: {SEEN} for uid in (plain, html, auto, reply)}
    assert fetch_mailbox(settings, school) == []  # nothing unread is left


def test_a_run_takes_at_most_the_limit_oldest_first(mailbox, settings, school):
    mailbox.append(PLAIN, HTML, EURO)
    first, second, third = uids(mailbox)
    assert [r.uid for r in fetch_mailbox(settings, school, limit=2)] == [first, second]
    assert mailbox.flags()[third] == set()
    assert [r.uid for r in fetch_mailbox(settings, school, limit=2)] == [third]


def test_a_message_that_cannot_be_recorded_is_set_aside_and_the_others_go_on(
    mailbox, settings, school, db, monkeypatch
):
    mailbox.append(HTML, PLAIN, EURO)
    html, bad, euro = uids(mailbox)
    real_ingest = imap_module.ingest

    def ingest_failing_on_plain(raw: bytes, school):  # an unforeseen bug on one message
        result = real_ingest(raw, school)
        if b"gmail-01@" in raw:
            raise RuntimeError("erreur imprévue")
        return result

    monkeypatch.setattr(imap_module, "ingest", ingest_failing_on_plain)
    results = fetch_mailbox(settings, school)

    assert [(r.uid, r.result.outcome) for r in results] == [
        (html, Outcome.CREATED),
        (bad, Outcome.ERROR),
        (euro, Outcome.CREATED),
    ]
    assert "erreur imprévue" in results[1].result.reason
    assert len(requests()) == 2  # nothing of the bad message was kept
    flags = mailbox.flags()
    assert flags[bad] == {ERROR_KEYWORD}  # still unread, for a person to look at
    assert flags[html] == flags[euro] == {SEEN}
    assert fetch_mailbox(settings, school) == []  # not retried on every run


def test_an_overlong_message_id_and_nul_characters_are_still_recorded(
    mailbox, settings, school, db
):
    long_id = PLAIN.replace(b"gmail-01@", b"x" * 400 + b"@").replace(
        b"Bonjour Madame", b"Bon=00jour Madame", 1
    )
    mailbox.append(long_id)
    [result] = fetch_mailbox(settings, school)
    assert result.result.outcome is Outcome.CREATED
    [message] = requests()[0].messages
    assert message.message_id.startswith("sha256:") and "\x00" not in message.text
    mailbox.empty()
    mailbox.append(long_id)
    assert fetch_mailbox(settings, school)[0].result.outcome is Outcome.DUPLICATE


def test_a_message_recorded_before_a_crash_is_only_flagged(mailbox, settings, school, db):
    # A previous run committed it, then died before flagging it \Seen.
    ingest(PLAIN, school)
    db.session.commit()
    mailbox.append(PLAIN)
    [uid] = uids(mailbox)
    [result] = fetch_mailbox(settings, school)
    assert (result.uid, result.result.outcome) == (uid, Outcome.DUPLICATE)
    assert mailbox.flags() == {uid: {SEEN}}
    assert len(requests()) == 1


def test_two_runs_reading_the_same_message_record_it_once(
    app, mailbox, settings, school, db, monkeypatch
):
    mailbox.append(PLAIN)
    real_known = ingest_module._known
    raced: list[bool] = []

    def known_then_overtaken(message_id: str) -> bool:
        found = real_known(message_id)
        if not raced:  # another run records the same message just after this look
            raced.append(True)
            with app.app_context():
                ingest(PLAIN, school)
                _db.session.commit()
        return found

    monkeypatch.setattr(ingest_module, "_known", known_then_overtaken)
    [result] = fetch_mailbox(settings, school)
    assert result.result.outcome is Outcome.DUPLICATE
    assert db.session.scalar(db.select(db.func.count(HelpMessage.id))) == 1
    assert list(mailbox.flags().values()) == [{SEEN}]


def test_starttls_works_and_checks_the_certificate_too(mailbox, settings, school):
    mailbox.append(PLAIN)
    starttls = dataclasses.replace(settings, security="starttls", port=mailbox.plain_port)
    with pytest.raises(MailboxError, match=r"Certificat de .* refusé"):
        fetch_mailbox(dataclasses.replace(starttls, ca_file=None), school)
    assert requests() == []
    [result] = fetch_mailbox(starttls, school)
    assert result.result.outcome is Outcome.CREATED
    assert list(mailbox.flags().values()) == [{SEEN}]
    mailbox.append(EURO)  # and in clear, when told so (production refuses it)
    plain = dataclasses.replace(starttls, security="none")
    assert [r.result.outcome for r in fetch_mailbox(plain, school)] == [Outcome.CREATED]


def test_a_wrong_password_is_explained_in_french_and_changes_nothing(mailbox, settings, school):
    mailbox.append(PLAIN)
    wrong = dataclasses.replace(settings, password="Pas-Le-Bon-Mot-De-Passe")
    with pytest.raises(MailboxError) as refused:
        fetch_mailbox(wrong, school)
    message = str(refused.value)
    assert message.startswith(f"Connexion refusée par {mailbox.host} pour {mailbox.user}")
    assert "AUTHENTICATIONFAILED" in message
    assert "Pas-Le-Bon" not in message and "Pas-Le-Bon" not in repr(wrong)
    assert requests() == []
    assert list(mailbox.flags().values()) == [set()]


def test_an_untrusted_certificate_is_refused(mailbox, settings, school):
    mailbox.append(PLAIN)
    system_cas = dataclasses.replace(settings, ca_file=None)  # a private CA nobody named
    with pytest.raises(MailboxError, match="DESK_IMAP_CA_FILE") as refused:
        fetch_mailbox(system_cas, school)
    assert f"Certificat de {mailbox.host}:{mailbox.ssl_port} refusé" in str(refused.value)
    assert requests() == []
    assert list(mailbox.flags().values()) == [set()]


# -- flask desk fetch ------------------------------------------------------------------------


def test_flask_desk_fetch_json_reports_each_message(mailbox, runner, school):
    mailbox.append(PLAIN, OUT_OF_OFFICE)
    plain, auto = uids(mailbox)
    result = runner.invoke(args=["desk", "fetch", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [(line["uid"], line["outcome"]) for line in report] == [
        (plain, "created"),
        (auto, "ignored"),
    ]
    assert report[0]["reference"] == requests()[0].reference
    assert "Auto-Submitted" in report[1]["reason"]
    again = runner.invoke(args=["desk", "fetch"])
    assert again.exit_code == 0
    assert again.stdout == "Aucun message non lu dans INBOX.\n"


def test_flask_desk_fetch_says_why_it_cannot_read_the_mailbox(app, runner, school, monkeypatch):
    monkeypatch.setitem(app.config, "DESK_IMAP_PORT", 1)
    refused = runner.invoke(args=["desk", "fetch"])
    assert refused.exit_code == 1
    assert "Relève impossible : Boîte aux lettres 127.0.0.1:1 injoignable" in refused.output
    monkeypatch.setitem(app.config, "DESK_IMAP_HOST", None)
    unset = runner.invoke(args=["desk", "fetch", "--enqueue"])
    assert unset.exit_code == 1
    assert "DESK_IMAP_HOST n'est pas défini" in unset.output


def test_flask_desk_fetch_enqueue_without_redis_runs_the_job_at_once(mailbox, runner, school):
    mailbox.append(PLAIN)
    result = runner.invoke(args=["desk", "fetch", "--enqueue"])
    assert result.exit_code == 0, result.output
    assert [r.status.value for r in requests()] == ["new"]
    assert list(mailbox.flags().values()) == [{SEEN}]


@pytest.mark.redis
def test_flask_desk_fetch_enqueue_hands_the_job_to_a_worker(
    make_app, imap_config, redis_url, queue_prefix, mailbox, school
):
    rq_app = make_app(
        REDIS_URL=redis_url, JOBS_INLINE=False, RQ_QUEUE_PREFIX=queue_prefix, **imap_config
    )
    mailbox.append(PLAIN, HTML)
    with rq_app.app_context():
        queue = rq_queue(rq_app, "default")
        try:
            result = rq_app.test_cli_runner().invoke(args=["desk", "fetch", "--enqueue"])
            assert result.exit_code == 0, result.output
            assert queue.count == 1 and requests() == []
            use_app(rq_app)
            SimpleWorker([queue], connection=queue.connection).work(burst=True)
            assert len(requests()) == 2
            assert list(mailbox.flags().values()) == [{SEEN}, {SEEN}]
        finally:
            queue.empty()
            queue.delete(delete_jobs=True)
