"""Administrators: guardian search, activation statistics, account resets, activation letters."""

from __future__ import annotations

import functools
import re
import zlib
from datetime import date, timedelta

import pytest
from support import PASSWORD, csrf_token, login

from extensions import db
from models import Account, AuditEvent, Guardian, Role
from models.base import utcnow
from services import admin_accounts
from services.letters import build_letters, latin1
from services.passwords import hash_password, policy_problems

TEMPORARY = re.compile(r"\b[A-Za-z2-9]{4}(?:-[A-Za-z2-9]{4}){3}\b")


@functools.cache
def _password_hash() -> str:
    return hash_password(PASSWORD)  # argon2 is slow on purpose: hash once per run


def _account(identifiant, name, confirmed=True) -> Account:
    return Account(
        identifiant=identifiant,
        name=name,
        password_hash=_password_hash(),
        email=f"{identifiant}@example.org" if confirmed else None,
        email_confirmed_at=utcnow() if confirmed else None,
    )


@pytest.fixture
def schools(app, make_school, make_staff, make_pupil, make_guardian):
    """Two schools, each with families; an administrator and an accountant of the first."""
    tilleuls = make_school()
    parc = make_school(uai="0690026D", name="Lycée du Parc")
    capucine = make_pupil(tilleuls, "1", "ROBIN", "Capucine", "5B")
    gaspard = make_pupil(tilleuls, "2", "ROBIN", "Gaspard", "3 A")
    lea = make_pupil(tilleuls, "3", "LE GALL", "Léa", "5B")
    noe = make_pupil(tilleuls, "4", "DUPRÉ", "Noé", "5B")
    ines = make_pupil(tilleuls, "5", "SAID", "Inès")  # no class yet
    hugo = make_pupil(
        tilleuls, "6", "MARTIN", "Hugo", "4C", left_on=date.today() - timedelta(days=30)
    )
    louis = make_pupil(parc, "1", "ROBIN", "Louis", "2NDE1")
    db.session.add_all([capucine, gaspard, lea, noe, ines, hugo, louis])
    helene = make_guardian(
        tilleuls,
        "880110",
        "ROBIN",
        "Hélène",
        (capucine, True),
        (gaspard, True),
        mobile="+33639980110",
        account=_account("h.robin", "Hélène ROBIN"),
    )
    make_guardian(tilleuls, "880111", "ROBIN", "François", (capucine, True), (gaspard, True))
    make_guardian(
        tilleuls,
        "880112",
        "LE GALL",
        "Zoé",
        (lea, True),
        civility="MME",
        email="zoe.legall@example.org",
    )
    make_guardian(
        tilleuls,
        "880113",
        "DUPRÉ",
        "Maëlle",
        (noe, True),
        mobile="+33639980113",
        account=_account("m.dupre", "Maëlle DUPRÉ", confirmed=False),
    )
    make_guardian(tilleuls, "880114", "MARTIN", "Julien", (hugo, True))  # his child left
    make_guardian(tilleuls, "880115", "HADDAD", "Farida", (capucine, False))  # a contact only
    other = make_guardian(
        parc,
        "990110",
        "ROBIN",
        "Hélène",
        (louis, True),
        account=_account("h.robin2", "Hélène ROBIN"),
    )
    make_guardian(parc, "990111", "ROBIN", "Marc", (louis, True))  # no mobile, no account
    db.session.commit()
    admin = make_staff(email="admin@example.org", role=Role.ADMIN, schools=[tilleuls])
    make_staff(email="comptable@example.org", role=Role.ACCOUNTANT, schools=[tilleuls])
    return {"tilleuls": tilleuls, "parc": parc, "admin": admin, "helene": helene, "other": other}


@pytest.fixture
def admin_client(app, schools):
    client = app.test_client()
    assert login(client, "admin@example.org").status_code == 302
    return client


def _guardian_named(first: str, school) -> Guardian:
    return db.session.scalars(
        db.select(Guardian).filter_by(first_name=first, school_id=school.id)
    ).one()


def _post(client, url: str, data: dict, form_url: str = "/espace/admin/lettres"):
    return client.post(url, data={"csrf_token": csrf_token(client, form_url), **data})


def pdf_text(data: bytes) -> str:
    """Return the text drawing operators of a PDF, its streams inflated."""
    chunks = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            chunks.append(zlib.decompress(stream))
        except zlib.error:
            chunks.append(stream)
    text = b"\n".join(chunks).decode("latin-1")  # the core fonts' encoding
    return text.replace("\\(", "(").replace("\\)", ")")


# -- search --------------------------------------------------------------------------------


def test_search_ignores_case_and_accents(admin_client, schools):
    page = admin_client.get("/espace/admin/responsables?q=ZOE le-gall").get_data(as_text=True)
    assert "Zoé LE GALL" in page and "Léa LE GALL (5B)" in page
    assert "Aucun compte" in page and "Lettre d’activation" in page
    assert "zoe.legall@example.org" in page

    page = admin_client.get("/espace/admin/responsables?q=maelle dupre").get_data(as_text=True)
    assert "Maëlle DUPRÉ" in page and "06 39 98 01 13" in page
    assert "En attente de confirmation du courriel" in page and "Réinitialiser" in page


