"""Parent account activation and recovery end to end, in a real Chromium on a phone.

The school's sample SIECLE exports (demo/siecle) are imported as a secretariat would; Linh
NGUYEN, usage name LE GALL, mobile +33 6 39 98 01 02, legal guardian of Maël, Tristan and
Éloïse, then activates her account the way ÉduConnect does it (mobile + SMS code, children's
dates of birth), confirms her email address from the link she receives, and signs in and
out. The SMS codes, the identifiant and the confirmation link are read from the outbox.

Set E2E_SHOTS_DIR (e.g. /tmp/guichet-shots) to keep a screenshot of every page visited.
Run: `.venv/bin/pytest tests/e2e/test_activation.py -q` (see tests/e2e/conftest.py).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from extensions import db
from models import Account, Channel, Guardian, OutboxMessage, WorkflowInstance
from services import parents
from services.siecle_import import import_exports
from services.workflow_versions import sync_files

SIECLE = Path(__file__).resolve().parents[2] / "demo" / "siecle"
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}
SHOTS = os.environ.get("E2E_SHOTS_DIR")

# Linh as the school knows her (ResponsablesAvecAdresses.xml, PERSONNE_ID 880102), typed
# the way she would: her usage name in ordinary case, her mobile in the national format.
MOBILE_E164 = "+33639980102"
LINH = {"Nom": "Le Gall", "Prénom": "Linh", "Téléphone portable": "06 39 98 01 02"}
# Her three children in ElevesSansAdresses.xml (DATE_NAISS), as <input type=date> takes them.
BIRTH_DATES = {"Maël": "2014-03-02", "Tristan": "2013-01-08", "Éloïse": "2011-10-21"}
PASSWORD = "Hortensias-sous-la-pluie-36"
EMAIL = "linh.legall@example.net"


@pytest.fixture
def school(live_server, make_school) -> None:
    """The demo school, its sample exports imported and the procedures published."""
    make_school()  # UAI 0360009P, the exports' UAJ

    def setup() -> None:
        import_exports(
            (SIECLE / "ElevesSansAdresses.xml").read_bytes(),
            (SIECLE / "ResponsablesAvecAdresses.xml").read_bytes(),
        )
        sync_files()
        db.session.commit()

    live_server.run(setup)
    # The links in emails lead to the served app, as PUBLIC_URL does in production.
    live_server.app.config["PUBLIC_URL"] = live_server.url


# --- helpers ------------------------------------------------------------------------------------


def field(page: Page, label: str) -> Locator:
    """The input whose label starts with `label` ("Nom" must not find "Prénom")."""
    return page.get_by_label(re.compile(rf"^\s*{re.escape(label)}(?![\w’'])"))


def heading(page: Page) -> Locator:
    return page.get_by_role("heading", level=1)


def choose(page: Page, role: str, name: str | re.Pattern[str]) -> None:
    """Tick a radio button or checkbox by tapping its label (the DSFR draws the box on it)."""
    option = page.get_by_role(role, name=name)  # type: ignore[arg-type]
    page.locator(f"label[for='{option.get_attribute('id')}']").click()
    expect(option).to_be_checked()


def submit(page: Page) -> None:
    page.get_by_role("button", name="Valider").click()


def fill(page: Page, values: dict[str, str]) -> None:
    for label, value in values.items():
        field(page, label).fill(value)


def shot(page: Page, name: str) -> None:
    """Keep a full-page screenshot when E2E_SHOTS_DIR is set (for looking at the pages)."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/activation-{name}.png", full_page=True)


def outbox(live_server, channel: Channel, to: str) -> list[OutboxMessage]:
    """The messages sent to `to` on `channel`, oldest first (read once the page is shown)."""
    return live_server.run(
        lambda: db.session.scalars(
            db.select(OutboxMessage).filter_by(channel=channel, to=to).order_by(OutboxMessage.id)
        ).all()
    )


