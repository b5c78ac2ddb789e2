"""The home page and staff sign-in, sign-out, in a real Chromium.

Run: `.venv/bin/pytest tests/e2e -q` (see tests/e2e/conftest.py for the fixtures).
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from support import PASSWORD

DSFR_BLUE = "rgb(0, 0, 145)"  # --blue-france-sun-113-625, the DSFR's primary colour


def computed(page: Page, selector: str, prop: str, pseudo: str | None = None) -> str:
    """Return a computed CSS property of the first element matching selector."""
    return page.locator(selector).first.evaluate(
        "(el, [prop, pseudo]) => getComputedStyle(el, pseudo).getPropertyValue(prop)",
        [prop, pseudo],
    )


def test_home_page_is_styled_by_the_dsfr_without_csp_violations(
    page: Page, make_school, console_errors: list[str]
) -> None:
    make_school(name="Collège des Tilleuls")

    page.goto("/")

    expect(page).to_have_title("Accueil — Guichet · Collège des Tilleuls")
    expect(page.locator(".fr-header__service-title")).to_have_text("Guichet — Collège des Tilleuls")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bienvenue sur Guichet")
    # The stylesheets applied: DSFR font and colours, and the icon sheet's masks.
    sign_in = page.get_by_role("link", name="Se connecter")
    expect(sign_in).to_have_css("color", DSFR_BLUE)
    assert computed(page, "body", "font-family").startswith("Marianne")
    assert page.evaluate("document.fonts.ready.then(() => document.fonts.check('1rem Marianne'))")
    mask = computed(page, ".fr-icon-account-circle-line", "mask-image", "::before")
    assert "account-circle-line" in mask
    # The DSFR's module script ran under the CSP.
    expect(page.locator("html")).to_have_attribute("data-fr-js", "true")
    assert [e for e in console_errors if "CSP violation" in e or "Content Security" in e] == []


def test_pages_log_no_console_errors(page: Page, make_staff, console_errors: list[str]) -> None:
    make_staff()
    for path in ("/", "/connexion"):
        page.goto(path)
        page.wait_for_load_state("load")
    assert console_errors == []


def test_staff_member_signs_in_and_out(page: Page, make_school, make_staff) -> None:
    school = make_school(uai="0360009P", name="Collège des Tilleuls")
    make_staff(email="comptable@example.org", name="Dominique Comptable", schools=[school])

    page.goto("/")
    page.get_by_role("link", name="Se connecter").click()
    expect(page).to_have_url(re.compile(r"/connexion$"))
    page.get_by_label("Identifiant").fill("comptable@example.org")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Se connecter").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Espace du personnel")
    expect(page).to_have_url(re.compile(r"/espace/$"))
    expect(page.get_by_text("Bienvenue, Dominique Comptable.")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Collège des Tilleuls")
    expect(row).to_contain_text("0360009P")
    expect(row).to_contain_text("Agent comptable")

    page.get_by_role("banner").get_by_role("button", name="Se déconnecter").click()

    expect(page.get_by_role("status")).to_have_text("Vous êtes déconnecté.")
    expect(page.get_by_role("banner").get_by_role("link", name="Se connecter")).to_be_visible()
    page.goto("/espace/")
    expect(page).to_have_url(re.compile(r"/connexion\?next="))


def test_wrong_password_is_refused_on_the_login_page(page: Page, make_staff) -> None:
    make_staff(email="comptable@example.org")

    page.goto("/connexion")
    page.get_by_label("Identifiant").fill("comptable@example.org")
    page.get_by_label("Mot de passe").fill("not-the-password")
    page.get_by_role("main").get_by_role("button", name="Se connecter").click()

    expect(page.get_by_role("alert")).to_have_text("Identifiant ou mot de passe incorrect.")
    expect(page).to_have_url(re.compile(r"/connexion$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")
    expect(page.get_by_label("Identifiant")).to_have_value("comptable@example.org")
    expect(page.get_by_label("Mot de passe")).to_have_value("")


def test_phone_visitor_reaches_the_header_links_through_the_menu(new_page, make_school) -> None:
    make_school()
    phone = new_page(viewport={"width": 375, "height": 800})
    phone.goto("/")
    header_link = phone.locator(".fr-header__tools-links").get_by_role("link", name="Se connecter")
    expect(header_link).to_be_hidden()
    phone.get_by_role("button", name="Menu").click()
    menu = phone.locator("#menu-modal")
    menu.get_by_role("link", name="Se connecter").click()
    expect(phone).to_have_url(re.compile(r"/connexion$"))
