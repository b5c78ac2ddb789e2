"""Per-request state of one trigger: working data, explanations, queued effects."""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from engine.actions import ActionContext, ActionSpec
from engine.errors import GuardError
from engine.guards import Clock, Guard, Scope


@dataclass(frozen=True, slots=True)
class BoundAction:
    """An action call resolved at compile time: spec, final params, writable keys."""

    spec: ActionSpec
    params: Mapping[str, Any]
    writable: frozenset[str]


class Run:
    """Carry one request's working copy of the data through the machine callbacks."""

    __slots__ = (
        "clock",
        "data",
        "effects",
        "explanations",
        "history",
        "instance_id",
        "moment",
        "payload",
        "secret",
        "settings",
        "step",
        "values",
    )

    def __init__(
        self,
        *,
        data: dict[str, Any],
        settings: Mapping[str, Any],
        clock: Clock,
        secret: frozenset[str],
        step: str,
        values: Mapping[str, Any] | None = None,
        payload: Mapping[str, Any] | None = None,
        history: list[str] | None = None,
        instance_id: str | None = None,
    ) -> None:
        self.data = data
        self.settings = settings
        self.clock = clock
        self.secret = secret
        self.step = step
        self.values: Mapping[str, Any] = values or {}
        self.payload: Mapping[str, Any] = payload or {}
        self.history = history or []
        self.instance_id = instance_id
        self.explanations: list[dict[str, Any]] = []
        self.effects: list[Callable[[], None]] = []
        self.moment: tuple[datetime, date] | None = None  # (now, today), read on first use

    def scope(self, local: Mapping[str, Any] | None = None) -> Scope:
        """Return the names guards see: this submit's values over the working data."""
        data = ChainMap(dict(self.values), self.data) if self.values else self.data
        return Scope(data, self.clock, self.settings, self.payload, local or {})

    def check(self, guard: Guard, *, to: str, message: str) -> bool:
        """Evaluate a guard; remember why when it blocks."""
        scope = self.scope()
        try:
            if guard.holds(scope):
                return True
        except GuardError:
            pass  # explain() below records the error; a broken guard never lets through
        explanation = guard.explain(scope, self.secret)
        explanation.update(to=to, message=message)
        self.explanations.append(explanation)
        return False

    def run_actions(self, actions: tuple[BoundAction, ...]) -> None:
        """Run bound actions in order against the working data."""
        if not actions:
            return  # most steps have none: skip reading the clock
        if self.moment is None:
            # Read the clock once per request: every action of a trigger sees the same time.
            self.moment = (self.clock.now(), self.clock.today())
        now, today = self.moment
        data = MappingProxyType(self.data)
        values = MappingProxyType(dict(self.values))
        payload = MappingProxyType(dict(self.payload))
        for bound in actions:
            ctx = ActionContext(
                data=data,
                values=values,
                settings=self.settings,
                params=bound.params,
                payload=payload,
                now=now,
                today=today,
                instance_id=self.instance_id,
                step=self.step,
                writable=bound.writable,
                _data=self.data,
                _effects=self.effects,
            )
            bound.spec.func(ctx)