def last_sms_code(live_server) -> str:
    return re.search(r"\b(\d{6})\b", outbox(live_server, Channel.SMS, MOBILE_E164)[-1].body)[1]


def a_while_later(live_server) -> None:
    """Let the one-minute interval between security SMS to one number pass."""

    def move_back() -> None:
        for message in db.session.scalars(db.select(OutboxMessage)):
            message.created_at -= timedelta(minutes=2)
        db.session.commit()

    live_server.run(move_back)


def start(page: Page, link: str, title: str, shot_name: str | None = None) -> None:
    """From a link on the current page, through the procedure's presentation, to its first step."""
    page.get_by_role("link", name=link, exact=True).click()
    expect(heading(page)).to_have_text(title)
    if shot_name:
        shot(page, shot_name)
    page.get_by_role("button", name="Commencer").click()


def expect_step(page: Page, title: str) -> None:
    expect(heading(page)).to_contain_text(title)


def open_menu(page: Page) -> Locator:
    """On a phone the header's links live in the "Menu" dialog."""
    page.get_by_role("button", name="Menu").click()
    menu = page.locator("#menu-modal")
    expect(menu).to_be_visible()
    return menu


def sign_in(page: Page, identifiant: str, password: str) -> None:
    field(page, "Identifiant").fill(identifiant)
    field(page, "Mot de passe").fill(password)
    page.get_by_role("main").get_by_role("button", name="Se connecter").click()


def identify(page: Page, who: dict[str, str] = LINH) -> None:
    """The activation's first two steps: the profile, then name and mobile."""
    page.goto("/")
    start(page, "Je n'ai pas de compte", "Activer mon compte")
    expect_step(page, "Qui êtes-vous ?")
    choose(page, "radio", "Responsable légal")
    submit(page)
    expect_step(page, "Je n’ai pas de compte")
    fill(page, who)
    submit(page)


# --- tests --------------------------------------------------------------------------------------


