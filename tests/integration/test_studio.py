"""The workflow studio: drafts, live checks, preview, publish, roll back, import, moves."""

from __future__ import annotations

import re
from datetime import date

import pytest
from support import csrf_token, login

from config import ROOT
from extensions import db
from models import (
    AuditEvent,
    InstanceStatus,
    Role,
    WorkflowDraft,
    WorkflowEvent,
    WorkflowInstance,
    WorkflowMove,
    WorkflowVersion,
)
from services.workflow_store import published_version
from services.workflow_versions import sync_files

STUDIO = "/espace/admin/demarches"
ACTIVATION = (ROOT / "workflows" / "activation.yaml").read_text(encoding="utf-8")
# The consent an administrator adds to the identity step, required.
CONSENT_ANCHOR = 'pour un numéro étranger."\n'
CONSENT = """      - name: consentement
        type: checkbox
        label: J’accepte que l’établissement vérifie mon identité
"""
# The scenarios' identity answers tick it too, or they fail and block the publication.
WITH_CONSENT = re.sub(
    r"(submit: \{nom: [^}]*)\}",
    r"\1, consentement: true}",
    ACTIVATION.replace(CONSENT_ANCHOR, CONSENT_ANCHOR + CONSENT, 1),
)


@pytest.fixture
def school(app, make_school, make_pupil, make_guardian):
    school = make_school()
    capucine = make_pupil(school, "1", "ROBIN", "Capucine", "5B", birth_date=date(2013, 9, 3))
    make_guardian(school, "880110", "ROBIN", "Hélène", (capucine, True), mobile="+33639980110")
    sync_files()
    db.session.commit()
    return school


@pytest.fixture
def admin(app, school, make_staff):
    account = make_staff(email="admin@example.org", role=Role.ADMIN, name="Camille Admin")
    client = app.test_client()
    login(client, "admin@example.org")
    client.account = account
    return client


def _post(client, url: str, form_page: str | None = None, **fields):
    fields.setdefault("csrf_token", csrf_token(client, form_page or url))
    return client.post(url, data=fields)


def _start_activation(app, answers: list[dict[str, str]]) -> tuple[object, str]:
    parent = app.test_client()
    token = csrf_token(parent, "/demarches/nouvelle/activation")
    url = parent.post("/demarches/activation/commencer", data={"csrf_token": token}).headers[
        "Location"
    ]
    for fields in answers:
        response = _post(parent, url, **fields)
        assert response.status_code == 302, response.get_data(as_text=True)
    return parent, url


def _row(url: str) -> WorkflowInstance:
    db.session.expire_all()
    return db.session.scalars(
        db.select(WorkflowInstance).filter_by(public_id=url.rsplit("/", 1)[1])
    ).one()


def _publish(admin, source: str, comment: str = "Ajout du consentement"):
    edit = f"{STUDIO}/activation/modifier"
    assert _post(admin, edit, source=source, next="brouillon").status_code == 302
    return _post(
        admin, f"{STUDIO}/activation/publier", f"{STUDIO}/activation/apercu", comment=comment
    )


IDENTITY = {"nom": "Robin", "prenom": "Hélène", "portable": "06 39 98 01 10"}


def test_only_administrators_reach_the_studio(app, school, make_staff):
    make_staff(email="comptable@example.org", role=Role.ACCOUNTANT)
    accountant = app.test_client()
    login(accountant, "comptable@example.org")
    for url in (f"{STUDIO}/", f"{STUDIO}/activation/", f"{STUDIO}/activation/modifier"):
        assert accountant.get(url).status_code == 403
    assert accountant.post(f"{STUDIO}/activation/verifier", data={"source": "x"}).status_code in (
        400,
        403,
    )
    anonymous = app.test_client()
    assert anonymous.get(f"{STUDIO}/").status_code == 302  # to the login page


def test_the_list_shows_versions_and_running_cases_per_step(app, admin):
    _start_activation(app, [{"profil": "responsable"}])
    _start_activation(app, [])
    page = admin.get(f"{STUDIO}/").get_data(as_text=True)
    assert "Activer mon compte" in page and "v1" in page
    assert "profil : 1" in page and "identite : 1" in page
    page = admin.get(f"{STUDIO}/activation/").get_data(as_text=True)
    assert "En service" in page and "Synchronised from" in page


