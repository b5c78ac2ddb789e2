"""Workflow definitions as versions: check the YAML files, sync them in, list and show them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from config import ROOT, ConfigError
from engine import Problem, check
from engine.loader import parse_definition
from extensions import db
from models import InstanceStatus, WorkflowInstance, WorkflowVersion
from models.base import utcnow
from services import audit
from services.workflow_actions import action_registry
from services.workflow_store import published_version

_CHECKED: dict[tuple[str, str], list[Problem]] = {}


def shipped_files() -> list[Path]:
    """Return the YAML definitions shipped in workflows/, in name order."""
    return sorted(Path(current_app.config["WORKFLOWS_DIR"]).glob("*.yaml"))


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def check_source(source: str, filename: str) -> list[Problem]:
    """Validate one definition's text (cached per content: definitions rarely change)."""
    digest = hashlib.sha256(source.encode()).hexdigest()
    cache_key = (filename, digest)
    if cache_key not in _CHECKED:
        if len(_CHECKED) >= 256:  # the studio checks every keystroke's text: keep few
            _CHECKED.clear()
        _CHECKED[cache_key] = check(source, filename, action_registry())
    return _CHECKED[cache_key]


def check_shipped() -> None:
    """Refuse to start when a shipped definition is broken, naming file, line and column."""
    errors = blocking(check_files(shipped_files()))
    if errors:
        lines = "\n".join(str(problem) for problem in errors)
        raise ConfigError(f"broken workflow definition(s):\n{lines}")


def check_files(paths: list[Path]) -> list[Problem]:
    """Validate definition files; return every problem, warnings included."""
    problems: list[Problem] = []
    for path in paths:
        problems.extend(check_source(path.read_text(encoding="utf-8"), _display(path)))
    return problems


def blocking(problems: list[Problem]) -> list[Problem]:
    """Keep the problems that stop a definition from running."""
    return [p for p in problems if p.severity == "error"]


@dataclass(frozen=True)
class SyncResult:
    """What syncing one file did."""

    key: str
    version: int
    created: bool
    published: bool


def sync_files(paths: list[Path] | None = None) -> list[SyncResult]:
    """Store each file as a new version when its content changed; publish it if the
    published version also came from the files (an administrator's edit is kept)."""
    results = []
    for path in paths if paths is not None else shipped_files():
        source = path.read_text(encoding="utf-8")
        origin = f"file:{_display(path)}"
        if blocking(check_source(source, _display(path))):
            raise ValueError(
                f"{_display(path)} is not a valid workflow: run `flask workflows check`"
            )
        results.append(_sync_one(source, origin))
    return results


def _sync_one(source: str, origin: str) -> SyncResult:
    key = parse_definition(source, origin, action_registry()).key
    checksum = hashlib.sha256(source.encode()).hexdigest()
    versions = list(
        db.session.scalars(
            db.select(WorkflowVersion).filter_by(key=key).order_by(WorkflowVersion.version)
        )
    )
    from_file = [v for v in versions if v.origin == origin]
    if from_file and from_file[-1].checksum == checksum:
        return SyncResult(key, from_file[-1].version, created=False, published=False)
    current = published_version(key)
    publish = current is None or current.origin == origin
    version = WorkflowVersion(
        key=key,
        version=(versions[-1].version if versions else 0) + 1,
        source=source,
        checksum=checksum,
        origin=origin,
        author_label="flask workflows sync",
        comment=f"Synchronised from {origin.removeprefix('file:')}",
        published_at=utcnow() if publish else None,
    )
    db.session.add(version)
    db.session.flush()
    audit.record(
        "workflow.version_created",
        actor_label="flask workflows sync",
        target=version,
        data={"key": key, "version": version.version, "published": publish},
    )
    return SyncResult(key, version.version, created=True, published=publish)


def list_versions() -> list[dict[str, object]]:
    """Return every version with its publication state and the instances running on it."""
    counts = {
        (key, version): count
        for key, version, count in db.session.execute(
            db.select(WorkflowInstance.key, WorkflowInstance.version, db.func.count())
            .where(WorkflowInstance.status == InstanceStatus.ACTIVE)
            .group_by(WorkflowInstance.key, WorkflowInstance.version)
        )
    }
    rows = []
    for version in db.session.scalars(
        db.select(WorkflowVersion).order_by(WorkflowVersion.key, WorkflowVersion.version)
    ):
        current = published_version(version.key)
        rows.append(
            {
                "key": version.key,
                "version": version.version,
                "published": current is not None and current.id == version.id,
                "origin": version.origin,
                "created_at": version.created_at.isoformat(),
                "running": counts.get((version.key, version.version), 0),
            }
        )
    return rows


def get_version(key: str, version: int | None = None) -> WorkflowVersion | None:
    """Return one version, or the published one."""
    if version is None:
        return published_version(key)
    return db.session.scalars(
        db.select(WorkflowVersion).filter_by(key=key, version=version)
    ).first()
