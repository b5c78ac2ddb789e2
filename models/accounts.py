"""Accounts people log in with, and the roles staff hold in each school."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import TimestampMixin, UTCDateTime


class Role(enum.StrEnum):
    """What an account may do in a school."""

    PARENT = "parent"
    ADMIN = "admin"
    ACCOUNTANT = "accountant"


STAFF_ROLES = (Role.ADMIN, Role.ACCOUNTANT)


class Account(UserMixin, TimestampMixin, db.Model):
    """A login: staff sign in with their email, parents with the identifiant Guichet made."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Not unique: two guardians of a family often share one mailbox. Staff sign in with
    # their email, which services.accounts keeps unique among staff.
    email: Mapped[str | None] = mapped_column(sa.String(254), index=True)
    new_email: Mapped[str | None] = mapped_column(sa.String(254))  # waiting for confirmation
    identifiant: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    is_enabled: Mapped[bool] = mapped_column(default=True, nullable=False)
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_logins: Mapped[int] = mapped_column(default=0, nullable=False)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Temporary credentials (activation letters) expire and must be replaced at first login.
    must_change_password: Mapped[bool] = mapped_column(
        default=False, server_default=sa.false(), nullable=False
    )
    password_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="account", cascade="all, delete-orphan"
    )
    guardians = relationship("Guardian", back_populates="account")

    @property
    def is_active(self) -> bool:  # Flask-Login asks this before logging someone in
        return self.is_enabled

    def get_id(self) -> str:
        """Return the session id: it changes with the password, ending other sessions."""
        return f"{self.id}.{(self.password_hash or '')[-10:]}"

    def roles_in(self, school_id: int) -> set[Role]:
        """Return the roles this account holds in a school."""
        return {m.role for m in self.memberships if m.school_id == school_id}

    def has_role(self, role: Role, school_id: int | None = None) -> bool:
        """Tell whether the account holds a role, in a given school or in any."""
        return any(
            m.role == role and (school_id is None or m.school_id == school_id)
            for m in self.memberships
        )

    @property
    def is_staff(self) -> bool:
        """Tell whether the account holds a staff role anywhere."""
        return any(m.role in STAFF_ROLES for m in self.memberships)

    def __repr__(self) -> str:
        return f"<Account {self.id} {self.email or self.identifiant}>"


class Membership(TimestampMixin, db.Model):
    """A role held by an account in one school (staff may serve several schools)."""

    __tablename__ = "memberships"
    __table_args__ = (sa.UniqueConstraint("account_id", "school_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    role: Mapped[Role] = mapped_column(
        sa.Enum(Role, native_enum=False, length=20, values_callable=lambda e: [r.value for r in e]),
        nullable=False,
    )

    account: Mapped[Account] = relationship(back_populates="memberships")
    school = relationship("School")
