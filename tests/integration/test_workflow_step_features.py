"""Redirect, refresh, links and given data through the generic step pages."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support import csrf_token, login

from engine import SYSTEM, Actor
from extensions import db
from models import WorkflowInstance
from services import workflows
from services.workflow_versions import check_source, sync_files

PAGES = """\
key: essai_pages
title: Essai des pages
start: anyone
initial: saisie
steps:
  saisie:
    title: Votre référence
    fields:
      - {name: ref, type: text, label: Référence}
    next:
      - to: depart
  depart:
    title: Départ
    redirect: /{{ ref }}/suite
    events:
      revenu: {to: attente}
  attente:
    title: Patientez
    intro: Nous attendons la réponse pour {{ ref }}.
    refresh: 7
    links:
      - label: Suivre {{ ref }}
        href: /{{ ref }}/suivi
      - label: Aide
        href: /aide
    events:
      fini: {to: fin}
  fin:
    final: true
    title: C'est terminé
    message: Merci pour {{ ref }}.
    links:
      - label: Télécharger le reçu (PDF)
        href: /recus/{{ ref }}.pdf
"""

STAFF = """\
key: essai_controle
title: Essai du contrôle
start: anyone
initial: saisie
steps:
  saisie:
    title: Votre référence
    fields:
      - {name: ref, type: text, label: Référence}
    next:
      - to: controle
  controle:
    title: Contrôle de {{ ref }}
    actor: role:accountant
    redirect: /{{ ref }}/suite
    refresh: 5
    fields:
      - {name: avis, type: text, label: Avis}
    next:
      - to: fin
  fin:
    final: true
    title: Fin
    message: Merci.
"""

GIVEN = """\
key: essai_donnees
title: Essai des données fournies
start: anyone
given: [dossier]
initial: attente
steps:
  attente:
    title: Dossier {{ dossier.ref }}
    intro: Reste à régler {{ dossier.reste | euros }}.
    refresh: 3
    events:
      fini:
        to: fin
        when: dossier.reste == 0
  fin:
    final: true
    title: Fin
    message: Merci.
