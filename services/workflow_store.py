"""The engine's Store on the database: versions, instances (optimistic locking), audit, timers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from flask import g, has_app_context
from sqlalchemy.orm.attributes import set_committed_value

from engine import AuditRecord, ConflictError, Definition, EngineError, Instance, Status
from engine.loader import parse_definition
from extensions import db
from jobs import enqueue
from models import InstanceStatus, WorkflowEvent, WorkflowInstance, WorkflowTimer, WorkflowVersion
from models.base import utcnow
from services.workflow_actions import action_registry

_DEFINITIONS: dict[tuple[str, int, str], Definition] = {}
_LOCK = threading.Lock()


def published_version(key: str) -> WorkflowVersion | None:
    """Return the version new instances of a workflow start on."""
    query = (
        db.select(WorkflowVersion)
        .where(WorkflowVersion.key == key, WorkflowVersion.published_at.is_not(None))
        # Every publication makes the highest number: the order holds whatever the clocks.
        .order_by(WorkflowVersion.version.desc())
        .limit(1)
    )
    return db.session.scalars(query).first()


def definition_of(version: WorkflowVersion) -> Definition:
    """Parse a stored version once per process (versions are immutable)."""
    cache_key = (version.key, version.version, version.checksum)
    definition = _DEFINITIONS.get(cache_key)
    if definition is None:
        definition = parse_definition(
            version.source, f"{version.key} v{version.version}", action_registry()
        )
        with _LOCK:
            _DEFINITIONS[cache_key] = definition
    return definition


def to_engine(row: WorkflowInstance) -> Instance:
    """Turn a stored instance into the engine's record."""
    return Instance(
        key=row.key,
        version=row.version,
        step=row.step,
        data=dict(row.data or {}),
        status=Status(row.status.value),
        applicant=row.applicant,
        assignee=row.assignee_role,
        revision=row.revision,
        history=list(row.history or []),
        moves=row.moves,
        id=row.public_id,
    )


class SqlStore:
    """Keep workflow state in the request's database transaction (flush, never commit)."""

    def load_definition(self, key: str, version: int | None = None) -> tuple[int, Definition]:
        """Return (version, definition): the published one when version is None."""
        if version is None:
            row = published_version(key)
        else:
            row = db.session.scalars(
                db.select(WorkflowVersion).filter_by(key=key, version=version)
            ).first()
        if row is None:
            raise EngineError(
                f"no published workflow {key!r}" + (f" v{version}" if version else "")
            )
        return row.version, definition_of(row)

    def save(self, instance: Instance, expected_revision: int | None) -> Instance:
        """Insert a new instance, or update it only if nobody saved it since it was read."""
        values = {
            "step": instance.step,
            "data": instance.data,
            "status": InstanceStatus(instance.status.value),
            "assignee_role": instance.assignee,
            "history": list(instance.history),
            "moves": instance.moves,
            "revision": instance.revision,
            "updated_at": utcnow(),
        }
        if instance.status is not Status.ACTIVE:
            values["completed_at"] = utcnow()
        if expected_revision is None:
            row = WorkflowInstance(
                key=instance.key, version=instance.version, applicant=instance.applicant, **values
            )
            db.session.add(row)
            db.session.flush()
            instance.id = row.public_id
            _remember(row.public_id, row.id)
            return instance
        # Compare-and-set: of two concurrent submissions only one matches the old revision.
        row_id = db.session.execute(
            sa.update(WorkflowInstance)
            .where(
                WorkflowInstance.public_id == instance.id,
                WorkflowInstance.revision == expected_revision,
            )
            .values(**values)
            .returning(WorkflowInstance.id),
            execution_options={"synchronize_session": False},
        ).scalar_one_or_none()
        if row_id is None:
            raise ConflictError(f"instance {instance.id} was changed by someone else")
        _remember(instance.id or "", row_id)
        # The request's own copy of the row (the view loaded it) now shows what was saved,
        # without reading it back.
        loaded = db.session.identity_map.get(db.session.identity_key(WorkflowInstance, row_id))
        if loaded is not None:
            for name, value in values.items():
                set_committed_value(loaded, name, value)
        return instance

    def record_audit(self, record: AuditRecord) -> None:
        """Add the transition to the instance's audit trail."""
        db.session.add(
            WorkflowEvent(
                instance_id=self._row_id(record.instance_id),
                key=record.key,
                version=record.version,
                actor=record.actor,
                at=record.at,
                trigger=record.trigger,
                from_step=record.from_step,
                to_step=record.to_step,
                outcome=record.outcome,
                changes=dict(record.changes),
            )
        )

    def schedule_timer(self, instance: Instance, event: str, at: datetime) -> None:
        """Record the timer; with Redis, also ask rq's scheduler to fire it on time."""
        timer = WorkflowTimer(
            instance_id=self._row_id(instance.id), event=event, due_at=at, moves=instance.moves
        )
        db.session.add(timer)
        db.session.flush()
        enqueue("jobs.workflows.fire_timer", timer.id, at=at)

    def after_commit(self, effect: Callable[[], None]) -> None:
        """Run an effect now: whatever it sends goes through jobs, which wait for the commit."""
        effect()

    @staticmethod
    def _row_id(public_id: str | None) -> int | None:
        if public_id is None:
            return None
        known = g.get("workflow_row_ids", {}).get(public_id) if has_app_context() else None
        if known is not None:
            return known
        return db.session.scalar(
            db.select(WorkflowInstance.id).where(WorkflowInstance.public_id == public_id)
        )


def _remember(public_id: str, row_id: int) -> None:
    # The audit record and timers of this save need the row id: keep it for the request
    # (the store itself is shared by every request of the process).
    if has_app_context():
        g.setdefault("workflow_row_ids", {})[public_id] = row_id
