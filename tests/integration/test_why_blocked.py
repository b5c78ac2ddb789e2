"""Why a case does not move on, in words: for the family on a blocked submit, for staff on
the task page. Values typed in secret fields never show."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support import csrf_token, login

from extensions import db
from models import WorkflowInstance
from services import workflows
from services.workflow_versions import check_source, sync_files

PHRASE = "Tournesol-Secret-2026"

BLOCKING = """\
key: essai_blocage
title: Essai des blocages
start: anyone
initial: demande
settings:
  age_minimum: 16
  plafond: 50000
steps:
  demande:
    title: Votre demande
    fields:
      - {name: age, type: integer, label: Âge de l’élève, min: 1, max: 30}
      - name: motif
        type: choice
        widget: radio
        label: Motif de la demande
        choices:
          - {value: cantine, label: Frais de restauration}
          - {value: voyage, label: Voyage scolaire}
      - {name: montant, type: money, label: Montant demandé}
      - {name: phrase, type: password, label: Phrase secrète}
    actions:
      - action: set_password
        with: {field: phrase}
    next:
      - to: instruction
        when: age >= settings.age_minimum and motif == 'cantine'
  instruction:
    title: Instruction de la demande ({{ age }} ans)
    actor: role:accountant
    fields:
      - name: decision
        type: choice
        widget: radio
        label: Décision
        choices:
          - {value: accord, label: Accorder l’aide}
          - {value: refus, label: Refuser l’aide}
    next:
      - to: accordee
        when: decision == 'accord' and montant <= settings.plafond and password_hash != null
      - to: refusee
        when: decision == 'refus'
        message: La demande doit être refusée par l’agent comptable.
  accordee:
    final: true
    title: Aide accordée
    message: Merci.
  refusee:
    final: true
    title: Aide refusée
    message: Désolé.
"""


@pytest.fixture
def blocking_app(app: Flask, make_school, tmp_path: Path) -> Flask:
    make_school()
    path = tmp_path / "blocage.yaml"
    path.write_text(BLOCKING, encoding="utf-8")
    assert check_source(BLOCKING, path.name) == []
    sync_files([path])
    db.session.commit()
    return app


def _start(client: FlaskClient) -> str:
    token = csrf_token(client, "/demarches/")
    response = client.post("/demarches/essai_blocage/commencer", data={"csrf_token": token})
    assert response.status_code == 302
    return response.headers["Location"]


def _submit(client: FlaskClient, url: str, **fields: str) -> str:
    fields.setdefault("csrf_token", csrf_token(client, url))
    response = client.post(url, data=fields, follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True).replace("&#39;", "'")


def _row() -> WorkflowInstance:
    db.session.expire_all()
    return db.session.scalars(db.select(WorkflowInstance)).one()


def _leaks(page: str) -> list[str]:
    digest = hashlib.sha256(PHRASE.encode()).hexdigest()
    return [secret for secret in (PHRASE, digest, digest[:16]) if secret in page]


def test_a_blocked_submit_says_why_in_words(blocking_app: Flask, client: FlaskClient) -> None:
    url = _start(client)
    page = _submit(client, url, age="12", motif="voyage", montant="30", phrase=PHRASE)
    assert (
        "Impossible de continuer : « Âge de l’élève » doit être supérieur ou égal à 16 "
        "et « Motif de la demande » doit valoir « Frais de restauration »." in page
    )
    assert "Les informations saisies ne permettent pas de continuer." not in page
    assert "Pourquoi le dossier n'avance pas ?" not in page  # the staff panel is for staff
    assert _leaks(page) == []
    assert _row().step == "demande"


def test_staff_see_why_the_task_does_not_move_without_secrets(
    blocking_app: Flask, client: FlaskClient, make_staff
) -> None:
    url = _start(client)
    _submit(client, url, age="17", motif="cantine", montant="700", phrase=PHRASE)
    row = _row()
    assert row.step == "instruction" and row.data["password_hash"]

    reasons = workflows.why_blocked(row)
    assert [r.to for r in reasons] == ["accordee", "refusee"]
    assert reasons[0].values["password_hash"] == "***"
    assert reasons[0].to_title == "Aide accordée"

    make_staff()
    staff = blocking_app.test_client()
    login(staff, "comptable@example.org")
    page = staff.get(f"/espace/taches/{row.public_id}").get_data(as_text=True)
    page = page.replace("&#39;", "'")
    assert "Pourquoi le dossier n'avance pas ?" in page
    assert "Vers « Aide accordée »" in page and "Vers « Aide refusée »" in page
    assert (
        "« Décision » doit valoir « Accorder l’aide », « Montant demandé » doit être "
        "inférieur ou égal à 500,00\u00a0€ et « password_hash » doit être renseigné" in page
    )
    assert "La demande doit être refusée par l’agent comptable." in page  # the YAML message
    assert "<dt>Montant demandé</dt><dd>700,00\u00a0€</dd>" in page
    assert "<dt>Décision</dt><dd>non renseigné</dd>" in page
    assert "<dt>password_hash</dt><dd>***</dd>" in page
    assert "<dt>settings.plafond</dt>" not in page  # settings are in the words already
    assert _leaks(page) == []


def test_no_panel_once_the_case_would_move_or_is_over(
    blocking_app: Flask, client: FlaskClient, make_staff
) -> None:
    url = _start(client)
    _submit(client, url, age="17", motif="cantine", montant="20", phrase=PHRASE)
    row = _row()
    row.data = {**row.data, "decision": "refus"}  # as if recorded, but not yet submitted
    db.session.commit()
    assert workflows.why_blocked(row) == []
    make_staff()
    staff = blocking_app.test_client()
    login(staff, "comptable@example.org")
    task = f"/espace/taches/{row.public_id}"
    page = staff.get(task).get_data(as_text=True)
    assert "avance pas ?" not in page
    staff.post(task, data={"decision": "refus", "csrf_token": csrf_token(staff, task)})
    assert _row().status.value == "completed"
    assert workflows.why_blocked(_row()) == []


def test_a_yaml_message_is_kept_on_a_blocked_submit(
    blocking_app: Flask, client: FlaskClient, make_staff
) -> None:
    url = _start(client)
    _submit(client, url, age="17", motif="cantine", montant="900", phrase=PHRASE)
    make_staff()
    staff = blocking_app.test_client()
    login(staff, "comptable@example.org")
    task = f"/espace/taches/{_row().public_id}"
    page = _submit(staff, task, decision="accord")  # 900 € is above the 500 € ceiling
    # One of the blocked ways on has a message of its own: it is shown, not the words.
    assert "<p>La demande doit être refusée par l’agent comptable.</p>" in page
    assert "Impossible de continuer" not in page
    assert _row().step == "instruction"
