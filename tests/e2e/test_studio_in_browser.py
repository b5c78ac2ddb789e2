"""The workflow studio in a real Chromium: an administrator adds a required consent box to
the activation, sees the editor flag a broken line, previews and publishes. A parent who
had started keeps the old form and finishes; a new parent gets the box; the compatible
running case is moved to the new version, then the move is undone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

import pytest
from playwright.sync_api import Page, expect
from support import PASSWORD

from config import ROOT
from extensions import db
from models import Channel, OutboxMessage, Role, WorkflowInstance
from services.workflow_versions import sync_files

ACTIVATION = (ROOT / "workflows" / "activation.yaml").read_text(encoding="utf-8")
ANCHOR = 'pour un numéro étranger."\n'
CONSENT_LABEL = "J’accepte que l’établissement vérifie mon identité"
CONSENT = f"      - name: consentement\n        type: checkbox\n        label: {CONSENT_LABEL}\n"
# What the administrator ends up with: the box, and the scenarios ticking it.
WITH_CONSENT = re.sub(
    r"(submit: \{nom: [^}]*)\}",
    r"\1, consentement: true}",
    ACTIVATION.replace(ANCHOR, ANCHOR + CONSENT, 1),
)
HELENE = {"Nom": "Robin", "Prénom": "Hélène", "Téléphone portable": "06 39 98 01 10"}
HELENE_PASSWORD = "Capucine&Gaspard-36"
HELENE_EMAIL = "helene.robin@example.org"


@pytest.fixture
def school(live_server, make_school, make_pupil, make_guardian, make_staff):
    school = make_school()
    capucine = make_pupil(school, "1", "ROBIN", "Capucine", "5B", birth_date=date(2013, 9, 3))
    make_guardian(school, "880110", "ROBIN", "Hélène", (capucine, True), mobile="+33639980110")
    make_staff(email="admin@example.org", role=Role.ADMIN, schools=[school], name="Camille Admin")
    sync_files()
    db.session.commit()
    live_server.app.config["PUBLIC_URL"] = live_server.url
    return school


def heading(page: Page):
    return page.get_by_role("heading", level=1)


def submit(page: Page) -> None:
    page.get_by_role("button", name="Valider").click()


def label_of(page: Page, text: str) -> None:
    """Tick a DSFR radio or checkbox by its label, as a finger does."""
    page.locator("label").filter(has_text=text).first.click()


def begin_activation(page: Page) -> None:
    """Start the activation and reach the identity step."""
    page.goto("/demarches/nouvelle/activation")
    page.get_by_role("button", name="Commencer").click()
    label_of(page, "Responsable légal")
    submit(page)
    expect(heading(page)).to_contain_text("Je n’ai pas de compte")


def fill_identity(page: Page, who: dict[str, str] = HELENE) -> None:
    for label, value in who.items():
        page.get_by_label(re.compile(rf"^\s*{re.escape(label)}(?![\w’'])")).fill(value)


def last(live_server, channel: Channel, to: str) -> OutboxMessage:
    return live_server.run(
        lambda: db.session.scalars(
            db.select(OutboxMessage)
            .filter_by(channel=channel, to=to)
            .order_by(OutboxMessage.id.desc())
        ).first()
    )


def version_of(live_server, page: Page) -> int:
    public_id = page.url.rstrip("/").rsplit("/", 1)[1]
    return live_server.run(
        lambda: db.session.scalars(
            db.select(WorkflowInstance.version).filter_by(public_id=public_id)
        ).one()
    )


def editor_text(page: Page, text: str) -> None:
    """Replace the editor's content as a paste would."""
    page.locator(".CodeMirror").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(text)


