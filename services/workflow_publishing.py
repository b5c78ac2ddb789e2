"""Publish a definition as a new immutable version, or roll back to an earlier one, safely."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import sqlalchemy as sa

from engine import Definition, Problem
from engine.loader import parse_definition
from engine.scenarios import ScenarioResult, run_scenarios
from extensions import db
from models import Account, InstanceStatus, WorkflowInstance, WorkflowVersion
from models.base import utcnow
from services import audit
from services.workflow_actions import action_registry
from services.workflow_drafts import StudioError, draft_of, problems_of
from services.workflow_store import definition_of, published_version
from services.workflow_versions import blocking

MAX_COMMENT = 500


@dataclass(frozen=True)
class SittingInstance:
    """A running instance sitting in a step the new version would retire."""

    public_id: str
    version: int
    step: str
    school_id: int | None


@dataclass
class PublishCheck:
    """Everything that decides whether a text may be published, for the preview page."""

    key: str
    errors: list[Problem] = field(default_factory=list)
    scenarios: list[ScenarioResult] = field(default_factory=list)
    retired: list[SittingInstance] = field(default_factory=list)
    unchanged: bool = False

    @property
    def failed_scenarios(self) -> list[ScenarioResult]:
        """Return the scenarios that did not pass (each blocks the publication)."""
        return [s for s in self.scenarios if not s.passed]

    @property
    def ok(self) -> bool:
        """Tell whether nothing stands in the way of publishing."""
        return not (self.errors or self.failed_scenarios or self.retired or self.unchanged)

    def reasons(self) -> list[str]:
        """Say in French why the text cannot be published."""
        reasons = []
        if self.errors:
            reasons.append(f"la définition comporte {len(self.errors)} erreur(s)")
        if self.failed_scenarios:
            names = ", ".join(f"« {s.name} »" for s in self.failed_scenarios)
            reasons.append(f"des scénarios échouent : {names}")
        if self.retired:
            steps = ", ".join(sorted({f"« {i.step} »" for i in self.retired}))
            reasons.append(
                f"{len(self.retired)} dossier(s) en cours sont à une étape supprimée ({steps})"
            )
        if self.unchanged:
            reasons.append("le texte est identique à la version publiée")
        return reasons


class PublishRefusedError(StudioError):
    """Refuse a publication, carrying the check that explains why."""

    def __init__(self, check: PublishCheck) -> None:
        super().__init__("Publication impossible : " + " ; ".join(check.reasons()) + ".")
        self.check = check


def checksum(source: str) -> str:
    """Return the fingerprint stored with a version."""
    return hashlib.sha256(source.encode()).hexdigest()


def parse(key: str, source: str) -> Definition:
    """Build the definition of a text that passed the checks."""
    return parse_definition(source, f"{key}.yaml", action_registry())


def sitting_in_retired_steps(key: str, new: Definition) -> list[SittingInstance]:
    """List running instances (any version) whose step the new definition no longer has."""
    rows = db.session.execute(
        db.select(
            WorkflowInstance.public_id,
            WorkflowInstance.version,
            WorkflowInstance.step,
            WorkflowInstance.school_id,
        )
        .where(
            WorkflowInstance.key == key,
            WorkflowInstance.status == InstanceStatus.ACTIVE,
            WorkflowInstance.step.not_in(list(new.steps)),
        )
        .order_by(WorkflowInstance.step, WorkflowInstance.id)
    )
    return [SittingInstance(*row) for row in rows]


def prepare(key: str, source: str) -> PublishCheck:
    """Run every check a publication needs: validation, scenarios, retired steps."""
    result = PublishCheck(key=key, errors=blocking(problems_of(key, source)))
    if result.errors:
        return result
    current = published_version(key)
    result.unchanged = current is not None and current.checksum == checksum(source)
    result.scenarios = run_scenarios(source, f"{key}.yaml", action_registry())
    result.retired = sitting_in_retired_steps(key, parse(key, source))
    return result


def publish(key: str, source: str, comment: str, author: Account) -> WorkflowVersion:
    """Store the text as the next version and publish it (new instances start on it)."""
    comment = _comment(comment)
    check = prepare(key, source)
    if not check.ok:
        raise PublishRefusedError(check)
    version = _new_version(key, source, comment, author, origin="studio")
    draft = draft_of(key)
    if draft is not None:
        db.session.delete(draft)
    audit.record(
        "workflow.published",
        actor=author,
        target=version,
        data={"key": key, "version": version.version, "comment": comment},
    )
    return version


def rollback(key: str, number: int, comment: str, author: Account) -> WorkflowVersion:
    """Publish an earlier version's text again, as a new version, with the same checks."""
    comment = _comment(comment)
    earlier = db.session.scalars(
        db.select(WorkflowVersion).filter_by(key=key, version=number)
    ).first()
    if earlier is None:
        raise StudioError(f"La version {number} de « {key} » n'existe pas.")
    check = prepare(key, earlier.source)
    if not check.ok:
        raise PublishRefusedError(check)
    version = _new_version(
        key,
        earlier.source,
        f"Retour à la version {number} : {comment}",
        author,
        origin=f"rollback:v{number}",
    )
    audit.record(
        "workflow.rolled_back",
        actor=author,
        target=version,
        data={"key": key, "version": version.version, "copy_of": number, "comment": comment},
    )
    return version


def published_definition(key: str) -> tuple[int, Definition] | None:
    """Return the published version's number and definition, if any."""
    current = published_version(key)
    return (current.version, definition_of(current)) if current else None


def _comment(comment: str) -> str:
    comment = " ".join((comment or "").split())
    if not comment:
        raise StudioError(
            "Décrivez la modification en une phrase : le commentaire est obligatoire."
        )
    if len(comment) > MAX_COMMENT:
        raise StudioError(f"Le commentaire dépasse {MAX_COMMENT} caractères.")
    return comment


def _new_version(
    key: str, source: str, comment: str, author: Account, *, origin: str
) -> WorkflowVersion:
    last = db.session.scalar(
        db.select(sa.func.max(WorkflowVersion.version)).where(WorkflowVersion.key == key)
    )
    now = utcnow()
    version = WorkflowVersion(
        key=key,
        version=(last or 0) + 1,
        source=source,
        checksum=checksum(source),
        origin=origin,
        author_id=author.id,
        author_label=author.name or author.email or "",
        comment=comment,
        created_at=now,
        published_at=now,
    )
    db.session.add(version)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except sa.exc.IntegrityError:
        raise StudioError(
            "Une autre personne vient de publier une version de cette démarche : "
            "rechargez la page et vérifiez ses changements avant de publier."
        ) from None
    return version
