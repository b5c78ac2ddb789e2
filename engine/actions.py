"""Registry of named actions: the only way a workflow touches the world."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from engine.errors import ActionError

SideEffect = Callable[[], None]


@dataclass(frozen=True, slots=True)
class Param:
    """Declare one parameter an action accepts."""

    type: type | tuple[type, ...] = object
    required: bool = False
    default: Any = None

    def accepts(self, value: Any) -> bool:
        """Tell whether a literal value has the declared type."""
        if self.type is object:
            return True
        types = self.type if isinstance(self.type, tuple) else (self.type,)
        if isinstance(value, bool) and bool not in types:
            return False  # YAML true is not a number
        if float in types and isinstance(value, int) and not isinstance(value, bool):
            return True
        return isinstance(value, types)

    @property
    def type_name(self) -> str:
        """Name the expected type for error messages."""
        types = self.type if isinstance(self.type, tuple) else (self.type,)
        return " or ".join(t.__name__ for t in types)


@dataclass(frozen=True, slots=True)
class FromParam:
    """Say that an action writes the data key named by one of its parameters."""

    param: str


@dataclass(frozen=True, slots=True)
class Sends:
    """Declare a message an action queues with after_commit: a channel and maybe a template.

    The template is a name or FromParam("template") when a parameter chooses it. Scenario
    tests (engine/scenarios.py) read this to know what a stand-in would have sent.
    """

    channel: str
    template: str | FromParam | None = None

    @classmethod
    def parse(cls, item: str | Sends) -> Sends:
        """Accept "sms", "email" or "email:<template>" as well as a Sends."""
        if isinstance(item, Sends):
            return item
        channel, _, template = item.partition(":")
        return cls(channel, template or None)

    def label(self, params: Mapping[str, Any]) -> str:
        """Name the message as scenarios list it: "sms", "email", "email:<template>"."""
        template = self.template
        if isinstance(template, FromParam):
            value = params.get(template.param)
            template = value if isinstance(value, str) else None
        return f"{self.channel}:{template}" if template else self.channel


@dataclass(slots=True)
class ActionContext:
    """Give an action what it may see and the only ways it may change things."""

    data: Mapping[str, Any]
    values: Mapping[str, Any]
    settings: Mapping[str, Any]
    params: Mapping[str, Any]
    payload: Mapping[str, Any]
    now: datetime
    today: date
    instance_id: str | None
    step: str
    writable: frozenset[str]
    _data: dict[str, Any] = field(repr=False, default_factory=dict)
    _effects: list[SideEffect] = field(repr=False, default_factory=list)

    def set(self, key: str, value: Any) -> None:
        """Write one data key the action declared in `produces`."""
        if key not in self.writable:
            raise ActionError(f"action may not write {key!r}; add it to produces")
        self._data[key] = value

    def after_commit(self, effect: SideEffect) -> None:
        """Queue a side effect (mail, SMS, job) to run only after the commit."""
        self._effects.append(effect)

    enqueue = after_commit


ActionFunc = Callable[[ActionContext], None]


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """Describe a registered action: its function, parameters and writes."""

    name: str
    func: ActionFunc
    params: Mapping[str, Param]
    produces: tuple[str | FromParam, ...] = ()
    secrets: frozenset[str] = frozenset()
    doc: str = ""
    sends: tuple[Sends, ...] = ()  # messages it may queue after the commit (declarative)

    def written_keys(self, params: Mapping[str, Any]) -> frozenset[str]:
        """Return the data keys this call may write, given its parameters."""
        keys: set[str] = set()
        for item in self.produces:
            if isinstance(item, FromParam):
                value = params.get(item.param)
                if isinstance(value, str):
                    keys.add(value)
            else:
                keys.add(item)
        return frozenset(keys)

    def messages(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        """Return the labels of the messages this call may send, given its parameters."""
        return tuple(item.label(params) for item in self.sends)


class ActionRegistry:
    """Map action names used in YAML to Python functions."""

    def __init__(self, *, builtins: bool = True) -> None:
        self._actions: dict[str, ActionSpec] = {}
        self._lock = threading.Lock()
        if builtins:
            register_builtins(self)

    def action(
        self,
        name: str,
        *,
        params: Mapping[str, Param] | None = None,
        produces: Iterable[str | FromParam] = (),
        secrets: Iterable[str] = (),
        sends: Iterable[str | Sends] = (),
    ) -> Callable[[ActionFunc], ActionFunc]:
        """Register the decorated function under name.

        `sends` declares the messages the action queues with ctx.after_commit: "sms",
        "email:<template>", or Sends("email", FromParam("template")).
        """

        def decorate(func: ActionFunc) -> ActionFunc:
            self.add(
                ActionSpec(
                    name,
                    func,
                    MappingProxyType(dict(params or {})),
                    tuple(produces),
                    frozenset(secrets),
                    (func.__doc__ or "").strip().split("\n")[0],
                    tuple(Sends.parse(item) for item in sends),
                )
            )
            return func

        return decorate

    def add(self, spec: ActionSpec) -> None:
        """Register an action spec, refusing a second one with the same name."""
        with self._lock:
            if spec.name in self._actions:
                raise ActionError(f"action {spec.name!r} is already registered")
            self._actions[spec.name] = spec

    def get(self, name: str) -> ActionSpec:
        """Return the action called name or raise ActionError."""
        try:
            return self._actions[name]
        except KeyError:
            raise ActionError(f"unknown action {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._actions

    def names(self) -> list[str]:
        """Return registered action names, sorted."""
        return sorted(self._actions)


def register_builtins(registry: ActionRegistry) -> None:
    """Add the generic, pure actions every workflow may use."""

    @registry.action(
        "set",
        params={"key": Param(str, required=True), "value": Param(object, required=True)},
        produces=[FromParam("key")],
    )
    def set_value(ctx: ActionContext) -> None:
        """Write a literal (or a setting) into the data."""
        ctx.set(ctx.params["key"], ctx.params["value"])

    @registry.action(
        "increment",
        params={"key": Param(str, required=True), "by": Param(int, default=1)},
        produces=[FromParam("key")],
    )
    def increment(ctx: ActionContext) -> None:
        """Add to a counter, starting from 0."""
        current = ctx.data.get(ctx.params["key"]) or 0
        if not isinstance(current, int) or isinstance(current, bool):
            raise ActionError(f"{ctx.params['key']!r} is not a counter")
        ctx.set(ctx.params["key"], current + ctx.params["by"])

    @registry.action(
        "reset",
        params={"key": Param(str, required=True), "value": Param(object, default=0)},
        produces=[FromParam("key")],
    )
    def reset(ctx: ActionContext) -> None:
        """Put a key back to its starting value (0 unless given)."""
        ctx.set(ctx.params["key"], ctx.params["value"])

    @registry.action(
        "stamp",
        params={"key": Param(str, required=True)},
        produces=[FromParam("key")],
    )
    def stamp(ctx: ActionContext) -> None:
        """Record the current time (ISO 8601) under key."""
        ctx.set(ctx.params["key"], ctx.now.isoformat())

    @registry.action(
        "copy_payload",
        params={"field": Param(str, required=True), "key": Param(str, required=True)},
        produces=[FromParam("key")],
    )
    def copy_payload(ctx: ActionContext) -> None:
        """Copy one value of the event payload into the data (null when absent)."""
        ctx.set(ctx.params["key"], ctx.payload.get(ctx.params["field"]))
