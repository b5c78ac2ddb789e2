"""The demo workflow (workflows/demo.yaml) end to end in a real Chromium.

A family on a phone walks every step through labelled fields, as a person would; an
accountant then takes the task and grants the aid; the family sees the decision. A second
test lets the code step's timer fire (`flask workflows tick`) and checks the code expired.

Set E2E_SHOTS_DIR (e.g. /tmp/guichet-shots) to keep a screenshot of every page visited.
Run: `.venv/bin/pytest tests/e2e/test_demo_workflow.py -q` (see tests/e2e/conftest.py).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from support import PASSWORD

from extensions import db
from models import Channel, OutboxMessage, UploadedFile, WorkflowInstance, WorkflowTimer
from models.base import utcnow
from services.workflow_versions import sync_files

PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}
MOBILE_E164 = "+33639980110"
NEW_PASSWORD = "Tilleuls-en-fleur-2026"
SHOTS = os.environ.get("E2E_SHOTS_DIR")


@pytest.fixture
def demo(live_server, make_school) -> None:
    """A school and the synced (published) demo workflow, committed for the served app."""
    make_school()

    def sync() -> None:
        sync_files()
        db.session.commit()

    live_server.run(sync)


# --- helpers ------------------------------------------------------------------------------------


def field(page: Page, label: str) -> Locator:
    """The input whose label starts with `label` (labels also hold the "*" and the hint).

    "Nom" must not find "Prénom", nor "Mot de passe" find "Confirmez le mot de passe".
    """
    return page.get_by_label(re.compile(rf"^\s*{re.escape(label)}(?![\w’'])"))


def heading(page: Page) -> Locator:
    return page.get_by_role("heading", level=1)


def choose(page: Page, role: str, name: str | re.Pattern[str]) -> None:
    """Tick a radio button or checkbox by tapping its label, as a person does.

    The DSFR draws the box on the label, which covers the (transparent) input itself.
    """
    option = page.get_by_role(role, name=name)  # type: ignore[arg-type]
    page.locator(f"label[for='{option.get_attribute('id')}']").click()
    expect(option).to_be_checked()


def submit(page: Page) -> None:
    page.get_by_role("button", name="Valider").click()


def shot(page: Page, name: str) -> None:
    """Keep a full-page screenshot when E2E_SHOTS_DIR is set (for looking at the pages)."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/demo-{name}.png", full_page=True)


def sms_codes(live_server) -> list[str]:
    """The codes sent by SMS to the family's mobile, oldest first."""
    bodies = live_server.run(
        lambda: db.session.scalars(
            db.select(OutboxMessage.body)
            .filter_by(channel=Channel.SMS, to=MOBILE_E164)
            .order_by(OutboxMessage.id)
        ).all()
    )
    return [re.search(r"\b(\d{6})\b", body)[1] for body in bodies]


def expect_step(page: Page, title: str, position: int) -> None:
    expect(heading(page)).to_contain_text(title)
    expect(heading(page)).to_contain_text(f"Étape {position} sur 6")


def start_demo(page: Page) -> None:
    """From the home page to the first step, through the links a visitor sees."""
    page.goto("/")
    page.get_by_role("link", name="Toutes les démarches en ligne").click()
    expect(heading(page)).to_have_text("Démarches en ligne")
    card = page.locator(".fr-card").filter(has_text="Demande d’aide au paiement (démonstration)")
    card.get_by_role("button", name="Commencer").click()
    expect_step(page, "Vos coordonnées", 1)


def fill_identity(page: Page) -> None:
    field(page, "Nom").fill("Robin")
    field(page, "Prénom").fill("Hélène")
    field(page, "Téléphone portable").fill("06 39 98 01 10")
    field(page, "Adresse électronique").fill("famille.robin@example.org")
    submit(page)
    expect_step(page, "Code de vérification", 2)


# --- tests --------------------------------------------------------------------------------------


