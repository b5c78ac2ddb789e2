"""Every email and SMS Guichet sends, recorded before it leaves."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import TimestampMixin, UTCDateTime, str_enum


class Channel(enum.StrEnum):
    """How a message travels."""

    EMAIL = "email"
    SMS = "sms"


class DeliveryStatus(enum.StrEnum):
    """Where a message stands: queued, delivered, recorded only (outbox backend) or failed."""

    QUEUED = "queued"
    SENT = "sent"
    STORED = "stored"
    FAILED = "failed"


class OutboxMessage(TimestampMixin, db.Model):
    """One outgoing message: who, what, when, and how its delivery went."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int | None] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel), nullable=False)
    to: Mapped[str] = mapped_column(sa.String(254), nullable=False, index=True)
    subject: Mapped[str] = mapped_column(sa.String(300), default="", nullable=False)
    body: Mapped[str] = mapped_column(sa.Text, nullable=False)
    html: Mapped[str | None] = mapped_column(sa.Text)
    template: Mapped[str | None] = mapped_column(sa.String(100))
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus), default=DeliveryStatus.QUEUED, nullable=False, index=True
    )
    attempts: Mapped[int] = mapped_column(default=0, nullable=False)
    error: Mapped[str | None] = mapped_column(sa.Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Extra email headers: Message-ID, In-Reply-To, References, Reply-To (desk replies).
    headers: Mapped[dict[str, str] | None] = mapped_column(sa.JSON)

    attachments: Mapped[list[OutboxAttachment]] = relationship(
        back_populates="message", cascade="all, delete-orphan"
    )

    def as_dict(self) -> dict[str, object]:
        """Return the message as plain data (for `flask outbox list --json`)."""
        return {
            "id": self.id,
            "channel": self.channel.value,
            "to": self.to,
            "subject": self.subject,
            "body": self.body,
            "status": self.status.value,
            "error": self.error,
            "attachments": [a.filename for a in self.attachments],
            "created_at": self.created_at.isoformat(),
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
        }


class OutboxAttachment(db.Model):
    """A file sent with an email (a payment ticket PDF, for instance)."""

    __tablename__ = "outbox_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(sa.ForeignKey("outbox_messages.id"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    content_type: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, nullable=False)

    message: Mapped[OutboxMessage] = relationship(back_populates="attachments")
