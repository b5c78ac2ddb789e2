"""Run workflow instances for the web, the CLI and jobs: one service over the engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from markupsafe import Markup

from engine import Actor, Definition, Engine, Instance, Outcome, StepView, WorkflowCache
from engine.clock import SystemClock
from engine.explain import BlockedReason, blocked_reasons
from extensions import db
from models import (
    Account,
    InstanceStatus,
    Role,
    School,
    UploadedFile,
    WorkflowEvent,
    WorkflowInstance,
    WorkflowTimer,
    WorkflowVersion,
)
from models.base import utcnow
from services import audit
from services.workflow_actions import action_registry
from services.workflow_store import SqlStore, definition_of, published_version, to_engine


def workflow_engine() -> Engine:
    """Return this process's engine: its compiled machines are shared by every request."""
    engine = current_app.extensions.get("guichet_engine")
    if engine is None:
        registry = action_registry()
        engine = Engine(SqlStore(), registry, SystemClock(), cache=WorkflowCache(registry))
        current_app.extensions["guichet_engine"] = engine
    return engine


def actor_of(account: Account | None, anonymous_id: str | None = None) -> Actor:
    """Return the engine actor for a signed-in account, or for an anonymous visitor."""
    if account is None:
        return Actor(anonymous_id, frozenset())
    roles = {m.role.value for m in account.memberships}
    if account.guardians:
        roles.add(Role.PARENT.value)
    return Actor(f"account:{account.id}", frozenset(roles))


RESUME_SALT = "workflow-resume"
RESUME_MAX_AGE = 14 * 24 * 3600


def resume_link(public_id: str) -> str:
    """Return a signed link that gives a visitor back their procedure (valid two weeks)."""
    token = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESUME_SALT).dumps(
        public_id
    )
    path = url_for("workflows.resume", token=token)
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


def instance_for_resume(token: str) -> WorkflowInstance | None:
    """Return the instance a genuine, unexpired resume link names."""
    serializer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESUME_SALT)
    try:
        public_id = serializer.loads(token, max_age=RESUME_MAX_AGE)
    except (BadSignature, SignatureExpired):
        return None
    return get_instance(public_id)


def get_instance(public_id: str) -> WorkflowInstance | None:
    """Return the stored instance with that public id."""
    return db.session.scalars(db.select(WorkflowInstance).filter_by(public_id=public_id)).first()


def ongoing(key: str, applicant: str) -> WorkflowInstance | None:
    """Return the visitor's latest active instance of a workflow, to offer resuming it."""
    query = (
        db.select(WorkflowInstance)
        .filter_by(key=key, applicant=applicant, status=InstanceStatus.ACTIVE)
        .order_by(WorkflowInstance.id.desc())
        .limit(1)
    )
    return db.session.scalars(query).first()


def definition(row: WorkflowInstance) -> Definition:
    """Return the definition of the version an instance is pinned to."""
    return workflow_engine().compiled(row.key, row.version).definition


def start(
    key: str, actor: Actor, school: School | None, data: Mapping[str, Any] | None = None
) -> WorkflowInstance:
    """Start an instance of the published version of a workflow, for an actor.

    `data` holds what the definition declares as `given` (the invoice of a payment).
    """
    instance = workflow_engine().start(key, applicant=actor, data=data)
    row = get_instance(instance.id or "")
    assert row is not None  # noqa: S101 - the store has just inserted it
    row.school_id = school.id if school else None
    return row


def step_view(row: WorkflowInstance) -> StepView:
    """Describe the current step of an instance for rendering."""
    return workflow_engine().current_step(to_engine(row))


def why_blocked(row: WorkflowInstance) -> list[BlockedReason]:
    """Say, in words, which rules keep an active instance's current step from moving on.

    An empty list means the step's form would move on (or there is nothing to move).
    Values read by the rules are masked for secrets, as in the audit trail.
    """
    if row.status != InstanceStatus.ACTIVE:
        return []
    return explain_blocked(row, workflow_engine().why_blocked(to_engine(row)))


def explain_blocked(
    row: WorkflowInstance, explanations: Sequence[Mapping[str, Any]], step: str | None = None
) -> list[BlockedReason]:
    """Turn the engine's explanations for a step of an instance (its current one by default)
    into reasons, with messages and step titles rendered from the instance's data."""
    engine = workflow_engine()
    compiled = engine.compiled(row.key, row.version)
    return blocked_reasons(
        compiled.definition,
        step or row.step,
        explanations,
        data=row.data or {},
        secret=compiled.secret_keys | _action_secrets(compiled.definition, engine),
    )


def _action_secrets(current: Definition, engine: Engine) -> frozenset[str]:
    # The keys every action the definition names declares secret, wherever it is called:
    # masked again here whatever the engine's own list holds.
    calls = [
        call
        for step in current.steps.values()
        for group in (
            step.actions,
            *(t.actions for t in step.next),
            *(e.actions for e in step.events.values()),
        )
        for call in group
    ]
    found: set[str] = set()
    for call in calls:
        if call.name in engine.registry:  # an unknown action cannot have run either
            found |= engine.registry.get(call.name).secrets
    return frozenset(found)


def submit(row: WorkflowInstance, values: dict[str, Any], actor: Actor) -> Outcome:
    """Submit a step's values (ConflictError if someone else moved the instance first)."""
    return _after(row, workflow_engine().submit(to_engine(row), values, actor))