def test_family_on_a_phone_and_accountant_complete_the_demo(
    demo, live_server, new_page: Callable[..., Page], make_staff, tmp_path: Path, console_errors
) -> None:
    make_staff(email="comptable@example.org")
    family = new_page(**PHONE)

    # 1. Identity.
    start_demo(family)
    expect(
        family.get_by_text("Un code valable 10 minutes vous sera envoyé par SMS.")
    ).to_be_visible()
    shot(family, "1-identite")
    fill_identity(family)
    shot(family, "2-code")

    # 2. The code: a wrong one first, then a new code, and the newest one.
    field(family, "Code reçu par SMS").fill("000000")
    submit(family)
    expect(family.get_by_role("alert")).to_have_text("Le code est incorrect ou a expiré.")
    shot(family, "2-code-faux")
    # The page comes back unchanged (and says nothing): wait for that navigation to end.
    with family.expect_navigation():
        family.get_by_role("button", name="Renvoyer le code").click()
    codes = sms_codes(live_server)
    assert len(codes) == 2
    field(family, "Code reçu par SMS").fill(codes[-1])
    submit(family)

    # 3. One birth date per child (a repeated field); type=date inputs take ISO dates.
    expect_step(family, "Vos enfants", 3)
    shot(family, "3-enfants")
    field(family, "Date de naissance de Léa").fill("2011-03-14")
    field(family, "Date de naissance de Hugo").fill("2013-11-02")
    submit(family)

    # 4. The request: go back once (the dates are kept), then fill every kind of field.
    expect_step(family, "Votre demande", 4)
    expect(family.get_by_text("Le plafond de l’aide est de 500,00 €.")).to_be_visible()
    family.get_by_role("button", name="Étape précédente").click()
    expect_step(family, "Vos enfants", 3)
    expect(field(family, "Date de naissance de Léa")).to_have_value("2011-03-14")
    expect(field(family, "Date de naissance de Hugo")).to_have_value("2013-11-02")
    submit(family)
    expect_step(family, "Votre demande", 4)
    shot(family, "4-demande")

    proof = tmp_path / "avis-caf.pdf"
    proof.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    choose(family, "radio", "Frais de restauration")
    field(family, "Mode de versement souhaité").select_option(
        label="Déduction sur la prochaine facture"
    )
    choose(family, "checkbox", "Attestation CAF")
    field(family, "Montant demandé (en euros)").fill("120,50")
    field(family, "Nombre de personnes au foyer").fill("4")
    field(family, "Votre situation").fill("Deux enfants demi-pensionnaires, un seul salaire.")
    field(family, "Justificatif").set_input_files(proof)
    choose(family, "checkbox", re.compile("^J’atteste sur l’honneur"))
    shot(family, "4-demande-remplie")
    submit(family)

    # 5. A new password; a mismatched confirmation is refused next to the field.
    expect_step(family, "Votre mot de passe", 5)
    field(family, "Mot de passe").fill(NEW_PASSWORD)
    field(family, "Confirmez le mot de passe").fill(NEW_PASSWORD + "!")
    submit(family)
    summary = family.get_by_role("alert")
    expect(summary).to_contain_text("Le formulaire contient 1 erreur")
    # Each line of the summary leads to its field.
    summary.get_by_role("link", name=re.compile("Confirmez le mot de passe")).click()
    expect(field(family, "Confirmez le mot de passe")).to_be_focused()
    confirmation = field(family, "Confirmez le mot de passe")
    # The DSFR appends a hidden separator to each message, hence no `$`.
    expect(confirmation).to_have_accessible_description(
        re.compile("^Les deux mots de passe ne sont pas identiques.")
    )
    shot(family, "5-mot-de-passe-erreur")
    field(family, "Mot de passe").fill(NEW_PASSWORD)
    confirmation.fill(NEW_PASSWORD)
    submit(family)

    # 6. Confirmation with the password, then the case is with the school.
    expect_step(family, "Confirmation", 6)
    expect(family.get_by_text("votre demande de 120,50 € avec votre mot de passe")).to_be_visible()
    shot(family, "6-signature")
    field(family, "Mot de passe").fill(NEW_PASSWORD)
    submit(family)
    expect(heading(family)).to_have_text("Votre demande est envoyée")
    expect(family.get_by_role("heading", level=2)).to_contain_text(
        "entre les mains de l'établissement"
    )
    expect(family.get_by_role("button", name="Valider")).to_have_count(0)
    shot(family, "7-attente")

    # What the browser sent arrived as the engine wants it (cents, E.164, lists, the file).
    def saved() -> tuple[dict, bytes]:
        data = db.session.scalars(db.select(WorkflowInstance)).one().data
        upload = db.session.scalars(
            db.select(UploadedFile).filter_by(public_id=data["justificatif"]["file"])
        ).one()
        return data, upload.data

    data, upload = live_server.run(saved)
    assert [str(day) for day in data["naissances"]] == ["2011-03-14", "2013-11-02"]
    assert {k: data[k] for k in ("portable", "motif", "versement", "pieces")} == {
        "portable": MOBILE_E164,
        "motif": "cantine",
        "versement": "deduction",
        "pieces": ["caf"],
    }
    assert (data["montant"], data["personnes"], data["consentement"]) == (12050, 4, True)
    assert data["justificatif"]["name"] == "avis-caf.pdf"
    assert upload == proof.read_bytes()

    # The accountant, on a desktop, takes the task and grants 100 €.
    staff = new_page()
    staff.goto("/connexion")
    staff.get_by_label("Identifiant").fill("comptable@example.org")
    staff.get_by_label("Mot de passe").fill(PASSWORD)
    staff.get_by_role("main").get_by_role("button", name="Se connecter").click()
    staff.get_by_role("link", name="Demandes et tâches").click()
    expect(heading(staff)).to_have_text("Demandes et tâches")
    expect(staff.get_by_role("link", name="À prendre (1)")).to_be_visible()
    waiting = staff.get_by_role("table")
    waiting.get_by_role("link", name=re.compile("Instruction de la demande de Hélène")).click()
    expect(heading(staff)).to_have_text("Instruction de la demande de Hélène Robin")
    expect(staff.get_by_text("Demande de 120,50 € pour motif « cantine »")).to_be_visible()
    staff.get_by_role("button", name="Prendre la tâche").click()
    expect(staff.get_by_role("status")).to_have_text("Vous traitez cette tâche.")
    expect(staff.get_by_text("Traitée par Dominique Comptable.")).to_be_visible()
    shot(staff, "8-tache")
    choose(staff, "radio", "Accorder")
    field(staff, "Montant accordé").fill("100")
    submit(staff)
    expect(staff.get_by_role("status")).to_have_text("La tâche est traitée.")
    expect(staff.get_by_role("link", name="Les miennes (0)")).to_be_visible()
    expect(staff.get_by_text("Rien dans cette liste")).to_be_visible()

    # The family's page now shows the decision.
    family.reload()
    expect(heading(family)).to_have_text("Aide accordée")
    expect(family.get_by_text("Une aide de 100,00 € vous est accordée.")).to_be_visible()
    shot(family, "9-accordee")

    mails = live_server.run(
        lambda: [
            (m.to, m.subject)
            for m in db.session.scalars(
                db.select(OutboxMessage).filter_by(channel=Channel.EMAIL).order_by(OutboxMessage.id)
            )
        ]
    )
    assert mails == [
        ("famille.robin@example.org", "Votre demande d'aide a bien été reçue"),
        ("famille.robin@example.org", "Votre demande d'aide est acceptée"),
    ]
    assert console_errors == []


