"""Payment tickets: the PDF, the amounts, the email and the on-screen partial (no database)."""

from __future__ import annotations

import dataclasses
import re
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from flask import Flask
from markupsafe import escape

from app import create_app
from services.tickets import TicketDocument, euros, render_pdf, ticket_filename

# 13:05 UTC is 14:05 in Paris in November (CET, UTC+1).
PAID_AT = datetime(2026, 11, 29, 13, 5, tzinfo=UTC)
TICKETS_URL = "https://guichet.example.org/compte/paiements"


def make_ticket(**overrides: Any) -> TicketDocument:
    """Return a card payment ticket, with fields replaced by overrides."""
    fields: dict[str, Any] = {
        "number": "2026-000042",
        "paid_at": PAID_AT,
        "school_name": "Collège des Tilleuls",
        "school_address": "12 rue des Écoles\r\n\n36000 Châteauroux\n",
        "school_uai": "0360009P",
        "invoice_number": "F2026-001",
        "invoice_label": "Demi-pension septembre",
        "pupil_name": "Éloïse LE GALL",
        "payer_name": "Linh LE GALL",
        "amount_cents": 4500,
        "method_label": "Carte bancaire (paiement en ligne)",
        "authorisation": "A1B2C3",
        "remaining_cents": 12000,
        "reference": "260001234567",
    }
    return TicketDocument(**{**fields, **overrides})


def pdf_text(data: bytes) -> str:
    """Return the PDF's uncompressed bytes as text, string escapes undone, spaces plain."""
    chunks = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.DOTALL):
        try:
            chunks.append(zlib.decompress(stream))
        except zlib.error:
            chunks.append(stream)
    # Core fonts are written in WinAnsi (cp1252), where 0x80 is the € sign.
    text = b"\n".join([data, *chunks]).decode("cp1252", errors="replace")
    text = re.sub(r"\\([()\\])", r"\1", text)
    return text.replace("\u00a0", " ")


def pdf_strings(data: bytes) -> list[str]:
    """Return the strings the PDF shows, in the order it draws them."""
    return re.findall(r"\((.*)\) Tj", pdf_text(data))


@pytest.fixture(scope="module")
def app() -> Iterator[Flask]:
    """The app with an unused in-memory database: its templates and filters, nothing else."""
    app = create_app("testing", SQLALCHEMY_DATABASE_URI="sqlite:///:memory:")
    with app.app_context():
        yield app


def render(app: Flask, name: str, **context: Any) -> str:
    """Render a template with the app's filters, without context processors (no database)."""
    return app.jinja_env.get_template(name).render(**context)


@pytest.mark.parametrize(
    ("cents", "text"),
    [
        (0, "0,00\u00a0€"),
        (5, "0,05\u00a0€"),
        (4500, "45,00\u00a0€"),
        (123456, "1\u202f234,56\u00a0€"),
    ],
)
def test_euros_writes_french_amounts(cents: int, text: str) -> None:
    assert euros(cents) == text


def test_pdf_is_one_a4_page() -> None:
    data = render_pdf(make_ticket())
    assert data.startswith(b"%PDF-")
    assert data.rstrip().endswith(b"%%EOF")
    assert re.findall(rb"/Type /Page\b(?!s)", data) == [b"/Type /Page"]
    assert b"/Count 1" in data
    assert b"/MediaBox [0 0 595.28 841.89]" in data


def test_pdf_shows_every_field() -> None:
    ticket = make_ticket(amount_cents=123450)
    strings = pdf_strings(render_pdf(ticket))
    for label, value in ticket.rows:
        assert strings[strings.index(label) + 1] == value.replace("\u00a0", " ").replace(
            "\u202f", " "
        )
    text = "\n".join(strings)
    for expected in (
        "Ticket de paiement",
        "Collège des Tilleuls",
        "12 rue des Écoles",
        "36000 Châteauroux",
        "UAI 0360009P",
        "Numéro du ticket",
        "2026-000042",
        "29/11/2026 à 14:05",
        "F2026-001",
        "Demi-pension septembre",
        "Éloïse LE GALL",
        "Linh LE GALL",
        "Montant payé",
        "1 234,50 €",
        "Carte bancaire (paiement en ligne)",
        "N° d'autorisation",
        "A1B2C3",
        "260001234567",
        "Reste à payer",
        "120,00 €",
        "Ce ticket vaut justificatif de paiement. Conservez-le.",
    ):
        assert expected in text, expected


def test_pdf_shows_the_amount_with_the_euro_sign() -> None:
    text = pdf_text(render_pdf(make_ticket()))
    assert "45,00 €" in text
    assert "EUR" not in text