def test_a_parent_activates_her_account_on_a_phone_and_signs_in(
    school, live_server, new_page: Callable[..., Page], console_errors
) -> None:
    parent = new_page(**PHONE)

    # 1. Home page → "Je n'ai pas de compte" → profile → name and mobile.
    parent.goto("/")
    shot(parent, "01-accueil")
    start(parent, "Je n'ai pas de compte", "Activer mon compte", "02-presentation")
    expect_step(parent, "Qui êtes-vous ?")
    shot(parent, "03-profil")
    choose(parent, "radio", "Responsable légal")
    submit(parent)
    expect_step(parent, "Je n’ai pas de compte")
    fill(parent, LINH)
    shot(parent, "04-identite")
    submit(parent)

    # 2. The SMS code (the number is shown masked).
    expect_step(parent, "Code de sécurité")
    expect(
        parent.get_by_text(re.compile(r"Un code vient d.être envoyé au 06 .*02"))
    ).to_be_visible()
    shot(parent, "05-code")
    [sms] = outbox(live_server, Channel.SMS, MOBILE_E164)
    assert "code de sécurité" in sms.body
    field(parent, "Code reçu par SMS").fill(last_sms_code(live_server))
    submit(parent)

    # 3. One date of birth per child, in the order the page asks for them.
    expect_step(parent, "Vos enfants")
    expect(parent.get_by_text("Bonjour Linh")).to_be_visible()
    shot(parent, "06-enfants")
    labels = parent.locator("label").filter(has_text="Date de naissance de")
    names = [re.search(r"Date de naissance de (\w+)", text)[1] for text in labels.all_inner_texts()]
    assert sorted(names) == sorted(BIRTH_DATES)
    for name in names:
        field(parent, f"Date de naissance de {name}").fill(BIRTH_DATES[name])
    submit(parent)

    # 4. A password: one holding her name is refused, in French, then a good one.
    expect_step(parent, "Votre mot de passe")
    intro = parent.get_by_text("Votre identifiant sera")
    identifiant = re.search(r"Votre identifiant sera : (\S+)", intro.inner_text())[1]
    assert identifiant == "l.legall"
    bad = "LeGall-2026-xyz!"
    fill(parent, {"Mot de passe": bad, "Confirmez le mot de passe": bad})
    submit(parent)
    refusal = "Ce mot de passe contient votre nom ou votre identifiant : choisissez-en un autre."
    expect(parent.get_by_role("alert")).to_contain_text(refusal)  # the error summary
    expect(field(parent, "Mot de passe")).to_have_accessible_description(re.compile(refusal))
    expect_step(parent, "Votre mot de passe")
    shot(parent, "07-mot-de-passe-refuse")
    fill(parent, {"Mot de passe": PASSWORD, "Confirmez le mot de passe": PASSWORD})
    submit(parent)

    # 5. The identifiant to note, read from the page.
    expect_step(parent, "Votre identifiant")
    expect(parent.get_by_text("Bien prendre note de votre identifiant")).to_be_visible()
    shown = re.search(
        r"Bien prendre note de votre identifiant : (\S+)",
        parent.get_by_role("main").inner_text(),
    )[1]
    assert shown == identifiant
    shot(parent, "08-identifiant")
    choose(parent, "checkbox", f"J’ai noté mon identifiant {identifiant}")
    submit(parent)

    # 6. The email address, then the link from the message.
    expect_step(parent, "Votre adresse électronique")
    field(parent, "Adresse électronique").fill(EMAIL)
    shot(parent, "09-courriel")
    submit(parent)
    expect_step(parent, "Confirmez votre adresse électronique")
    expect(parent.get_by_text(f"Un message vient d’être envoyé à {EMAIL}")).to_be_visible()
    shot(parent, "10-confirmez")
    [mail] = outbox(live_server, Channel.EMAIL, EMAIL)
    assert f"Votre identifiant est {identifiant}." in mail.body
    link = re.search(rf"{re.escape(live_server.url)}/compte/confirmer/\S+", mail.body)[0]
    parent.goto(link)
    expect(heading(parent)).to_have_text("Confirmer mon adresse électronique")
    expect(parent.get_by_text(EMAIL)).to_be_visible()
    shot(parent, "11-lien")
    parent.get_by_role("button", name="Confirmer mon adresse").click()

    # 7. Signed in with the identifiant: her three children.
    expect(heading(parent)).to_have_text("Connexion")
    expect(parent.get_by_role("status")).to_have_text(
        f"Votre adresse électronique est confirmée. "
        f"Connectez-vous avec votre identifiant : {identifiant}"
    )
    # The identifiant is already typed in for her.
    expect(field(parent, "Identifiant")).to_have_value(identifiant)
    shot(parent, "12-connexion")
    sign_in(parent, identifiant, PASSWORD)
    expect(heading(parent)).to_have_text("Mon compte")
    expect(parent.get_by_role("status")).to_have_text("Bienvenue, Linh LE GALL.")
    children_heading = parent.get_by_role("heading", name="Mes enfants")
    children = children_heading.locator("xpath=following-sibling::ul[1]").get_by_role("listitem")
    expect(children).to_have_count(3)
    for name in BIRTH_DATES:
        expect(children.filter(has_text=f"{name} LE GALL-NGUYEN")).to_have_count(1)
    expect(parent.get_by_text(f"Adresse confirmée : {EMAIL}")).to_be_visible()
    shot(parent, "13-mon-compte")

    # 8. Out through the phone menu, and in again.
    menu = open_menu(parent)
    shot(parent, "14-menu")
    menu.get_by_role("button", name="Se déconnecter").click()
    expect(parent.get_by_role("status")).to_have_text("Vous êtes déconnecté.")
    expect(heading(parent)).to_have_text("Bienvenue sur Guichet")
    open_menu(parent).get_by_role("link", name="Se connecter").click()
    sign_in(parent, identifiant, PASSWORD)
    expect(heading(parent)).to_have_text("Mon compte")
    expect(parent.get_by_text(f"Identifiant : {identifiant}")).to_be_visible()

    def saved() -> tuple[str | None, str]:
        account = db.session.scalars(db.select(Account).filter_by(identifiant=identifiant)).one()
        activation = db.session.scalars(db.select(WorkflowInstance).filter_by(key="activation"))
        return account.email, activation.one().step

    assert live_server.run(saved) == (EMAIL, "active")
    assert console_errors == []


