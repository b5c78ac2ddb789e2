"""A signed-in parent's invoices page under gunicorn against the bare page, same server, same load.

The web benchmark's two servers on one freshly migrated and seeded database: the bare page
(`bench.bare_app`, the baseline) and Guichet (`wsgi:app`, development settings). Before the
servers start, the demo parent Linh LE GALL gets an account (as the end of activation
creates it, with a confirmed email address, so PAYER buttons are shown) and her family,
three children, gets eight more invoices than the demo's four: twelve in all, on several
issue dates, some partly paid (PAID payments), one fully paid, one with a payment in
progress (PENDING), two past due, two by direct debit. Then the benchmark signs in once
through /connexion as a browser would (GET for the CSRF token, POST identifiant and
password, GET the page the redirect leads to so the welcome message is read) and the load
generator sends that session's cookie with every GET /factures, in turns with the bare
page's GETs. A /factures answer other than 200 (a lost session redirects to /connexion)
counts as an error.

Before measuring, the page is checked to list the twelve invoices, and the SQL statements
one /factures request sends are counted in process (Flask's test client, same database):
the count must not grow with the number of invoices.

Goal: the invoices page keeps at least 60 % of the bare page's throughput.
"""

from __future__ import annotations

import re
import urllib.parse
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from bench.database import demo_database, describe
from bench.registry import Options, Row, benchmark, compare
from bench.servers import Server, clean_env, serving
from bench.stepload import _request, hidden_fields
from bench.web import measure_side_by_side, row

if TYPE_CHECKING:
    from flask import Flask

GOAL = 0.60  # the invoices page ≥ 60 % of the bare page's throughput
PATH = "/factures"
FIRST_NAME = "Linh"  # the demo parent: Linh NGUYEN, usage name LE GALL
IDENTIFIANT = "l.legall"
PASSWORD = "Banc-Factures-2026!"  # a throwaway account on a throwaway database
EMAIL = "linh.nguyen@example.org"
CARD = re.compile(r'class="[^"]*\bguichet-invoice\b')


class InvoicesBenchError(RuntimeError):
    """The family could not be set up, signed in, or its page is not what was set up."""


@dataclass(frozen=True)
class Extra:
    """An invoice added to the demo family's four, and the payments made towards it."""

    number: str
    child: int  # index of the child, by pupil id
    label: str
    amount_cents: int
    issued_ago: int  # days
    due_in: int  # days (negative: past due)
    online: bool = True
    paid: tuple[int, ...] = ()  # PAID payments, in cents
    pending: int = 0  # a PENDING payment, in cents


EXTRA_INVOICES = (
    Extra("F-DP-0101", 2, "Demi-pension septembre-décembre", 18720, 20, 25, paid=(5000,)),
    Extra("F-CA-0102", 0, "Cantine octobre", 6240, 45, 15, paid=(3120, 3120)),
    Extra("F-IN-0103", 1, "Internat 2e trimestre", 41200, 10, 60, paid=(10000, 10000)),
    Extra("F-SO-0104", 2, "Sortie au musée", 1200, 10, 20, pending=1200),
    Extra("F-FS-0105", 0, "Fournitures scolaires", 3550, 45, 30, paid=(1000,)),
    Extra("F-AS-0106", 1, "Association sportive", 2500, 90, -30, paid=(1000,)),
    Extra("F-VS-0107", 2, "Voyage scolaire à Londres", 32000, 90, 60, online=False),
    Extra("F-DP-0108", 1, "Demi-pension janvier-mars", 15600, 0, 45),
)