def test_an_administrator_adds_a_consent_box_safely(
    school, live_server, new_page: Callable[..., Page], console_errors
) -> None:
    # Two parents start before the change, on version 1.
    helene = new_page()
    begin_activation(helene)
    waiting = new_page()
    begin_activation(waiting)

    # The administrator opens the studio from the administration's home.
    admin = new_page()
    admin.goto("/connexion")
    admin.get_by_label("Identifiant").fill("admin@example.org")
    admin.get_by_label("Mot de passe").fill(PASSWORD)
    admin.get_by_role("main").get_by_role("button", name="Se connecter").click()
    admin.goto("/espace/admin/")
    admin.get_by_role("link", name="Démarches en ligne").click()
    expect(heading(admin)).to_have_text("Démarches en ligne")
    expect(admin.locator("#demarches")).to_contain_text("identite : 2")
    admin.locator("#demarches").get_by_role("link", name="Activer mon compte").click()
    admin.get_by_role("link", name="Modifier", exact=True).click()
    expect(admin.locator(".CodeMirror")).to_be_visible()

    # A broken line is flagged, at its line, as she types.
    broken = ACTIVATION.replace("initial: profil", "initial: profill")
    editor_text(admin, broken)
    problems = admin.locator("#problemes")
    line = broken.splitlines().index("initial: profill") + 1
    expect(problems).to_contain_text(f"Ligne {line}")
    expect(problems).to_contain_text("profill")
    # Its link takes her to the line, marked in the editor's margin.
    problems.get_by_role("link", name=f"Ligne {line}").click()
    expect(admin.locator(".CodeMirror-lint-marker-error")).to_have_count(1)
    expect(admin.locator(".CodeMirror-activeline, .CodeMirror-cursor").first).to_be_attached()

    # Fixed, with the consent box: valid, saved and previewed.
    editor_text(admin, WITH_CONSENT)
    expect(problems).to_contain_text("La définition est valide.")
    admin.get_by_role("button", name="Enregistrer et prévisualiser").click()
    expect(heading(admin)).to_contain_text("Aperçu du brouillon")
    expect(admin.locator("#publication")).to_contain_text("Le brouillon peut être publié")
    expect(admin.locator(".guichet-changes")).to_contain_text("nouveau champ obligatoire")
    expect(admin.locator(".guichet-mermaid svg")).to_be_visible()  # drawn by Mermaid
    expect(admin.locator("#etape-identite")).to_contain_text(CONSENT_LABEL)
    admin.get_by_label("Commentaire").fill("Consentement à la vérification d’identité")
    admin.get_by_role("button", name="Publier la nouvelle version").click()
    expect(admin.get_by_role("status").first).to_contain_text("Version 2 publiée")

    # Hélène had started: she keeps the old form and finishes her activation.
    helene.reload()
    expect(helene.get_by_text(CONSENT_LABEL)).to_have_count(0)
    fill_identity(helene)
    submit(helene)
    expect(heading(helene)).to_contain_text("Code de sécurité")
    code = re.search(r"\b(\d{6})\b", last(live_server, Channel.SMS, "+33639980110").body)[1]
    helene.get_by_label("Code reçu par SMS").fill(code)
    submit(helene)
    helene.get_by_label("Date de naissance de Capucine").fill("2013-09-03")
    submit(helene)
    helene.get_by_label(re.compile(r"^\s*Mot de passe")).fill(HELENE_PASSWORD)
    helene.get_by_label("Confirmez le mot de passe").fill(HELENE_PASSWORD)
    submit(helene)
    label_of(helene, "J’ai noté mon identifiant")
    submit(helene)
    helene.get_by_label("Adresse électronique").fill(HELENE_EMAIL)
    submit(helene)
    expect(heading(helene)).to_contain_text("Confirmez votre adresse électronique")
    assert version_of(live_server, helene) == 1
    mail = last(live_server, Channel.EMAIL, HELENE_EMAIL)
    helene.goto(re.search(rf"{re.escape(live_server.url)}/compte/confirmer/\S+", mail.body)[0])
    helene.get_by_role("button", name="Confirmer mon adresse").click()
    expect(heading(helene)).to_have_text("Connexion")

    # A new parent gets the box, and cannot go on without ticking it.
    newcomer = new_page()
    begin_activation(newcomer)
    expect(newcomer.get_by_text(CONSENT_LABEL)).to_be_visible()
    fill_identity(newcomer, {**HELENE, "Nom": "Durand"})
    submit(newcomer)
    expect(newcomer.get_by_text("Cochez cette case pour continuer.").first).to_be_visible()

    # The parent still waiting at the identity step can move; the administrator moves her...
    admin.reload()
    card = admin.locator(".fr-card").filter(has_text="Version 1 : 1 dossier(s), 1 compatible(s)")
    expect(card).to_be_visible()
    card.get_by_role("button", name=re.compile("Déplacer les 1 dossier")).click()
    expect(admin.get_by_role("status").first).to_contain_text("1 dossier(s) déplacé(s)")
    waiting.reload()
    expect(waiting.get_by_text(CONSENT_LABEL)).to_be_visible()
    assert version_of(live_server, waiting) == 2

    # ...and changes her mind: undone, the parent is back on the form she started with.
    admin.get_by_role("button", name="Annuler ce déplacement").click()
    expect(admin.get_by_role("status").first).to_contain_text("1 dossier(s) remis sur leur version")
    waiting.reload()
    expect(waiting.get_by_text(CONSENT_LABEL)).to_have_count(0)
    assert version_of(live_server, waiting) == 1
    assert console_errors == []
