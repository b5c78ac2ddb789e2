"""Reading real-world email sent to the agent comptable (pure: no database, no Flask).

`parse_message` turns the raw bytes of a message into an `IncomingMail`: decoded headers,
the body as plain text (HTML-only mail converted), attachments with decoded names and a
size limit, and whether the message was sent by a machine (auto-reply, bounce, list) so
that it never becomes a request nor gets an answer (mail loops). `visible_text` trims the
quoted history for display; the caller keeps the full text as well.
"""

from __future__ import annotations

import codecs
import mimetypes
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

from services.desk.html_text import html_to_text, tidy
from services.desk.quoting import visible_text

__all__ = [
    "DEFAULT_MAX_ATTACHMENT_BYTES",
    "REFERENCE_PATTERN",
    "Attachment",
    "IncomingMail",
    "html_to_text",
    "parse_message",
    "reference_in",
    "visible_text",
]

DEFAULT_MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
REFERENCE_PATTERN = r"DEM-\d{4}-\d{6}"

_REFERENCE = re.compile(rf"(?<![\w-])({REFERENCE_PATTERN})(?!\d)", re.IGNORECASE)
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Attachment:
    """A file attached to a message, with its decoded name."""

    filename: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        """Return the size of the file in bytes."""
        return len(self.data)


@dataclass(frozen=True)
class IncomingMail:
    """A parsed email: what the desk needs to file it as (part of) a request."""

    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    sender_name: str
    sender_address: str
    to: tuple[str, ...]
    date: datetime | None
    text: str
    attachments: tuple[Attachment, ...]
    skipped_attachments: tuple[tuple[str, int], ...]
    auto_generated: bool
    reason: str | None

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """Return the Message-IDs this message answers, most recent first, without repeats."""
        ids = ([self.in_reply_to] if self.in_reply_to else []) + list(reversed(self.references))
        return tuple(dict.fromkeys(ids))


def parse_message(
    raw: bytes, *, max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES
) -> IncomingMail:
    """Parse the raw bytes of an email into an `IncomingMail`; never fails on bad encodings."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    sender_name, sender_address = _sender(message)
    subject = _header_text(message, "Subject")
    bodies: list[str] = []
    attachments: list[Attachment] = []
    skipped: list[tuple[str, int]] = []
    _collect(message, bodies, attachments)
    kept: list[Attachment] = []
    for attachment in attachments:
        if attachment.size > max_attachment_bytes:
            skipped.append((attachment.filename, attachment.size))
        else:
            kept.append(attachment)
    reason = _auto_reason(message, sender_address, subject)
    in_reply_to = _message_ids(_header_text(message, "In-Reply-To"))
    return IncomingMail(
        message_id=_first(_message_ids(_header_text(message, "Message-ID"))),
        in_reply_to=_first(in_reply_to),
        references=tuple(_message_ids(_header_text(message, "References"))),
        subject=subject,
        sender_name=sender_name,
        sender_address=sender_address,
        to=_recipients(message, "To"),
        date=_date(message),
        text=tidy("\n\n".join(body for body in bodies if body.strip())),
        attachments=tuple(kept),
        skipped_attachments=tuple(skipped),
        auto_generated=reason is not None,
        reason=reason,
    )


def reference_in(subject: str) -> str | None:
    """Return the request reference ("DEM-2026-000123") found in a subject, if any."""
    match = _REFERENCE.search(subject or "")
    return match.group(1).upper() if match else None


# --- Headers ---------------------------------------------------------------------------


def _raw_header(message: Message, name: str) -> str | None:
    """Return the first raw (undecoded) value of a header."""
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words in a header value, leniently."""
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeError):
        return value


def _header_text(message: Message, name: str) -> str:
    """Return a header decoded to text, on one line ("" when absent)."""
    raw = _raw_header(message, name)
    if raw is None:
        return ""
    if _has_surrogates(raw):
        # Unencoded 8-bit bytes in a header (old mailers): UTF-8, else Windows-1252.
        value = _decode_words(_bytes_to_text(raw.encode("ascii", "surrogateescape"), None))
    else:
        try:
            value = str(message[name])
        except Exception:  # the header classes raise varied errors on malformed input
            value = _decode_words(raw)
    return _WHITESPACE.sub(" ", value.replace("\x00", "")).strip()


def _has_surrogates(value: str) -> bool:
    return any("\udc80" <= char <= "\udcff" for char in value)


