"""What the studio lists: every workflow, its versions and where its running cases are."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from extensions import db
from models import InstanceStatus, WorkflowDraft, WorkflowInstance, WorkflowVersion
from services.workflow_store import definition_of


@dataclass
class VersionRow:
    """One version with its publication state and its running instances per step."""

    version: WorkflowVersion
    published: bool
    running: dict[str, int] = field(default_factory=dict)  # step -> count, in step order

    @property
    def total(self) -> int:
        """Return how many instances run on this version."""
        return sum(self.running.values())


@dataclass
class WorkflowRow:
    """One workflow: its title, versions (latest first) and draft."""

    key: str
    title: str
    versions: list[VersionRow]
    draft: WorkflowDraft | None

    @property
    def published(self) -> VersionRow | None:
        """Return the published version's row."""
        return next((v for v in self.versions if v.published), None)

    @property
    def running(self) -> int:
        """Return the running instances over every version."""
        return sum(v.total for v in self.versions)


def running_counts(key: str | None = None) -> dict[tuple[str, int], dict[str, int]]:
    """Count active instances per (key, version) and step, in one query."""
    query = (
        db.select(
            WorkflowInstance.key, WorkflowInstance.version, WorkflowInstance.step, db.func.count()
        )
        .where(WorkflowInstance.status == InstanceStatus.ACTIVE)
        .group_by(WorkflowInstance.key, WorkflowInstance.version, WorkflowInstance.step)
    )
    if key is not None:
        query = query.where(WorkflowInstance.key == key)
    counts: dict[tuple[str, int], dict[str, int]] = defaultdict(dict)
    for wf_key, version, step, count in db.session.execute(query):
        counts[(wf_key, version)][step] = count
    return counts


def workflows(key: str | None = None) -> list[WorkflowRow]:
    """Return every workflow (or one) with its versions, running counts and draft."""
    query = db.select(WorkflowVersion).order_by(WorkflowVersion.key, WorkflowVersion.version.desc())
    if key is not None:
        query = query.where(WorkflowVersion.key == key)
    by_key: dict[str, list[WorkflowVersion]] = defaultdict(list)
    for version in db.session.scalars(query):
        by_key[version.key].append(version)
    drafts_query = db.select(WorkflowDraft)
    if key is not None:
        drafts_query = drafts_query.where(WorkflowDraft.key == key)
    drafts = {d.key: d for d in db.session.scalars(drafts_query)}
    counts = running_counts(key)
    rows = []
    for wf_key in sorted(by_key.keys() | drafts.keys()):
        versions = by_key.get(wf_key, [])
        published = _published(versions)
        rows.append(
            WorkflowRow(
                key=wf_key,
                title=definition_of(published).title if published else wf_key,
                versions=[
                    VersionRow(v, v is published, _ordered(v, counts.get((wf_key, v.version), {})))
                    for v in versions
                ],
                draft=drafts.get(wf_key),
            )
        )
    return rows


def _published(versions: list[WorkflowVersion]) -> WorkflowVersion | None:
    candidates = [v for v in versions if v.published_at is not None]
    return max(candidates, key=lambda v: v.version, default=None)


def _ordered(version: WorkflowVersion, counts: dict[str, int]) -> dict[str, int]:
    if not counts:
        return {}
    order = list(definition_of(version).steps)
    return dict(sorted(counts.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99))