def fire(
    row: WorkflowInstance, event: str, actor: Actor, payload: dict[str, Any] | None = None
) -> Outcome:
    """Deliver a named event to an instance (ignored when it no longer applies)."""
    return _after(row, workflow_engine().fire(to_engine(row), event, payload, actor))


def event_payload(row: WorkflowInstance, form: Mapping[str, str]) -> dict[str, Any]:
    """Return what a person typed on the step's text fields when they pressed an event
    button (the comment sent with "ask for more information"), secrets left out."""
    step = definition(row).steps[row.step]
    return {
        f.name: form[f.name].strip()[:5000]
        for f in step.fields
        if not f.secret and f.repeat is None and f.type in ("text", "textarea") and f.name in form
    }


def back(row: WorkflowInstance, actor: Actor) -> Outcome:
    """Return an instance to its previous step."""
    return _after(row, workflow_engine().back(to_engine(row), actor))


def _after(row: WorkflowInstance, outcome: Outcome) -> Outcome:
    if outcome.moved and row.claimed_by_id and row.assignee_role is None:
        row.claimed_by_id = None  # the staff task is done: nobody holds it any more
    return outcome


def startable(actor: Actor) -> list[Definition]:
    """Return the published workflows this actor may start, by title."""
    keys = db.session.scalars(
        db.select(WorkflowVersion.key).where(WorkflowVersion.published_at.is_not(None)).distinct()
    )
    found = []
    for key in keys:
        version = published_version(key)
        if version is None:
            continue
        candidate = definition_of(version)
        if getattr(candidate, "given", None):
            continue  # started from a page that gives its data (PAYER), not from the list
        rule = candidate.start
        if rule == "anyone" or actor.has_role(rule.removeprefix("role:")):
            found.append(candidate)
    return sorted(found, key=lambda d: d.title)


@dataclass(frozen=True)
class Progress:
    """Where an applicant stands: step n of the main path's total."""

    position: int
    total: int


def progress(row: WorkflowInstance) -> Progress | None:
    """Return 'step n of N' along the main path (first transitions), for the applicant."""
    steps = definition(row).steps
    path, name = [], definition(row).initial
    while name not in path and name in steps:
        step = steps[name]
        if step.final or step.actor != "applicant":
            break
        path.append(name)
        name = step.next[0].to if step.next else ""
    if row.step in path and len(path) > 1:  # "Étape 1 sur 1" tells a parent nothing
        return Progress(path.index(row.step) + 1, len(path))
    return None


def save_upload(upload: Any, school_id: int | None) -> dict[str, Any]:
    """Keep an uploaded file with the case and return the reference stored in its data."""
    content = upload.read()
    stored = UploadedFile(
        school_id=school_id,
        filename=(upload.filename or "fichier")[:255],
        content_type=upload.mimetype or "application/octet-stream",
        size=len(content),
        data=content,
    )
    db.session.add(stored)
    db.session.flush()
    return {"file": stored.public_id, "name": stored.filename, "size": stored.size}


def history(row: WorkflowInstance) -> list[WorkflowEvent]:
    """Return the audit trail of an instance, oldest first."""
    return list(
        db.session.scalars(
            db.select(WorkflowEvent).filter_by(instance_id=row.id).order_by(WorkflowEvent.id)
        )
    )


# -- timers --------------------------------------------------------------------------------


def fire_timer(timer_id: int) -> bool:
    """Fire one due timer unless it already fired or its instance moved on."""
    timer = db.session.scalars(
        db.select(WorkflowTimer).filter_by(id=timer_id).with_for_update(skip_locked=True)
    ).first()
    if timer is None or timer.fired_at is not None:
        return False
    timer.fired_at = utcnow()
    row = db.session.get(WorkflowInstance, timer.instance_id)
    if row is None or row.status != InstanceStatus.ACTIVE:
        return False
    instance: Instance = to_engine(row)
    outcome = workflow_engine().fire_timer(instance, timer.event, moves=timer.moves)
    return not outcome.ignored


def due_timer_ids(now: datetime | None = None, limit: int = 500) -> list[int]:
    """Return the timers whose time has come and that have not fired."""
    query = (
        db.select(WorkflowTimer.id)
        .where(WorkflowTimer.fired_at.is_(None), WorkflowTimer.due_at <= (now or utcnow()))
        .order_by(WorkflowTimer.due_at)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def render_text(row: WorkflowInstance, text: str) -> Markup:
    """Render a text of the definition (a guard's message) with the instance's data, as
    safe markup: a page or a flash shows it without escaping it twice."""
    from engine.templates import render

    return render(text, row.data or {}, definition(row).settings).strip() if text else Markup("")


def step_title(row: WorkflowInstance, name: str | None) -> str:
    """Return a step's title, rendered with the instance's data."""
    from engine.templates import render

    current = definition(row)
    step = current.steps.get(name or "")
    if step is None:
        return name or "—"
    return str(render(step.title, row.data or {}, current.settings))


def cancel(row: WorkflowInstance, account: Account) -> None:
    """Stop an active instance for good on an administrator's decision (audited)."""
    actor = actor_of(account)
    workflow_engine().cancel(to_engine(row), actor)
    audit.record(
        "workflow.instance_cancelled",
        actor=account,
        target=row,
        data={"key": row.key, "version": row.version, "step": row.step},
    )
