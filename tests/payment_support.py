"""A family paying invoices, for the payment tests: its fixture and a test-client payer.

Loaded as a pytest plugin by tests/conftest.py, so `family` is a fixture everywhere.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from html import unescape
from urllib.parse import urlsplit

import pytest
from support import PASSWORD, csrf_token, login

from extensions import db
from models import Invoice, OutboxMessage, Payment
from models.base import utcnow
from services import parents
from services.payments.gateway import PARIS
from services.workflow_versions import sync_files

ACCEPTED = "4970 1000 0000 0014"
REFUSED = "4970 1000 0000 0022"
LOST_NOTIFICATION = "4970 1000 0000 0030"


def today() -> date:
    return utcnow().astimezone(PARIS).date()


def make_parent(guardians, identifiant: str, email: str | None, confirmed: bool = True):
    account = parents.create_parent_account(guardians, identifiant, PASSWORD)
    account.email = email
    account.email_confirmed_at = utcnow() if confirmed and email else None
    return account


def add_invoice(school, pupil, number: str, cents: int, due_in: int = 20, online: bool = True):
    invoice = Invoice(
        school_id=school.id,
        number=number,
        pupil_id=pupil.id,
        label="Demi-pension septembre-décembre",
        amount_cents=cents,
        issued_on=today() - timedelta(days=10),
        due_on=today() + timedelta(days=due_in),
        payable_online=online,
    )
    db.session.add(invoice)
    db.session.flush()
    return invoice


@pytest.fixture
def family(app, make_school, make_pupil, make_guardian):
    """The Le Gall family (two parents, one child, four invoices) and the Benali family."""
    school = make_school(address="1 rue des Écoles, 36000 Châteauroux")
    school.accountant_email = "agent-comptable@example.org"
    mael = make_pupil(school, "2415301", "LE GALL-NGUYEN", "Maël", "6A")
    ines = make_pupil(school, "2415304", "BENALI", "Inès", "6B")
    linh = make_guardian(school, "880102", "NGUYEN", "Linh", (mael, True), usage_name="LE GALL")
    erwan = make_guardian(school, "880101", "LE GALL", "Erwan", (mael, True))
    karim = make_guardian(school, "880120", "BENALI", "Karim", (ines, True))
    make_parent([linh], "l.legall", "linh.nguyen@example.org")
    make_parent([erwan], "e.legall", "erwan.legall@example.org")
    make_parent([karim], "k.benali", "karim.benali@example.org")
    invoices = {
        "payable": add_invoice(school, mael, "F-001", 10000),
        "overdue": add_invoice(school, mael, "F-002", 9600, due_in=-30),
        "debit": add_invoice(school, mael, "F-003", 15000, online=False),
        "benali": add_invoice(school, ines, "F-004", 18720),
    }
    sync_files()
    db.session.commit()
    return invoices


class Payer:
    """A parent paying with the test client, the way the pages lead them."""

    def __init__(self, client, identifiant: str) -> None:
        self.client = client
        assert login(client, identifiant).status_code == 302

    def start(self, invoice: Invoice):
        token = csrf_token(self.client, "/factures")
        return self.client.post(f"/factures/{invoice.id}/payer", data={"csrf_token": token})

    def submit(self, url: str, **fields):
        fields.setdefault("csrf_token", csrf_token(self.client, url))
        return self.client.post(url, data=fields)

    def to_bank(self, invoice: Invoice, amount: str) -> tuple[str, str]:
        """Choose the amount, confirm, and return (the step page, the bank page's path)."""
        step = self.start(invoice).headers["Location"]
        assert self.submit(step, montant=amount).status_code == 302
        assert self.submit(step).status_code == 302  # the summary
        bank = self.client.get(step)  # the bank step redirects to /paiements/<ref>/banque
        assert bank.status_code == 302, bank.get_data(as_text=True)
        opened = self.client.get(bank.headers["Location"])
        assert opened.status_code == 302
        return step, urlsplit(opened.headers["Location"]).path

    def at_bank(self, bank_path: str, card: str | None) -> str:
        """Act on the test bank's page; return the path the bank sends the parent back to."""
        token = csrf_token(self.client, bank_path)
        data = {"csrf_token": token, **({"carte": card} if card else {"abandonner": "1"})}
        answer = self.client.post(bank_path, data=data)
        assert answer.status_code == 303, answer.get_data(as_text=True)
        return urlsplit(answer.headers["Location"]).path

    def pay(self, invoice: Invoice, amount: str, card: str | None = ACCEPTED) -> str:
        """Pay all the way and return the result page's text."""
        _, bank_path = self.to_bank(invoice, amount)
        back = self.at_bank(bank_path, card)
        return self.client.get(back, follow_redirects=True).get_data(as_text=True)


def payments(**filters) -> list[Payment]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(Payment).filter_by(**filters).order_by(Payment.id)))


def emails(to: str) -> list[OutboxMessage]:
    db.session.expire_all()
    query = db.select(OutboxMessage).filter_by(to=to).order_by(OutboxMessage.id)
    return list(db.session.scalars(query))


def text(html: str) -> str:
    """Return a page's words, entities decoded and the French narrow spaces made plain."""
    words = unescape(re.sub(r"<[^>]+>", " ", html)).replace("\u202f", " ").replace("\xa0", " ")
    return " ".join(words.split())