def _addresses(message: Message, name: str) -> list[tuple[str, str]]:
    """Return the (display name, address) pairs of an address header."""
    if _has_surrogates(_raw_header(message, name) or ""):
        return getaddresses([_header_text(message, name)])
    try:
        header = message[name]
        if header is None:
            return []
        return [(a.display_name, a.addr_spec) for a in header.addresses if a.addr_spec]
    except Exception:  # malformed address headers: fall back on the lenient parser
        return getaddresses([_header_text(message, name)])


def _sender(message: Message) -> tuple[str, str]:
    """Return the display name and lowercased address of the sender."""
    for name in ("From", "Sender", "Return-Path"):
        pairs = [pair for pair in _addresses(message, name) if "@" in pair[1]]
        if pairs:
            display, address = pairs[0]
            return _WHITESPACE.sub(" ", display).strip(), address.strip().lower()
    display, address = parseaddr(_header_text(message, "From"))
    return display.strip(), address.strip().lower()


def _recipients(message: Message, name: str) -> tuple[str, ...]:
    """Return the lowercased addresses of an address header."""
    addresses = (address.strip().lower() for _, address in _addresses(message, name))
    return tuple(dict.fromkeys(address for address in addresses if "@" in address))


def _message_ids(value: str) -> list[str]:
    """Return the message ids of a header value, without their angle brackets."""
    found = _MESSAGE_ID.findall(value)
    if not found:
        found = [token.strip("<>") for token in value.split() if "@" in token]
    return list(dict.fromkeys(token for token in found if token))


def _first(values: list[str]) -> str | None:
    return values[0] if values else None


def _date(message: Message) -> datetime | None:
    """Return the Date header as an aware datetime (UTC when the zone is unknown)."""
    value = _header_text(message, "Date")
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- Bodies and attachments -------------------------------------------------------------


def _bytes_to_text(data: bytes, charset: str | None) -> str:
    """Decode bytes with the declared charset, else UTF-8, else Windows-1252 (never fails)."""
    candidates: list[str] = []
    if charset:
        try:
            name = codecs.lookup(charset).name
        except LookupError:
            name = ""
        # As browsers do: mail labelled Latin-1 or ASCII is in practice Windows-1252
        # (€ at 0x80, ’ at 0x92), and "ASCII" mail often turns out to be UTF-8.
        if name in ("latin-1", "iso8859-1"):
            name = "cp1252"
        if name == "ascii":
            name = ""
        if name:
            candidates.append(name)
    candidates += ["utf-8", "cp1252"]
    # NUL characters are never meant as text, and PostgreSQL refuses them in text columns.
    for candidate in candidates:
        try:
            return data.decode(candidate).replace("\x00", "")
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("cp1252", errors="replace").replace("\x00", "")


def _part_bytes(part: Message) -> bytes:
    """Return the decoded payload (quoted-printable, base64) of a leaf part."""
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    return b""


def _part_text(part: Message) -> str:
    """Return the text of a text/plain or text/html part, converted to plain text."""
    text = _bytes_to_text(_part_bytes(part), part.get_content_charset())
    if part.get_content_type() == "text/html":
        return html_to_text(text)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _filename(part: Message) -> str | None:
    """Return the decoded file name of a part (RFC 2231 and RFC 2047), without any path."""
    try:
        name = part.get_filename() or part.get_param("name")
    except Exception:  # malformed parameters
        name = None
    if not name:
        return None
    if isinstance(name, tuple):  # an RFC 2231 value the library did not collapse
        name = _bytes_to_text((name[2] or "").encode("latin-1", "replace"), name[0])
    name = _decode_words(str(name))
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(char for char in name if char.isprintable()).strip()
    return name or None


def _is_body(part: Message) -> bool:
    return (
        part.get_content_type() in ("text/plain", "text/html")
        and part.get_content_disposition() != "attachment"
        and _filename(part) is None
    )


