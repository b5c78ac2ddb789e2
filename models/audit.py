"""The audit trail: who did what, to what, and when."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import UTCDateTime, utcnow


class AuditEvent(db.Model):
    """One recorded action, with its actor and the data it changed (secrets masked)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, nullable=False, index=True
    )
    school_id: Mapped[int | None] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    actor_label: Mapped[str] = mapped_column(sa.String(200), default="", nullable=False)
    action: Mapped[str] = mapped_column(sa.String(100), nullable=False, index=True)
    target_type: Mapped[str | None] = mapped_column(sa.String(50))
    target_id: Mapped[str | None] = mapped_column(sa.String(64))
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict, nullable=False)
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