def test_pdf_without_authorisation_shows_a_dash() -> None:
    ticket = make_ticket(method_label="Chèque", authorisation=None, reference="", remaining_cents=0)
    assert ticket.authorisation_text == "—"
    strings = pdf_strings(render_pdf(ticket))
    assert strings[strings.index("N° d'autorisation") + 1] == "—"
    text = "\n".join(strings)
    assert "Chèque" in text
    assert "Référence de l'opération" not in text
    assert "0,00 €" in text


def test_pdf_prints_names_outside_the_core_fonts() -> None:
    ticket = make_ticket(pupil_name="Zoë Łukasz Nguyễn", invoice_label="Œuvre d’art – 2ᵉ trimestre")
    text = pdf_text(render_pdf(ticket))
    assert "Zoë Lukasz Nguyên" in text
    assert "Œuvre d’art – 2e trimestre" in text


def test_pdf_metadata_and_bytes_depend_on_the_ticket_only() -> None:
    ticket = make_ticket()
    data = render_pdf(ticket)
    assert render_pdf(ticket) == data
    assert render_pdf(dataclasses.replace(ticket)) == data
    text = pdf_text(data)
    assert "/Title (Ticket de paiement 2026-000042)" in text
    assert "/CreationDate (D:20261129130500Z" in text
    assert render_pdf(make_ticket(authorisation="Z9Y8X7")) != data


def test_paid_at_is_shown_in_paris_time() -> None:
    summer = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)
    assert make_ticket(paid_at=summer).paid_at_text == "01/07/2026 à 01:30"
    reunion = datetime(2026, 11, 29, 17, 5, tzinfo=timezone(timedelta(hours=4)))
    assert make_ticket(paid_at=reunion).paid_at_text == "29/11/2026 à 14:05"


def test_naive_paid_at_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        make_ticket(paid_at=datetime(2026, 11, 29, 14, 5))


def test_ticket_is_immutable() -> None:
    ticket = make_ticket()
    with pytest.raises(dataclasses.FrozenInstanceError):
        ticket.amount_cents = 1  # type: ignore[misc]


def test_rows_follow_the_ticket_layout() -> None:
    labels = [label for label, _ in make_ticket().rows]
    assert labels == [
        "Numéro du ticket",
        "Date et heure",
        "Facture",
        "Objet",
        "Élève",
        "Payeur",
        "Montant payé",
        "Moyen de paiement",
        "N° d'autorisation",
        "Référence de l'opération",
        "Reste à payer",
    ]
    assert make_ticket().school_address_lines == ("12 rue des Écoles", "36000 Châteauroux")
    assert make_ticket(school_address="").school_address_lines == ()


@pytest.mark.parametrize(
    ("number", "filename"),
    [("2026-000042", "ticket-2026-000042.pdf"), ("2026/42 bis", "ticket-2026-42-bis.pdf")],
)
def test_ticket_filename(number: str, filename: str) -> None:
    assert ticket_filename(make_ticket(number=number)) == filename


def test_email_text(app: Flask) -> None:
    body = render(app, "email/payment_ticket.txt", ticket=make_ticket(), tickets_url=TICKETS_URL)
    assert (
        "Votre paiement de 45,00\u00a0€ pour la facture F2026-001 (Demi-pension septembre) "
        "a été accepté." in body
    )
    assert "pièce jointe" in body
    assert "Numéro du ticket : 2026-000042" in body
    assert "Date et heure : 29/11/2026 à 14:05" in body
    assert "N° d'autorisation : A1B2C3" in body
    assert "Reste à payer : 120,00\u00a0€" in body
    assert TICKETS_URL in body


def test_email_html(app: Flask) -> None:
    ticket = make_ticket(pupil_name="Léa <b>O'Brien</b>", authorisation=None)
    html = render(
        app,
        "email/payment_ticket.html",
        subject="Ticket de paiement 2026-000042",
        ticket=ticket,
        tickets_url=TICKETS_URL,
    )
    assert "<title>Ticket de paiement 2026-000042</title>" in html
    assert "Guichet — Collège des Tilleuls" in html
    assert (
        "<strong>45,00\u00a0€</strong> pour la facture F2026-001 (Demi-pension septembre)" in html
    )
    assert "2026-000042" in html
    assert "29/11/2026 à 14:05" in html
    assert "&lt;b&gt;" in html
    assert "<b>" not in html
    assert "—" in html
    assert f'href="{TICKETS_URL}"' in html


def test_screen_partial(app: Flask) -> None:
    html = render(app, "payments/_ticket.html", ticket=make_ticket(reference=""))
    assert 'class="fr-table' in html
    assert "<caption>Ticket de paiement n° 2026-000042</caption>" in html
    assert "12 rue des Écoles<br>36000 Châteauroux" in html
    for label, value in make_ticket(reference="").rows:
        assert f'<th scope="row">{escape(label)}</th>' in html
        assert value in html
    assert "Référence de l" not in html
    assert "<strong>45,00\u00a0€</strong>" in html
    assert "Ce ticket vaut justificatif de paiement. Conservez-le." in html
