"""Payment tickets: the proof of payment a parent receives, as a PDF and on screen.

The PDF uses fpdf2's built-in Helvetica, which needs no font file on the machine (CI
included). Core fonts are written with the WinAnsi (cp1252) encoding, which has the French
accents, « », œ, ’ and the € sign; anything outside it gets its nearest spelling.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from fpdf import FPDF, FontFace
from fpdf.enums import TableBordersLayout, XPos, YPos

from engine.templates import euros, french_date

__all__ = ["CONTENT_TYPE", "TicketDocument", "euros", "render_pdf", "ticket_filename"]

CONTENT_TYPE = "application/pdf"
MISSING = "—"
FOOTER = "Ce ticket vaut justificatif de paiement. Conservez-le."
MARGIN = 20
LINE = 6
TEXT = (22, 22, 22)
GREY = (102, 102, 102)
BLUE = (0, 0, 145)  # DSFR "bleu France"
LABEL_FILL = (238, 238, 238)
RULE = (206, 206, 206)
# cp1252 lacks these; NFKD cannot bring them back into it either.
_REPLACEMENTS = str.maketrans(
    {
        "\u202f": "\u00a0", "\u2009": " ", "\u2011": "-", "\u2010": "-", "\u2212": "-",
        "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ı": "i", "ħ": "h", "ø": "o", "Ø": "O",
        "\r": "", "\t": " ",
    }
)  # fmt: skip
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketDocument:
    """What a payment ticket shows, read from the database by the caller."""

    number: str
    paid_at: datetime
    school_name: str
    school_address: str
    school_uai: str
    invoice_number: str
    invoice_label: str
    pupil_name: str
    payer_name: str
    amount_cents: int
    method_label: str
    authorisation: str | None = None
    remaining_cents: int
    reference: str = ""

    def __post_init__(self) -> None:
        if self.paid_at.tzinfo is None or self.paid_at.utcoffset() is None:
            raise ValueError("paid_at must be an aware datetime")

    @property
    def paid_at_text(self) -> str:
        """Return the payment time in Paris time: '29/11/2026 à 14:05'."""
        return french_date(self.paid_at)

    @property
    def amount_text(self) -> str:
        """Return the amount paid the French way: '45,00 €'."""
        return euros(self.amount_cents)

    @property
    def remaining_text(self) -> str:
        """Return the balance left on the invoice the French way."""
        return euros(self.remaining_cents)

    @property
    def authorisation_text(self) -> str:
        """Return the bank authorisation number, or a dash when there is none."""
        return (self.authorisation or "").strip() or MISSING

    @property
    def school_address_lines(self) -> tuple[str, ...]:
        """Return the non-empty lines of the school's address."""
        lines = self.school_address.replace("\r", "").split("\n")
        return tuple(line.strip() for line in lines if line.strip())

    @property
    def rows(self) -> tuple[tuple[str, str], ...]:
        """Return the ticket's fields as (label, value) pairs, in the order they are shown."""
        rows = [
            ("Numéro du ticket", self.number),
            ("Date et heure", self.paid_at_text),
            ("Facture", self.invoice_number),
            ("Objet", self.invoice_label),
            ("Élève", self.pupil_name),
            ("Payeur", self.payer_name),
            ("Montant payé", self.amount_text),
            ("Moyen de paiement", self.method_label),
            ("N° d'autorisation", self.authorisation_text),
        ]
        if self.reference.strip():
            rows.append(("Référence de l'opération", self.reference.strip()))
        rows.append(("Reste à payer", self.remaining_text))
        return tuple(rows)


def ticket_filename(ticket: TicketDocument) -> str:
    """Return the attachment's file name: 'ticket-2026-000042.pdf'."""
    number = _UNSAFE_FILENAME.sub("-", ticket.number).strip("-.") or "paiement"
    return f"ticket-{number}.pdf"


def render_pdf(ticket: TicketDocument) -> bytes:
    """Return the ticket as a one-page A4 PDF, the same bytes for the same ticket."""
    pdf = _TicketPDF(ticket)
    pdf.add_page()
    _school(pdf, ticket)
    _title(pdf, ticket)
    _fields(pdf, ticket)
    pdf.ln(LINE)
    pdf.write_line(FOOTER, size=10, style="B")
    return bytes(pdf.output())


class _TicketPDF(FPDF):
    def __init__(self, ticket: TicketDocument) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        # The core fonts are declared WinAnsiEncoding: cp1252 gives them €, œ and ’.
        self.core_fonts_encoding = "cp1252"
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(auto=True, margin=MARGIN)
        self.set_title(f"Ticket de paiement {ticket.number}")
        self.set_subject(f"Paiement de la facture {ticket.invoice_number}")
        self.set_author(ticket.school_name)
        self.set_creator("Guichet")
        self.set_lang("fr-FR")
        # The payment time, not the rendering time: the same ticket gives the same bytes.
        self.set_creation_date(ticket.paid_at)
        self.set_text_color(*TEXT)

    def write_line(self, text: str, size: float = 11, style: str = "") -> None:
        self.set_font("helvetica", style, size)
        self.multi_cell(0, LINE, _printable(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _school(pdf: _TicketPDF, ticket: TicketDocument) -> None:
    pdf.write_line(ticket.school_name, size=13, style="B")
    for line in ticket.school_address_lines:
        pdf.write_line(line, size=10)
    if ticket.school_uai:
        pdf.set_text_color(*GREY)
        pdf.write_line(f"UAI {ticket.school_uai}", size=9)
        pdf.set_text_color(*TEXT)


def _title(pdf: _TicketPDF, ticket: TicketDocument) -> None:
    pdf.ln(LINE * 2)
    pdf.set_text_color(*BLUE)
    pdf.write_line("Ticket de paiement", size=22, style="B")
    pdf.ln(1)
    pdf.set_text_color(*TEXT)
    pdf.write_line(f"N° {ticket.number} du {ticket.paid_at_text}", size=11)
    pdf.ln(2)
    pdf.set_draw_color(*BLUE)
    pdf.set_line_width(0.8)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + pdf.epw, pdf.get_y())
    pdf.ln(LINE)


def _fields(pdf: _TicketPDF, ticket: TicketDocument) -> None:
    pdf.set_font("helvetica", "", 11)
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.2)
    label_style = FontFace(emphasis="BOLD", fill_color=LABEL_FILL)
    amount_style = FontFace(emphasis="BOLD")
    with pdf.table(
        col_widths=(2, 3),
        first_row_as_headings=False,
        text_align="LEFT",
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        line_height=LINE,
        padding=2.5,
    ) as table:
        for label, value in ticket.rows:
            row = table.row()
            row.cell(_printable(label), style=label_style)
            row.cell(_printable(value), style=amount_style if label == "Montant payé" else None)


def _printable(text: str) -> str:
    """Return text the core fonts can print: cp1252, nearest spelling for anything else."""
    text = unicodedata.normalize("NFC", text.translate(_REPLACEMENTS))
    return "".join(char if _encodable(char) else _nearest(char) for char in text)


def _nearest(char: str) -> str:
    # Drop accents from the last one on, so that 'ễ' keeps its circumflex: 'ê'.
    decomposed = unicodedata.normalize("NFKD", char)
    while decomposed:
        candidate = unicodedata.normalize("NFC", decomposed)
        if _encodable(candidate):
            return candidate
        if not unicodedata.combining(decomposed[-1]):
            break
        decomposed = decomposed[:-1]
    return "?"


def _encodable(text: str) -> bool:
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True
