"""Invoices the school issues to families, the payments made on them, and the test bank."""

from __future__ import annotations

import enum
import secrets
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import TimestampMixin, UTCDateTime, str_enum


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
    payments = relationship("Payment", back_populates="invoice", order_by="Payment.id")
    # Set once the "échéance proche" reminder went out, so it is sent once per invoice.
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PaymentStatus(enum.StrEnum):
    """Where one payment stands: only PENDING reserves, only PAID counts as paid."""

    PENDING = "pending"  # reserved against the balance; the bank has or will have it
    PAID = "paid"
    REFUSED = "refused"
    ABANDONED = "abandoned"  # the parent cancelled on the bank's page
    EXPIRED = "expired"  # no result within the operation's lifetime
    FAILED = "failed"  # the bank could not open the operation
    VOIDED = "voided"  # an offline payment the accountant cancelled (recorded by mistake)

    @property
    def label(self) -> str:
        """Return the status as parents and accountants read it."""
        return _PAYMENT_LABELS[self]


_PAYMENT_LABELS = {
    PaymentStatus.PENDING: "En cours",
    PaymentStatus.PAID: "Payé",
    PaymentStatus.REFUSED: "Refusé",
    PaymentStatus.ABANDONED: "Abandonné",
    PaymentStatus.EXPIRED: "Expiré",
    PaymentStatus.FAILED: "Échec technique",
    PaymentStatus.VOIDED: "Annulé",
}


class PaymentMethod(enum.StrEnum):
    """How the money came: online through the bank, or handed to the agent comptable."""

    ONLINE = "online"
    CHEQUE = "cheque"
    CASH = "cash"
    TRANSFER = "transfer"

    @property
    def label(self) -> str:
        """Return the method in French."""
        return _METHOD_LABELS[self]


_METHOD_LABELS = {
    PaymentMethod.ONLINE: "Carte bancaire (paiement en ligne)",
    PaymentMethod.CHEQUE: "Chèque",
    PaymentMethod.CASH: "Espèces",
    PaymentMethod.TRANSFER: "Virement",
}


class Payment(TimestampMixin, db.Model):
    """Money towards one invoice: an online attempt (one bank operation) or an offline one."""

    __tablename__ = "payments"
    __table_args__ = (
        sa.CheckConstraint("amount_cents > 0", name="positive_amount"),
        sa.UniqueConstraint("school_id", "ticket_number"),
        sa.Index("ix_payments_open", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(
        sa.String(32), unique=True, nullable=False, default=lambda: secrets.token_hex(12)
    )
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("invoices.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    guardian_id: Mapped[int | None] = mapped_column(sa.ForeignKey("guardians.id"), index=True)
    method: Mapped[PaymentMethod] = mapped_column(str_enum(PaymentMethod), nullable=False)
    status: Mapped[PaymentStatus] = mapped_column(str_enum(PaymentStatus), nullable=False)
    amount_cents: Mapped[int] = mapped_column(nullable=False)
    # Online attempts: our reference (refdet) and the bank's operation id (idOp).
    refdet: Mapped[str | None] = mapped_column(sa.String(30), unique=True)
    id_op: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    payer_email: Mapped[str | None] = mapped_column(sa.String(254))
    bank_url: Mapped[str | None] = mapped_column(sa.String(500))  # where the parent pays
    # When the bank opened the operation: its lifetime counts from here, not from the
    # reservation (a parent may come back to a summary page later).
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    bank_result: Mapped[str | None] = mapped_column(sa.String(10))
    authorisation: Mapped[str | None] = mapped_column(sa.String(40))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checks: Mapped[int] = mapped_column(default=0, nullable=False)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Why the bank's answer could not be trusted (another amount or reference): in doubt.
    anomaly: Mapped[str | None] = mapped_column(sa.String(300))
    ticket_number: Mapped[str | None] = mapped_column(sa.String(20))
    workflow_instance_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("workflow_instances.id"), index=True
    )
    # Offline payments: who recorded it and the cheque number or transfer reference.
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"))
    note: Mapped[str | None] = mapped_column(sa.String(200))

    invoice = relationship("Invoice", back_populates="payments")
    account = relationship("Account", foreign_keys=[account_id])
    guardian = relationship("Guardian")
    recorded_by = relationship("Account", foreign_keys=[recorded_by_id])
    school = relationship("School")
    workflow_instance = relationship("WorkflowInstance")


class TicketCounter(db.Model):
    """The last ticket number given per school and calendar year."""

    __tablename__ = "ticket_counters"

    school_id: Mapped[int] = mapped_column(sa.ForeignKey("schools.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column(default=0, nullable=False)


class SandboxOperation(db.Model):
    """An operation of the embedded test bank, kept where every Guichet process sees it."""

    __tablename__ = "sandbox_operations"

    id_op: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    refdet: Mapped[str] = mapped_column(sa.String(30), nullable=False)
    amount_cents: Mapped[int] = mapped_column(nullable=False)
    payer_email: Mapped[str] = mapped_column(sa.String(254), nullable=False)
    objet: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    year: Mapped[int] = mapped_column(nullable=False)
    notification_url: Mapped[str] = mapped_column(sa.String(500), nullable=False)
    return_url: Mapped[str] = mapped_column(sa.String(500), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    # P (accepted), R (refused), A (abandoned): PayFiP's resultrans; None while on the page.
    result: Mapped[str | None] = mapped_column(sa.String(1))
    authorisation: Mapped[str | None] = mapped_column(sa.String(20))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
