"""Workflow definitions as versions: check, sync, pinning, start-up refusal, timers."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta

import pytest

from app import create_app
from config import ROOT, ConfigError
from engine import Actor
from extensions import db
from models import WorkflowInstance, WorkflowTimer, WorkflowVersion
from models.base import utcnow
from services import workflows
from services.workflow_versions import sync_files

BROKEN_TARGET = """\
key: broken
title: Cassé
start: anyone
initial: first
steps:
  first:
    title: Premier
    fields:
      - {name: nom, type: text, label: Nom}
    next:
      - to: nowhere
  done:
    final: true
    title: Fin
    message: Fini.
"""


@pytest.fixture
def workflows_dir(tmp_path):
    folder = tmp_path / "workflows"
    folder.mkdir()
    shutil.copy(ROOT / "workflows" / "demo.yaml", folder / "demo.yaml")
    return folder


def test_check_accepts_the_shipped_definitions(runner):
    result = runner.invoke(args=["workflows", "check"])
    assert result.exit_code == 0, result.output
    assert "definition(s) OK" in result.output


def test_check_names_file_line_and_column_and_fails(runner, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN_TARGET, encoding="utf-8")
    result = runner.invoke(args=["workflows", "check", str(broken)])
    assert result.exit_code == 1
    assert f"{broken}:11:" in result.output  # the `to: nowhere` line
    assert "nowhere" in result.output


def test_a_broken_shipped_definition_stops_the_app(workflows_dir):
    (workflows_dir / "broken.yaml").write_text(BROKEN_TARGET, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.yaml:11:\d+: .*nowhere"):
        create_app("testing", WORKFLOWS_DIR=workflows_dir)


def test_sync_is_idempotent_and_new_content_makes_a_new_published_version(app, workflows_dir):
    app.config["WORKFLOWS_DIR"] = workflows_dir
    [first] = sync_files()
    [again] = sync_files()
    assert (first.version, first.created, again.created) == (1, True, False)
    demo = workflows_dir / "demo.yaml"
    demo.write_text(demo.read_text().replace("Vos coordonnées", "Vos coordonnées (v2)"))
    [second] = sync_files()
    assert (second.version, second.created, second.published) == (2, True, True)
    assert db.session.query(WorkflowVersion).count() == 2


def test_running_instance_stays_on_its_version(app, workflows_dir, make_school):
    app.config["WORKFLOWS_DIR"] = workflows_dir
    school = make_school()
    sync_files()
    visitor = Actor("anon:early", frozenset())
    early = workflows.start("demo", visitor, school)
    demo = workflows_dir / "demo.yaml"
    demo.write_text(demo.read_text().replace("title: Vos coordonnées", "title: Qui êtes-vous ?"))
    sync_files()
    late = workflows.start("demo", Actor("anon:late", frozenset()), school)
    db.session.commit()
    assert (early.version, late.version) == (1, 2)
    assert str(workflows.step_view(early).title) == "Vos coordonnées"
    assert str(workflows.step_view(late).title) == "Qui êtes-vous ?"


def test_sync_never_replaces_a_version_an_administrator_published(app, workflows_dir):
    app.config["WORKFLOWS_DIR"] = workflows_dir
    sync_files()
    studio = WorkflowVersion(
        key="demo", version=2, source=(workflows_dir / "demo.yaml").read_text(),
        checksum="edited", origin="studio", published_at=utcnow() + timedelta(seconds=1),
    )  # fmt: skip
    db.session.add(studio)
    demo = workflows_dir / "demo.yaml"
    demo.write_text(demo.read_text().replace("Vos coordonnées", "Vos coordonnées (fichier)"))
    [result] = sync_files()
    assert (result.version, result.created, result.published) == (3, True, False)


def test_list_and_show(runner, app):
    sync_files()
    db.session.commit()
    listed = json.loads(runner.invoke(args=["workflows", "list", "--json"]).output)
    demo = next(row for row in listed if row["key"] == "demo")
    assert demo["published"] is True and demo["version"] == 1
    assert {row["key"] for row in listed} >= {"activation", "demo", "mot_de_passe_oublie"}
    shown = runner.invoke(args=["workflows", "show", "demo"]).output
    assert shown.startswith("stateDiagram-v2")
    assert "identite --> code" in shown
    assert runner.invoke(args=["workflows", "show", "absent"]).exit_code != 0


def _at_code_step(make_school):
    school = make_school()
    sync_files()
    actor = Actor("anon:timer", frozenset())
    row = workflows.start("demo", actor, school)
    identity = {"nom": "Robin", "prenom": "Hélène", "portable": "+33639980110",
                "courriel": "famille.robin@example.org"}  # fmt: skip
    workflows.submit(row, identity, actor)
    db.session.commit()
    assert row.step == "code"
    return row


def test_tick_fires_due_timers_once(app, runner, make_school):
    row = _at_code_step(make_school)
    timer = db.session.scalars(db.select(WorkflowTimer)).one()
    assert timer.event == "expirer"
    assert "0 timer(s) fired." in runner.invoke(args=["workflows", "tick"]).output
    timer.due_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert "1 timer(s) fired." in runner.invoke(args=["workflows", "tick"]).output
    assert "0 timer(s) fired." in runner.invoke(args=["workflows", "tick"]).output
    db.session.expire_all()
    assert db.session.get(WorkflowInstance, row.id).data["code_expired"] is True


def test_a_timer_of_a_step_already_left_does_nothing(app, runner, make_school):
    row = _at_code_step(make_school)
    workflows.back(row, Actor("anon:timer", frozenset()))
    db.session.commit()
    db.session.execute(db.update(WorkflowTimer).values(due_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert "0 timer(s) fired." in runner.invoke(args=["workflows", "tick"]).output
    db.session.expire_all()
    assert "code_expired" not in db.session.get(WorkflowInstance, row.id).data or (
        db.session.get(WorkflowInstance, row.id).data["code_expired"] is False
    )
