"""The engine service every entry point goes through: start, submit, fire, back."""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from engine.actions import ActionRegistry
from engine.clock import SystemClock
from engine.compiler import BACK, SUBMIT, CompiledWorkflow, WorkflowCache
from engine.definition import APPLICANT, Step
from engine.errors import InvalidTriggerError, NotAllowedError, SubmissionError
from engine.guards import Clock
from engine.instance import SYSTEM, Actor, AuditRecord, Instance, Status, copy_data
from engine.masking import changes
from engine.run import Run
from engine.store import Store
from engine.templates import render
from engine.views import Button, StepView, step_view

log = logging.getLogger("guichet.engine")

REQUIRED = "Ce champ est obligatoire."


@dataclass(frozen=True, slots=True)
class Outcome:
    """Say what a trigger did: moved, blocked (and why), or ignored."""

    instance: Instance
    trigger: str
    moved: bool
    from_step: str
    to_step: str
    blocked: tuple[dict[str, Any], ...] = ()
    ignored: bool = False

    @property
    def message(self) -> str:
        """Return the first French message explaining a block, if any."""
        return next((b["message"] for b in self.blocked if b.get("message")), "")


class Engine:
    """Advance workflow instances; the host supplies the store, actions and clock."""

    def __init__(
        self,
        store: Store,
        registry: ActionRegistry,
        clock: Clock | None = None,
        *,
        cache: WorkflowCache | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.clock: Clock = clock or SystemClock()
        self.cache = cache or WorkflowCache(registry)

    # -- definitions ----------------------------------------------------------

    def compiled(self, key: str, version: int | None = None) -> CompiledWorkflow:
        """Return the compiled workflow for a version (the latest when None)."""
        if version is not None:
            cached = self.cache.get(key, version)
            if cached is not None:
                return cached
        number, definition = self.store.load_definition(key, version)
        return self.cache.get_or_compile(number, definition)

    # -- entry points -----------------------------------------------------------

    def start(
        self, key: str, *, applicant: Actor, data: Mapping[str, Any] | None = None
    ) -> Instance:
        """Create an instance on the latest version's initial step."""
        compiled = self.compiled(key)
        definition = compiled.definition
        if not _may_start(definition.start, applicant):
            raise NotAllowedError(f"{applicant.id!r} may not start {key!r} ({definition.start})")
        missing = sorted(definition.given - (data or {}).keys())
        if missing:
            raise InvalidTriggerError(
                f"{key!r} must be started with the data it is given: missing {', '.join(missing)}"
            )
        first = definition.steps[definition.initial]
        instance = Instance(
            key=key,
            version=compiled.version,
            step=first.name,
            data=copy.deepcopy(dict(data or {})),
            applicant=applicant.id,
            assignee=_assignee(first),
            revision=1,
        )
        saved = self.store.save(instance, expected_revision=None)
        self._audit(compiled, saved, applicant, "start", None, "started", {})
        self._arm_timer(saved, first)
        return saved

    def submit(self, instance: Instance, values: Mapping[str, Any], actor: Actor) -> Outcome:
        """Store a step's values, run its actions and take the first open transition."""
        compiled, step = self._active(instance)
        self._check_actor(instance, step, actor)
        if not step.next:
            raise InvalidTriggerError(f"step {step.name!r} has no form to submit")
        stored, transient = _accept(step, instance.data, values)
        run = self._run(compiled, instance, values=transient)
        run.data.update(stored)
        run.run_actions(compiled.step_actions[step.name])
        model = compiled.model(instance.step, run)
        moved = model.trigger(SUBMIT)
        return self._finish(compiled, instance, run, model.state, SUBMIT, actor, moved)

    def fire(
        self,
        instance: Instance,
        event: str,
        payload: Mapping[str, Any] | None = None,
        actor: Actor = SYSTEM,
    ) -> Outcome:
        """Deliver a named event; stale or repeated deliveries are ignored, not errors."""
        compiled = self.compiled(instance.key, instance.version)
        if event not in compiled.events:
            raise InvalidTriggerError(f"workflow {instance.key!r} has no event {event!r}")
        step = compiled.definition.steps[instance.step]
        declared = step.events.get(event)
        if instance.status is not Status.ACTIVE or declared is None:
            # A late bank notification or an old email link: nothing to do, and safe to repeat.
            log.info("ignored event %s on %s at %s", event, instance.id, instance.step)
            return Outcome(instance, event, False, instance.step, instance.step, ignored=True)
        if not actor.system:
            if not declared.button:
                raise NotAllowedError(f"event {event!r} comes from the system, not from a person")
            self._check_actor(instance, step, actor)
        run = self._run(compiled, instance, payload=payload)
        model = compiled.model(instance.step, run)
        moved = model.trigger(event)
        return self._finish(compiled, instance, run, model.state, event, actor, moved)

    def fire_timer(self, instance: Instance, event: str, *, moves: int) -> Outcome:
        """Fire a timer event unless the instance moved since it was scheduled."""
        if instance.moves != moves:
            return Outcome(instance, event, False, instance.step, instance.step, ignored=True)
        return self.fire(instance, event, actor=SYSTEM)

    def back(self, instance: Instance, actor: Actor) -> Outcome:
        """Return to the previous step, keeping the data entered so far."""
        compiled, step = self._active(instance)
        self._check_actor(instance, step, actor)
        if not step.back or not instance.history:
            raise InvalidTriggerError(f"step {step.name!r} does not allow going back")
        run = self._run(compiled, instance)
        model = compiled.model(instance.step, run)
        if not model.trigger(BACK):
            raise InvalidTriggerError(
                f"cannot go back from {step.name!r} to {instance.history[-1]!r}"
            )
        return self._finish(compiled, instance, run, model.state, BACK, actor, True)

    def cancel(self, instance: Instance, actor: Actor) -> Instance:
        """Stop an active instance for good."""
        compiled, _ = self._active(instance)
        cancelled = replace(instance, status=Status.CANCELLED, assignee=None)
        cancelled.revision = instance.revision + 1
        saved = self.store.save(cancelled, expected_revision=instance.revision)
        self._audit(compiled, saved, actor, "cancel", instance.step, "cancelled", {})
        return saved

    # -- questions ----------------------------------------------------------------

    def why_blocked(self, instance: Instance) -> list[dict[str, Any]]:
        """Explain which guards keep the current step's form from moving on."""
        compiled = self.compiled(instance.key, instance.version)
        step = compiled.definition.steps[instance.step]
        run = self._run(compiled, instance)
        for transition in step.next:
            if transition.when is None or run.check(
                transition.when, to=transition.to, message=transition.message
            ):
                return []
        return run.explanations

    def current_step(self, instance: Instance, actor: Actor | None = None) -> StepView:
        """Describe the current step for rendering: texts, fields, buttons, back."""
        compiled = self.compiled(instance.key, instance.version)
        step = compiled.definition.steps[instance.step]
        model = compiled.model(instance.step, self._run(compiled, instance))
        active = instance.status is Status.ACTIVE
        buttons = tuple(
            Button(event.name, _render_label(event.label or event.name, instance, compiled))
            for event in step.events.values()
            if active and event.button and model.may_trigger(event.name)
        )
        return step_view(
            step,
            instance.data,
            compiled.definition.settings,
            self.clock,
            buttons=buttons,
            can_go_back=active and step.back and bool(instance.history),
            active=active,
        )

    # -- internals ------------------------------------------------------------

    def _active(self, instance: Instance) -> tuple[CompiledWorkflow, Step]:
        compiled = self.compiled(instance.key, instance.version)
        if instance.status is not Status.ACTIVE:
            raise InvalidTriggerError(f"instance is {instance.status.value}")
        return compiled, compiled.definition.steps[instance.step]

    def _check_actor(self, instance: Instance, step: Step, actor: Actor) -> None:
        if actor.system:
            return
        if step.actor == APPLICANT:
            if instance.applicant is not None and actor.id != instance.applicant:
                raise NotAllowedError(f"{actor.id!r} is not the applicant of this instance")
            return
        role = step.actor.removeprefix("role:")
        if not actor.has_role(role):
            raise NotAllowedError(f"step {step.name!r} is for {step.actor}, not {actor.id!r}")

    def _run(
        self,
        compiled: CompiledWorkflow,
        instance: Instance,
        *,
        values: Mapping[str, Any] | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> Run:
        # The working copy is private to this request: if anything below raises,
        # the caller's instance is untouched and nothing was saved.
        return Run(
            data=copy_data(instance.data),
            settings=compiled.definition.settings,
            clock=self.clock,
            secret=compiled.secret_keys,
            step=instance.step,
            values=values,
            payload=payload,
            history=list(instance.history),
            instance_id=instance.id,
        )

    def _finish(
        self,
        compiled: CompiledWorkflow,
        instance: Instance,
        run: Run,
        new_step: str,
        trigger: str,
        actor: Actor,
        moved: bool,
    ) -> Outcome:
        old_step = instance.step
        blocked = tuple(run.explanations) if not moved else ()
        if not moved and run.data == instance.data and not run.effects:
            return Outcome(instance, trigger, False, old_step, old_step, blocked)
        history = list(instance.history)
        if moved and trigger == BACK:
            history.pop()
        elif moved and new_step != old_step:
            history.append(old_step)
        target = compiled.definition.steps[new_step]
        # Every field spelled out: dataclasses.replace costs twice as much on this hot path
        # (tests/engine/test_runtime.py fails when Instance gains a field, to add it here).
        updated = Instance(
            key=instance.key,
            version=instance.version,
            step=new_step,
            data=run.data,
            status=Status.COMPLETED if target.final else Status.ACTIVE,
            applicant=instance.applicant,
            assignee=_assignee(target) if moved else instance.assignee,
            revision=instance.revision + 1,
            history=history,
            moves=instance.moves + (1 if moved else 0),
            id=instance.id,
        )
        saved = self.store.save(updated, expected_revision=instance.revision)
        diff = changes(instance.data, run.data, compiled.secret_keys)
        self._audit(
            compiled, saved, actor, trigger, old_step, "moved" if moved else "blocked", diff
        )
        # Effects reach the store only once the save succeeded: a lost race queues nothing.
        for effect in run.effects:
            self.store.after_commit(effect)
        if moved:
            self._arm_timer(saved, target)
        return Outcome(saved, trigger, moved, old_step, new_step, blocked)

    def _arm_timer(self, instance: Instance, step: Step) -> None:
        if step.timer is not None:
            at = self.clock.now() + step.timer.after
            self.store.schedule_timer(instance, step.timer.event, at)

    def _audit(
        self,
        compiled: CompiledWorkflow,
        instance: Instance,
        actor: Actor,
        trigger: str,
        from_step: str | None,
        outcome: str,
        diff: dict[str, dict[str, Any]],
    ) -> None:
        record = AuditRecord(
            instance_id=instance.id,
            key=instance.key,
            version=instance.version,
            actor=actor.id,
            at=self.clock.now(),
            trigger=trigger,
            from_step=from_step,
            to_step=instance.step,
            outcome=outcome,
            changes=diff,
        )
        self.store.record_audit(record)
        log.info(
            "%s %s: %s %s -> %s by %s (%s)",
            instance.key,
            instance.id,
            trigger,
            from_step,
            instance.step,
            actor.id,
            outcome,
        )


def _render_label(text: str, instance: Instance, compiled: CompiledWorkflow) -> Any:
    return render(text, instance.data, compiled.definition.settings)


def _may_start(rule: str, actor: Actor) -> bool:
    if rule == "anyone":
        return True
    if rule == "parent":
        return actor.has_role("parent")
    return actor.has_role(rule.removeprefix("role:"))


def _assignee(step: Step) -> str | None:
    return None if step.actor == APPLICANT or step.final else step.actor


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value is False


def _accept(
    step: Step, data: Mapping[str, Any], values: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split submitted values into stored and transient (secret) ones; check what we can."""
    errors: dict[str, str] = {}
    declared = {f.name for f in step.fields}
    for name in values:
        if name not in declared:
            errors[name] = "Ce champ n’existe pas à cette étape."
    stored: dict[str, Any] = {}
    transient: dict[str, Any] = {}
    for field in step.fields:
        value = values.get(field.name)
        if field.repeat is not None:
            collection = data.get(field.repeat.over) or []
            if value is None and not field.required:
                value = [None] * len(collection)
            if not isinstance(value, list) or len(value) != len(collection):
                errors[field.name] = f"Une réponse par élément est attendue ({len(collection)})."
                continue
            if field.required and any(_empty(v) for v in value):
                errors[field.name] = REQUIRED
                continue
        elif field.required and _empty(value):
            errors[field.name] = REQUIRED
            continue
        (transient if field.secret else stored)[field.name] = value
    if errors:
        raise SubmissionError(errors)
    return stored, transient
