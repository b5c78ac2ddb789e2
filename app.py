"""Build the Guichet Flask application."""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask
from sqlalchemy.orm import joinedload
from werkzeug.middleware.proxy_fix import ProxyFix

import jobs
from config import ROOT, Config, load_config
from extensions import csrf, db, limiter, login_manager, mail, migrate
from services.schools import school_banner


def create_app(config: Config | str | None = None, **overrides: Any) -> Flask:
    """Create the app for an environment (GUICHET_ENV by default), with optional overrides."""
    settings = config if isinstance(config, Config) else load_config(config)
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(settings.as_dict())
    app.config.update(overrides)
    app.config["GUICHET_ENV"] = settings.ENV_NAME
    _configure_logging(app)
    if app.config["TRUSTED_PROXIES"]:
        # Behind a load balancer the client address (rate limits, audit) and the scheme
        # (secure cookies) come from X-Forwarded-* set by the proxies we trust.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    _ensure_sqlite_directory(app.config["SQLALCHEMY_DATABASE_URI"])

    import models  # noqa: F401 - register every model on the metadata before anything uses it

    db.init_app(app)
    _tune_sqlite(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    mail.init_app(app)
    limiter.init_app(app)
    _init_login(app)
    jobs.init_app(app)

    _register_blueprints(app)
    _register_cli(app)
    _register_template_helpers(app)
    _check_workflows(app)
    _warn_about_test_payments(app)
    return app


def _warn_about_test_payments(app: Flask) -> None:
    if app.config["GUICHET_ENV"] == "production" and app.config["PAYFIP_MODE"] != "W":
        app.logger.warning(
            "PAYFIP_MODE is %s: PayFiP takes no real money in this mode",
            app.config["PAYFIP_MODE"],
        )


def _check_workflows(app: Flask) -> None:
    from services.workflow_versions import check_shipped

    with app.app_context():
        check_shipped()


def _ensure_sqlite_directory(url: str) -> None:
    # The embedded default keeps its database under instance/, which a fresh clone lacks.
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != prefix + ":memory:":
        Path(url[len(prefix) :]).parent.mkdir(parents=True, exist_ok=True)


def _tune_sqlite(app: Flask) -> None:
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    with app.app_context():
        engine = db.engine

    @sa.event.listens_for(engine, "connect")
    def use_wal(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # The embedded default serves several requests at once: with WAL, readers do not
        # wait for a writer, and NORMAL sync spares an fsync per commit (a power cut may
        # lose the last commits, never corrupt the file; production runs PostgreSQL).
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def _configure_logging(app: Flask) -> None:
    if not app.debug and not app.testing:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )


@cache
def _account_with_roles() -> sa.Select:
    # Every page's header asks whether the account is staff: its roles come in the same
    # statement, built once per process (composing it costs more than running it).
    from models import Account

    return (
        sa.select(Account)
        .where(Account.id == sa.bindparam("account_id", type_=sa.Integer))
        .options(joinedload(Account.memberships))
    )


def _init_login(app: Flask) -> None:
    from models import Account

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Connectez-vous pour accéder à cette page."
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_account(session_id: str) -> Account | None:
        account_id = session_id.partition(".")[0]
        if not account_id.isdigit():
            return None
        account = (
            db.session.execute(_account_with_roles(), {"account_id": int(account_id)})
            .unique()
            .scalar_one_or_none()
        )
        if account is None or not account.is_enabled:
            return None
        # A password changed or reset since this session began ends the session.
        return account if account.get_id() == session_id else None


def _register_blueprints(app: Flask) -> None:
    from views import (
        account,
        admin,
        assistance,
        auth,
        billing,
        desk,
        dev,
        errors,
        headers,
        health,
        links,
        payments,
        public,
        sandbox_bank,
        session_cookie,
        staff,
        studio,
        transaction,
        workflows,
    )

    dsfr = Blueprint(
        "dsfr", __name__, static_folder=str(app.config["DSFR_DIST"]), static_url_path="/static/dsfr"
    )
    app.register_blueprint(dsfr)
    # The studio's code editor and diagrams, served from npm's copies like the DSFR.
    vendor = app.config["NODE_MODULES"]
    for name, folder in (
        ("codemirror", vendor / "codemirror"),
        ("mermaid", vendor / "mermaid/dist"),
    ):
        app.register_blueprint(
            Blueprint(name, __name__, static_folder=str(folder), static_url_path=f"/static/{name}")
        )
    blueprints = (
        public.bp,
        auth.bp,
        account.bp,
        assistance.bp,
        staff.bp,
        admin.bp,
        studio.bp,
        billing.bp,
        desk.bp,
        payments.bp,
        sandbox_bank.bp,
        workflows.bp,
        workflows.tasks_bp,
        dev.bp,
        health.bp,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    csrf.exempt(health.bp)
    transaction.init_app(app)
    headers.init_app(app)
    links.init_app(app)
    session_cookie.init_app(app)
    errors.init_app(app)


def _register_cli(app: Flask) -> None:
    from cli import desk, invoices, outbox, schools, seed, siecle, users, workflows
    from cli import jobs as jobs_cli
    from cli import payments as payments_cli

    groups = (
        schools.cli,
        users.cli,
        seed.cli,
        siecle.cli,
        invoices.cli,
        payments_cli.cli,
        desk.cli,
        outbox.cli,
        jobs_cli.cli,
        workflows.cli,
    )
    for group in groups:
        app.cli.add_command(group)


def _register_template_helpers(app: Flask) -> None:
    from engine.templates import euros, french_date

    @app.context_processor
    def inject_school() -> dict[str, Any]:
        return {"school": school_banner()}

    # Times are stored in UTC; people read them in Paris time.
    app.add_template_filter(french_date, "paris")
    app.add_template_filter(euros, "euros")
