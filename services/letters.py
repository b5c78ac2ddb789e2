"""Print activation letters: one A4 page per guardian, with their temporary credentials.

The PDF uses fpdf2's built-in Helvetica and Courier, which need no font file on the
machine (CI included) but only cover Latin-1: French letters with accents are there,
the rest is replaced by its nearest Latin-1 spelling (’ → ', œ → oe, ł → l).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import date

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from services.admin_accounts import Letter

CIVILITIES = {"MME": "Madame", "M.": "Monsieur", "M": "Monsieur", "MR": "Monsieur"}
# Characters outside Latin-1 that Unicode decomposition cannot bring back into it.
_REPLACEMENTS = str.maketrans(
    {
        "’": "'", "‘": "'", "‚": "'", "ʼ": "'", "“": '"', "”": '"', "„": '"',
        "œ": "oe", "Œ": "OE", "–": "-", "—": "-", "‑": "-", "…": "...", "€": "EUR",
        "\u202f": "\u00a0", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ı": "i", "ħ": "h",
    }
)  # fmt: skip
MARGIN = 20
LINE = 6


def latin1(text: str) -> str:
    """Return text the core fonts can print: Latin-1, nearest spelling for anything else."""
    text = text.translate(_REPLACEMENTS)
    out = []
    for char in text:
        if ord(char) < 256:
            out.append(char)
            continue
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        out.append(base if base and all(ord(c) < 256 for c in base) else "?")
    return unicodedata.normalize("NFC", "".join(out))


def french_date(day: date) -> str:
    """Write a date the French way: 05/01/2026."""
    return day.strftime("%d/%m/%Y")


class _LetterPDF(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(auto=True, margin=MARGIN)
        self.set_title("Lettres d'activation Guichet")
        self.set_creator("Guichet")

    def line_of(self, text: str, size: float = 11, style: str = "") -> None:
        self.set_font("helvetica", style, size)
        self.multi_cell(0, LINE, latin1(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def gap(self, height: float = LINE) -> None:
        self.ln(height)


def build_letters(letters: Iterable[Letter], public_url: str) -> bytes:
    """Return one PDF with an A4 page per letter."""
    pdf = _LetterPDF()
    for letter in letters:
        _page(pdf, letter, public_url.rstrip("/") + "/")
    if pdf.page == 0:
        raise ValueError("no letter to print")
    return bytes(pdf.output())


def _page(pdf: _LetterPDF, letter: Letter, url: str) -> None:
    pdf.add_page()
    pdf.line_of(letter.school_name, size=13, style="B")
    for part in letter.school_address.replace("\r", "").split("\n"):
        if part.strip():
            pdf.line_of(part.strip(), size=10)
    pdf.gap()
    pdf.line_of(f"Le {french_date(letter.issued_on)}", size=10)
    pdf.gap()

    civility = CIVILITIES.get((letter.civility or "").strip().upper())
    addressee = f"{civility} {letter.guardian_name}" if civility else letter.guardian_name
    pdf.line_of(addressee, style="B")
    if letter.children:
        pdf.line_of(f"Responsable légal de : {', '.join(letter.children)}", size=10)
    pdf.gap()
    pdf.line_of("Objet : activation de votre compte Guichet", style="B")
    pdf.gap(LINE / 2)
    pdf.line_of(f"{civility or 'Madame, Monsieur'},")
    pdf.gap(LINE / 2)
    pdf.line_of(
        "Guichet est le service en ligne de l'établissement : vous y suivez la scolarité "
        "administrative de vos enfants, réglez les factures et faites vos démarches. "
        "Faute de numéro de portable connu de l'établissement, votre compte a été créé pour "
        "vous. Voici vos identifiants de première connexion :"
    )
    pdf.gap(LINE / 2)
    _credentials_box(pdf, letter)
    pdf.gap(LINE / 2)
    pdf.line_of(f"Adresse de Guichet : {url}", style="B")
    pdf.gap(LINE / 2)
    steps = (
        f"1. Rendez-vous sur {url} et connectez-vous avec l'identifiant et le mot de passe "
        "provisoire ci-dessus (en respectant les majuscules et les minuscules).",
        "2. Choisissez aussitôt votre propre mot de passe : Guichet vous le demande dans "
        "« Mon compte » dès la première connexion.",
        "3. Indiquez votre adresse électronique dans « Mon compte » et confirmez-la en "
        "cliquant sur le lien que vous recevrez : elle vous permettra de retrouver l'accès "
        "à votre compte en cas d'oubli.",
    )
    for step in steps:
        pdf.line_of(step)
        pdf.gap(1)
    pdf.gap(LINE / 2)
    pdf.line_of(
        f"Ce mot de passe provisoire est valable jusqu'au {french_date(letter.valid_until)} "
        "inclus. Passé cette date, adressez-vous au secrétariat de l'établissement.",
        style="B",
    )
    pdf.gap(LINE / 2)
    pdf.line_of(
        "Ce courrier est personnel et confidentiel : conservez-le en lieu sûr et ne "
        "communiquez votre identifiant et votre mot de passe à personne. L'établissement ne "
        "vous les demandera jamais.",
        size=10,
        style="I",
    )


def _credentials_box(pdf: _LetterPDF, letter: Letter) -> None:
    x, y, width = pdf.l_margin, pdf.get_y(), pdf.epw
    pdf.set_line_width(0.6)
    pdf.rect(x, y, width, 30)
    pdf.set_xy(x + 6, y + 5)
    _credential(pdf, "Identifiant :", letter.identifiant)
    pdf.set_xy(x + 6, y + 16)
    _credential(pdf, "Mot de passe provisoire :", letter.password)
    pdf.set_xy(x, y + 30)
    pdf.ln(2)


def _credential(pdf: _LetterPDF, label: str, value: str) -> None:
    pdf.set_font("helvetica", "", 11)
    pdf.cell(55, 9, latin1(label))
    # Courier: every character has its width, so look-alikes are easier to tell apart.
    pdf.set_font("courier", "B", 15)
    pdf.cell(0, 9, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