def test_the_live_check_names_the_line_and_needs_csrf(admin):
    broken = ACTIVATION.replace(
        "      - to: identite\n        when: profil", "      - to: identitee\n        when: profil"
    )
    assert broken != ACTIVATION
    line = broken.splitlines().index("      - to: identitee") + 1
    token = csrf_token(admin, f"{STUDIO}/activation/modifier")
    response = admin.post(
        f"{STUDIO}/activation/verifier", data={"source": broken}, headers={"X-CSRFToken": token}
    )
    problems = response.get_json()["problems"]
    assert [p["line"] for p in problems if p["code"] == "unknown-step"] == [line]
    assert "identitee" in problems[0]["message"]
    valid = admin.post(
        f"{STUDIO}/activation/verifier", data={"source": ACTIVATION}, headers={"X-CSRFToken": token}
    )
    assert valid.get_json()["problems"] == []
    assert (
        admin.post(f"{STUDIO}/activation/verifier", data={"source": ACTIVATION}).status_code == 400
    )


def test_a_draft_is_saved_without_touching_the_published_version(app, admin):
    response = _post(admin, f"{STUDIO}/activation/modifier", source=WITH_CONSENT, next="brouillon")
    assert response.status_code == 302
    draft = db.session.scalars(db.select(WorkflowDraft)).one()
    assert "consentement" in draft.source and draft.based_on == 1
    assert published_version("activation").version == 1
    # A new parent still gets the published form.
    parent, url = _start_activation(app, [{"profil": "responsable"}])
    assert "J’accepte que l’établissement" not in parent.get(url).get_data(as_text=True)
    assert (
        db.session.scalars(db.select(AuditEvent).filter_by(action="workflow.draft_saved"))
        .one()
        .actor_id
        == admin.account.id
    )


def test_a_broken_draft_is_kept_but_cannot_be_published(admin):
    broken = ACTIVATION.replace("initial: profil", "initial: profile")
    assert (
        _post(admin, f"{STUDIO}/activation/modifier", source=broken, next="apercu").status_code
        == 302
    )
    page = admin.get(f"{STUDIO}/activation/apercu").get_data(as_text=True)
    assert "Publication impossible" in page and "profile" in page
    response = _post(
        admin, f"{STUDIO}/activation/publier", f"{STUDIO}/activation/apercu", comment="Essai"
    )
    assert response.status_code == 422
    assert db.session.scalar(db.select(db.func.count()).select_from(WorkflowVersion)) == len(
        list((ROOT / "workflows").glob("*.yaml"))
    )


def test_the_preview_shows_changes_in_words_diagram_and_forms(admin):
    _post(admin, f"{STUDIO}/activation/modifier", source=WITH_CONSENT, next="apercu")
    page = admin.get(f"{STUDIO}/activation/apercu").get_data(as_text=True)
    assert "nouveau champ obligatoire" in page and "consentement" in page
    assert "stateDiagram-v2" in page  # the diagram's text, drawn by Mermaid in the browser
    # Every step's form, as the parent sees it: the new checkbox among the identity fields.
    assert 'id="etape-identite"' in page
    identity = page.split('id="etape-identite"', 1)[1].split("</section>", 1)[0]
    assert "J’accepte que l’établissement vérifie mon identité" in identity
    assert 'name="identite-portable"' in identity
    assert "Le brouillon peut être publié" in page


def test_publishing_needs_a_comment_and_pins_running_cases(app, admin):
    parent, url = _start_activation(app, [{"profil": "responsable"}])
    _post(admin, f"{STUDIO}/activation/modifier", source=WITH_CONSENT, next="brouillon")
    response = _post(
        admin, f"{STUDIO}/activation/publier", f"{STUDIO}/activation/apercu", comment=" "
    )
    assert response.status_code == 422
    assert "commentaire est obligatoire" in response.get_data(as_text=True)
    assert published_version("activation").version == 1

    assert _publish(admin, WITH_CONSENT).status_code == 302
    current = published_version("activation")
    assert current.version == 2 and current.comment == "Ajout du consentement"
    assert current.author_id == admin.account.id
    assert db.session.scalars(db.select(WorkflowDraft)).first() is None
    published = db.session.scalars(
        db.select(AuditEvent).filter_by(action="workflow.published")
    ).one()
    assert published.actor_id == admin.account.id and published.data["version"] == 2
    # The parent who started before keeps the old form; a new parent gets the checkbox.
    assert "J’accepte que" not in parent.get(url).get_data(as_text=True)
    assert _row(url).version == 1
    newcomer, new_url = _start_activation(app, [{"profil": "responsable"}])
    assert "J’accepte que" in newcomer.get(new_url).get_data(as_text=True)
    refused = _post(newcomer, new_url, **IDENTITY)
    assert refused.status_code == 200
    assert "Cochez cette case pour continuer." in refused.get_data(as_text=True)


def test_publishing_the_same_text_again_is_refused(admin):
    response = _publish(admin, ACTIVATION)
    assert response.status_code == 422
    assert "identique à la version publiée" in response.get_data(as_text=True)


