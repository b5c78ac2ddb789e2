"""Paying an invoice online in a real Chromium: a parent on her phone pays part of an
invoice through the embedded test bank, gets her ticket on screen, as a PDF and by email,
then pays the rest; a refused card and an abandoned payment take nothing; another family
is shown "Accès refusé" on her payment's page.

The live server runs jobs inline (no Redis in the testing settings): the test bank's
notification is handled right after the bank page's commit, so the parent comes back to
the final answer. PUBLIC_URL is the live server's own address, so the bank's links lead
back to it, as they do in production.

Set E2E_SHOTS_DIR (e.g. /tmp/guichet-shots) to keep a screenshot of every page visited.
Run: `.venv/bin/pytest tests/e2e/test_payment_in_browser.py -q` (see tests/e2e/conftest.py).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from support import PASSWORD

from extensions import db
from models import Channel, Invoice, OutboxMessage, Payment, PaymentStatus
from models.base import utcnow
from services import parents
from services.payments.gateway import PARIS
from services.workflow_versions import sync_files

PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}
SHOTS = os.environ.get("E2E_SHOTS_DIR")

ACCEPTED = "4970 1000 0000 0014"
REFUSED = "4970 1000 0000 0022"
LINH_EMAIL = "linh.nguyen@example.org"
LABEL = "Demi-pension septembre-décembre"


def today() -> date:
    return utcnow().astimezone(PARIS).date()


@pytest.fixture
def family(live_server, make_school, make_pupil, make_guardian) -> dict[str, str]:
    """The Le Gall family (Linh, confirmed email; Maël's invoices) and the Benali family.

    Returns the invoice numbers: "payable" (100,00 €, due in 20 days), "overdue", "debit"
    (paid by direct debit) and "benali" (another family's).
    """
    school = make_school(address="1 rue des Écoles, 36000 Châteauroux")
    mael = make_pupil(school, "2415301", "LE GALL-NGUYEN", "Maël", "6A")
    ines = make_pupil(school, "2415304", "BENALI", "Inès", "6B")
    linh = make_guardian(school, "880102", "NGUYEN", "Linh", (mael, True), usage_name="LE GALL")
    karim = make_guardian(school, "880120", "BENALI", "Karim", (ines, True))
    for guardian, identifiant, email in (
        (linh, "l.legall", LINH_EMAIL),
        (karim, "k.benali", "karim.benali@example.org"),
    ):
        account = parents.create_parent_account([guardian], identifiant, PASSWORD)
        account.email = email
        account.email_confirmed_at = utcnow()
    db.session.flush()

    def invoice(pupil, number: str, cents: int, due_in: int = 20, online: bool = True) -> None:
        db.session.add(
            Invoice(
                school_id=school.id,
                number=number,
                pupil_id=pupil.id,
                label=LABEL,
                amount_cents=cents,
                issued_on=today() - timedelta(days=10),
                due_on=today() + timedelta(days=due_in),
                payable_online=online,
            )
        )

    invoice(mael, "F-001", 10000)
    invoice(mael, "F-002", 9600, due_in=-30)
    invoice(mael, "F-003", 15000, online=False)
    invoice(ines, "F-004", 18720)
    sync_files()
    db.session.commit()
    # The bank's page and its return link are built on PUBLIC_URL: the served app itself.
    live_server.app.config["PUBLIC_URL"] = live_server.url
    return {"payable": "F-001", "overdue": "F-002", "debit": "F-003", "benali": "F-004"}


# --- helpers ------------------------------------------------------------------------------------


def shot(page: Page, name: str) -> None:
    """Keep a full-page screenshot when E2E_SHOTS_DIR is set (for looking at the pages)."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/paiement-{name}.png", full_page=True)


def heading(page: Page) -> Locator:
    return page.get_by_role("heading", level=1)


def sign_in_to_invoices(page: Page, identifiant: str) -> None:
    """Sign in, then open "Paiement des factures" from "Mon compte"."""
    page.goto("/connexion")
    page.get_by_label("Identifiant").fill(identifiant)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Se connecter").click()
    expect(heading(page)).to_have_text("Mon compte")
    shot(page, f"00-mon-compte-{identifiant}")
    page.get_by_role("main").get_by_role("link", name="Paiement des factures").click()
    expect(heading(page)).to_have_text("Paiement des factures")
    expect(page).to_have_url(re.compile(r"/factures$"))


def invoice_card(page: Page, number: str) -> Locator:
    return page.locator(".guichet-invoice").filter(has_text=f"Facture {number} —")


def assert_label_shown(locator: Locator) -> None:
    """The button's text is on screen, not cut down to its icon (DSFR icon buttons)."""
    expect(locator).to_be_visible()
    assert locator.evaluate("el => el.scrollWidth <= el.clientWidth + 1"), locator


def pay_button(page: Page, number: str) -> Locator:
    return page.get_by_role("button", name=f"Payer la facture {number}")


def open_bank(page: Page, number: str, amount: str, shots: str | None = None) -> None:
    """From the invoices page: PAYER, the amount, the summary, then the test bank's page."""
    pay_button(page, number).click()
    expect(heading(page)).to_contain_text(f"Facture {number} — {LABEL}")
    amount_field = page.get_by_label("Montant à payer (en euros)")
    expect(amount_field).to_be_visible()
    if shots:
        shot(page, f"{shots}-montant")
    amount_field.fill(amount)
    page.get_by_role("button", name="Valider").click()

    expect(heading(page)).to_contain_text("Vérifiez votre paiement")
    expect(page.get_by_role("main")).to_contain_text(
        f"Vous allez payer {amount} € pour la facture {number}"
    )
    if shots:
        shot(page, f"{shots}-recapitulatif")
    page.get_by_role("button", name=f"Payer {amount} € par carte bancaire").click()

    # The test bank's page, clearly marked as one, for that amount.
    expect(page).to_have_url(re.compile(r"/banque-test/[0-9a-f]+$"))
    expect(heading(page)).to_have_text("Paiement sécurisé")
    expect(page).to_have_title(re.compile(r"^Banque de test"))
    notice = page.locator(".guichet-test-bank")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Banque de test : aucun argent réel n'est débité.")
    expect(page.get_by_role("main")).to_contain_text(f"Montant : {amount} €")
    if shots:
        shot(page, f"{shots}-banque")


def pay_at_bank(page: Page, card: str, amount: str) -> None:
    page.get_by_label("Numéro de carte").fill(card)
    page.get_by_role("button", name=f"Payer {amount} €").click()


def outbox_emails(live_server, to: str) -> list[OutboxMessage]:
    """The emails sent to `to`, oldest first, with their attachments loaded."""

    def read() -> list[OutboxMessage]:
        query = db.select(OutboxMessage).filter_by(channel=Channel.EMAIL, to=to)
        messages = list(db.session.scalars(query.order_by(OutboxMessage.id)))
        for message in messages:
            for attachment in message.attachments:
                _ = attachment.data
        return messages

    return live_server.run(read)


def statuses(live_server) -> list[PaymentStatus]:
    return live_server.run(
        lambda: [p.status for p in db.session.scalars(db.select(Payment).order_by(Payment.id))]
    )


# --- tests --------------------------------------------------------------------------------------


def test_a_parent_pays_part_of_an_invoice_on_her_phone_then_the_rest(
    family, live_server, new_page: Callable[..., Page], console_errors
) -> None:
    parent = new_page(**PHONE, accept_downloads=True)

    # 1. Her invoices: PAYER on the one within its due date only.
    sign_in_to_invoices(parent, "l.legall")
    expect(parent.get_by_role("button", name="PAYER")).to_have_count(1)
    payable = invoice_card(parent, family["payable"])
    expect(payable).to_contain_text("Maël LE GALL-NGUYEN")
    expect(payable).to_contain_text("100,00 €")
    expect(pay_button(parent, family["payable"])).to_be_visible()
    expect(invoice_card(parent, family["overdue"])).to_contain_text("Échue")
    expect(invoice_card(parent, family["benali"])).to_have_count(0)
    # On a phone nothing runs off the side of the screen, and each card reads from the top:
    # the invoice's title, then its amounts, then PAYER.
    assert parent.evaluate("document.documentElement.scrollWidth") <= 375
    title = payable.get_by_role("heading", name=f"Facture {family['payable']}")
    amounts = payable.locator("dl")
    button = pay_button(parent, family["payable"])
    tops = [locator.bounding_box()["y"] for locator in (title, amounts, button)]
    assert tops == sorted(tops), tops
    shot(parent, "01-factures")

    # 2. 40,00 € of the 100,00 €, paid with the accepted test card.
    open_bank(parent, family["payable"], "40,00", shots="02")
    assert parent.evaluate("document.documentElement.scrollWidth") <= 375
    pay_at_bank(parent, ACCEPTED, "40,00")

    expect(heading(parent)).to_have_text("Paiement accepté")
    result = parent.get_by_role("main")
    year = today().year
    expect(result).to_contain_text(f"Ticket de paiement n° {year}-000001")
    expect(result).to_contain_text("Votre paiement de 40,00 € pour la facture F-001 est accepté.")
    expect(result).to_contain_text("Reste à payer sur cette facture : 60,00 €")
    shot(parent, "03-accepte")

    # 3. The ticket on screen, and as a PDF.
    parent.get_by_role("link", name="Voir le ticket").click()
    expect(heading(parent)).to_have_text(f"Ticket de paiement n° {year}-000001")
    expect(parent).to_have_url(re.compile(r"/paiements/[^/]+$"))
    ticket = parent.locator(".guichet-ticket")
    expect(ticket).to_contain_text("40,00 €")
    expect(ticket).to_contain_text("Maël")
    expect(ticket).to_contain_text("Collège des Tilleuls")
    shot(parent, "04-ticket")
    download_link = parent.get_by_role("link", name="Télécharger le ticket (PDF)")
    assert_label_shown(download_link)
    with parent.expect_download() as info:
        download_link.click()
    download = info.value
    assert download.suggested_filename == f"ticket-{year}-000001.pdf"
    assert Path(download.path()).read_bytes().startswith(b"%PDF")

    # 4. The ticket by email, with the PDF attached (and listed on the outbox page).
    [mail] = outbox_emails(live_server, LINH_EMAIL)
    assert mail.subject.startswith(f"Ticket de paiement n° {year}-000001")
    assert "40,00" in mail.body
    [attachment] = mail.attachments
    assert attachment.content_type == "application/pdf"
    assert attachment.filename == f"ticket-{year}-000001.pdf"
    assert attachment.data.startswith(b"%PDF")
    developer = new_page()
    developer.goto("/dev/outbox")
    card = developer.locator(".fr-card").filter(has_text=f"Courriel à {LINH_EMAIL}")
    expect(card).to_have_count(1)
    expect(card).to_contain_text(f"Ticket de paiement n° {year}-000001")
    expect(card).to_contain_text(f"pièces jointes : ticket-{year}-000001.pdf")

    # 5. The invoice is partly paid; she pays the rest.
    parent.goto("/factures")
    payable = invoice_card(parent, family["payable"])
    expect(payable).to_contain_text("Partiellement payée")
    expect(payable.locator("dd").nth(1)).to_have_text("40,00 €")  # déjà payé
    expect(payable.locator("dd").nth(2)).to_have_text("60,00 €")  # reste à payer
    shot(parent, "05-partiellement-payee")
    open_bank(parent, family["payable"], "60,00")
    pay_at_bank(parent, ACCEPTED, "60,00")
    expect(heading(parent)).to_have_text("Paiement accepté")
    expect(parent.get_by_role("main")).to_contain_text(f"Ticket de paiement n° {year}-000002")
    expect(parent.get_by_role("main")).to_contain_text("Reste à payer sur cette facture : 0,00 €")
    parent.get_by_role("link", name="Retour à mes factures").click()

    expect(heading(parent)).to_have_text("Paiement des factures")
    payable = invoice_card(parent, family["payable"])
    expect(payable.locator(".fr-badge")).to_have_text("Payée")
    expect(pay_button(parent, family["payable"])).to_have_count(0)
    expect(parent.get_by_role("button", name="PAYER")).to_have_count(0)
    shot(parent, "06-payee")

    # 6. "Mes paiements" lists both, newest first, each with its ticket.
    parent.get_by_role("link", name="Voir mes paiements").click()
    expect(heading(parent)).to_have_text("Mes paiements")
    rows = parent.get_by_role("main").locator("tbody tr")
    expect(rows).to_have_count(2)
    for row, amount, number in ((rows.nth(0), "60,00", 2), (rows.nth(1), "40,00", 1)):
        expect(row).to_contain_text(f"{amount} €")
        expect(row).to_contain_text("Payé")
        expect(row).to_contain_text(f"n° {year}-{number:06d}")
    shot(parent, "07-mes-paiements")

    assert len(outbox_emails(live_server, LINH_EMAIL)) == 2
    assert statuses(live_server) == [PaymentStatus.PAID, PaymentStatus.PAID]
    assert console_errors == []


def test_a_refused_card_takes_nothing_and_payer_stays(
    family, live_server, new_page: Callable[..., Page], console_errors
) -> None:
    parent = new_page(**PHONE)
    sign_in_to_invoices(parent, "l.legall")
    open_bank(parent, family["payable"], "100,00")
    pay_at_bank(parent, REFUSED, "100,00")

    expect(heading(parent)).to_have_text("Paiement refusé")
    expect(parent.get_by_role("main")).to_contain_text("aucune somme n’a été prélevée")
    shot(parent, "10-refuse")
    parent.get_by_role("link", name="Retour à mes factures").click()
    expect(heading(parent)).to_have_text("Paiement des factures")
    expect(pay_button(parent, family["payable"])).to_be_visible()
    expect(invoice_card(parent, family["payable"]).locator("dd").nth(2)).to_have_text("100,00 €")

    assert statuses(live_server) == [PaymentStatus.REFUSED]
    assert outbox_emails(live_server, LINH_EMAIL) == []
    assert console_errors == []


def test_abandoning_at_the_bank_leaves_the_invoice_to_pay(
    family, live_server, new_page: Callable[..., Page], console_errors
) -> None:
    parent = new_page(**PHONE)
    sign_in_to_invoices(parent, "l.legall")
    open_bank(parent, family["payable"], "100,00")
    parent.get_by_role("button", name="Abandonner le paiement").click()

    expect(heading(parent)).to_have_text("Paiement non effectué")
    expect(parent.get_by_role("main")).to_contain_text("aucune somme n’a été prélevée")
    shot(parent, "20-abandonne")
    parent.get_by_role("link", name="Retour à mes factures").click()
    expect(pay_button(parent, family["payable"])).to_be_visible()

    # The whole balance may be paid again at once.
    open_bank(parent, family["payable"], "100,00")
    pay_at_bank(parent, ACCEPTED, "100,00")
    expect(heading(parent)).to_have_text("Paiement accepté")

    assert statuses(live_server) == [PaymentStatus.ABANDONED, PaymentStatus.PAID]
    assert console_errors == []


def test_another_family_is_refused_the_payment_page(
    family, live_server, new_page: Callable[..., Page], console_errors
) -> None:
    linh = new_page(**PHONE)
    sign_in_to_invoices(linh, "l.legall")
    open_bank(linh, family["payable"], "25,50")
    pay_at_bank(linh, ACCEPTED, "25,50")
    expect(heading(linh)).to_have_text("Paiement accepté")
    linh.get_by_role("link", name="Voir le ticket").click()
    expect(heading(linh)).to_contain_text("Ticket de paiement n°")
    ticket_url = linh.url
    assert console_errors == []

    karim = new_page(**PHONE)
    sign_in_to_invoices(karim, "k.benali")
    expect(pay_button(karim, family["benali"])).to_be_visible()
    expect(invoice_card(karim, family["payable"])).to_have_count(0)

    answer = karim.goto(ticket_url)
    assert answer is not None and answer.status == 403
    expect(heading(karim)).to_have_text("Accès refusé")
    expect(karim.get_by_role("main")).to_contain_text("Vous n'avez pas accès à cette page.")
    expect(karim.get_by_role("main")).not_to_contain_text("25,50")
    shot(karim, "30-acces-refuse")
    pdf = karim.request.get(f"{ticket_url}/ticket.pdf")
    assert pdf.status == 403
    assert not pdf.body().startswith(b"%PDF")

    karim.goto("/paiements")
    expect(heading(karim)).to_have_text("Mes paiements")
    expect(karim.get_by_role("main")).to_contain_text("Aucun paiement depuis douze mois.")

    # Chromium reports the 403 document itself as a failed resource; nothing else.
    others = [e for e in console_errors if "status of 403" not in e]
    assert others == []
