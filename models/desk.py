"""The assistance desk: help requests, their messages and attachments."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import TimestampMixin, UTCDateTime, str_enum, utcnow


class RequestStatus(enum.StrEnum):
    """Where a help request stands in the accountants' queue."""

    NEW = "new"  # nobody has answered yet
    OPEN = "open"  # being worked on
    WAITING = "waiting"  # waiting for the family
    CLOSED = "closed"


class MessageKind(enum.StrEnum):
    """Who wrote a message of a request's thread."""

    INCOMING = "incoming"  # from the family (email or form)
    REPLY = "reply"  # from the school, sent to the family
    NOTE = "note"  # internal, never sent


class HelpRequest(TimestampMixin, db.Model):
    """A family's request for help, with the thread of messages about it."""

    __tablename__ = "help_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(20), unique=True, nullable=False)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    status: Mapped[RequestStatus] = mapped_column(
        str_enum(RequestStatus), default=RequestStatus.NEW, nullable=False, index=True
    )
    subject: Mapped[str] = mapped_column(sa.String(300), nullable=False)
    requester_email: Mapped[str] = mapped_column(sa.String(254), nullable=False, index=True)
    requester_name: Mapped[str] = mapped_column(sa.String(200), default="", nullable=False)
    # The parent account, when the sender's address is the confirmed one of exactly one.
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    # The staff member working on it (None: in the common queue).
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # How it came: "email" (the mailbox) or "formulaire" (Contacter l'assistance).
    channel: Mapped[str] = mapped_column(sa.String(20), default="email", nullable=False)
    # A category of workflows/assistance.yaml (paiement, facture…); none for an email.
    category: Mapped[str | None] = mapped_column(sa.String(40))
    invoice_id: Mapped[int | None] = mapped_column(sa.ForeignKey("invoices.id"), index=True)
    # When the school first answered: the first-response target stops counting there.
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    messages = relationship(
        "HelpMessage", back_populates="request", order_by="HelpMessage.id", lazy="selectin"
    )
    account = relationship("Account", foreign_keys=[account_id])
    assignee = relationship("Account", foreign_keys=[assignee_id])
    invoice = relationship("Invoice")
    school = relationship("School")


class HelpMessage(db.Model):
    """One message of a request's thread; Message-ID makes an email's ingestion idempotent."""

    __tablename__ = "help_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("help_requests.id"), index=True)
    kind: Mapped[MessageKind] = mapped_column(str_enum(MessageKind), nullable=False)
    message_id: Mapped[str | None] = mapped_column(sa.String(300), unique=True)
    sender_email: Mapped[str] = mapped_column(sa.String(254), default="", nullable=False)
    sender_name: Mapped[str] = mapped_column(sa.String(200), default="", nullable=False)
    subject: Mapped[str] = mapped_column(sa.String(300), default="", nullable=False)
    text: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)
    visible_text: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    # The staff member who wrote a reply or a note, or the parent who used the form.
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"))
    # A reply's email in the outbox: whether it has left yet.
    outbox_message_id: Mapped[int | None] = mapped_column(sa.ForeignKey("outbox_messages.id"))

    request = relationship("HelpRequest", back_populates="messages")
    author = relationship("Account")
    outbox_message = relationship("OutboxMessage")
    attachments = relationship("HelpAttachment", back_populates="message", lazy="selectin")


class HelpAttachment(db.Model):
    """A file that came with a message."""

    __tablename__ = "help_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(sa.ForeignKey("help_messages.id"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    content_type: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    size: Mapped[int] = mapped_column(nullable=False)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, nullable=False)

    message = relationship("HelpMessage", back_populates="attachments")


class RequestCounter(db.Model):
    """The last request number given per calendar year (DEM-2026-000123)."""

    __tablename__ = "help_request_counters"

    year: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column(default=0, nullable=False)
