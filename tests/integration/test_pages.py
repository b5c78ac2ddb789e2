"""The page frame, error pages, headers and health check, as a visitor gets them."""

from __future__ import annotations

from models import School


def test_home_shows_the_school_in_the_dsfr_frame(client, make_school):
    make_school(name="Collège des Tilleuls")
    html = client.get("/").get_data(as_text=True)
    assert "Guichet — Collège des Tilleuls" in html
    assert "/static/dsfr/dsfr.min.css" in html
    assert 'href="#contenu"' in html  # skip link
    assert 'lang="fr"' in html


def test_dsfr_assets_are_served(client):
    with client.get("/static/dsfr/dsfr.min.css") as response:
        assert response.status_code == 200
        assert b".fr-btn" in response.data


def test_unknown_page_gets_the_french_404_in_the_frame(client):
    response = client.get("/nulle-part")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Page non trouvée" in html
    assert "fr-footer" in html


def test_security_headers_are_set(client):
    headers = client.get("/").headers
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"


def test_post_without_csrf_token_is_refused(client, make_staff):
    make_staff()
    response = client.post("/connexion", data={"login": "comptable@example.org", "password": "x"})
    assert response.status_code == 400
    assert "Le formulaire a expiré" in response.get_data(as_text=True)


def test_unexpected_error_gets_the_french_500_page(make_app):
    app = make_app()

    @app.get("/boum")
    def boom():  # a view that crashes
        raise RuntimeError("boom")

    response = app.test_client().get("/boum")
    assert response.status_code == 500
    assert "Erreur inattendue" in response.get_data(as_text=True)


def test_healthz_reports_database_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["checks"]["database"] == "ok"


def test_healthz_answers_503_when_redis_is_down(make_app):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["checks"]["redis"].startswith("error")


def test_healthz_answers_503_when_the_database_is_down(make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["checks"]["database"].startswith("error")


def test_healthz_reports_redis_ok(make_app, redis_url):
    app = make_app(REDIS_URL=redis_url)
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json["checks"]["redis"] == "ok"


def test_dev_outbox_page_is_hidden_when_disabled(make_app):
    app = make_app(SHOW_DEV_OUTBOX=False)
    assert app.test_client().get("/dev/outbox").status_code == 404


def test_every_page_speaks_for_the_first_school_by_default(client, db, make_school):
    make_school(uai="0360009P", name="Collège des Tilleuls")
    make_school(uai="0360010R", name="Lycée Jean Giraudoux")
    assert db.session.scalars(db.select(School)).all()
    assert "Collège des Tilleuls" in client.get("/").get_data(as_text=True)
