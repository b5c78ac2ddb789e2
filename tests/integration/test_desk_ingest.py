"""Emails to the agent comptable become help requests: `flask desk ingest`, threading,
loop protection, idempotency and the link to a parent's account."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support import PASSWORD, csrf_token, login

from engine.clock import PARIS
from extensions import db
from models import HelpMessage, HelpRequest, RequestStatus, Role
from models.base import utcnow
from services import parents
from services.desk.ingest import Outcome, ingest

CORPUS = Path(__file__).resolve().parents[1] / "desk_mail"
MACHINES = {
    "08_out_of_office.eml",
    "09_bounce_mailer_daemon.eml",
    "10_mailing_list_bulk.eml",
    "16_noreply_sender.eml",
}


def reply_to(message_id: str, subject: str, body: str = "Merci, c'est réglé.") -> bytes:
    return (
        "From: Camille Moreau <camille.moreau@example.org>\r\n"
        "To: agent-comptable@example.org\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: <reply-{abs(hash(subject))}@example.org>\r\n"
        f"In-Reply-To: <{message_id}>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n"
    ).encode()


def requests() -> list[HelpRequest]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(HelpRequest).order_by(HelpRequest.id)))


def run(runner, *paths: Path) -> list[dict]:
    result = runner.invoke(args=["desk", "ingest", *map(str, paths), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture
def school(make_school, db):
    school = make_school()
    db.session.commit()
    return school


def test_the_corpus_becomes_requests_and_machines_are_ignored(runner, school):
    report = {Path(line["file"]).name: line for line in run(runner, CORPUS)}
    assert len(report) == len(list(CORPUS.glob("*.eml")))
    for name, line in report.items():
        expected = Outcome.IGNORED if name in MACHINES else Outcome.CREATED
        assert line["outcome"] == expected, (name, line)
    assert "Auto-Submitted" in report["08_out_of_office.eml"]["reason"]
    created = [line["reference"] for line in report.values() if line["outcome"] == "created"]
    assert len(set(created)) == len(created) == len(requests())
    year = utcnow().astimezone(PARIS).year
    assert sorted(created) == [f"DEM-{year}-{n:06d}" for n in range(1, len(created) + 1)]
    # Ingesting the same files again changes nothing, except the one without a Message-ID.
    again = {Path(line["file"]).name: line["outcome"] for line in run(runner, CORPUS)}
    assert again["01_gmail_plain_utf8.eml"] == "duplicate"
    assert {name for name, outcome in again.items() if outcome == "created"} == {
        "13_no_message_id.eml"
    }


def test_attachments_and_readable_text_are_kept(runner, school):
    [line] = run(runner, CORPUS / "03_iphone_base64_attachments.eml")
    request = db.session.scalars(
        db.select(HelpRequest).filter_by(reference=line["reference"])
    ).one()
    [message] = request.messages
    assert "facture cantine été.pdf" in [a.filename for a in message.attachments]
    assert message.visible_text and len(message.visible_text) <= len(message.text)


def test_a_reply_joins_its_request_and_reopens_it(school):
    first = ingest((CORPUS / "01_gmail_plain_utf8.eml").read_bytes(), school)
    db.session.commit()
    request = requests()[0]
    request.status = RequestStatus.WAITING  # the accountant asked the family something
    db.session.commit()
    joined = ingest(reply_to(request.messages[0].message_id, "Re: ma question"), school)
    assert (joined.outcome, joined.reference) == (Outcome.JOINED, first.reference)
    by_reference = ingest(reply_to("unknown@example.org", f"Re: [{first.reference}] suite"), school)
    assert (by_reference.outcome, by_reference.reference) == (Outcome.JOINED, first.reference)
    db.session.commit()
    [request] = requests()
    assert request.status is RequestStatus.OPEN
    assert len(request.messages) == 3


def test_the_sender_is_linked_to_the_parent_with_that_confirmed_address(
    school, make_pupil, make_guardian
):
    pupil = make_pupil(school, "2415301", "MOREAU", "Léa")
    camille = make_guardian(school, "880301", "MOREAU", "Camille", (pupil, True))
    account = parents.create_parent_account([camille], "c.moreau", PASSWORD)
    account.email, account.email_confirmed_at = "camille.moreau@example.org", utcnow()
    db.session.commit()
    ingest((CORPUS / "01_gmail_plain_utf8.eml").read_bytes(), school)  # Camille.Moreau@Example.org
    db.session.commit()
    assert requests()[0].account_id == account.id


def test_a_maildir_is_read_from_new_and_cur(runner, school, tmp_path):
    for folder, name in (
        ("new", "01_gmail_plain_utf8.eml"),
        ("cur", "04_thunderbird_iso8859_15_euro.eml"),
    ):
        (tmp_path / folder).mkdir()
        shutil.copy(CORPUS / name, tmp_path / folder / f"1700000000.{folder}.host:2,S")
    (tmp_path / "tmp").mkdir()  # being written: never read
    report = run(runner, tmp_path)
    assert [line["outcome"] for line in report] == ["created", "created"]
    assert db.session.scalar(db.select(db.func.count(HelpMessage.id))) == 2


# -- the accountants' queue -------------------------------------------------------------------


@pytest.fixture
def accountant(client, school, make_staff):
    make_staff(role=Role.ACCOUNTANT, schools=[school])
    assert login(client, "comptable@example.org").status_code == 302
    return client


def test_the_queue_lists_new_requests_and_shows_a_thread(accountant, school, runner):
    run(runner, CORPUS / "03_iphone_base64_attachments.eml", CORPUS / "01_gmail_plain_utf8.eml")
    page = accountant.get("/espace/assistance/").get_data(as_text=True)
    assert "À prendre (2)" in page and "Les miennes (0)" in page
    first = requests()[1]  # Camille's question
    assert first.reference in page
    assert "cantine" in accountant.get("/espace/assistance/?q=CANTINE").get_data(as_text=True)
    thread = accountant.get(f"/espace/assistance/{first.reference}").get_data(as_text=True)
    assert first.subject in thread and first.messages[0].visible_text.splitlines()[0] in thread
    other = requests()[0]
    piece = next(a for a in other.messages[0].attachments if a.filename.endswith(".pdf"))
    download = accountant.get(f"/espace/assistance/{other.reference}/pieces/{piece.id}")
    assert download.status_code == 200 and download.data == piece.data


def test_the_queue_is_for_the_schools_accountants_only(
    client, school, make_school, make_staff, runner
):
    [line] = run(runner, CORPUS / "01_gmail_plain_utf8.eml")
    other = make_school(uai="0360010R", name="Lycée Jean Giraudoux")
    make_staff(email="autre@example.org", role=Role.ACCOUNTANT, schools=[other])
    db.session.commit()
    login(client, "autre@example.org")
    assert "À prendre (0)" in client.get("/espace/assistance/").get_data(as_text=True)
    assert client.get(f"/espace/assistance/{line['reference']}").status_code == 404
    client.post("/deconnexion", data={"csrf_token": csrf_token(client, "/espace/")})
    assert client.get("/espace/assistance/").status_code == 302  # signed out: sign in first


def test_a_parent_never_sees_the_queue(client, school, make_pupil, make_guardian, runner):
    [line] = run(runner, CORPUS / "01_gmail_plain_utf8.eml")
    pupil = make_pupil(school, "2415301", "MOREAU", "Léa")
    camille = make_guardian(school, "880301", "MOREAU", "Camille", (pupil, True))
    parents.create_parent_account([camille], "c.moreau", PASSWORD)
    db.session.commit()
    assert login(client, "c.moreau").status_code == 302
    assert client.get("/espace/assistance/").status_code == 403
    assert client.get(f"/espace/assistance/{line['reference']}").status_code == 403
