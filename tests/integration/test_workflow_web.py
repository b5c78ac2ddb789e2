"""The demo workflow through the generic step views, as a family and an accountant use it."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from support import csrf_token, login

from extensions import db
from models import Channel, OutboxMessage, WorkflowEvent, WorkflowInstance
from services.workflow_versions import sync_files


@pytest.fixture
def demo_app(app: Flask, make_school) -> Flask:
    make_school()
    sync_files()
    db.session.commit()
    return app


def _start(client) -> str:
    token = csrf_token(client, "/demarches/")
    response = client.post("/demarches/demo/commencer", data={"csrf_token": token})
    assert response.status_code == 302
    return response.headers["Location"]


def _post(client, url: str, **fields):
    fields.setdefault("csrf_token", csrf_token(client, url))
    return client.post(url, data=fields)


IDENTITY = {
    "nom": "Robin",
    "prenom": "Hélène",
    "portable": "06 39 98 01 10",
    "courriel": "famille.robin@example.org",
}


def _code_from_outbox() -> str:
    sms = db.session.scalars(
        db.select(OutboxMessage).filter_by(channel=Channel.SMS).order_by(OutboxMessage.id.desc())
    ).first()
    return re.search(r"\b(\d{6})\b", sms.body).group(1)


def _walk_to_instruction(client, url: str) -> None:
    assert _post(client, url, **IDENTITY).status_code == 302
    assert "Code de vérification" in client.get(url).get_data(as_text=True)
    assert _post(client, url, code=_code_from_outbox()).status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "Date de naissance de Léa" in page and "Date de naissance de Hugo" in page
    assert (
        _post(client, url, naissances__0="2011-03-14", naissances__1="2013-11-02").status_code
        == 302
    )
    demande = {
        "motif": "cantine", "versement": "virement", "pieces": ["caf"], "montant": "120,50",
        "personnes": "4", "consentement": "y",
    }  # fmt: skip
    assert _post(client, url, **demande).status_code == 302
    new = "Tilleuls-en-fleur-2026"
    assert (
        _post(
            client, url, nouveau_mot_de_passe=new, nouveau_mot_de_passe__confirmation=new
        ).status_code
        == 302
    )
    assert _post(client, url, mot_de_passe=new).status_code == 302


def test_family_and_accountant_complete_the_demo(demo_app, client, make_staff):
    url = _start(client)
    first = client.get(url).get_data(as_text=True)
    assert "Vos coordonnées" in first and "Étape 1 sur 6" in first
    _walk_to_instruction(client, url)
    waiting = client.get(url).get_data(as_text=True)
    assert "entre les mains de l'établissement" in waiting

    row = db.session.scalars(db.select(WorkflowInstance)).one()
    assert row.data["portable"] == "+33639980110"  # normalised to E.164
    assert row.data["montant"] == 12050  # euros typed with a comma, kept as cents
    assert "nouveau_mot_de_passe" not in row.data and "code" not in row.data
    assert row.assignee_role == "role:accountant"

    make_staff()
    staff = demo_app.test_client()
    signed_in = login(staff, "comptable@example.org")
    assert signed_in.status_code == 302, signed_in.get_data(as_text=True)[-2500:]
    queue = staff.get("/espace/assistance/").get_data(as_text=True)
    assert "Instruction de la demande de Hélène Robin" in queue
    task_url = f"/espace/taches/{row.public_id}"
    assert _post(staff, task_url, decision="accord", montant_accorde="100").status_code == 302
    assert "Aide accordée" in client.get(url).get_data(as_text=True)
    mails = db.session.scalars(db.select(OutboxMessage).filter_by(channel=Channel.EMAIL)).all()
    assert [m.subject for m in mails] == [
        "Votre demande d'aide a bien été reçue",
        "Votre demande d'aide est acceptée",
    ]
    triggers = [
        e.trigger for e in db.session.scalars(db.select(WorkflowEvent).order_by(WorkflowEvent.id))
    ]
    assert triggers[0] == "start" and triggers.count("submit") >= 7


def test_invalid_input_rerenders_in_french_and_changes_nothing(demo_app, client):
    url = _start(client)
    response = _post(client, url, nom="Robin", prenom="", portable="12", courriel="pas-une-adresse")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Ce champ est obligatoire." in html
    assert "Saisissez un numéro de téléphone valide" in html
    assert "Saisissez une adresse électronique valide" in html
    row = db.session.scalars(db.select(WorkflowInstance)).one()
    assert row.step == "identite" and row.data == {}


def test_blocked_transition_says_why(demo_app, client):
    url = _start(client)
    _post(client, url, **IDENTITY)
    response = _post(client, url, code="000000")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Le code est incorrect ou a expiré." in page


def test_resend_button_and_back(demo_app, client):
    url = _start(client)
    _post(client, url, **IDENTITY)
    token = csrf_token(client, url)
    assert "Renvoyer le code" in client.get(url).get_data(as_text=True)
    client.post(f"{url}/evenement/renvoyer", data={"csrf_token": token})
    assert db.session.query(OutboxMessage).filter_by(channel=Channel.SMS).count() == 2
    client.post(f"{url}/retour", data={"csrf_token": token})
    assert "Vos coordonnées" in client.get(url).get_data(as_text=True)


def test_another_visitor_cannot_open_or_advance_an_instance(demo_app, client):
    url = _start(client)
    stranger = demo_app.test_client()
    assert stranger.get(url).status_code == 403
    stranger_token = csrf_token(stranger, "/demarches/")
    assert stranger.post(url, data={**IDENTITY, "csrf_token": stranger_token}).status_code == 403
    assert (
        stranger.post(f"{url}/evenement/renvoyer", data={"csrf_token": stranger_token}).status_code
        == 403
    )


def test_staff_of_another_role_cannot_see_the_task(demo_app, client, make_staff):
    url = _start(client)
    _walk_to_instruction(client, url)
    from models import Role

    make_staff(email="admin@example.org", role=Role.ADMIN)
    admin = demo_app.test_client()
    login(admin, "admin@example.org")
    row = db.session.scalars(db.select(WorkflowInstance)).one()
    inbox = admin.get("/espace/taches/", follow_redirects=True).get_data(as_text=True)
    assert "Rien dans cette liste" in inbox and "À prendre (0)" in inbox
    assert admin.get(f"/espace/taches/{row.public_id}").status_code == 403
    assert client.get(f"/espace/taches/{row.public_id}").status_code == 302  # not signed in


def test_a_stale_tab_cannot_submit_over_a_newer_step(demo_app, client):
    url = _start(client)
    token = csrf_token(client, url)
    first_tab = {**IDENTITY, "csrf_token": token, "shown_at": "identite:0"}
    assert client.post(url, data=first_tab).status_code == 302  # moves on to the code step
    second_tab = client.post(url, data=first_tab, follow_redirects=True)
    assert "validée depuis une autre fenêtre" in second_tab.get_data(as_text=True)
    row = db.session.scalars(db.select(WorkflowInstance)).one()
    assert row.step == "code"
    assert db.session.query(OutboxMessage).filter_by(channel=Channel.SMS).count() == 1


def _accountant(demo_app, make_staff):
    make_staff()
    staff = demo_app.test_client()
    login(staff, "comptable@example.org")
    return staff


def test_staff_reads_the_answers_in_words_and_downloads_the_attachment(
    demo_app, client, make_staff
):
    import io

    url = _start(client)
    _walk_to_instruction(client, url)
    row = db.session.scalars(db.select(WorkflowInstance)).one()
    # Attach a file as the family would have on the request step.
    from services.workflows import save_upload

    class Upload(io.BytesIO):
        filename, mimetype = "avis.pdf", "application/pdf"

    row.data = {**row.data, "justificatif": save_upload(Upload(b"%PDF-1.4 avis"), row.school_id)}
    db.session.commit()
    staff = _accountant(demo_app, make_staff)
    page = staff.get(f"/espace/taches/{row.public_id}").get_data(as_text=True)
    assert "Frais de restauration" in page  # the choice's label, not its value
    assert "120,50" in page
    assert "Date de naissance de Léa" in page and "14/03/2011" in page
    link = re.search(r'href="(/espace/taches/[^"]+/fichiers/[^"]+)"', page).group(1)
    download = staff.get(link)
    assert download.data == b"%PDF-1.4 avis"
    assert "avis.pdf" in download.headers["Content-Disposition"]
    assert staff.get(f"/espace/taches/{row.public_id}/fichiers/not-this-case").status_code == 404
    assert client.get(link).status_code == 302  # the family is not staff: sent to sign in


def test_asking_for_more_information_carries_the_comment_to_the_family(
    demo_app, client, make_staff
):
    url = _start(client)
    _walk_to_instruction(client, url)
    row = db.session.scalars(db.select(WorkflowInstance)).one()
    staff = _accountant(demo_app, make_staff)
    task = f"/espace/taches/{row.public_id}"
    token = csrf_token(staff, task)
    staff.post(
        f"{task}/evenement/complement",
        data={"csrf_token": token, "commentaire": "Merci de joindre l'attestation CAF."},
    )
    page = client.get(url).get_data(as_text=True)
    assert "Complément d’information" in page
    assert "Merci de joindre l&#39;attestation CAF." in page