def test_a_parent_gets_her_identifiant_by_sms_then_a_new_password(
    school, live_server, new_page: Callable[..., Page], console_errors
) -> None:
    def activated() -> None:
        linh = db.session.scalars(db.select(Guardian).filter_by(mobile=MOBILE_E164)).one()
        parents.create_parent_account([linh], "l.legall", PASSWORD)
        db.session.commit()

    live_server.run(activated)
    parent = new_page(**PHONE)

    # "Identifiant oublié", from the login page.
    parent.goto("/connexion")
    start(parent, "Identifiant oublié", "Identifiant oublié")
    expect_step(parent, "Identifiant oublié")
    fill(parent, LINH)
    shot(parent, "20-identifiant-oublie")
    submit(parent)
    expect(heading(parent)).to_have_text("Vérifiez vos SMS")
    sent = parent.get_by_text("votre identifiant vient de vous être envoyé par SMS")
    expect(sent).to_be_visible()
    shot(parent, "21-identifiant-envoye")
    [sms] = outbox(live_server, Channel.SMS, MOBILE_E164)
    identifiant = re.search(r"votre identifiant est (\S+)\.", sms.body)[1]
    assert identifiant == "l.legall"

    # "Mot de passe oublié" by SMS code, a little later.
    a_while_later(live_server)
    parent.goto("/connexion")
    start(parent, "Mot de passe oublié", "Mot de passe oublié")
    expect_step(parent, "Mot de passe oublié")
    field(parent, "Identifiant").fill(identifiant)
    choose(parent, "radio", "Un code par SMS sur mon portable")
    shot(parent, "22-mot-de-passe-oublie")
    submit(parent)
    expect_step(parent, "Code de sécurité")
    shot(parent, "23-code")
    assert len(outbox(live_server, Channel.SMS, MOBILE_E164)) == 2
    field(parent, "Code reçu par SMS").fill(last_sms_code(live_server))
    submit(parent)
    expect_step(parent, "Nouveau mot de passe")
    new = "Giboulees-de-mars-2026"
    fill(parent, {"Nouveau mot de passe": new, "Confirmez le mot de passe": new})
    shot(parent, "24-nouveau")
    submit(parent)
    expect(heading(parent)).to_have_text("Mot de passe changé")
    shot(parent, "25-change")

    # The old password no longer works; the new one does.
    parent.goto("/connexion")
    sign_in(parent, identifiant, PASSWORD)
    expect(parent.get_by_role("alert")).to_have_text("Identifiant ou mot de passe incorrect.")
    sign_in(parent, identifiant, new)
    expect(heading(parent)).to_have_text("Mon compte")
    assert console_errors == []


def test_a_wrong_mobile_leads_to_the_secretariat_without_any_sms(
    school, live_server, new_page: Callable[..., Page], console_errors
) -> None:
    parent = new_page(**PHONE)
    identify(parent, {**LINH, "Téléphone portable": "06 39 98 01 99"})

    expect_step(parent, "Nous n’avons pas pu vous identifier")
    expect(parent.get_by_text("le numéro de portable que vous avez donné")).to_be_visible()
    expect(field(parent, "Adresse électronique où vous répondre")).to_be_visible()
    expect(field(parent, "Précisions pour le secrétariat")).to_be_visible()
    shot(parent, "30-introuvable")
    assert outbox(live_server, Channel.SMS, "+33639980199") == []
    assert outbox(live_server, Channel.SMS, MOBILE_E164) == []
    assert console_errors == []
