"""Workflow definitions as immutable versions, their running instances, audit and timers."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.base import DataJSON, TimestampMixin, UTCDateTime, utcnow


def _public_id() -> str:
    return uuid.uuid4().hex


class InstanceStatus(enum.StrEnum):
    """Whether an instance still expects someone to act."""

    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class WorkflowVersion(db.Model):
    """One immutable version of a workflow definition: its YAML source and who made it."""

    __tablename__ = "workflow_versions"
    __table_args__ = (sa.UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64), nullable=False, index=True)
    version: Mapped[int] = mapped_column(nullable=False)
    source: Mapped[str] = mapped_column(sa.Text, nullable=False)
    checksum: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    origin: Mapped[str] = mapped_column(sa.String(200), default="", nullable=False)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"))
    author_label: Mapped[str] = mapped_column(sa.String(200), default="", nullable=False)
    comment: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WorkflowInstance(TimestampMixin, db.Model):
    """A running case of a workflow, pinned to the version it started on."""

    __tablename__ = "workflow_instances"
    __table_args__ = (
        sa.Index("ix_workflow_instances_queue", "status", "assignee_role"),
        sa.Index("ix_workflow_instances_key_version_step", "key", "version", "step"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(
        sa.String(32), default=_public_id, unique=True, nullable=False
    )
    school_id: Mapped[int | None] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    key: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    version: Mapped[int] = mapped_column(nullable=False)
    step: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    data: Mapped[dict] = mapped_column(DataJSON, default=dict, nullable=False)
    status: Mapped[InstanceStatus] = mapped_column(
        sa.Enum(
            InstanceStatus,
            native_enum=False,
            length=20,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=InstanceStatus.ACTIVE,
        nullable=False,
    )
    # The engine's actor id: "account:<id>" for a signed-in person, "anon:<random>" for a
    # visitor tied to the instance by their signed session.
    applicant: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    assignee_role: Mapped[str | None] = mapped_column(sa.String(64))
    claimed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    history: Mapped[list] = mapped_column(sa.JSON, default=list, nullable=False)
    moves: Mapped[int] = mapped_column(default=0, nullable=False)
    revision: Mapped[int] = mapped_column(default=0, nullable=False)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    claimed_by = relationship("Account", foreign_keys=[claimed_by_id])


class WorkflowEvent(db.Model):
    """The audit trail of an instance: every transition, who fired it, what data changed."""

    __tablename__ = "workflow_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("workflow_instances.id"), index=True
    )
    key: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    version: Mapped[int] = mapped_column(nullable=False)
    actor: Mapped[str | None] = mapped_column(sa.String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    trigger: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    from_step: Mapped[str | None] = mapped_column(sa.String(64))
    to_step: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    outcome: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    changes: Mapped[dict] = mapped_column(DataJSON, default=dict, nullable=False)


class WorkflowTimer(db.Model):
    """An event to fire on an instance at a given time, unless the instance moved on."""

    __tablename__ = "workflow_timers"
    __table_args__ = (sa.Index("ix_workflow_timers_due", "fired_at", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("workflow_instances.id"), index=True)
    event: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    moves: Mapped[int] = mapped_column(nullable=False)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class UploadedFile(db.Model):
    """A file a person attached to a workflow step, kept in the database with its case."""

    __tablename__ = "uploaded_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(
        sa.String(32), default=_public_id, unique=True, nullable=False
    )
    school_id: Mapped[int | None] = mapped_column(sa.ForeignKey("schools.id"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    content_type: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    size: Mapped[int] = mapped_column(nullable=False)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class WorkflowDraft(db.Model):
    """The work in progress on a workflow's YAML, saved without publishing (one per key)."""

    __tablename__ = "workflow_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    source: Mapped[str] = mapped_column(sa.Text, nullable=False)
    # The version the draft started from: the diff and the impact report compare with it.
    based_on: Mapped[int | None] = mapped_column()
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)

    author = relationship("Account", foreign_keys=[author_id])


class WorkflowMove(db.Model):
    """One running instance moved to another version; a batch is undone together."""

    __tablename__ = "workflow_moves"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch: Mapped[str] = mapped_column(sa.String(32), nullable=False, index=True)
    instance_id: Mapped[int] = mapped_column(
        sa.ForeignKey("workflow_instances.id"), nullable=False, index=True
    )
    key: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    from_version: Mapped[int] = mapped_column(nullable=False)
    to_version: Mapped[int] = mapped_column(nullable=False)
    step: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    # The instance's revision right after the move: undo only if nobody acted since.
    revision_after: Mapped[int] = mapped_column(nullable=False)
    moved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"))
    moved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    undone_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"))

    instance = relationship("WorkflowInstance")
    moved_by = relationship("Account", foreign_keys=[moved_by_id])