def test_retiring_a_step_where_cases_sit_is_refused_with_the_list(app, admin):
    _start_activation(app, [{"profil": "eleve"}])  # finished: does not count
    _, sitting = _start_activation(app, [{"profil": "responsable"}, {**IDENTITY, "nom": "Inconnu"}])
    assert _row(sitting).step == "introuvable"
    without = _without_step(ACTIVATION, "introuvable", "verification")
    response = _publish(admin, without, "Plus de vérification manuelle")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Dossiers à une étape supprimée" in page
    assert _row(sitting).public_id[:8].upper() in page
    assert published_version("activation").version == 1
    # Once the abandoned case is cancelled, the step can go.
    row = _row(sitting)
    case_page = f"{STUDIO}/dossiers/{row.public_id}"
    unconfirmed = _post(admin, f"{case_page}/abandonner", case_page)
    assert "Cochez la case" in admin.get(unconfirmed.headers["Location"]).get_data(as_text=True)
    assert _row(sitting).status == InstanceStatus.ACTIVE
    assert _post(admin, f"{case_page}/abandonner", case_page, confirme="oui").status_code == 302
    assert _row(sitting).status == InstanceStatus.CANCELLED
    cancelled = db.session.scalars(
        db.select(AuditEvent).filter_by(action="workflow.instance_cancelled")
    ).one()
    assert cancelled.actor_id == admin.account.id
    assert _publish(admin, without, "Plus de vérification manuelle").status_code == 302
    assert published_version("activation").version == 2


def _without_step(source: str, *steps: str) -> str:
    """Remove steps, route their only way in elsewhere (to the end for a stranger) and drop
    the scenarios that go through them, as an administrator would."""
    definition, scenarios = source.split("\nscenarios:\n", 1)
    for step in steps:
        definition = re.sub(
            rf"\n  {step}:\n(?:    .*\n|\n)*?(?=\n  [a-z_]+:\n|\n[a-z_]+:|\n#)", "\n", definition
        )
    kept = [s for s in scenarios.split("\n  - name: ") if not any(step in s for step in steps)]
    definition = definition.replace("      - to: introuvable\n", "      - to: non_identifie\n")
    return definition + "\nscenarios:\n" + "\n  - name: ".join(kept)


def test_rolling_back_publishes_the_earlier_text_as_a_new_version(admin):
    _publish(admin, WITH_CONSENT)
    url = f"{STUDIO}/activation/versions/1/republier"
    response = _post(
        admin, url, f"{STUDIO}/activation/versions/1", comment="Le consentement attendra"
    )
    assert response.status_code == 302
    current = published_version("activation")
    assert current.version == 3 and current.source == ACTIVATION
    assert current.comment == "Retour à la version 1 : Le consentement attendra"
    assert db.session.scalars(db.select(AuditEvent).filter_by(action="workflow.rolled_back")).one()


def test_export_and_import_round_trip(admin):
    exported = admin.get(f"{STUDIO}/activation/versions/1.yaml")
    assert exported.headers["Content-Disposition"] == 'attachment; filename="activation-v1.yaml"'
    assert exported.get_data(as_text=True) == ACTIVATION
    changed = exported.get_data(as_text=True).replace(
        "code_validity_minutes: 10", "code_validity_minutes: 15"
    )
    response = _upload(admin, changed.encode(), "activation.yaml")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/activation/modifier"
    )
    assert "code_validity_minutes: 15" in db.session.scalars(db.select(WorkflowDraft)).one().source
    page = admin.get(f"{STUDIO}/activation/apercu").get_data(as_text=True)
    assert "code_validity_minutes : 10 → 15" in page


def _upload(client, data: bytes, name: str):
    import io

    token = csrf_token(client, f"{STUDIO}/")
    return client.post(
        f"{STUDIO}/importer",
        data={"csrf_token": token, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ("key: activation\ntitle: é".encode("latin-1"), "UTF-8"),
        (b"title: sans cle\n", "ne déclare pas de clé"),
        (b"key: [\n", "ne déclare pas de clé"),
    ],
)
def test_a_bad_import_says_why_and_changes_nothing(admin, data, words):
    response = _upload(admin, data, "demarche.yaml")
    assert response.status_code == 302
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert words in page
    assert db.session.scalars(db.select(WorkflowDraft)).first() is None


def test_an_oversized_text_is_refused(admin):
    huge = ACTIVATION + "#" * (300 * 1024)
    response = _post(admin, f"{STUDIO}/activation/modifier", source=huge, next="brouillon")
    assert response.status_code == 422 and "Ko" in response.get_data(as_text=True)
    assert db.session.scalars(db.select(WorkflowDraft)).first() is None