def _timer_comes_due(live_server) -> None:
    """Ten minutes pass: the code step's timer comes due and cron runs `flask workflows tick`."""

    def come_due() -> int:
        moved = db.session.execute(
            db.update(WorkflowTimer)
            .where(WorkflowTimer.fired_at.is_(None), WorkflowTimer.event == "expirer")
            .values(due_at=utcnow() - timedelta(seconds=1))
        ).rowcount
        db.session.commit()
        return moved

    assert live_server.run(come_due) == 1
    runner = live_server.app.test_cli_runner()
    result = live_server.run(runner.invoke, args=["workflows", "tick"])
    assert result.exit_code == 0, result.output
    assert result.output == "1 timer(s) fired.\n"


def test_code_expires_when_the_timer_fires(
    demo, live_server, new_page: Callable[..., Page]
) -> None:
    family = new_page(**PHONE)
    start_demo(family)
    fill_identity(family)
    [code] = sms_codes(live_server)

    _timer_comes_due(live_server)

    # The family comes back to the page later and types the code it received.
    family.reload()
    field(family, "Code reçu par SMS").fill(code)
    submit(family)
    expect(family.get_by_role("alert")).to_have_text("Le code est incorrect ou a expiré.")
    expect_step(family, "Code de vérification", 2)
    # A new code then works: the resend clears the expiry.
    with family.expect_navigation():
        family.get_by_role("button", name="Renvoyer le code").click()
    field(family, "Code reçu par SMS").fill(sms_codes(live_server)[-1])
    submit(family)
    expect_step(family, "Vos enfants", 3)


def test_code_typed_on_the_page_left_open_is_refused_as_expired(
    demo, live_server, new_page: Callable[..., Page]
) -> None:
    family = new_page(**PHONE)
    start_demo(family)
    fill_identity(family)
    [code] = sms_codes(live_server)

    _timer_comes_due(live_server)

    # The page stayed open while the SMS took its time; no reload.
    field(family, "Code reçu par SMS").fill(code)
    submit(family)
    expect(family.get_by_role("alert")).to_have_text(
        "Le code est incorrect ou a expiré.", timeout=2_000
    )