def test_search_finds_identifiants_and_shows_states(admin_client, schools):
    helene = schools["helene"].account
    helene.locked_until = utcnow() + timedelta(minutes=10)
    db.session.commit()
    page = admin_client.get("/espace/admin/responsables?q=h.robin").get_data(as_text=True)
    assert "Hélène ROBIN" in page and "Bloqué" in page
    assert "François" not in page  # the identifiant matched, not the family name


def test_another_schools_guardians_are_invisible(admin_client, schools):
    page = admin_client.get("/espace/admin/responsables?q=robin").get_data(as_text=True)
    assert "Hélène ROBIN" in page and "François ROBIN" in page
    assert "990110" not in page and "Marc" not in page and "h.robin2" not in page
    assert "2 responsables trouvés" in page
    letters = admin_client.get("/espace/admin/lettres").get_data(as_text=True)
    assert "Zoé LE GALL" in letters and "Marc" not in letters


def test_another_schools_accounts_cannot_be_reset_nor_given_letters(admin_client, schools):
    other = schools["other"].account
    url = f"/espace/admin/comptes/{other.id}/reinitialiser"
    assert admin_client.get(url).status_code == 404
    own = f"/espace/admin/comptes/{schools['helene'].account.id}/reinitialiser"
    assert _post(admin_client, url, {}, form_url=own).status_code == 404
    marc = _guardian_named("Marc", schools["parc"])
    response = _post(admin_client, "/espace/admin/lettres", {"guardian_ids": marc.id})
    assert response.status_code == 404
    db.session.expire_all()
    assert other.password_hash and marc.account_id is None


# -- statistics ----------------------------------------------------------------------------


def test_activation_statistics_per_class(admin_client, schools):
    [stats] = admin_accounts.activation_stats(schools["admin"])
    rows = {c.class_code: (c.pupils, c.activated) for c in stats.classes}
    # Hugo left; Noé's guardian has not confirmed an email; Léa's has no account.
    assert rows == {"3 A": (1, 1), "5B": (3, 1), None: (1, 0)}
    assert [c.class_code for c in stats.classes] == ["3 A", "5B", None]
    assert (stats.total.pupils, stats.total.activated) == (5, 2)

    page = admin_client.get("/espace/admin/statistiques").get_data(as_text=True)
    squeezed = re.sub(r">\s+<", "><", page)
    assert '<th scope="row">5B</th><td>3</td><td>1</td><td>33 %</td>' in squeezed
    assert '<th scope="row">Sans classe</th><td>1</td><td>0</td><td>0 %</td>' in squeezed
    assert '<th scope="row">Total</th><td>5</td><td>2</td><td>40 %</td>' in squeezed
    assert "Lycée du Parc" not in page


# -- reset ---------------------------------------------------------------------------------


def test_reset_forces_the_forgotten_password_procedure(admin_client, schools, app):
    account = schools["helene"].account
    account.locked_until = utcnow() + timedelta(minutes=10)
    account.failed_logins = 3
    db.session.commit()
    url = f"/espace/admin/comptes/{account.id}/reinitialiser"
    page = admin_client.get(url).get_data(as_text=True)
    assert "Mot de passe oublié" in page and "Capucine ROBIN (5B)" in page

    response = _post(admin_client, url, {}, form_url=url)
    assert response.status_code == 302
    assert "Mot de passe oublié" in admin_client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    db.session.expire_all()
    assert account.password_hash is None and account.locked_until is None
    assert account.failed_logins == 0 and account.is_enabled
    assert schools["helene"].account_id == account.id  # still linked to her children

    parent = app.test_client()
    page = login(parent, "h.robin").get_data(as_text=True)
    assert "Identifiant ou mot de passe incorrect" in page
    event = db.session.scalars(db.select(AuditEvent).filter_by(action="account.admin_reset")).one()
    assert event.actor_id == schools["admin"].id and event.target_id == str(account.id)
    assert event.school_id == schools["tilleuls"].id


def test_reset_can_detach_the_account_for_a_fresh_start(admin_client, schools):
    helene = schools["helene"]
    account = helene.account
    url = f"/espace/admin/comptes/{account.id}/reinitialiser"
    assert _post(admin_client, url, {"detach": "y"}, form_url=url).status_code == 302
    db.session.expire_all()
    assert helene.account_id is None
    assert not account.is_enabled  # linked to no one any more
    event = db.session.scalars(db.select(AuditEvent).filter_by(action="account.admin_reset")).one()
    assert event.data["detached_guardians"] == [helene.id]
    page = admin_client.get("/espace/admin/responsables?q=helene").get_data(as_text=True)
    assert "Aucun compte" in page and "Lettre d’activation" in page


# -- activation letters --------------------------------------------------------------------


