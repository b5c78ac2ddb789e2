"""Move running instances to the published version when they are compatible, and undo it."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from engine import Definition
from engine.compatibility import move_problems
from extensions import db
from models import (
    Account,
    InstanceStatus,
    WorkflowEvent,
    WorkflowInstance,
    WorkflowMove,
    WorkflowVersion,
)
from models.base import utcnow
from services import audit
from services.workflow_actions import action_registry
from services.workflow_drafts import StudioError
from services.workflow_store import definition_of, published_version, to_engine

MAX_BATCH = 5000  # instances moved in one request; a school has a few hundred running
UNDO_REFUSED = "le dossier a avancé depuis le déplacement : il reste sur la nouvelle version"


@dataclass
class StepImpact:
    """How many instances sit in one step of one version, and how many could move."""

    step: str
    title: str
    count: int = 0
    movable: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def staying(self) -> int:
        """Return how many would stay on their version."""
        return self.count - self.movable


@dataclass
class VersionImpact:
    """The running instances of one version, step by step, against a target definition."""

    version: int
    steps: list[StepImpact]

    @property
    def count(self) -> int:
        """Return the running instances of this version."""
        return sum(s.count for s in self.steps)

    @property
    def movable(self) -> int:
        """Return how many of them could move."""
        return sum(s.movable for s in self.steps)


@dataclass
class MoveReport:
    """What a bulk move did: the batch to undo, the moved and those left (with why)."""

    batch: str
    moved: int
    kept: list[tuple[str, list[str]]]


@dataclass
class BatchSummary:
    """One bulk move as listed on the workflow's page."""

    batch: str
    from_version: int
    to_version: int
    moved: int
    undone: int
    moved_at: datetime
    moved_by: str


def instance_problems(
    row: WorkflowInstance, new: Definition, known: dict[int, Definition] | None = None
) -> list[str]:
    """Say why one stored instance may not move to a definition (empty: it may);
    `known` keeps the definitions of the versions already read during a bulk operation."""
    known = {} if known is None else known
    old = known.get(row.version)
    if old is None:
        old = known[row.version] = definition_of(_version_row(row.key, row.version))
    # A timer or system event the new step no longer declares is among the problems.
    return move_problems(to_engine(row), old, new, action_registry())


def impact(key: str, target: Definition, target_version: int | None) -> list[VersionImpact]:
    """Report, for every version but the target, where its running instances sit and
    whether each could move to the target definition."""
    report: dict[int, dict[str, StepImpact]] = {}
    known: dict[int, Definition] = {}
    rows = db.session.scalars(
        db.select(WorkflowInstance)
        .where(WorkflowInstance.key == key, WorkflowInstance.status == InstanceStatus.ACTIVE)
        .order_by(WorkflowInstance.version, WorkflowInstance.step)
    )
    for row in rows:
        if row.version == target_version:
            continue
        steps = report.setdefault(row.version, {})
        title = _step_title(row, target, known)
        entry = steps.setdefault(row.step, StepImpact(row.step, title))
        entry.count += 1
        problems = instance_problems(row, target, known)
        if problems:
            entry.reasons.update(problems)
        else:
            entry.movable += 1
    return [
        VersionImpact(version, list(steps.values())) for version, steps in sorted(report.items())
    ]


