"""The staff inbox: requests and workflow tasks side by side, filters, the first-response
target in the office's working hours, `flask desk list`, and tasks handed to a colleague."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from payment_support import text
from support import csrf_token, login

from engine.clock import PARIS
from extensions import db
from models import HelpRequest, Role, WorkflowInstance
from services.desk.ingest import ingest
from services.workflow_versions import sync_files

CORPUS = Path(__file__).resolve().parents[1] / "desk_mail"

CHECK = """\
key: controle_piece
title: Contrôle d’une pièce
start: anyone
initial: depot
steps:
  depot:
    title: Déposer
    fields:
      - {name: nom, type: text, label: Votre nom}
    next: [{to: controle}]
  controle:
    title: Contrôler la pièce de {{ nom }}
    actor: role:accountant
    fields:
      - {name: avis, type: text, label: Avis}
    next: [{to: fin}]
  fin:
    final: true
    title: Merci
"""


@pytest.fixture
def school(make_school, tmp_path):
    school = make_school()
    path = tmp_path / "controle_piece.yaml"
    path.write_text(CHECK, encoding="utf-8")
    sync_files([*Path("workflows").glob("*.yaml"), path])  # assistance.yaml: target, hours
    db.session.commit()
    return school


def received(school, name: str, at: datetime) -> HelpRequest:
    """Ingest a corpus message as if it had arrived at a given Paris time."""
    reference = ingest((CORPUS / name).read_bytes(), school).reference
    request = db.session.scalars(db.select(HelpRequest).filter_by(reference=reference)).one()
    request.created_at = at.replace(tzinfo=PARIS)
    db.session.commit()
    return request


@pytest.fixture
def staff(app, school, make_staff):
    alice = make_staff(email="comptable@example.org", role=Role.ACCOUNTANT, schools=[school])
    bruno = make_staff(email="adjoint@example.org", role=Role.ACCOUNTANT, schools=[school])
    alice.name, bruno.name = "Alice Martin", "Bruno Petit"
    db.session.commit()
    client = app.test_client()
    login(client, "comptable@example.org")
    return client, alice, bruno


def start_task(app, nom: str) -> WorkflowInstance:
    visitor = app.test_client()
    token = csrf_token(visitor, "/demarches/")
    url = visitor.post("/demarches/controle_piece/commencer", data={"csrf_token": token})
    url = url.headers["Location"]
    visitor.post(url, data={"csrf_token": csrf_token(visitor, url), "nom": nom})
    db.session.expire_all()
    return db.session.scalars(
        db.select(WorkflowInstance)
        .filter_by(key="controle_piece")
        .order_by(WorkflowInstance.id.desc())
    ).first()


def test_requests_and_tasks_share_one_inbox(app, staff, school):
    client, _, bruno = staff
    request = received(school, "01_gmail_plain_utf8.eml", datetime(2026, 11, 27, 9, 0))
    task = start_task(app, "Hélène Robin")
    assert task.assignee_role == "role:accountant" and task.school_id == school.id
    page = text(client.get("/espace/assistance/").get_data(as_text=True))
    assert "À prendre (2)" in page
    assert (
        request.reference in page
        and "Contrôle d’une pièce — Contrôler la pièce de Hélène Robin" in page
    )
    only_tasks = text(client.get("/espace/assistance/?type=taches").get_data(as_text=True))
    assert "Hélène Robin" in only_tasks and request.reference not in only_tasks

    # Take it, hand it to Bruno, who completes it: the procedure goes on.
    task_url = f"/espace/taches/{task.public_id}"
    client.post(f"{task_url}/prendre", data={"csrf_token": csrf_token(client, task_url)})
    assert "Les miennes (1)" in text(client.get("/espace/assistance/").get_data(as_text=True))
    answer = client.post(
        f"{task_url}/confier",
        data={"csrf_token": csrf_token(client, task_url), "colleague": str(bruno.id)},
        follow_redirects=True,
    )
    assert "La tâche est confiée à Bruno Petit." in text(answer.get_data(as_text=True))
    mine = text(client.get("/espace/assistance/?liste=collegues").get_data(as_text=True))
    assert "Hélène Robin" in mine and "Bruno Petit" in mine
    other = app.test_client()
    login(other, "adjoint@example.org")
    assert "Hélène Robin" in text(
        other.get("/espace/assistance/?liste=miennes").get_data(as_text=True)
    )
    done = other.post(
        task_url, data={"csrf_token": csrf_token(other, task_url), "avis": "Conforme"}
    )
    assert done.headers["Location"] == "/espace/assistance/"
    db.session.expire_all()
    finished = db.session.get(WorkflowInstance, task.id)
    assert finished.step == "fin" and finished.data["avis"] == "Conforme"
    assert "Hélène Robin" not in text(
        client.get("/espace/assistance/?liste=collegues").get_data(as_text=True)
    )


def test_a_task_goes_only_to_a_colleague_with_its_role(app, staff, school, make_staff):
    client, _, _ = staff
    admin = make_staff(email="admin@example.org", role=Role.ADMIN, schools=[school])
    task = start_task(app, "Paul Durand")
    task_url = f"/espace/taches/{task.public_id}"
    answer = client.post(
        f"{task_url}/confier",
        data={"csrf_token": csrf_token(client, task_url), "colleague": str(admin.id)},
        follow_redirects=True,
    )
    assert "Choisissez une personne de la liste." in text(answer.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.get(WorkflowInstance, task.id).claimed_by_id is None


def test_age_is_counted_in_the_office_hours_against_the_target(app, staff, school, monkeypatch):
    client, _, _ = staff
    # Friday 27 November 2026, 15:00 and Monday 09:00; "now" is Tuesday 1 December, 10:00.
    late = received(school, "01_gmail_plain_utf8.eml", datetime(2026, 11, 27, 15, 0))
    fresh = received(school, "04_thunderbird_iso8859_15_euro.eml", datetime(2026, 11, 30, 9, 0))
    now = datetime(2026, 12, 1, 10, 0, tzinfo=PARIS)
    monkeypatch.setattr("services.desk.desk_settings.utcnow", lambda: now)
    # Friday 15–17 (2 h) + Monday 8–17 (9 h) + Tuesday 8–10 (2 h) = 13 h < 16 h;
    # Monday 9–17 (8 h) + Tuesday 2 h = 10 h.
    page = text(client.get(f"/espace/assistance/{late.reference}").get_data(as_text=True))
    assert "Sans réponse depuis 1 j 4 h ouvrées" in page and "objectif 1 j 7 h" in page
    assert "à traiter avant le 01/12/2026 à 13:00" in page

    monkeypatch.setattr(
        "services.desk.desk_settings.utcnow", lambda: datetime(2026, 12, 1, 14, 0, tzinfo=PARIS)
    )
    page = text(client.get(f"/espace/assistance/{late.reference}").get_data(as_text=True))
    assert "En retard" in page and "dépassé le 01/12/2026 à 13:00" in page
    inbox = text(client.get("/espace/assistance/").get_data(as_text=True))
    assert inbox.count("En retard") == 1

    runner = app.test_cli_runner()
    listed = {
        i["reference"]: i for i in json.loads(runner.invoke(args=["desk", "list", "--json"]).output)
    }
    assert listed[late.reference]["en_retard"] is True
    assert listed[fresh.reference]["en_retard"] is False
    assert listed[fresh.reference]["attente_ouvree"] == "1 j 5 h"  # Mon 9–17 + Tue 8–14
    plain = runner.invoke(args=["desk", "list"]).output
    assert f"{late.reference}" in plain and "EN RETARD" in plain


def test_the_category_filter_uses_the_yaml_labels(app, staff, school, make_pupil):
    client, _, _ = staff
    by_mail = received(school, "01_gmail_plain_utf8.eml", datetime(2026, 11, 27, 15, 0))
    by_form = received(school, "04_thunderbird_iso8859_15_euro.eml", datetime(2026, 11, 30, 9, 0))
    by_form.category = "compte"
    db.session.commit()
    page = text(client.get("/espace/assistance/?categorie=compte").get_data(as_text=True))
    assert by_form.reference in page and by_mail.reference not in page
    assert "Mon compte Guichet" in page  # the label of assistance.yaml
    assert client.get("/espace/assistance/?type=autre").status_code == 404


def test_desk_list_on_an_empty_queue_and_a_wrong_school(app, school):
    runner = app.test_cli_runner()
    assert "Aucune demande ni tâche en cours." in runner.invoke(args=["desk", "list"]).output
    wrong = runner.invoke(args=["desk", "list", "--school", "9999999Z"])
    assert wrong.exit_code == 1 and "n'est pas déclaré" in wrong.output