def prepare_family(database_url: str) -> tuple[int, int]:
    """Give the demo parent an account and more invoices; return (invoices, statements).

    `statements` is how many SQL statements one /factures request of hers sends.
    """
    import sqlalchemy as sa

    from app import create_app
    from extensions import db
    from models import Guardian, GuardianLink, Invoice, Payment, PaymentMethod, PaymentStatus
    from models.base import utcnow
    from services.billing import family_invoices
    from services.parents import create_parent_account

    app = create_app(
        "development", SQLALCHEMY_DATABASE_URI=database_url, REDIS_URL=None, JOBS_INLINE=True
    )
    try:
        with app.app_context():
            guardian = db.session.scalars(
                sa.select(Guardian).filter_by(first_name=FIRST_NAME)
            ).one()
            account = create_parent_account([guardian], IDENTIFIANT, PASSWORD)
            account.email, account.email_confirmed_at = EMAIL, utcnow()
            children = list(
                db.session.scalars(
                    sa.select(GuardianLink.pupil_id)
                    .filter_by(guardian_id=guardian.id, is_legal=True, active=True)
                    .order_by(GuardianLink.pupil_id)
                )
            )
            if len(children) != 3:
                raise InvoicesBenchError(f"the demo parent has {len(children)} children, not 3")
            today, now = date.today(), utcnow()
            for extra in EXTRA_INVOICES:
                invoice = Invoice(
                    school_id=guardian.school_id,
                    number=extra.number,
                    pupil_id=children[extra.child],
                    payer_id=guardian.id,
                    label=extra.label,
                    amount_cents=extra.amount_cents,
                    issued_on=today - timedelta(days=extra.issued_ago),
                    due_on=today + timedelta(days=extra.due_in),
                    payable_online=extra.online,
                )
                db.session.add(invoice)
                db.session.flush()
                amounts = [(PaymentStatus.PAID, cents) for cents in extra.paid]
                if extra.pending:
                    amounts.append((PaymentStatus.PENDING, extra.pending))
                for status, cents in amounts:
                    db.session.add(
                        Payment(
                            school_id=guardian.school_id,
                            invoice_id=invoice.id,
                            account_id=account.id,
                            guardian_id=guardian.id,
                            method=PaymentMethod.ONLINE,
                            status=status,
                            amount_cents=cents,
                            payer_email=EMAIL,
                            paid_at=now if status is PaymentStatus.PAID else None,
                        )
                    )
            db.session.commit()
            invoices = len(family_invoices(account))
            db.session.remove()
        return invoices, _statements_per_page(app)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _statements_per_page(app: Flask) -> int:
    """Sign in with the test client and count the statements of one GET /factures."""
    import sqlalchemy as sa

    from extensions import db

    client = app.test_client()
    token = hidden_fields(client.get("/connexion").get_data(as_text=True))["csrf_token"]
    signed_in = client.post(
        "/connexion", data={"csrf_token": token, "login": IDENTIFIANT, "password": PASSWORD}
    )
    if signed_in.status_code != 302:
        raise InvoicesBenchError(f"test client sign-in answered {signed_in.status_code}")
    client.get(signed_in.headers["Location"])  # reads the welcome message
    client.get(PATH)  # first request of the page: templates compiled, caches warm
    statements: list[object] = []

    def count(*event: object) -> None:  # conn, cursor, statement, parameters, …
        statements.append(event[2])

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        page = client.get(PATH)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    if page.status_code != 200:
        raise InvoicesBenchError(f"test client GET {PATH} answered {page.status_code}")
    return len(statements)


def sign_in(server: Server) -> str:
    """Sign the demo parent in through /connexion; return the session cookie to send."""
    status, html, _, cookie = _request(server.host, server.port, "GET", "/connexion")
    token = hidden_fields(html).get("csrf_token")
    if status != 200 or not cookie or not token:
        raise InvoicesBenchError(f"GET /connexion answered {status} without a session or a token")
    body = urllib.parse.urlencode({"csrf_token": token, "login": IDENTIFIANT, "password": PASSWORD})
    status, _, location, session = _request(
        server.host, server.port, "POST", "/connexion", cookie, body
    )
    if status != 302 or not session:
        raise InvoicesBenchError(f"POST /connexion answered {status}: not signed in")
    # The welcome message waits in the session: read it where the redirect leads, as a
    # browser would, so the measured requests do not carry it.
    path = urllib.parse.urlsplit(location).path
    status, _, _, refreshed = _request(server.host, server.port, "GET", path, session)
    return refreshed or session


def check_page(server: Server, cookie: str, invoices: int) -> None:
    """Fail unless /factures answers 200 to this cookie and lists every invoice."""
    status, html, location, _ = _request(server.host, server.port, "GET", PATH, cookie)
    cards = len(CARD.findall(html))
    if status != 200 or cards != invoices or "PAYER" not in html:
        raise InvoicesBenchError(
            f"GET {PATH} answered {status} {location} with {cards} invoices, not {invoices}"
        )


@benchmark("invoices_web", "a signed-in parent's /factures vs the bare page, gunicorn")
def invoices_web(options: Options) -> list[Row]:
    with demo_database() as database_url, ExitStack() as servers:
        database = describe(database_url)
        invoices, statements = prepare_family(database_url)
        print(
            f"  database: {database}, migrated, seeded, {IDENTIFIANT} with {invoices} invoices; "
            f"{statements} SQL statements per {PATH} request",
            flush=True,
        )
        env = clean_env(GUICHET_ENV="development", DATABASE_URL=database_url)
        bare = servers.enter_context(serving("bench.bare_app:app", env, workers=options.workers))
        guichet = servers.enter_context(serving("wsgi:app", env, workers=options.workers))
        cookie = sign_in(guichet)
        check_page(guichet, cookie, invoices)
        target = f"Guichet {PATH} ({invoices} invoices)"
        results = measure_side_by_side(
            {"bare page": (bare, "/"), target: (guichet, PATH)},
            options,
            headers={target: {"Cookie": cookie}},
        )
    rows = [
        row("invoices_web", "bare page", results["bare page"], database=database),
        row(
            "invoices_web",
            target,
            results[target],
            database=database,
            invoices=invoices,
            statements_per_request=statements,
        ),
    ]
    return compare(rows, baseline=rows[0], goal=GOAL)
