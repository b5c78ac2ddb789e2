"""Invoices the school issues to families (payments come with the payment issue)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import TimestampMixin, UTCDateTime


class Invoice(TimestampMixin, db.Model):
    """A debt (créance) of a pupil's family: amount in cents, issue and due dates."""

    __tablename__ = "invoices"
    __table_args__ = (
        sa.UniqueConstraint("school_id", "number"),
        sa.CheckConstraint("amount_cents > 0", name="positive_amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    number: Mapped[str] = mapped_column(sa.String(30), nullable=False)
    pupil_id: Mapped[int] = mapped_column(sa.ForeignKey("pupils.id"), index=True)
    payer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("guardians.id"), index=True)
    label: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    amount_cents: Mapped[int] = mapped_column(nullable=False)
    issued_on: Mapped[date] = mapped_column(sa.Date, nullable=False)
    due_on: Mapped[date] = mapped_column(sa.Date, nullable=False, index=True)
    # False: paid by direct debit or another channel; shown to parents, not payable online.
    payable_online: Mapped[bool] = mapped_column(default=True, nullable=False)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str | None] = mapped_column(sa.String(300))

    pupil = relationship("Pupil")
    payer = relationship("Guardian")
    school = relationship("School")
