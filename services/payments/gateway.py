"""What every bank adapter offers: create an operation, then fetch its result server to server.

No Flask and no database here: views and jobs hand a `PaymentRequest` to a `Gateway` and
record the `Operation` and `PaymentResult` it gives back. The shapes follow PayFiP's web
service (docs/payfip.md), the only bank Guichet talks to; the sandbox bank speaks the same.

Expiry is the caller's decision: `fetch_result` answers PENDING while the bank says the
operation is in progress (PayFiP's P5), and `expire_if_stale` turns that into EXPIRED once
the operation is older than `EXPIRE_AFTER`, from the creation time the caller recorded.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from engine.clock import PARIS  # re-exported: the bank's dates are Paris time

REFDET_PATTERN = re.compile(r"[A-Za-z0-9]{1,30}")
OBJET_PATTERN = re.compile(r"[A-Za-z0-9 ]{0,100}")
OBJET_MAX_LENGTH = 100
# Public integrations check 6 to 80 characters and an "@" before calling (eopayment's
# payfip_ws.py); PayFiP answers A2 ("adresse mel incorrecte") otherwise. ASCII only: no
# public integration shows PayFiP taking an internationalised address.
EMAIL_PATTERN = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.[A-Za-z]{2,}"
)
EMAIL_LENGTHS = range(6, 81)
URL_PATTERN = re.compile(r"https?://[!-~]+")

# An idOp lives 15 minutes (PayFiP). A parent who opened the bank page at minute 14 may
# still be typing: give 5 more before calling it expired, as eopayment does (20 minutes).
OPERATION_LIFETIME = timedelta(minutes=15)
EXPIRE_AFTER = OPERATION_LIFETIME + timedelta(minutes=5)

# Letters NFKD does not decompose into ASCII but French labels use.
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss"})


class PaymentStatus(StrEnum):
    """Where a payment stands according to the bank's back-channel answer."""

    PAID = "paid"
    REFUSED = "refused"
    CANCELLED = "cancelled"
    PENDING = "pending"  # the parent may still be on the bank's page
    EXPIRED = "expired"  # pending for longer than an operation lives (decided by the caller)
    UNKNOWN = "unknown"  # the bank does not know this operation (never received, or purged)

    @property
    def final(self) -> bool:
        """Tell whether the bank's answer for this operation can no longer change."""
        return self in (PaymentStatus.PAID, PaymentStatus.REFUSED, PaymentStatus.CANCELLED)


class GatewayError(RuntimeError):
    """A bank call that failed; `retryable` tells whether asking again later may help."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        code: str | None = None,
        label: str | None = None,
        severity: str | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.code = code
        self.label = label
        self.severity = severity


class InvalidPaymentRequestError(GatewayError, ValueError):
    """A payment request the bank would refuse: caught before any call, never retryable."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False, code="invalid_request")


@dataclass(frozen=True)
class PaymentRequest:
    """One payment attempt to open at the bank (refdet is unique per attempt)."""

    refdet: str
    amount_cents: int
    payer_email: str = field(repr=False)  # kept out of logs and tracebacks
    objet: str
    year: int
    notification_url: str
    return_url: str

    def __post_init__(self) -> None:
        if not REFDET_PATTERN.fullmatch(self.refdet):
            raise InvalidPaymentRequestError(
                f"refdet {self.refdet!r} must be 1 to 30 letters and digits (no separators)"
            )
        if isinstance(self.amount_cents, bool) or not isinstance(self.amount_cents, int):
            raise InvalidPaymentRequestError("amount_cents must be an integer number of cents")
        if self.amount_cents <= 0:
            raise InvalidPaymentRequestError("amount_cents must be positive")
        if not OBJET_PATTERN.fullmatch(self.objet):
            raise InvalidPaymentRequestError(
                "objet must be ≤ 100 ASCII letters, digits and spaces: build it with to_objet()"
            )
        if len(self.payer_email) not in EMAIL_LENGTHS or not EMAIL_PATTERN.fullmatch(
            self.payer_email
        ):
            raise InvalidPaymentRequestError(
                f"the payer's email {mask_email(self.payer_email)} is not an address the bank takes"
            )
        if not 2000 <= self.year <= 2999:
            raise InvalidPaymentRequestError(f"year {self.year!r} is not a four-digit year")
        for name in ("notification_url", "return_url"):
            if not URL_PATTERN.fullmatch(getattr(self, name)):
                raise InvalidPaymentRequestError(f"{name} must be an absolute http(s) URL")

    @classmethod
    def build(
        cls,
        *,
        refdet: str,
        amount_cents: int,
        payer_email: str,
        label: str,
        year: int,
        notification_url: str,
        return_url: str,
    ) -> PaymentRequest:
        """Build a request from a French label, turned into a valid objet."""
        return cls(
            refdet=refdet,
            amount_cents=amount_cents,
            payer_email=payer_email.strip(),
            objet=to_objet(label),
            year=year,
            notification_url=notification_url,
            return_url=return_url,
        )