"""


@pytest.fixture
def pages_app(app: Flask, make_school, tmp_path: Path) -> Flask:
    make_school()
    paths = []
    for name, text in (("pages", PAGES), ("controle", STAFF), ("donnees", GIVEN)):
        path = tmp_path / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
        assert check_source(text, path.name) == []  # no warning either
    sync_files(paths)
    db.session.commit()
    return app


def _start(client: FlaskClient, key: str) -> str:
    token = csrf_token(client, "/demarches/")
    response = client.post(f"/demarches/{key}/commencer", data={"csrf_token": token})
    assert response.status_code == 302
    return response.headers["Location"]


def _submit(client: FlaskClient, url: str, **fields: str):  # type: ignore[no-untyped-def]
    fields.setdefault("csrf_token", csrf_token(client, url))
    return client.post(url, data=fields)


def _row() -> WorkflowInstance:
    db.session.expire_all()
    return db.session.scalars(db.select(WorkflowInstance)).one()


def _fire(event: str) -> None:
    row = _row()
    workflows.fire(row, event, SYSTEM)
    db.session.commit()


def test_redirect_refresh_and_links_for_the_applicant(pages_app: Flask, client) -> None:
    url = _start(client, "essai_pages")
    # The redirect is taken right after the POST that reaches the step, and on every GET.
    moved = _submit(client, url, ref="dossier-42")
    assert (moved.status_code, moved.headers["Location"]) == (302, "/dossier-42/suite")
    again = client.get(url)
    assert (again.status_code, again.headers["Location"]) == (302, "/dossier-42/suite")

    _fire("revenu")
    page = client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<meta http-equiv="refresh" content="7">' in html
    assert "Nous attendons la réponse pour dossier-42." in html
    # A pure waiting step: no empty form, no buttons, but its links.
    assert f'action="{url}' not in html and "Valider" not in html
    assert re.search(
        r'<ul class="fr-btns-group[^"]*">\s*<li><a class="fr-btn fr-btn--secondary" '
        r'href="/dossier-42/suivi">Suivre dossier-42</a></li><li><a [^>]*href="/aide">Aide</a>',
        html,
    ), html

    _fire("fini")
    html = client.get(url).get_data(as_text=True)
    assert "Merci pour dossier-42." in html and "http-equiv" not in html
    assert 'href="/recus/dossier-42.pdf">Télécharger le reçu (PDF)</a>' in html
    assert html.index("Merci pour dossier-42.") < html.index("/recus/dossier-42.pdf")


def test_unsafe_rendered_paths_are_refused(
    pages_app: Flask, client, caplog: pytest.LogCaptureFixture
) -> None:
    url = _start(client, "essai_pages")
    with caplog.at_level(logging.WARNING, logger="guichet.engine"):
        moved = _submit(client, url, ref="/evil.example")
        assert moved.headers["Location"] == url  # "//evil.example/suite" is refused
        page = client.get(url)
    assert page.status_code == 200
    assert "Départ" in page.get_data(as_text=True)
    assert "refused path '//evil.example/suite'" in caplog.text

    _fire("revenu")
    html = client.get(url).get_data(as_text=True)
    assert "//evil.example" not in html  # the link to //evil.example/suivi is dropped
    assert "Suivre /evil.example" not in html
    assert 'href="/aide">Aide</a>' in html


def test_link_hrefs_and_labels_are_escaped(pages_app: Flask, client) -> None:
    url = _start(client, "essai_pages")
    ref = 'a"b<i>&c'
    assert _submit(client, url, ref=ref).status_code == 302
    _fire("revenu")
    html = client.get(url).get_data(as_text=True)
    assert 'href="/a&#34;b&lt;i&gt;&amp;c/suivi">Suivre a&#34;b&lt;i&gt;&amp;c</a>' in html
    assert "<i>" not in html


def test_staff_pages_never_redirect_nor_refresh(pages_app: Flask, client, make_staff) -> None:
    url = _start(client, "essai_controle")
    # The applicant waits while staff works: they are sent to the step's redirect.
    moved = _submit(client, url, ref="dossier-7")
    assert moved.headers["Location"] == "/dossier-7/suite"
    assert client.get(url).headers["Location"] == "/dossier-7/suite"

    make_staff()
    staff = pages_app.test_client()
    assert login(staff, "comptable@example.org").status_code == 302
    task_url = f"/espace/taches/{_row().public_id}"
    page = staff.get(task_url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Contrôle de dossier-7" in html and "http-equiv" not in html
    assert _submit(staff, task_url, avis="ok").headers["Location"] == "/espace/assistance/"
    assert "Merci." in client.get(url).get_data(as_text=True)


def test_given_data_is_provided_by_the_host(pages_app: Flask, client) -> None:
    # The generic start button cannot start a workflow that needs data from the host.
    token = csrf_token(client, "/demarches/")
    refused = client.post("/demarches/essai_donnees/commencer", data={"csrf_token": token})
    assert refused.status_code == 404

    with client.session_transaction() as session:
        session["applicant"] = "anon:visiteur-test"
    engine = workflows.workflow_engine()
    instance = engine.start(
        "essai_donnees",
        applicant=Actor("anon:visiteur-test", frozenset()),
        data={"dossier": {"ref": "F-2026-001", "reste": 4550}},
    )
    db.session.commit()
    url = f"/demarches/{instance.id}"
    html = client.get(url).get_data(as_text=True)
    assert "Dossier F-2026-001" in html
    assert "Reste à régler 45,50\u00a0€." in html
    assert '<meta http-equiv="refresh" content="3">' in html
    _fire("fini")  # the guard reads dossier.reste: 4550, so the event is refused
    assert _row().step == "attente"
