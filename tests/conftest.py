"""Shared fixtures: the app, its database, a client, a CLI runner, factories, an SMTP server.

The database is PostgreSQL when TEST_DATABASE_URL names one (as in CI), else a SQLite file.
Redis tests use TEST_REDIS_URL. Under CI=true both must be set: nothing is silently skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask, g, has_app_context
from flask.testing import FlaskClient, FlaskCliRunner
from support import PASSWORD, SmtpInbox, free_port

from app import create_app
from extensions import db as _db
from extensions import limiter
from models import Account, Guardian, GuardianLink, Pupil, Role, School
from services.accounts import create_staff

IN_CI = os.environ.get("CI") == "true"

pytest_plugins = ["payment_support"]  # the `family` fixture of the payment tests


def pytest_configure(config: pytest.Config) -> None:
    if IN_CI and not (os.environ.get("TEST_DATABASE_URL") and os.environ.get("TEST_REDIS_URL")):
        raise pytest.UsageError("CI must set TEST_DATABASE_URL and TEST_REDIS_URL")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The test database: PostgreSQL from TEST_DATABASE_URL, or a SQLite file."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'guichet-test.sqlite'}"


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis from TEST_REDIS_URL (tests needing it are skipped without it)."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set")
    return url


@pytest.fixture(scope="session")
def _schema(database_url: str) -> Iterator[None]:
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=database_url)
    with app.app_context():
        _db.drop_all()
        _db.create_all()
        yield
        _db.session.remove()
        _db.drop_all()
        _db.engine.dispose()


def _empty_tables() -> None:
    _db.session.rollback()
    tables = list(reversed(_db.metadata.sorted_tables))
    if _db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        _db.session.execute(_db.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            _db.session.execute(table.delete())
    _db.session.commit()


@pytest.fixture
def make_pupil(app: Flask) -> Callable[..., Pupil]:
    """Add a pupil of a school (added to the session, not committed)."""

    def make(
        school: School,
        siecle_id: str,
        last: str,
        first: str,
        class_code: str | None = None,
        **kw: Any,
    ) -> Pupil:
        pupil = Pupil(
            school_id=school.id, siecle_id=siecle_id, last_name=last, first_name=first,
            class_code=class_code, **kw,
        )  # fmt: skip
        _db.session.add(pupil)
        return pupil

    return make


@pytest.fixture
def make_guardian(app: Flask) -> Callable[..., Guardian]:
    """Add a guardian linked to pupils given as (pupil, is_legal) pairs (not committed)."""

    def make(
        school: School,
        siecle_id: str,
        last: str,
        first: str,
        *children: tuple[Pupil, bool],
        **kw: Any,
    ) -> Guardian:
        guardian = Guardian(
            school_id=school.id, siecle_id=siecle_id, last_name=last, first_name=first, **kw
        )
        for pupil, legal in children:
            guardian.links.append(GuardianLink(pupil=pupil, is_legal=legal))
        _db.session.add(guardian)
        return guardian

    return make


class IsolatedClient(FlaskClient):
    """A test client whose requests never see `g` left by an earlier request.

    Tests keep an app context open to use the database; Flask reuses it for requests, so
    without this the CSRF token or signed-in user cached in `g` would leak between clients.
    """

    def open(self, *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
        if has_app_context():
            g.__dict__.clear()
        return super().open(*args, **kwargs)


@pytest.fixture
def make_app(database_url: str, _schema: None) -> Iterator[Callable[..., Flask]]:
    """Build test apps with setting overrides; each starts on empty tables."""
    built: list[Flask] = []

    def build(**overrides: Any) -> Flask:
        settings = {"SQLALCHEMY_DATABASE_URI": database_url, **overrides}
        app = create_app("testing", **settings)
        app.test_client_class = IsolatedClient
        built.append(app)
        return app

    yield build
    for app in built:
        with app.app_context():
            if app.config["SQLALCHEMY_DATABASE_URI"] == database_url:
                _empty_tables()
            _db.engine.dispose()
        redis = app.extensions.get("guichet_redis")
        if redis is not None:
            redis.close()
    limiter.reset()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Iterator[Flask]:
    """The app with default test settings, inside an app context."""
    app = make_app()
    with app.app_context():
        yield app


@pytest.fixture
def db(app: Flask):  # type: ignore[no-untyped-def]
    """The database handle, bound to the test app."""
    return _db


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for the app."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """A runner for the app's `flask` commands."""
    return app.test_cli_runner()


@pytest.fixture
def make_school(app: Flask) -> Callable[..., School]:
    """Create schools with sensible defaults."""

    def make(uai: str = "0360009P", name: str = "Collège des Tilleuls", **kw: Any) -> School:
        school = School(uai=uai, name=name, accountant_email="agent-comptable@example.org", **kw)
        _db.session.add(school)
        _db.session.commit()
        return school

    return make


@pytest.fixture
def make_staff(app: Flask, make_school: Callable[..., School]) -> Callable[..., Account]:
    """Create staff accounts (password PASSWORD) in a school (created if none is given)."""

    def make(
        email: str = "comptable@example.org",
        role: Role = Role.ACCOUNTANT,
        schools: list[School] | None = None,
        name: str = "Dominique Comptable",
    ) -> Account:
        if schools is None:
            schools = [_db.session.scalars(_db.select(School)).first() or make_school()]
        account = create_staff(
            email=email, name=name, password=PASSWORD, role=role, schools=schools
        )
        _db.session.commit()
        return account

    return make


@pytest.fixture
def smtp_server() -> Iterator[SmtpInbox]:
    """A real SMTP server on loopback that keeps what it receives."""
    inbox = SmtpInbox(host="127.0.0.1", port=free_port())
    controller = Controller(inbox, hostname=inbox.host, port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def smtp_app(make_app: Callable[..., Flask], smtp_server: SmtpInbox) -> Iterator[Flask]:
    """The app delivering email through the local SMTP server."""
    app = make_app(MAIL_BACKEND="smtp", MAIL_SERVER=smtp_server.host, MAIL_PORT=smtp_server.port)
    with app.app_context():
        yield app


@pytest.fixture
def queue_prefix() -> str:
    """A queue prefix no other test run shares."""
    return f"guichet-test-{uuid.uuid4().hex[:8]}"
