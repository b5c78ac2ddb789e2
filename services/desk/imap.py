"""Reading the assistance desk's mailbox over IMAP: each unread message becomes a request.

A message is fetched with BODY.PEEK[] (which leaves it unread), ingested and committed,
and only then flagged \\Seen: a crash in between leaves it unread, and the next run finds
its Message-ID already recorded (DUPLICATE) and flags it then. A message the ingestion
fails on gets the keyword $GuichetError instead: it stays unread in the mailbox for a
person to look at, and later runs leave it alone until someone removes the keyword.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from extensions import db
from models import School
from services.desk.ingest import IngestResult, Outcome, ingest

log = logging.getLogger(__name__)

ERROR_KEYWORD = "$GuichetError"
DEFAULT_LIMIT = 200  # messages per run, so that one run stays short
SECURITY_MODES = ("ssl", "starttls", "none")


class MailboxError(Exception):
    """The mailbox cannot be reached, refuses the login or has no such folder."""


@dataclass(frozen=True)
class ImapSettings:
    """Where the desk's mailbox is and how to sign in to it (DESK_IMAP_* settings)."""

    host: str
    user: str
    password: str = field(repr=False)
    port: int = 993
    security: str = "ssl"
    folder: str = "INBOX"
    ca_file: str | None = None
    timeout: float = 30

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ImapSettings:
        """Build the settings from the Flask config; refuse incomplete ones in French."""
        if not config.get("DESK_IMAP_HOST"):
            raise MailboxError("DESK_IMAP_HOST n'est pas défini : aucune boîte à relever.")
        security = str(config.get("DESK_IMAP_SECURITY") or "ssl").lower()
        if security not in SECURITY_MODES:
            raise MailboxError(
                f"DESK_IMAP_SECURITY vaut {security!r} : choisir ssl, starttls ou none."
            )
        if not config.get("DESK_IMAP_USER") or not config.get("DESK_IMAP_PASSWORD"):
            raise MailboxError("DESK_IMAP_USER et DESK_IMAP_PASSWORD doivent être définis.")
        return cls(
            host=config["DESK_IMAP_HOST"],
            user=config["DESK_IMAP_USER"],
            password=config["DESK_IMAP_PASSWORD"],
            port=int(config.get("DESK_IMAP_PORT") or (993 if security == "ssl" else 143)),
            security=security,
            folder=config.get("DESK_IMAP_FOLDER") or "INBOX",
            ca_file=config.get("DESK_IMAP_CA_FILE") or None,
            timeout=float(config.get("DESK_IMAP_TIMEOUT_SECONDS") or 30),
        )


@dataclass(frozen=True)
class FetchResult:
    """What ingesting one message of the mailbox did, with the message's IMAP UID."""

    uid: int
    result: IngestResult

    def as_dict(self) -> dict[str, str | int | None]:
        """Return the UID and the ingestion result as JSON-ready values."""
        return {"uid": self.uid, **self.result.as_dict()}


def fetch_mailbox(
    settings: ImapSettings, school: School, *, limit: int = DEFAULT_LIMIT
) -> list[FetchResult]:
    """Ingest the oldest unread messages of the folder (at most `limit`), one commit each."""
    client = _connect(settings)
    try:
        try:
            client.login(settings.user, settings.password)
        except imaplib.IMAP4.error as error:
            raise MailboxError(
                f"Connexion refusée par {settings.host} pour {settings.user} : "
                f"{_safe(error, settings)}"
            ) from None
        _command(client, settings, "select", _quoted(settings.folder))
        found = _command(client, settings, "uid", "SEARCH", "UNSEEN", "UNKEYWORD", ERROR_KEYWORD)
        uids = sorted(int(uid) for uid in b" ".join(d for d in found if d).split())[:limit]
        results = []
        for uid in uids:
            result = _fetch_one(client, settings, uid, school)
            if result is not None:
                results.append(result)
        return results
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):  # the connection is gone
            client.logout()


