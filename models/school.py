"""The schools (EPLE) Guichet serves; every other record belongs to one."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db
from models.base import TimestampMixin


class School(TimestampMixin, db.Model):
    """An EPLE identified by its UAI, with the agent comptable's contact."""

    __tablename__ = "schools"

    id: Mapped[int] = mapped_column(primary_key=True)
    uai: Mapped[str] = mapped_column(sa.String(8), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    address: Mapped[str] = mapped_column(sa.String(300), default="", nullable=False)
    accountant_email: Mapped[str] = mapped_column(sa.String(254), default="", nullable=False)
    phone: Mapped[str] = mapped_column(sa.String(32), default="", nullable=False)

    def __repr__(self) -> str:
        return f"<School {self.uai} {self.name!r}>"
