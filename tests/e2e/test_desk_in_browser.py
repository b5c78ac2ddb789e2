"""The assistance desk in a real Chromium: a parent writes from "Contacter l'assistance"
with a receipt; the accountant finds the request in her inbox, takes it, notes something
for her colleagues and answers; the answer reaches the family through a real SMTP server,
threaded, with the request's reference in the subject.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from support import PASSWORD

from extensions import db
from models import HelpRequest, Invoice, RequestStatus, Role
from models.base import utcnow
from services import parents
from services.workflow_versions import sync_files

LINH_EMAIL = "linh.nguyen@example.org"


@pytest.fixture
def live_server(make_live_server, smtp_server):
    """The app delivering its email through a real SMTP server on loopback."""
    return make_live_server(
        MAIL_BACKEND="smtp", MAIL_SERVER=smtp_server.host, MAIL_PORT=smtp_server.port
    )


@pytest.fixture
def school(live_server, make_school, make_pupil, make_guardian, make_staff):
    school = make_school()
    school.accountant_email = "agent-comptable@example.org"
    mael = make_pupil(school, "2415301", "LE GALL-NGUYEN", "Maël", "6A")
    linh = make_guardian(school, "880102", "NGUYEN", "Linh", (mael, True), usage_name="LE GALL")
    account = parents.create_parent_account([linh], "l.legall", PASSWORD)
    account.email, account.email_confirmed_at = LINH_EMAIL, utcnow()
    db.session.flush()
    db.session.add(
        Invoice(
            school_id=school.id, number="F-001", pupil_id=mael.id, label="Demi-pension",
            amount_cents=10000, issued_on=utcnow().date() - timedelta(days=10),
            due_on=utcnow().date() + timedelta(days=20), payable_online=True,
        )
    )  # fmt: skip
    accountant = make_staff(email="comptable@example.org", role=Role.ACCOUNTANT, schools=[school])
    accountant.name = "Alice Martin"
    sync_files()
    db.session.commit()
    return school


def sign_in(page: Page, login: str) -> None:
    page.goto("/connexion")
    page.get_by_label("Identifiant").fill(login)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Se connecter").click()


def test_a_parent_writes_and_the_accountant_answers(
    school, new_page: Callable[..., Page], live_server, smtp_server, console_errors, tmp_path: Path
):
    # The parent, on her phone.
    parent = new_page(viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True)
    sign_in(parent, "l.legall")
    expect(parent.get_by_role("heading", level=1)).to_have_text("Mon compte")
    parent.get_by_role("link", name="Contacter l’assistance").click()
    expect(parent.get_by_role("heading", level=1)).to_have_text("Contacter l’assistance")
    parent.get_by_text("Un paiement (carte refusée").click()  # DSFR draws the radio on the label
    parent.get_by_label("Facture concernée").select_option(label="F-001 — Demi-pension (Maël)")
    parent.get_by_label("Votre message").fill(
        "Bonjour, ma carte a été débitée deux fois pour la cantine de Maël."
    )
    receipt = tmp_path / "releve.pdf"
    receipt.write_bytes(b"%PDF-1.4 releve de compte")
    parent.get_by_label("Pièce jointe").set_input_files(str(receipt))
    parent.get_by_role("button", name="Envoyer ma demande").click()
    expect(parent.get_by_role("heading", level=1)).to_have_text("Demande envoyée")
    reference = re.search(r"DEM-\d{4}-\d{6}", parent.get_by_role("main").inner_text())[0]
    [ack] = smtp_server.messages
    assert ack["To"] == LINH_EMAIL and reference in ack["Subject"]
    assert ack["Auto-Submitted"] == "auto-replied"

    # The accountant, at her desk.
    desk = new_page()
    sign_in(desk, "comptable@example.org")
    desk.get_by_role("link", name="Demandes et tâches").first.click()
    expect(desk.get_by_role("link", name="À prendre (1)")).to_be_visible()
    desk.get_by_role("link", name=reference).click()
    expect(desk.get_by_role("heading", level=1)).to_contain_text("Un paiement")
    expect(desk.locator("#enfants")).to_contain_text("Maël LE GALL-NGUYEN (6A)")
    expect(desk.get_by_role("link", name="releve.pdf")).to_be_visible()
    desk.get_by_role("button", name="Prendre la demande").click()
    expect(desk.get_by_text("Vous traitez cette demande.")).to_be_visible()

    desk.get_by_label("Note interne (visible des collègues seulement)").fill(
        "Vérifier le relevé PayFiP du 3 novembre."
    )
    desk.get_by_role("button", name="Ajouter la note").click()
    expect(desk.get_by_text("Note ajoutée.")).to_be_visible()

    desk.get_by_label("Réponse à la famille").fill(
        "Bonjour,\n\nLe second débit vous sera remboursé sous huit jours.\n\nAlice Martin"
    )
    desk.get_by_role("button", name="Envoyer et attendre la famille").click()
    expect(desk.get_by_text(f"Réponse envoyée à {LINH_EMAIL}.")).to_be_visible()
    expect(desk.locator("#statut")).to_have_text("En attente de la famille")
    expect(desk.locator(".guichet-message-reply")).to_contain_text("remboursé sous huit jours")

    answer = smtp_server.messages[-1]
    assert answer["To"] == LINH_EMAIL and f"[{reference}]" in answer["Subject"]
    assert answer["In-Reply-To"] == ack["Message-ID"]
    assert answer["Reply-To"] == "agent-comptable@example.org"
    body = answer.get_body(("plain",)).get_content()
    assert "remboursé sous huit jours" in body and "Vérifier le relevé" not in body  # no note
    request = live_server.run(
        lambda: db.session.scalars(db.select(HelpRequest).filter_by(reference=reference)).one()
    )
    assert request.status is RequestStatus.WAITING
    assert console_errors == []
