"""Reading the emails parents send to the agent comptable (pure: no database, no Flask)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest

from services.desk.mail import (
    REFERENCE_PATTERN,
    IncomingMail,
    html_to_text,
    parse_message,
    reference_in,
    visible_text,
)

CORPUS = Path(__file__).resolve().parent.parent / "desk_mail"
DESK = "agent.comptable@clg-tilleuls.example.fr"
PARIS_WINTER = timezone(timedelta(hours=1))
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def load(name: str) -> IncomingMail:
    """Parse one message of the corpus."""
    return parse_message((CORPUS / name).read_bytes())


def test_the_corpus_is_all_read_without_error() -> None:
    files = sorted(CORPUS.glob("*.eml"))
    assert len(files) >= 15
    for path in files:
        mail = parse_message(path.read_bytes())
        assert mail.sender_address, path.name
        assert mail.to == (DESK,), path.name
        assert "\ufffd" not in mail.subject, path.name
        assert "\ufffd" not in mail.text, path.name


def test_gmail_plain_utf8_prefers_the_text_part() -> None:
    mail = load("01_gmail_plain_utf8.eml")
    assert mail.sender_name == "Camille Moreau"
    assert mail.sender_address == "camille.moreau@example.org"
    assert mail.subject == "Question sur la facture de cantine de mars"
    assert mail.message_id == "CAHx7q2N4kTz0e1Qm9VbYp3=gmail-01@mail.gmail.com"
    assert mail.in_reply_to is None
    assert mail.references == ()
    assert mail.date == datetime(2026, 3, 10, 9, 14, 27, tzinfo=PARIS_WINTER)
    assert mail.text.startswith("Bonjour Madame,\n\nJe me permets")
    assert "Le montant de 62,40 € me semble élevé" in mail.text
    assert "<div" not in mail.text
    assert mail.attachments == ()
    assert not mail.auto_generated
    assert mail.reason is None


def test_outlook_html_only_in_windows_1252_becomes_readable_text() -> None:
    mail = load("02_outlook_html_only_cp1252.eml")
    assert mail.sender_name == "Stéphane Lefèvre"
    assert mail.subject == "Facture internat 2e trimestre – paiement en plusieurs fois"
    assert mail.date == datetime(2026, 3, 11, 18, 42, 5, tzinfo=UTC)
    assert mail.text.startswith("Bonjour,\n\nJ’ai bien reçu la facture d’internat")
    assert "(318,50 €) pour ma fille Inès." in mail.text
    assert "la page des aides (https://www.example.net/aides/bourses)" in mail.text
    assert "réponse.\nMerci d’avance." in mail.text
    assert mail.text.endswith("Stéphane Lefèvre")
    for noise in ("MsoNormal", "trackOpen", "shapedefaults", "<", "&nbsp;", "\xa0"):
        assert noise not in mail.text
    assert "\n\n\n" not in mail.text
    # The logo of the signature is an inline image without a name: not a document.
    assert mail.attachments == ()
    assert not mail.auto_generated


def test_iphone_mail_keeps_the_photo_and_the_pdf_with_its_french_name() -> None:
    mail = load("03_iphone_base64_attachments.eml")
    assert mail.sender_address == "yasmine.haddad@example.org"
    assert "la facture de cantine de cet été que je n’arrive pas à payer" in mail.text
    names = [attachment.filename for attachment in mail.attachments]
    assert names == ["IMG_0412.PNG", "facture cantine été.pdf"]
    photo, invoice = mail.attachments
    assert photo.content_type == "image/png"
    assert photo.data.startswith(PNG_MAGIC)
    assert invoice.content_type == "application/pdf"
    assert invoice.data.startswith(b"%PDF-1.4")
    assert invoice.size == len(invoice.data)
    assert mail.skipped_attachments == ()


def test_iso_8859_15_keeps_the_euro_sign() -> None:
    mail = load("04_thunderbird_iso8859_15_euro.eml")
    assert mail.sender_name == "Loïc Bernard"
    assert mail.subject == "Virement de 145,20 € pour la demi-pension"
    assert "le virement de 145,20 € pour la demi-pension de Zoé" in mail.text
    assert "Mon cœur de métier" in mail.text


def test_base64_encoded_word_subject_is_decoded() -> None:
    mail = load("05_encoded_subject_base64.eml")
    assert mail.subject == "Demande d'échéancier — internat 2ᵉ trimestre"
    assert mail.sender_name == "Sandrine Petit"
    assert "étaler le paiement de l'internat" in mail.text


def test_reply_threads_and_hides_the_quoted_history() -> None:
    mail = load("06_reply_french_quoted.eml")
    assert mail.subject == "Re: [DEM-2026-000123] Facture internat"
    assert reference_in(mail.subject) == "DEM-2026-000123"
    assert mail.in_reply_to == "desk.DEM-2026-000123.2@guichet.example.fr"
    assert mail.references == (
        "desk.DEM-2026-000123.1@guichet.example.fr",
        "desk.DEM-2026-000123.2@guichet.example.fr",
    )
    assert mail.thread_ids == (
        "desk.DEM-2026-000123.2@guichet.example.fr",
        "desk.DEM-2026-000123.1@guichet.example.fr",
    )
    # The full text keeps the history; the display does not.
    assert "Il reste 80,00 € à régler" in mail.text
    assert visible_text(mail.text) == (
        "Bonjour Madame,\n\n"
        "Merci pour votre réponse rapide. J'ai bien payé les 80 € restants ce matin\n"
        "par carte bancaire sur le guichet en ligne."
    )


def test_outlook_reply_hides_the_de_envoye_block() -> None:
    mail = load("07_outlook_reply_de_envoye.eml")
    assert reference_in(mail.subject) == "DEM-2026-000456"
    assert mail.in_reply_to == "desk.DEM-2026-000456.1@guichet.example.fr"
    shown = visible_text(mail.text)
    assert shown.startswith("Bonjour,\n\nVous trouverez ci-dessous les informations demandées")
    assert shown.endswith("Cordialement,\nKarim Benali")
    assert "Envoyé" not in shown
    assert "Pouvez-vous nous indiquer" not in shown
    assert "Pouvez-vous nous indiquer" in mail.text


def test_out_of_office_is_flagged() -> None:
    mail = load("08_out_of_office.eml")
    assert mail.subject.startswith("Réponse automatique")
    assert mail.auto_generated
    assert mail.reason == "Auto-Submitted: auto-replied"


def test_bounce_is_flagged_and_keeps_the_human_readable_part() -> None:
    mail = load("09_bounce_mailer_daemon.eml")
    assert mail.sender_address == "mailer-daemon@mx1.example.net"
    assert mail.auto_generated
    assert mail.reason is not None
    assert "multipart/report" in mail.reason
    assert "could not\nbe delivered" in mail.text
    assert "Reporting-MTA" not in mail.text
    [original] = mail.attachments
    assert original.content_type == "message/rfc822"
    assert original.filename.endswith(".eml")
    assert b"Message-ID: <desk.DEM-2026-000321.3@guichet.example.fr>" in original.data


def test_mailing_list_is_flagged_and_its_raw_8bit_subject_is_read() -> None:
    mail = load("10_mailing_list_bulk.eml")
    assert mail.auto_generated
    assert mail.reason == "Precedence: bulk"
    assert mail.subject == "La lettre des parents d'élèves - mars 2026"


def test_wrong_declared_charset_falls_back_without_crashing() -> None:
    mail = load("11_wrong_declared_charset.eml")
    assert mail.sender_name == "Hélène Garnier"
    assert "la facture de cantine de février pour Mathéo" in mail.text


def test_unknown_charset_name_falls_back_to_utf8() -> None:
    mail = load("12_unknown_charset.eml")
    assert mail.subject == "Paiement internat refusé"
    assert "Le paiement de l'internat a échoué deux fois." in mail.text


def test_message_without_message_id_or_readable_date() -> None:
    mail = load("13_no_message_id.eml")
    assert mail.message_id is None
    assert mail.date is None
    assert mail.subject == "attestation de paiement"
    assert mail.text.startswith("Bonjour, pourriez-vous m'envoyer une attestation")


def test_forwarded_message_is_kept_for_display() -> None:
    mail = load("14_forwarded_gmail.eml")
    assert mail.subject == "Fwd: Opérations sur votre compte"
    shown = visible_text(mail.text)
    assert shown.startswith("Bonjour,\n\nJe vous transfère le courriel de la banque")
    assert "Deux prélèvements de 54,00 € au profit de « COLLEGE DES TILLEULS »" in shown


def test_message_that_is_only_an_attachment() -> None:
    mail = load("15_attachment_only.eml")
    assert mail.sender_name == "Élodie Marchand"
    assert mail.text == ""
    [attestation] = mail.attachments
    assert attestation.filename == "attestation quotient familial Élise.pdf"
    assert attestation.content_type == "application/pdf"
    assert attestation.data.startswith(b"%PDF")


def test_no_reply_sender_is_flagged() -> None:
    mail = load("16_noreply_sender.eml")
    assert mail.auto_generated
    assert mail.reason == "automatic sender: no-reply@payfip.example.net"


def test_message_forwarded_as_attachment_is_kept_as_eml() -> None:
    mail = load("17_forward_as_attachment.eml")
    assert mail.text.startswith("Bonjour, je reçois cette relance alors que j'ai déjà payé.")
    [forwarded] = mail.attachments
    assert forwarded.filename == "Relance facture cantine.eml"
    assert forwarded.content_type == "message/rfc822"
    assert b"Votre facture 2026-000512 reste" in forwarded.data
    assert not mail.auto_generated


def test_oversized_attachment_is_listed_not_kept() -> None:
    message = EmailMessage()
    message["From"] = "Rémi Caron <remi.caron@example.org>"
    message["To"] = DESK
    message["Subject"] = "Justificatifs pour la bourse"
    message["Message-ID"] = "<big-attachment-1@example.org>"
    message.set_content("Bonjour, voici mes justificatifs.\n")
    big = b"%PDF-1.4\n" + b"0" * (2 * 1024 * 1024)
    message.add_attachment(
        big, maintype="application", subtype="pdf", filename="avis d'imposition 2025.pdf"
    )
    message.add_attachment(
        b"%PDF-1.4\nsmall", maintype="application", subtype="pdf", filename="RIB.pdf"
    )
    mail = parse_message(message.as_bytes(), max_attachment_bytes=1024 * 1024)
    assert [attachment.filename for attachment in mail.attachments] == ["RIB.pdf"]
    assert mail.skipped_attachments == (("avis d'imposition 2025.pdf", len(big)),)
    assert mail.text == "Bonjour, voici mes justificatifs."
    # Under the default limit of 10 MB the same file is kept.
    assert len(parse_message(message.as_bytes()).attachments) == 2


def test_incoming_mail_is_frozen() -> None:
    mail = load("01_gmail_plain_utf8.eml")
    with pytest.raises(dataclasses.FrozenInstanceError):
        mail.subject = "autre"  # type: ignore[misc]


@pytest.mark.parametrize(
    "raw",
    [b"", b"not an email at all\x00\xff", b"Content-Type: multipart/mixed\n\nno boundary"],
)
def test_garbage_never_crashes(raw: bytes) -> None:
    mail = parse_message(raw)
    assert mail.sender_address == ""
    assert "\x00" not in mail.text
    assert not mail.auto_generated


def _mail(headers: str, body: str = "Bonjour.\n") -> bytes:
    defaults = "From: Parent <parent@example.org>\nTo: " + DESK + "\nSubject: Cantine\n"
    return (defaults + headers + "\n" + body).encode()


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ("Auto-Submitted: auto-generated\n", "Auto-Submitted: auto-generated"),
        ("Precedence: junk\n", "Precedence: junk"),
        ("Precedence: list\n", "Precedence: list"),
        ("Precedence: auto_reply\n", "Precedence: auto_reply"),
        ("X-Autoreply: yes\n", "X-Autoreply: yes"),
        ("X-Autorespond: vacances\n", "X-Autorespond: vacances"),
        ("X-Auto-Response-Suppress: DR, OOF\n", "X-Auto-Response-Suppress: DR, OOF"),
        ("Return-Path: <>\n", "null Return-Path (bounce or automatic reply)"),
    ],
)
def test_automatic_headers_are_flagged(headers: str, reason: str) -> None:
    mail = parse_message(_mail(headers))
    assert mail.auto_generated
    assert mail.reason == reason


@pytest.mark.parametrize(
    "sender", ["postmaster@example.net", "MAILER-DAEMON@example.net", "noreply@example.net"]
)
def test_automatic_senders_are_flagged(sender: str) -> None:
    raw = _mail("").replace(b"parent@example.org", sender.encode())
    mail = parse_message(raw)
    assert mail.auto_generated
    assert mail.reason == f"automatic sender: {sender.lower()}"


@pytest.mark.parametrize(
    "subject",
    [
        "Réponse automatique : Facture cantine",
        "Absence du bureau",
        "Out of Office: Facture cantine",
        "Automatic reply: [DEM-2026-000123] Votre demande",
        "Undeliverable: Votre demande",
        "Delivery Status Notification (Failure)",
    ],
)
def test_automatic_subjects_are_flagged(subject: str) -> None:
    raw = _mail("").replace(b"Subject: Cantine", f"Subject: {subject}".encode())
    mail = parse_message(raw)
    assert mail.auto_generated
    assert mail.reason == f"automatic reply subject: {subject}"


@pytest.mark.parametrize(
    "headers",
    ["Auto-Submitted: no\n", "Precedence: normal\n", "X-Auto-Response-Suppress: DR, RN\n", ""],
)
def test_messages_from_people_are_not_flagged(headers: str) -> None:
    mail = parse_message(_mail(headers))
    assert not mail.auto_generated
    assert mail.reason is None


def test_a_parent_asking_about_an_auto_reply_is_not_flagged() -> None:
    raw = _mail("").replace(b"Subject: Cantine", "Subject: Re: Absence de Léo".encode())
    assert not parse_message(raw).auto_generated


# --- visible_text --------------------------------------------------------------------------


def test_visible_text_english_reply_header() -> None:
    text = (
        "Thank you, I paid today.\n\n"
        "On Tue, Mar 12, 2026 at 10:02 AM Agent comptable <agent@example.fr> wrote:\n"
        "> Please pay the remaining 80 €.\n"
    )
    assert visible_text(text) == "Thank you, I paid today."


@pytest.mark.parametrize(
    "separator",
    [
        "-----Message d'origine-----",
        "-----Original Message-----",
        "________________________________",
        "Le 12 mars 2026 à 10:02, Agent comptable <agent@example.fr> a écrit :",
    ],
)
def test_visible_text_cuts_at_reply_separators(separator: str) -> None:
    text = f"C'est réglé, merci.\n\n{separator}\nDe : Agent comptable\nBonjour Madame,\n"
    assert visible_text(text) == "C'est réglé, merci."


def test_visible_text_english_outlook_block_and_signature() -> None:
    text = (
        "Bonjour,\nVoici le RIB demandé.\n-- \nNicolas Roux\nParent d'élève\n"
        "From: Agent comptable\nSent: Thursday, March 12, 2026 10:02 AM\n"
    )
    assert visible_text(text) == "Bonjour,\nVoici le RIB demandé."


def test_visible_text_drops_inline_quotes_but_keeps_answers() -> None:
    text = "> Quel est le numéro de facture ?\n2026-000318\n> Et le montant ?\n54 €\n"
    assert visible_text(text) == "2026-000318\n54 €"


def test_visible_text_a_french_sentence_starting_with_le_is_kept() -> None:
    text = "Le montant a été débité deux fois.\nLe 12 mars, j'ai écrit au secrétariat.\n"
    assert visible_text(text) == text.strip()


def test_visible_text_never_returns_nothing_for_a_bare_forward() -> None:
    text = "-----Original Message-----\nFrom: Banque\nSent: today\n\nPrélèvement refusé.\n"
    assert visible_text(text) == text.strip()
    assert visible_text("") == ""


def test_html_blockquote_history_is_quoted_and_trimmed() -> None:
    html = (
        '<div dir="ltr">Merci, c\'est noté.<br></div><br>'
        '<div class="gmail_quote"><div>Le jeu. 12 mars 2026 à 10:02, Agent comptable '
        "&lt;agent@example.fr&gt; a écrit&nbsp;:<br></div>"
        '<blockquote class="gmail_quote"><p>Bonjour,</p><p>Il reste 80 € à payer.</p>'
        "</blockquote></div>"
    )
    text = html_to_text(html)
    assert "> Il reste 80 € à payer." in text
    assert visible_text(text) == "Merci, c'est noté."


def test_html_lists_links_and_scripts() -> None:
    html = (
        "<html><head><title>Courriel</title><style>p {color: red}</style></head><body>"
        "<script>alert('x')</script><p>Pièces&nbsp;:</p><ul><li>RIB</li><li>Avis</li></ul>"
        '<p><a href="https://example.net/aide">https://example.net/aide</a> et '
        '<a href="mailto:parent@example.org">parent@example.org</a></p></body></html>'
    )
    assert html_to_text(html) == (
        "Pièces :\n\n- RIB\n- Avis\n\nhttps://example.net/aide et parent@example.org"
    )


# --- reference_in --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "reference"),
    [
        ("Re: [DEM-2026-000123] Facture internat", "DEM-2026-000123"),
        ("RE: DEM-2026-000456 Remboursement cantine", "DEM-2026-000456"),
        ("TR: re: dem-2026-000789", "DEM-2026-000789"),
        ("Facture 2026-000123", None),
        ("DEM-2026-0001234 trop long", None),
        ("XDEM-2026-000123", None),
        ("", None),
    ],
)
def test_reference_in(subject: str, reference: str | None) -> None:
    assert reference_in(subject) == reference


def test_reference_pattern() -> None:
    assert REFERENCE_PATTERN == r"DEM-\d{4}-\d{6}"