def _fetch_one(
    client: imaplib.IMAP4, settings: ImapSettings, uid: int, school: School
) -> FetchResult | None:
    """Ingest one message, then flag it \\Seen, or $GuichetError when it cannot be recorded."""
    data = _command(client, settings, "uid", "FETCH", str(uid), "(BODY.PEEK[])")
    raw = next((part[1] for part in data if isinstance(part, tuple)), None)
    if raw is None:
        log.info("message UID %s gone before it could be read", uid)
        return None
    try:
        result = _record(raw, school)
    except Exception as error:
        db.session.rollback()
        if isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated:
            raise  # the database went away, not the message's fault: leave it for the next run
        log.exception("message UID %s of %s could not be ingested", uid, settings.folder)
        _command(client, settings, "uid", "STORE", str(uid), "+FLAGS", f"({ERROR_KEYWORD})")
        return FetchResult(uid, IngestResult(Outcome.ERROR, reason=str(error)[:300]))
    _command(client, settings, "uid", "STORE", str(uid), "+FLAGS", "(\\Seen)")
    return FetchResult(uid, result)


def _record(raw: bytes, school: School) -> IngestResult:
    """Ingest and commit one message; a second try settles a race with a concurrent run."""
    try:
        result = ingest(raw, school)
        db.session.commit()
    except sa.exc.IntegrityError:
        # Another run recorded the same Message-ID since ingest() looked: now a DUPLICATE.
        db.session.rollback()
        result = ingest(raw, school)
        db.session.commit()
    return result


def _connect(settings: ImapSettings) -> imaplib.IMAP4:
    """Open the connection, TLS from the start or after STARTTLS, the certificate checked."""
    where = f"{settings.host}:{settings.port}"
    context = ssl.create_default_context(cafile=settings.ca_file)
    try:
        if settings.security == "ssl":
            return imaplib.IMAP4_SSL(
                settings.host, settings.port, ssl_context=context, timeout=settings.timeout
            )
        client = imaplib.IMAP4(settings.host, settings.port, timeout=settings.timeout)
    except ssl.SSLCertVerificationError as error:
        raise MailboxError(_untrusted(where, error)) from None
    except (OSError, imaplib.IMAP4.error) as error:
        raise MailboxError(f"Boîte aux lettres {where} injoignable : {error}") from None
    if settings.security == "starttls":
        try:
            client.starttls(ssl_context=context)
        except (OSError, imaplib.IMAP4.error) as error:
            with contextlib.suppress(OSError):  # a failed handshake closed the socket already
                client.shutdown()
            if isinstance(error, ssl.SSLCertVerificationError):
                raise MailboxError(_untrusted(where, error)) from None
            raise MailboxError(f"STARTTLS impossible avec {where} : {error}") from None
    return client


def _command(client: imaplib.IMAP4, settings: ImapSettings, name: str, *args: str) -> list[Any]:
    """Run an IMAP command; raise MailboxError unless the server answers OK."""
    try:
        typ, data = getattr(client, name)(*args)
    except (OSError, imaplib.IMAP4.error) as error:  # BAD answer, connection lost
        typ, data = "BAD", [_safe(error, settings).encode()]
    if typ != "OK":
        text = b" ".join(d for d in data if isinstance(d, bytes)).decode(errors="replace")
        command = " ".join([name.upper(), *args[:1]])
        raise MailboxError(f"La relève de {settings.host} a échoué ({command}) : {text}")
    return data


def _untrusted(where: str, error: ssl.SSLCertVerificationError) -> str:
    """Explain a refused certificate, and where to name a private authority."""
    return (
        f"Certificat de {where} refusé ({error.verify_message}) : si le serveur utilise une "
        "autorité de certification privée, indiquer son fichier dans DESK_IMAP_CA_FILE."
    )


def _safe(error: Exception, settings: ImapSettings) -> str:
    """Return the server's answer as text, never with the password in it."""
    text = error.args[0] if error.args else error
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    text = str(text)
    return text.replace(settings.password, "********") if settings.password else text


def _quoted(folder: str) -> str:
    """Quote a folder name as an IMAP string."""
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
