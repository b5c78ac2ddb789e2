"""Compile a Definition into one shared transitions.Machine and a model class."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from transitions import EventData, Machine

from engine.actions import ActionRegistry
from engine.definition import ActionCall, Definition, resolve_param
from engine.errors import ActionError
from engine.guards import Guard
from engine.run import BoundAction, Run

SUBMIT = "submit"
BACK = "back"


@dataclass(frozen=True, slots=True)
class Edge:
    """One transition in the plain shape transitions understands, before wiring."""

    trigger: str
    source: str
    dest: str
    guard: Guard | None = None
    message: str = ""
    actions: tuple[ActionCall, ...] = ()
    back_to: str | None = None  # for back edges: taken only if the history says so

    def as_dict(self) -> dict[str, Any]:
        """Return the plain-dict form (guards as text) used in docs and diagrams."""
        spec: dict[str, Any] = {"trigger": self.trigger, "source": self.source, "dest": self.dest}
        if self.guard is not None:
            spec["conditions"] = [self.guard.source]
        if self.back_to is not None:
            spec["conditions"] = [f"previous == {self.back_to!r}"]
        if self.actions:
            spec["before"] = [a.name for a in self.actions]
        return spec


def edges(definition: Definition) -> Iterator[Edge]:
    """Yield every transition of a definition in declaration order."""
    steps = definition.steps
    for name, step in steps.items():
        for t in step.next:
            yield Edge(SUBMIT, name, t.to, t.when, t.message, t.actions)
        for event in step.events.values():
            yield Edge(event.name, name, event.to, event.when, event.message, event.actions)
    for name, step in steps.items():
        if not step.back:
            continue
        previous = {source for source, s in steps.items() if source != name and _leads(s, name)}
        for source in sorted(previous):
            yield Edge(BACK, name, source, back_to=source)


def _leads(step: Any, target: str) -> bool:
    return any(t.to == target for t in step.next) or any(
        e.to == target for e in step.events.values()
    )


def machine_spec(definition: Definition) -> dict[str, Any]:
    """Return the transitions configuration as plain dicts (guards as text)."""
    return {
        "states": list(definition.steps),
        "initial": definition.initial,
        "transitions": [e.as_dict() for e in edges(definition)],
        "auto_transitions": False,
    }


class WorkflowModel:
    """Stand in for one instance while it moves through the shared machine."""

    __slots__ = ("run", "state")
    machine: Machine

    def __init__(self, state: str, run: Run) -> None:
        self.state = state
        self.run = run

    def trigger(self, name: str) -> bool:
        """Fire a declared trigger; return whether a transition was taken."""
        return bool(self.machine.events[name].trigger(self))

    def may_trigger(self, name: str) -> bool:
        """Tell whether the trigger would pass from the current state."""
        if name not in self.machine.events:
            return False
        # transitions' own may_<trigger> implementation, reached without add_model.
        return bool(self.machine._can_trigger(self, name))


@dataclass(frozen=True, slots=True)
class CompiledWorkflow:
    """Hold what one definition version needs at run time, built once and shared."""

    key: str
    version: int
    definition: Definition
    machine: Machine = field(repr=False)
    model_class: type[WorkflowModel] = field(repr=False)
    step_actions: Mapping[str, tuple[BoundAction, ...]] = field(repr=False)
    secret_keys: frozenset[str] = frozenset()
    events: frozenset[str] = frozenset()  # names of declared events (not submit/back)

    def model(self, state: str, run: Run) -> WorkflowModel:
        """Return a lightweight model positioned on state for this request."""
        return self.model_class(state, run)

    @property
    def triggers(self) -> list[str]:
        """Return all declared triggers."""
        return list(self.machine.events)


def compile_definition(
    definition: Definition, registry: ActionRegistry, *, version: int = 0
) -> CompiledWorkflow:
    """Build the machine and bind actions; do this once per (key, version)."""
    binder = _Binder(registry, definition.settings)
    transitions = []
    for edge in edges(definition):
        conditions: list[Callable[[EventData], bool]] = []
        if edge.guard is not None:
            conditions.append(_condition(edge.guard, edge.dest, edge.message))
        if edge.back_to is not None:
            conditions.append(_came_from(edge.back_to))
        spec: dict[str, Any] = {
            "trigger": edge.trigger,
            "source": edge.source,
            "dest": edge.dest,
            "conditions": conditions,
        }
        if edge.actions:
            spec["before"] = [_runner(binder.bind(edge.actions))]
        transitions.append(spec)
    machine = Machine(
        model=None,  # no model is ever attached: instances visit as WorkflowModel objects
        states=list(definition.steps),
        initial=definition.initial,
        transitions=transitions,
        auto_transitions=False,
        send_event=True,
        queued=False,
        name=definition.key,
    )
    model_class = _model_class(definition.key, machine)
    # Bind the step actions before reading binder.secrets: their secrets count too.
    step_actions = {name: binder.bind(step.actions) for name, step in definition.steps.items()}
    secret = definition.secret_keys | binder.secrets
    return CompiledWorkflow(
        key=definition.key,
        version=version,
        definition=definition,
        machine=machine,
        model_class=model_class,
        step_actions=MappingProxyType(step_actions),
        secret_keys=secret,
        events=frozenset(e for s in definition.steps.values() for e in s.events),
    )


def _model_class(key: str, machine: Machine) -> type[WorkflowModel]:
    """Create a model class with <trigger>() and may_<trigger>() for every trigger."""
    namespace: dict[str, Any] = {"__slots__": (), "machine": machine}
    for trigger in machine.events:
        namespace[trigger] = _fire(trigger)
        namespace[f"may_{trigger}"] = _may(trigger)
    return type(f"WorkflowModel_{key}", (WorkflowModel,), namespace)


def _fire(trigger: str) -> Callable[[WorkflowModel], bool]:
    def fire(self: WorkflowModel) -> bool:
        return self.trigger(trigger)

    return fire


def _may(trigger: str) -> Callable[[WorkflowModel], bool]:
    def may(self: WorkflowModel) -> bool:
        return self.may_trigger(trigger)

    return may


def _condition(guard: Guard, to: str, message: str) -> Callable[[EventData], bool]:
    def condition(event: EventData) -> bool:
        return event.model.run.check(guard, to=to, message=message)

    return condition


def _came_from(step: str) -> Callable[[EventData], bool]:
    def condition(event: EventData) -> bool:
        history = event.model.run.history
        return bool(history) and history[-1] == step

    return condition


def _runner(actions: tuple[BoundAction, ...]) -> Callable[[EventData], None]:
    # Runs as a 'before' callback: after the guard passed, before the state
    # changes. Actions only touch the request's working copy and queue effects
    # for after the commit, so nothing here needs rolling back.
    def run_actions(event: EventData) -> None:
        event.model.run.run_actions(actions)

    return run_actions


class _Binder:
    def __init__(self, registry: ActionRegistry, settings: Mapping[str, Any]) -> None:
        self.registry = registry
        self.settings = settings
        self.secrets: frozenset[str] = frozenset()

    def bind(self, calls: tuple[ActionCall, ...]) -> tuple[BoundAction, ...]:
        bound = []
        for call in calls:
            spec = self.registry.get(call.name)
            params = {name: p.default for name, p in spec.params.items() if not p.required}
            for name, value in call.params.items():
                if name not in spec.params:
                    raise ActionError(f"action {call.name!r} has no parameter {name!r}")
                params[name] = resolve_param(value, self.settings)
            missing = [n for n, p in spec.params.items() if p.required and n not in params]
            if missing:
                raise ActionError(f"action {call.name!r} needs {', '.join(missing)}")
            self.secrets |= spec.secrets
            bound.append(BoundAction(spec, MappingProxyType(params), spec.written_keys(params)))
        return tuple(bound)


class WorkflowCache:
    """Share compiled workflows by (key, version) across requests and threads."""

    def __init__(self, registry: ActionRegistry) -> None:
        self.registry = registry
        self._compiled: dict[tuple[str, int], CompiledWorkflow] = {}
        self._lock = threading.Lock()

    def get(self, key: str, version: int) -> CompiledWorkflow | None:
        """Return the compiled workflow if it is cached."""
        return self._compiled.get((key, version))

    def get_or_compile(self, version: int, definition: Definition) -> CompiledWorkflow:
        """Return the cached workflow, compiling it once if needed."""
        cache_key = (definition.key, version)
        compiled = self._compiled.get(cache_key)  # dict reads are atomic: no lock on the hot path
        if compiled is not None:
            return compiled
        with self._lock:
            compiled = self._compiled.get(cache_key)
            if compiled is None:
                compiled = compile_definition(definition, self.registry, version=version)
                self._compiled[cache_key] = compiled
            return compiled

    def __len__(self) -> int:
        return len(self._compiled)
