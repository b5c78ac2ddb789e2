"""Immutable, typed view of a validated workflow definition."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Any

from engine.fields import FIELD_TYPES
from engine.guards import Guard

APPLICANT = "applicant"
SETTINGS_REF = re.compile(r"^settings\.([a-z][a-z0-9_]*)$")
DURATION = re.compile(r"^([1-9][0-9]{0,4})(m|h|d)$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}

Bound = int | float | Guard


def parse_duration(text: str) -> timedelta:
    """Turn '10m', '48h' or '2d' into a timedelta."""
    match = DURATION.match(text)
    if match is None:
        raise ValueError(f"bad duration {text!r}")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, slots=True)
class ActionCall:
    """Call a registered action with literal or settings.xxx parameters."""

    name: str
    params: Mapping[str, Any] = field(default_factory=lambda: _frozen(None))


@dataclass(frozen=True, slots=True)
class Transition:
    """Go to a step when a guard holds (no guard: always)."""

    to: str
    when: Guard | None = None
    message: str = ""
    actions: tuple[ActionCall, ...] = ()


@dataclass(frozen=True, slots=True)
class Event:
    """Accept a named trigger from outside the form (bank, email link, button, timer)."""

    name: str
    to: str
    label: str = ""
    when: Guard | None = None
    message: str = ""
    actions: tuple[ActionCall, ...] = ()
    button: bool = False


@dataclass(frozen=True, slots=True)
class Timer:
    """Fire an event a fixed delay after the step is entered."""

    after: timedelta
    event: str


@dataclass(frozen=True, slots=True)
class Repeat:
    """Repeat a field once per item of a collection in the instance data."""

    over: str
    as_: str


@dataclass(frozen=True, slots=True)
class Field:
    """Declare one input of a step; the form layer builds the widget."""

    name: str
    type: str
    label: str
    hint: str = ""
    required: bool = True
    default: Any = None
    min: Bound | None = None
    max: Bound | None = None
    repeat: Repeat | None = None
    options: Mapping[str, Any] = field(default_factory=lambda: _frozen(None))

    @property
    def secret(self) -> bool:
        """Tell whether values of this field must never be stored or shown."""
        return FIELD_TYPES[self.type].secret


@dataclass(frozen=True, slots=True)
class Link:
    """Show a link on a step's page; label and href are templates, href a relative path."""

    label: str
    href: str


@dataclass(frozen=True, slots=True)
class Step:
    """Describe one step: a page for the applicant or a task for a staff role."""

    name: str
    title: str
    intro: str = ""
    message: str = ""
    final: bool = False
    back: bool = False
    actor: str = APPLICANT
    fields: tuple[Field, ...] = ()
    actions: tuple[ActionCall, ...] = ()
    next: tuple[Transition, ...] = ()
    events: Mapping[str, Event] = field(default_factory=lambda: _frozen(None))
    timer: Timer | None = None
    redirect: str = ""  # template of a relative path the applicant is sent to
    refresh: int | None = None  # seconds after which the applicant's page reloads itself
    submit: str = ""  # label of the form's button (template); empty: "Valider"
    tone: str = "success"  # how a final step's message reads: success, info, warning, error
    links: tuple[Link, ...] = ()

    def field(self, name: str) -> Field | None:
        """Return the field called name, if any."""
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True, slots=True)
class Definition:
    """Hold a whole workflow definition, parsed once and never mutated."""

    key: str
    title: str
    start: str
    initial: str
    steps: Mapping[str, Step]
    settings: Mapping[str, Any] = field(default_factory=lambda: _frozen(None))
    secrets: frozenset[str] = frozenset()
    description: str = ""
    given: frozenset[str] = frozenset()  # data keys the host provides at start

    @property
    def secret_keys(self) -> frozenset[str]:
        """Return data keys to mask: declared secrets and secret-typed fields."""
        fields = {f.name for s in self.steps.values() for f in s.fields if f.secret}
        return self.secrets | fields


def resolve_param(value: Any, settings: Mapping[str, Any]) -> Any:
    """Replace a 'settings.xxx' reference by the setting's value."""
    if isinstance(value, str):
        match = SETTINGS_REF.match(value)
        if match:
            return settings[match.group(1)]
    return value


def build(raw: Mapping[str, Any]) -> Definition:
    """Build a Definition from a dict that already passed validation."""
    steps = {name: _step(name, body) for name, body in raw["steps"].items()}
    return Definition(
        key=raw["key"],
        title=raw["title"],
        start=raw["start"],
        initial=raw["initial"],
        steps=_frozen(steps),
        settings=_frozen(raw.get("settings")),
        secrets=frozenset(raw.get("secrets", ())),
        description=raw.get("description", ""),
        given=frozenset(raw.get("given", ())),
    )


def _actions(raw: list[Mapping[str, Any]] | None) -> tuple[ActionCall, ...]:
    return tuple(ActionCall(a["action"], _frozen(a.get("with"))) for a in raw or ())


def _guard(text: str | None) -> Guard | None:
    return Guard.parse(text) if text is not None else None


def _bound(value: Any) -> Bound | None:
    if value is None or isinstance(value, int | float):
        return value
    return Guard.parse(value)


def _field(raw: Mapping[str, Any]) -> Field:
    repeat = raw.get("repeat")
    known = {"name", "type", "label", "hint", "required", "default", "min", "max", "repeat"}
    return Field(
        name=raw["name"],
        type=raw["type"],
        label=raw["label"],
        hint=raw.get("hint", ""),
        required=raw.get("required", True),
        default=raw.get("default"),
        min=_bound(raw.get("min")),
        max=_bound(raw.get("max")),
        repeat=Repeat(repeat["over"], repeat["as"]) if repeat else None,
        options=_frozen({k: v for k, v in raw.items() if k not in known}),
    )


def _step(name: str, raw: Mapping[str, Any]) -> Step:
    events = {
        event_name: Event(
            name=event_name,
            to=body.get("to", name),
            label=body.get("label", ""),
            when=_guard(body.get("when")),
            message=body.get("message", ""),
            actions=_actions(body.get("actions")),
            button=body.get("button", False),
        )
        for event_name, body in (raw.get("events") or {}).items()
    }
    timer = raw.get("timer")
    return Step(
        name=name,
        title=raw["title"],
        intro=raw.get("intro", ""),
        message=raw.get("message", ""),
        final=raw.get("final", False),
        back=raw.get("back", False),
        actor=raw.get("actor", APPLICANT),
        fields=tuple(_field(f) for f in raw.get("fields", ())),
        actions=_actions(raw.get("actions")),
        next=tuple(
            Transition(
                t["to"], _guard(t.get("when")), t.get("message", ""), _actions(t.get("actions"))
            )
            for t in raw.get("next", ())
        ),
        events=_frozen(events),
        timer=Timer(parse_duration(timer["after"]), timer["event"]) if timer else None,
        redirect=raw.get("redirect", ""),
        refresh=int(raw["refresh"]) if raw.get("refresh") is not None else None,
        submit=raw.get("submit", ""),
        tone=raw.get("tone", "success"),
        links=tuple(Link(link["label"], link["href"]) for link in raw.get("links", ())),
    )