def test_a_letter_lets_the_parent_in_for_three_months(admin_client, schools, app, caplog):
    zoe = _guardian_named("Zoé", schools["tilleuls"])
    response = _post(admin_client, "/espace/admin/lettres", {"guardian_ids": zoe.id})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    data = response.get_data()
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    assert "(z.legall)" in text and "activation de votre compte Guichet" in text
    assert "Madame Zo\xe9 LE GALL" in text and "L\xe9a LE GALL (5B)" in text
    password = TEMPORARY.search(text).group(0)

    db.session.expire_all()
    account = zoe.account
    assert account.identifiant == "z.legall" and account.must_change_password
    assert password not in (account.password_hash or "")
    valid_for = account.password_expires_at - utcnow()
    assert timedelta(days=89) < valid_for < timedelta(days=93)
    for event in db.session.scalars(db.select(AuditEvent)):
        assert password not in str(event.data)
    assert password not in caplog.text

    parent = app.test_client()
    response = login(parent, "z.legall", password)
    assert response.headers["Location"] == "/compte/"
    page = parent.get("/compte/").get_data(as_text=True)
    assert "Choisissez maintenant votre propre mot de passe" in page and "Léa LE GALL" in page

    account.password_expires_at = utcnow() - timedelta(seconds=1)  # three months later
    db.session.commit()
    page = login(app.test_client(), "z.legall", password).get_data(as_text=True)
    assert "Identifiant ou mot de passe incorrect" in page


def test_letters_for_all_guardians_without_mobile(admin_client, schools):
    response = _post(admin_client, "/espace/admin/lettres", {"all_without_mobile": "y"})
    assert response.status_code == 200
    text = pdf_text(response.get_data())
    # François and Zoé; not Julien (his child left), Farida (a contact) nor Marc (other school).
    assert "(f.robin)" in text and "(z.legall)" in text
    assert len(TEMPORARY.findall(text)) == 2
    assert len(re.findall(rb"/Type /Page\b", response.get_data())) == 2
    db.session.expire_all()
    assert _guardian_named("Julien", schools["tilleuls"]).account_id is None
    assert _guardian_named("Marc", schools["parc"]).account_id is None
    assert admin_client.get("/espace/admin/lettres").get_data(as_text=True).count("(0)") == 1


def test_guardians_with_an_account_are_refused_a_letter(admin_client, schools):
    zoe = _guardian_named("Zoé", schools["tilleuls"])
    helene = schools["helene"]
    before = db.session.scalar(db.select(db.func.count(Account.id)))
    response = _post(admin_client, "/espace/admin/lettres", {"guardian_ids": [zoe.id, helene.id]})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Hélène ROBIN a déjà un compte (identifiant h.robin)" in page
    db.session.expire_all()
    assert zoe.account_id is None  # all or nothing
    assert db.session.scalar(db.select(db.func.count(Account.id))) == before


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/espace/admin/"),
        ("get", "/espace/admin/responsables?q=robin"),
        ("get", "/espace/admin/statistiques"),
        ("get", "/espace/admin/lettres"),
        ("post", "/espace/admin/lettres"),
    ],
)
@pytest.mark.parametrize("who", ["comptable@example.org", "h.robin"])
def test_only_administrators_get_in(app, schools, method, url, who):
    client = app.test_client()
    home = login(client, who).headers["Location"]
    data = {"csrf_token": csrf_token(client, home)} if method == "post" else None
    assert getattr(client, method)(url, data=data).status_code == 403
    reset = f"/espace/admin/comptes/{schools['helene'].account.id}/reinitialiser"
    assert client.get(reset).status_code == 403


def test_the_admin_home_links_to_everything(admin_client):
    page = admin_client.get("/espace/admin/").get_data(as_text=True)
    for url in ("/responsables", "/statistiques", "/lettres", "/siecle"):
        assert f'href="/espace/admin{url}"' in page
    assert 'href="/espace/admin/"' in admin_client.get("/espace/").get_data(as_text=True)


# -- building blocks -----------------------------------------------------------------------


def test_temporary_passwords_are_readable_and_meet_the_policy():
    for _ in range(50):
        password = admin_accounts.temporary_password(forbidden=("Zoé", "LE GALL", "z.legall"))
        assert TEMPORARY.fullmatch(password) and not policy_problems(password)
        assert not set(password) & set("0O1lIio")


def test_months_are_calendar_months():
    assert admin_accounts.add_months(date(2026, 1, 15), 3) == date(2026, 4, 15)
    assert admin_accounts.add_months(date(2025, 11, 30), 3) == date(2026, 2, 28)


def test_letters_print_names_outside_latin1():
    letter = admin_accounts.Letter(
        school_name="Collège Œuvre d’Orient",
        school_address="1 rue de l’Église\n75000 Paris",
        civility="M.",
        guardian_name="Łukasz N’GUESSAN",
        children=("Zoë N’GUESSAN (6e1)",),
        identifiant="l.nguessan",
        password="Abcd-Efgh-2345-Jkmn",
        issued_on=date(2026, 1, 5),
        valid_until=date(2026, 4, 5),
    )
    assert "Abcd" not in repr(letter)
    text = pdf_text(build_letters([letter], "https://guichet.example.org"))
    assert "Lukasz N'GUESSAN" in text and "OEuvre" in text and "05/04/2026" in text
    assert latin1("œ’—…") == "oe'-..."