def _collect(part: Message, bodies: list[str], attachments: list[Attachment]) -> None:
    """Walk a part: append its readable bodies and its attachments."""
    content_type = part.get_content_type()
    if content_type == "multipart/alternative":
        _collect_alternative(part, bodies, attachments)
    elif part.is_multipart() and content_type.startswith("multipart/"):
        for child in part.iter_parts() if isinstance(part, EmailMessage) else []:
            _collect(child, bodies, attachments)
    elif content_type == "message/rfc822":
        attachments.append(_attached_message(part))
    elif part.is_multipart():
        return  # message/delivery-status and the like: machine data, not a document
    elif _is_body(part):
        bodies.append(_part_text(part))
    else:
        filename = _filename(part)
        if filename is None and content_type.startswith("image/"):
            return  # an inline image (logo, signature): not a document the parent sent
        if filename is None:
            filename = "piece-jointe" + (mimetypes.guess_extension(content_type) or ".bin")
        if content_type == "application/octet-stream":
            content_type = mimetypes.guess_type(filename)[0] or content_type
        attachments.append(Attachment(filename, content_type, _part_bytes(part)))


def _collect_alternative(part: Message, bodies: list[str], attachments: list[Attachment]) -> None:
    """Keep the text/plain alternative when it says something, else the richest other one."""
    children = list(part.iter_parts()) if isinstance(part, EmailMessage) else []
    plain = [child for child in children if child.get_content_type() == "text/plain"]
    if plain and _part_text(plain[0]).strip():
        _collect(plain[0], bodies, attachments)
        return
    others = [child for child in children if child.get_content_type() != "text/plain"]
    if others:
        _collect(others[-1], bodies, attachments)
    elif plain:
        _collect(plain[0], bodies, attachments)


def _attached_message(part: Message) -> Attachment:
    """Return a message/rfc822 part (a forwarded email) as an .eml attachment."""
    inner = part.get_payload(0) if part.is_multipart() else None
    data = b""
    if isinstance(inner, Message):
        try:
            data = inner.as_bytes()
        except Exception:  # a broken inner message is kept as best we can
            data = str(inner.get_payload()).encode("utf-8", "replace")
    name = _filename(part)
    if name is None and isinstance(inner, Message):
        subject = _header_text(inner, "Subject")
        name = (re.sub(r"[^\w .,'()\[\]-]+", "_", subject).strip()[:80] or "message") + ".eml"
    return Attachment(name or "message.eml", "message/rfc822", data)


# --- Auto-replies, bounces and lists ----------------------------------------------------

_AUTO_SENDER = re.compile(
    r"^(mailer-daemon|postmaster|no[-_.]?reply|do[-_.]?not[-_.]?reply|ne[-_.]?pas[-_.]?repondre"
    r"|nepasrepondre)([-+_.].*)?@",
    re.IGNORECASE,
)
_AUTO_SUBJECT = re.compile(
    r"^\s*(r[ée]ponse automatique|absence du bureau|out of (the )?office|automatic reply"
    r"|auto[- ]?reply|autoreply|undeliverable|undelivered mail|delivery status notification"
    r"|mail delivery (failed|failure|subsystem)|returned mail|non remis|message non remis"
    r"|notification d'[ée]tat de (la )?distribution|absent du bureau)\b",
    re.IGNORECASE,
)
_PRECEDENCE = {"bulk", "junk", "list", "auto_reply", "auto-reply"}
_AUTOREPLY_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autogenerated", "X-Auto-Reply-From")


def _auto_reason(message: Message, sender_address: str, subject: str) -> str | None:
    """Return why a message was sent by a machine, or None for a message from a person."""
    if message.get_content_type() == "multipart/report":
        kind = str(message.get_param("report-type") or "report")
        return f"delivery status notification (multipart/report; report-type={kind})"
    auto_submitted = _header_text(message, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = _header_text(message, "Precedence").lower()
    if precedence in _PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in _AUTOREPLY_HEADERS:
        value = _header_text(message, name)
        if _raw_header(message, name) is not None and value.lower() not in ("no", "false"):
            return f"{name}: {value}".rstrip(": ")
    suppress = {
        token.strip().lower()
        for token in _header_text(message, "X-Auto-Response-Suppress").split(",")
    }
    if suppress & {"all", "oof"}:
        return f"X-Auto-Response-Suppress: {_header_text(message, 'X-Auto-Response-Suppress')}"
    if _AUTO_SENDER.match(sender_address):
        return f"automatic sender: {sender_address}"
    if _raw_header(message, "Return-Path") is not None and _header_text(
        message, "Return-Path"
    ).replace(" ", "") in ("<>", ""):
        return "null Return-Path (bounce or automatic reply)"
    if _AUTO_SUBJECT.match(subject):
        return f"automatic reply subject: {subject}"
    return None