def move_compatible(key: str, from_version: int, author: Account) -> MoveReport:
    """Move the compatible running instances of a version to the published one, each
    checked again under a row lock and recorded so that the batch can be undone."""
    target_row = published_version(key)
    if target_row is None:
        raise StudioError(f"Aucune version de « {key} » n'est publiée.")
    if target_row.version == from_version:
        raise StudioError("Ces dossiers sont déjà sur la version publiée.")
    target = definition_of(target_row)
    batch = uuid.uuid4().hex
    known: dict[int, Definition] = {}
    moved, kept = 0, []
    ids = db.session.scalars(
        db.select(WorkflowInstance.id)
        .where(
            WorkflowInstance.key == key,
            WorkflowInstance.version == from_version,
            WorkflowInstance.status == InstanceStatus.ACTIVE,
        )
        .order_by(WorkflowInstance.id)
        .limit(MAX_BATCH)
    ).all()
    for instance_id in ids:
        row = _locked(instance_id)
        if row is None or row.version != from_version or row.status != InstanceStatus.ACTIVE:
            continue  # it finished or moved meanwhile
        problems = instance_problems(row, target, known)
        if problems:
            kept.append((row.public_id, problems))
            continue
        _set_version(row, target_row.version, actor=author, trigger="migrate")
        db.session.add(
            WorkflowMove(
                batch=batch,
                instance_id=row.id,
                key=key,
                from_version=from_version,
                to_version=target_row.version,
                step=row.step,
                revision_after=row.revision,
                moved_by_id=author.id,
            )
        )
        moved += 1
    audit.record(
        "workflow.instances_moved",
        actor=author,
        data={
            "key": key,
            "from": from_version,
            "to": target_row.version,
            "batch": batch,
            "moved": moved,
            "kept": len(kept),
        },
    )
    db.session.flush()
    return MoveReport(batch, moved, kept)


def undo(key: str, batch: str, author: Account) -> MoveReport:
    """Put the instances of a bulk move back on their version, unless they acted since."""
    moves = db.session.scalars(
        db.select(WorkflowMove)
        .where(WorkflowMove.key == key, WorkflowMove.batch == batch)
        .order_by(WorkflowMove.id)
    ).all()
    if not moves:
        raise StudioError("Ce déplacement n'existe pas.")
    undone, kept = 0, []
    for move in moves:
        if move.undone_at is not None:
            continue
        row = _locked(move.instance_id)
        if row is None or row.version != move.to_version or row.revision != move.revision_after:
            kept.append((row.public_id if row else "?", [UNDO_REFUSED]))
            continue
        _set_version(row, move.from_version, actor=author, trigger="migrate_undo")
        move.undone_at = utcnow()
        move.undone_by_id = author.id
        undone += 1
    audit.record(
        "workflow.move_undone",
        actor=author,
        data={"key": key, "batch": batch, "undone": undone, "kept": len(kept)},
    )
    db.session.flush()
    return MoveReport(batch, undone, kept)


def batches(key: str) -> list[BatchSummary]:
    """List the bulk moves of a workflow, latest first."""
    moves = db.session.scalars(
        db.select(WorkflowMove).where(WorkflowMove.key == key).order_by(WorkflowMove.id.desc())
    ).all()
    summaries: dict[str, BatchSummary] = {}
    for move in moves:
        summary = summaries.get(move.batch)
        if summary is None:
            summary = summaries[move.batch] = BatchSummary(
                move.batch,
                move.from_version,
                move.to_version,
                0,
                0,
                move.moved_at,
                move.moved_by.name if move.moved_by else "",
            )
        summary.moved += 1
        summary.undone += move.undone_at is not None
    return list(summaries.values())


def _locked(instance_id: int) -> WorkflowInstance | None:
    return db.session.scalars(
        db.select(WorkflowInstance)
        .where(WorkflowInstance.id == instance_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def _set_version(row: WorkflowInstance, version: int, *, actor: Account, trigger: str) -> None:
    old = row.version
    row.version = version
    # A page shown before the move no longer matches: its submission is refused as stale.
    row.revision += 1
    row.updated_at = utcnow()
    db.session.add(
        WorkflowEvent(
            instance_id=row.id,
            key=row.key,
            version=version,
            actor=f"account:{actor.id}",
            at=utcnow(),
            trigger=trigger,
            from_step=row.step,
            to_step=row.step,
            outcome="migrated",
            changes={"version": {"old": old, "new": version}},
        )
    )


def _version_row(key: str, version: int) -> WorkflowVersion:
    row = db.session.scalars(db.select(WorkflowVersion).filter_by(key=key, version=version)).first()
    if row is None:
        raise StudioError(f"La version {version} de « {key} » est introuvable.")
    return row


def _step_title(row: WorkflowInstance, target: Definition, known: dict[int, Definition]) -> str:
    step = target.steps.get(row.step)
    if step is None:
        old = known.get(row.version) or definition_of(_version_row(row.key, row.version))
        step = old.steps.get(row.step)
    return step.title if step is not None else row.step
