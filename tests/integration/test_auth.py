"""Staff sign-in, lockout, rate limit, sign-out and password reset."""

from __future__ import annotations

from datetime import timedelta

from support import PASSWORD, csrf_token, login

from models import Account, AuditEvent, DeliveryStatus, OutboxMessage
from models.base import utcnow


def test_staff_member_signs_in_and_sees_their_schools(client, make_staff):
    make_staff()
    response = login(client, "Comptable@Example.org ")
    assert response.status_code == 302
    assert response.headers["Location"] == "/espace/"
    html = client.get("/espace/").get_data(as_text=True)
    assert "Bonjour Dominique Comptable" in html
    assert "Collège des Tilleuls" in html
    assert "Agent comptable" in html


def test_wrong_password_is_refused_without_saying_which_part(client, make_staff):
    make_staff()
    response = login(client, "comptable@example.org", "Wrong-password-1")
    assert "Identifiant ou mot de passe incorrect." in response.get_data(as_text=True)
    assert client.get("/espace/").status_code == 302  # still anonymous
    unknown = login(client, "personne@example.org", "Wrong-password-1")
    assert "Identifiant ou mot de passe incorrect." in unknown.get_data(as_text=True)


def test_five_failures_lock_the_account_for_fifteen_minutes(client, db, make_staff):
    account = make_staff()
    for _ in range(5):
        login(client, "comptable@example.org", "Wrong-password-1")
    response = login(client, "comptable@example.org")  # right password, but locked
    assert "bloqué pendant 15 minutes" in response.get_data(as_text=True)
    db.session.refresh(account)
    assert account.locked_until > utcnow() + timedelta(minutes=14)
    account.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert login(client, "comptable@example.org").status_code == 302


def test_login_attempts_are_rate_limited_per_address(make_app, make_staff):
    app = make_app(RATELIMIT_LOGIN="3 per minute")
    with app.app_context():
        make_staff()
    client = app.test_client()
    statuses = [
        login(client, "comptable@example.org", "Wrong-password-1").status_code for _ in range(4)
    ]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3] == 429
    page = login(client, "comptable@example.org")
    assert "Trop de tentatives" in page.get_data(as_text=True)


def test_sign_out_needs_a_post_with_csrf(client, make_staff):
    make_staff()
    login(client, "comptable@example.org")
    assert client.get("/deconnexion").status_code == 405
    token = csrf_token(client, "/espace/")
    response = client.post("/deconnexion", data={"csrf_token": token}, follow_redirects=True)
    assert "Vous êtes déconnecté." in response.get_data(as_text=True)
    assert client.get("/espace/").status_code == 302


def test_next_parameter_cannot_redirect_off_site(client, make_staff):
    make_staff()
    token = csrf_token(client, "/connexion")
    response = client.post(
        "/connexion?next=//evil.example.net/",
        data={"login": "comptable@example.org", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/espace/"


def test_parent_cannot_open_the_staff_area(client, db):
    from services.passwords import hash_password

    db.session.add(
        Account(identifiant="p.robin", name="Hélène Robin", password_hash=hash_password(PASSWORD))
    )
    db.session.commit()
    login(client, "p.robin")
    assert client.get("/espace/").status_code == 403


def _reset_link(body: str) -> str:
    line = next(line for line in body.splitlines() if "/mot-de-passe/" in line)
    return line.strip().split("http://127.0.0.1:5000", 1)[1]


def test_password_reset_by_email_link(client, db, make_staff):
    make_staff()
    token = csrf_token(client, "/mot-de-passe-oublie")
    response = client.post(
        "/mot-de-passe-oublie", data={"email": "comptable@example.org", "csrf_token": token}
    )
    assert response.status_code == 302
    message = db.session.scalars(db.select(OutboxMessage)).one()
    assert message.to == "comptable@example.org"
    assert message.status == DeliveryStatus.STORED
    path = _reset_link(message.body)

    token = csrf_token(client, path)
    weak = client.post(path, data={"password": "court", "confirm": "court", "csrf_token": token})
    assert "au moins 12 caractères" in weak.get_data(as_text=True)
    new = "Nouveau-Mot-2026!"
    done = client.post(path, data={"password": new, "confirm": new, "csrf_token": token})
    assert done.status_code == 302
    assert client.get(path).status_code == 404  # single use
    assert login(client, "comptable@example.org", new).status_code == 302
    actions = db.session.scalars(db.select(AuditEvent.action)).all()
    assert "account.password_changed" in actions


def test_password_reset_for_unknown_address_says_the_same_and_sends_nothing(client, db):
    token = csrf_token(client, "/mot-de-passe-oublie")
    response = client.post(
        "/mot-de-passe-oublie",
        data={"email": "inconnu@example.org", "csrf_token": token},
        follow_redirects=True,
    )
    assert "Si cette adresse correspond à un compte du personnel" in response.get_data(as_text=True)
    assert db.session.scalars(db.select(OutboxMessage)).all() == []


def test_forged_reset_link_is_not_found(client):
    assert client.get("/mot-de-passe/forged.token.value").status_code == 404


def test_session_expires_after_the_configured_idle_time(make_app, make_staff):
    app = make_app(PERMANENT_SESSION_LIFETIME=600)
    with app.app_context():
        make_staff()
    client = app.test_client()
    response = login(client, "comptable@example.org")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "Expires=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_a_password_change_ends_the_other_sessions(make_app, make_staff):
    app = make_app()
    with app.app_context():
        account = make_staff()
        laptop, phone = app.test_client(), app.test_client()
        login(laptop, "comptable@example.org")
        login(phone, "comptable@example.org")
        assert phone.get("/espace/").status_code == 200
        from extensions import db
        from services.accounts import set_password

        set_password(account, "Tout-Nouveau-Secret-9")
        db.session.commit()
        assert phone.get("/espace/").status_code == 302  # signed out: back to the login page


def test_the_session_slides_once_a_minute_not_with_every_response(
    make_app, make_staff, monkeypatch
):
    from views import session_cookie

    app = make_app(PERMANENT_SESSION_LIFETIME=600)
    with app.app_context():
        make_staff()
    client = app.test_client()
    minute = [29_000_000]
    monkeypatch.setattr(session_cookie, "current_minute", lambda: minute[0])
    login(client, "comptable@example.org")

    def sends_cookie() -> bool:
        response = client.get("/espace/")
        assert response.status_code == 200  # still signed in
        return any(c.startswith("session=") for c in response.headers.getlist("Set-Cookie"))

    client.get("/espace/")  # the welcome message is read: the session changed
    assert not sends_cookie()  # same minute, nothing changed: no new cookie
    minute[0] += 1
    assert sends_cookie()  # a minute later the expiry slides
    assert not sends_cookie()