def test_compatible_cases_move_and_the_move_can_be_undone(app, admin):
    # One case still at the identity step (it will see the new checkbox), one past it
    # (it skipped a field that became required: it stays).
    early_parent, early = _start_activation(app, [{"profil": "responsable"}])
    _, late = _start_activation(app, [{"profil": "responsable"}, IDENTITY])
    assert _row(late).step == "code"
    _publish(admin, WITH_CONSENT)
    page = admin.get(f"{STUDIO}/activation/").get_data(as_text=True)
    assert "Version 1 : 2 dossier(s), 1 compatible(s)" in page
    assert "est désormais obligatoire" in page

    response = _post(admin, f"{STUDIO}/activation/versions/1/deplacer", f"{STUDIO}/activation/")
    assert response.status_code == 302
    assert (_row(early).version, _row(late).version) == (2, 1)
    move = db.session.scalars(db.select(WorkflowMove)).one()
    assert move.moved_by_id == admin.account.id and move.step == "identite"
    event = db.session.scalars(db.select(WorkflowEvent).filter_by(outcome="migrated")).one()
    assert event.changes == {"version": {"old": 1, "new": 2}}
    assert "J’accepte que" in early_parent.get(early).get_data(as_text=True)

    undo = f"{STUDIO}/activation/deplacements/{move.batch}/annuler"
    assert _post(admin, undo, f"{STUDIO}/activation/").status_code == 302
    assert _row(early).version == 1
    assert "J’accepte que" not in early_parent.get(early).get_data(as_text=True)
    # The parent goes on with the old form and finishes the step.
    assert _post(early_parent, early, **IDENTITY).status_code == 302
    assert _row(early).step == "code"


def test_undo_leaves_a_case_that_moved_on(app, admin):
    parent, url = _start_activation(app, [{"profil": "responsable"}])
    _publish(admin, WITH_CONSENT)
    _post(admin, f"{STUDIO}/activation/versions/1/deplacer", f"{STUDIO}/activation/")
    assert _post(parent, url, **IDENTITY, consentement="y").status_code == 302
    assert _row(url).step == "code"
    batch = db.session.scalars(db.select(WorkflowMove)).one().batch
    response = _post(
        admin, f"{STUDIO}/activation/deplacements/{batch}/annuler", f"{STUDIO}/activation/"
    )
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "0 dossier(s) remis" in page and "1 avaient avancé" in page
    assert _row(url).version == 2


def test_the_case_page_says_why_it_cannot_go_on(app, admin):
    parent, url = _start_activation(app, [{"profil": "responsable"}, IDENTITY])
    _post(parent, url, code="000000")
    row = _row(url)
    page = admin.get(f"{STUDIO}/dossiers/{row.public_id}").get_data(as_text=True)
    assert "Pourquoi le dossier n’avance pas" in page
    assert "Code incorrect. Il vous reste 2 essais." in page  # the step's own message
    assert "« code_ok » doit être vrai et « match » doit valoir « found »" in page  # the rule
    assert "code_ok = False" in page  # and what it read
    assert "code_hash" not in page  # secrets never shown


def test_another_schools_case_is_not_shown(app, admin, make_school):
    _, url = _start_activation(app, [{"profil": "responsable"}])
    other = make_school(uai="0690026D", name="Lycée du Parc")
    row = _row(url)
    row.school_id = other.id
    db.session.commit()
    assert admin.get(f"{STUDIO}/dossiers/{row.public_id}").status_code == 404


def test_a_draft_begun_before_a_rollback_says_so(admin):
    fifteen = ACTIVATION.replace("code_validity_minutes: 10", "code_validity_minutes: 15")
    assert _publish(admin, fifteen, "Code valable 15 minutes").status_code == 302
    _post(admin, f"{STUDIO}/activation/modifier", source=WITH_CONSENT, next="brouillon")
    rollback = f"{STUDIO}/activation/versions/1/republier"
    assert (
        _post(admin, rollback, f"{STUDIO}/activation/versions/1", comment="Trop long").status_code
        == 302
    )
    page = admin.get(f"{STUDIO}/activation/apercu").get_data(as_text=True)
    assert "Ce brouillon part de la version 2, la version en service est la 3" in page


def test_an_unknown_workflow_is_not_found(admin):
    token = csrf_token(admin, f"{STUDIO}/")
    assert admin.get(f"{STUDIO}/inconnue/").status_code == 404
    assert admin.get(f"{STUDIO}/inconnue/dossiers").status_code == 404
    response = admin.post(
        f"{STUDIO}/inconnue/verifier", data={"source": "x"}, headers={"X-CSRFToken": token}
    )
    assert response.status_code == 404
