"""Working a request: take, hand over, release, note, reply through a real SMTP server,
the family's answer threading back, close and reopen; and who may do it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support import PASSWORD, csrf_token, login

from extensions import db as _db
from models import AuditEvent, HelpRequest, MessageKind, OutboxMessage, RequestStatus, Role
from models.base import utcnow
from services import parents
from services.desk.ingest import Outcome, ingest

CORPUS = Path(__file__).resolve().parents[1] / "desk_mail"


@pytest.fixture
def app(make_app, smtp_server) -> Iterator:
    """The app delivering email through a real local SMTP server."""
    app = make_app(MAIL_BACKEND="smtp", MAIL_SERVER=smtp_server.host, MAIL_PORT=smtp_server.port)
    with app.app_context():
        yield app


@pytest.fixture
def school(make_school):
    return make_school()


@pytest.fixture
def help_request(school) -> HelpRequest:
    result = ingest((CORPUS / "01_gmail_plain_utf8.eml").read_bytes(), school)
    _db.session.commit()
    return reload(result.reference)


def reload(reference: str) -> HelpRequest:
    _db.session.expire_all()
    return _db.session.scalars(_db.select(HelpRequest).filter_by(reference=reference)).one()


@pytest.fixture
def staff(app, school, make_staff):
    """Two accountants of the school, each with their own browser."""
    alice = make_staff(email="comptable@example.org", role=Role.ACCOUNTANT, schools=[school])
    bruno = make_staff(email="adjoint@example.org", role=Role.ACCOUNTANT, schools=[school])
    alice.name, bruno.name = "Alice Martin", "Bruno Petit"
    _db.session.commit()
    clients = {}
    for account in (alice, bruno):
        client = app.test_client()
        assert login(client, account.email).status_code == 302
        clients[account.name] = client
    return {"alice": (alice, clients[alice.name]), "bruno": (bruno, clients[bruno.name])}


def post(client, reference: str, action: str, **data: str):
    token = csrf_token(client, f"/espace/assistance/{reference}")
    return client.post(
        f"/espace/assistance/{reference}/{action}",
        data={"csrf_token": token, **data},
        follow_redirects=True,
    )


def test_take_hand_over_and_release(staff, help_request):
    (alice, alice_client), (bruno, bruno_client) = staff["alice"], staff["bruno"]
    ref = help_request.reference
    page = post(alice_client, ref, "prendre").get_data(as_text=True)
    assert "Vous traitez cette demande." in page and "Traitée par <strong>Alice Martin" in page
    assert reload(ref).status is RequestStatus.OPEN
    inbox = alice_client.get("/espace/assistance/?liste=miennes").get_data(as_text=True)
    assert ref in inbox and "Les miennes (1)" in inbox and "À prendre (0)" in inbox

    # Bruno cannot take it from under her: he is told who works on it.
    page = post(bruno_client, ref, "prendre").get_data(as_text=True)
    assert "Alice Martin traite déjà cette demande." in page
    assert reload(ref).assignee_id == alice.id

    # She hands it to him; he puts it back in the common list.
    post(alice_client, ref, "confier", colleague=str(bruno.id))
    assert reload(ref).assignee_id == bruno.id
    assert ref in bruno_client.get("/espace/assistance/?liste=miennes").get_data(as_text=True)
    post(bruno_client, ref, "liberer")
    assert reload(ref).assignee_id is None
    actions = _db.session.scalars(
        _db.select(AuditEvent.action).where(AuditEvent.action.like("help_request.%"))
    ).all()
    assert actions.count("help_request.assigned") == 2 and "help_request.released" in actions


def test_a_request_is_handed_only_to_a_colleague_of_its_school(
    staff, help_request, make_school, make_staff
):
    other_school = make_school(uai="0360010R", name="Lycée Jean Giraudoux")
    stranger = make_staff(email="autre@example.org", role=Role.ACCOUNTANT, schools=[other_school])
    _, alice_client = staff["alice"]
    page = post(alice_client, help_request.reference, "confier", colleague=str(stranger.id))
    assert "Choisissez une personne de la liste." in page.get_data(as_text=True)
    assert reload(help_request.reference).assignee_id is None


def test_a_note_stays_inside(staff, help_request, smtp_server):
    _, alice_client = staff["alice"]
    page = post(alice_client, help_request.reference, "note", note="Appeler la famille lundi.")
    html = page.get_data(as_text=True)
    assert "Note ajoutée." in html and "Note interne</span>" in html
    assert "Appeler la famille lundi." in html
    assert smtp_server.messages == []
    empty = post(alice_client, help_request.reference, "note", note="   ")
    assert "Écrivez un message." in empty.get_data(as_text=True)
    assert [m.kind for m in reload(help_request.reference).messages] == [
        MessageKind.INCOMING,
        MessageKind.NOTE,
    ]


def test_a_reply_reaches_the_family_threaded_and_their_answer_comes_back(
    staff, help_request, smtp_server, school
):
    (alice, alice_client) = staff["alice"]
    ref = help_request.reference
    question_id = help_request.messages[0].message_id
    text = "Bonjour,\n\nLe paiement a bien été reçu le 3 novembre.\n\nCordialement"
    page = post(alice_client, ref, "repondre", text=text, send="1").get_data(as_text=True)
    assert "Réponse envoyée à camille.moreau@example.org." in page

    [sent] = smtp_server.messages
    assert sent["To"] == "camille.moreau@example.org"
    assert sent["Subject"].startswith("Re: ") and f"[{ref}]" in sent["Subject"]
    assert sent["In-Reply-To"] == f"<{question_id}>"
    assert f"<{question_id}>" in sent["References"]
    assert sent["Reply-To"] == school.accountant_email
    body = sent.get_body(("plain",)).get_content()
    assert "Le paiement a bien été reçu le 3 novembre." in body and "Alice Martin" in body
    assert "> " in body  # the family's question, quoted

    request = reload(ref)
    reply = request.messages[-1]
    assert (reply.kind, reply.author_id) == (MessageKind.REPLY, alice.id)
    assert sent["Message-ID"] == f"<{reply.message_id}>"
    assert request.status is RequestStatus.WAITING and request.assignee_id == alice.id
    assert request.first_response_at is not None
    waiting = alice_client.get("/espace/assistance/?liste=en-attente").get_data(as_text=True)
    assert ref in waiting

    # The family answers the email: the answer joins the request, which comes back.
    answer = (
        "From: Camille Moreau <camille.moreau@example.org>\r\n"
        f"To: {school.accountant_email}\r\n"
        f"Subject: {sent['Subject'].replace('Re: ', 'RE: Re: ', 1)}\r\n"
        "Message-ID: <answer-1@example.org>\r\n"
        f"In-Reply-To: {sent['Message-ID']}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Merci beaucoup !\r\n\r\nLe 30 nov. 2026, Alice a écrit :\r\n> Le paiement...\r\n"
    ).encode()
    result = ingest(answer, school)
    _db.session.commit()
    assert (result.outcome, result.reference) == (Outcome.JOINED, ref)
    request = reload(ref)
    assert request.status is RequestStatus.OPEN and request.assignee_id == alice.id
    assert request.messages[-1].visible_text.strip() == "Merci beaucoup !"


def test_the_family_answer_threads_by_headers_alone(staff, help_request, smtp_server, school):
    _, alice_client = staff["alice"]
    post(alice_client, help_request.reference, "repondre", text="Pouvez-vous préciser ?", send="1")
    [sent] = smtp_server.messages
    answer = (
        "From: camille.moreau@example.org\r\nSubject: ma reponse\r\n"
        "Message-ID: <answer-2@example.org>\r\n"
        f"References: <{help_request.messages[0].message_id}> {sent['Message-ID']}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nC'est pour la cantine.\r\n"
    ).encode()
    assert ingest(answer, school).reference == help_request.reference


def test_reply_and_close_then_reopen(staff, help_request, smtp_server):
    _, alice_client = staff["alice"]
    ref = help_request.reference
    page = post(alice_client, ref, "repondre", text="C'est fait.", send_and_close="1")
    assert "La demande est close." in page.get_data(as_text=True)
    assert len(smtp_server.messages) == 1
    request = reload(ref)
    assert request.status is RequestStatus.CLOSED and request.closed_at is not None
    closed = alice_client.get("/espace/assistance/?liste=closes").get_data(as_text=True)
    assert ref in closed and "Closes (1)" in closed
    assert "Rouvrir" in alice_client.get(f"/espace/assistance/{ref}").get_data(as_text=True)
    post(alice_client, ref, "rouvrir")
    assert reload(ref).status is RequestStatus.OPEN
    post(alice_client, ref, "clore")
    assert reload(ref).status is RequestStatus.CLOSED
    assert len(smtp_server.messages) == 1  # closing sends nothing


def test_an_empty_reply_is_refused_and_sends_nothing(staff, help_request, smtp_server):
    _, alice_client = staff["alice"]
    page = post(alice_client, help_request.reference, "repondre", text="", send="1")
    assert "Écrivez un message." in page.get_data(as_text=True)
    assert smtp_server.messages == []
    assert _db.session.scalar(_db.select(_db.func.count(OutboxMessage.id))) == 0
    assert reload(help_request.reference).status is RequestStatus.NEW


def test_actions_need_the_csrf_token(staff, help_request):
    _, alice_client = staff["alice"]
    ref = help_request.reference
    for action in ("prendre", "clore", "note", "repondre"):
        response = alice_client.post(f"/espace/assistance/{ref}/{action}", data={"note": "x"})
        assert response.status_code == 400, action
    assert reload(ref).status is RequestStatus.NEW and len(reload(ref).messages) == 1


def test_no_one_acts_on_a_request_outside_their_school(
    app, help_request, make_school, make_staff, make_pupil, make_guardian, school
):
    other = make_school(uai="0360010R", name="Lycée Jean Giraudoux")
    make_staff(email="autre@example.org", role=Role.ACCOUNTANT, schools=[other])
    pupil = make_pupil(school, "2415301", "MOREAU", "Léa")
    camille = make_guardian(school, "880301", "MOREAU", "Camille", (pupil, True))
    account = parents.create_parent_account([camille], "c.moreau", PASSWORD)
    account.email, account.email_confirmed_at = "camille.moreau@example.org", utcnow()
    _db.session.commit()
    ref = help_request.reference
    outsider = app.test_client()
    login(outsider, "autre@example.org")
    token = csrf_token(outsider, "/espace/assistance/")
    for action in ("prendre", "clore", "repondre"):
        response = outsider.post(
            f"/espace/assistance/{ref}/{action}", data={"csrf_token": token, "text": "x"}
        )
        assert response.status_code == 404, action
    parent = app.test_client()
    login(parent, "c.moreau")
    token = csrf_token(parent, "/compte/")
    response = parent.post(f"/espace/assistance/{ref}/prendre", data={"csrf_token": token})
    assert response.status_code == 403
    assert reload(ref).assignee_id is None