@dataclass(frozen=True)
class Operation:
    """An operation the bank opened: where to send the parent, and when it was created."""

    id_op: str
    redirect_url: str
    created_at: datetime


@dataclass(frozen=True)
class PaymentResult:
    """The bank's back-channel answer about one operation."""

    id_op: str
    status: PaymentStatus
    result_code: str  # resultrans (P, V, R, Z, A) or the bank's error code (P1, P5)
    refdet: str | None = None
    amount_cents: int | None = None
    authorisation: str | None = None  # numauto, on accepted payments
    paid_at: datetime | None = None  # aware; set on paid results only
    payer_email: str | None = field(default=None, repr=False)  # kept out of logs


class Gateway(Protocol):
    """A bank adapter: open an operation, then ask for its result server to server."""

    def create_operation(self, request: PaymentRequest) -> Operation:
        """Open an operation at the bank and return where to redirect the parent."""
        ...

    def fetch_result(self, id_op: str) -> PaymentResult:
        """Ask the bank how an operation ended (PENDING while in progress)."""
        ...


def to_objet(label: str) -> str:
    """Turn a French label into an objet: ASCII letters, digits and single spaces, ≤ 100."""
    text = unicodedata.normalize("NFKD", label.translate(_LIGATURES))
    text = "".join(char for char in text if not unicodedata.combining(char))
    # Punctuation separates words ("Demi-pension/Internat"): make it a space, not nothing.
    text = "".join(char if char.isascii() and char.isalnum() else " " for char in text)
    return " ".join(text.split())[:OBJET_MAX_LENGTH].rstrip()


def mask_email(email: str | None) -> str:
    """Return an address fit for logs: first letter and domain only (j***@example.org)."""
    if not email:
        return "<none>"
    local, at, domain = email.rpartition("@")
    if not at or not local:
        return "***"
    return f"{local[0]}***@{domain}"


def paris_time(dattrans: str, heurtrans: str) -> datetime:
    """Build the aware moment of a transaction from DDMMYYYY and HHMM in Paris time."""
    if not (re.fullmatch(r"\d{8}", dattrans) and re.fullmatch(r"\d{4}", heurtrans)):
        raise ValueError(f"not DDMMYYYY and HHMM: {dattrans!r} {heurtrans!r}")
    naive = datetime.strptime(dattrans + heurtrans, "%d%m%Y%H%M")
    return naive.replace(tzinfo=PARIS)


def expire_if_stale(
    result: PaymentResult, created_at: datetime, now: datetime | None = None
) -> PaymentResult:
    """Turn a PENDING result into EXPIRED once its operation is older than EXPIRE_AFTER."""
    if result.status is not PaymentStatus.PENDING:
        return result
    now = now or datetime.now(UTC)
    if now - created_at < EXPIRE_AFTER:
        return result
    return PaymentResult(
        id_op=result.id_op, status=PaymentStatus.EXPIRED, result_code=result.result_code
    )
