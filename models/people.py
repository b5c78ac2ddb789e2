"""Pupils, guardians and the links between them, as the school's SIECLE exports know them."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import TimestampMixin


class Pupil(TimestampMixin, db.Model):
    """A pupil (élève) of one school, keyed by its SIECLE ELEVE_ID."""

    __tablename__ = "pupils"
    __table_args__ = (sa.UniqueConstraint("school_id", "siecle_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    siecle_id: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    ine: Mapped[str | None] = mapped_column(sa.String(11), index=True)
    last_name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    usage_name: Mapped[str | None] = mapped_column(sa.String(100))
    first_name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    birth_date: Mapped[date | None] = mapped_column(sa.Date)
    class_code: Mapped[str | None] = mapped_column(sa.String(30))
    left_on: Mapped[date | None] = mapped_column(sa.Date)

    school = relationship("School")
    guardian_links: Mapped[list[GuardianLink]] = relationship(back_populates="pupil")

    @property
    def display_name(self) -> str:
        """Return the name the school uses: first name and usage (or family) name."""
        return f"{self.first_name} {self.usage_name or self.last_name}"


class Guardian(TimestampMixin, db.Model):
    """A person responsible for pupils (SIECLE PERSONNE), maybe linked to a Guichet account."""

    __tablename__ = "guardians"
    __table_args__ = (sa.UniqueConstraint("school_id", "siecle_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    siecle_id: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    civility: Mapped[str | None] = mapped_column(sa.String(10))
    last_name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    usage_name: Mapped[str | None] = mapped_column(sa.String(100))
    first_name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    mobile: Mapped[str | None] = mapped_column(sa.String(20))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"), index=True)

    school = relationship("School")
    account = relationship("Account", back_populates="guardians")
    links: Mapped[list[GuardianLink]] = relationship(back_populates="guardian")

    @property
    def display_name(self) -> str:
        """Return the first name and usage (or family) name."""
        return f"{self.first_name} {self.usage_name or self.last_name}"


class GuardianLink(TimestampMixin, db.Model):
    """The tie between a guardian and a pupil: legal guardian, payer, or mere contact."""

    __tablename__ = "guardian_links"
    __table_args__ = (sa.UniqueConstraint("guardian_id", "pupil_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    guardian_id: Mapped[int] = mapped_column(sa.ForeignKey("guardians.id"), index=True)
    pupil_id: Mapped[int] = mapped_column(sa.ForeignKey("pupils.id"), index=True)
    is_legal: Mapped[bool] = mapped_column(default=False, nullable=False)
    pays_fees: Mapped[bool] = mapped_column(default=False, nullable=False)
    relationship_code: Mapped[str | None] = mapped_column(sa.String(4))
    active: Mapped[bool] = mapped_column(default=True, nullable=False)

    guardian: Mapped[Guardian] = relationship(back_populates="links")
    pupil: Mapped[Pupil] = relationship(back_populates="guardian_links")
