"""Plain records the engine reads and writes: instances, actors, audit entries."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """Say whether an instance still expects someone to act."""

    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Actor:
    """Identify who acts: a parent, a staff member with roles, or the system."""

    id: str | None
    roles: frozenset[str] = frozenset()
    system: bool = False

    @classmethod
    def parent(cls, id: str | None) -> Actor:
        """Return a parent (or anonymous visitor when id is None)."""
        return cls(id, frozenset({"parent"}))

    @classmethod
    def staff(cls, id: str, *roles: str) -> Actor:
        """Return a staff member holding roles such as 'accountant'."""
        return cls(id, frozenset(roles))

    def has_role(self, role: str) -> bool:
        """Tell whether the actor holds a role."""
        return role in self.roles


SYSTEM = Actor("system", frozenset(), system=True)


@dataclass(slots=True)
class Instance:
    """Hold one running workflow: its pinned version, step, data and lock counter."""

    key: str
    version: int
    step: str
    data: dict[str, Any] = field(default_factory=dict)
    status: Status = Status.ACTIVE
    applicant: str | None = None
    assignee: str | None = None  # 'role:<name>' while a staff step waits in that queue
    revision: int = 0  # optimistic lock counter, bumped by every save
    history: list[str] = field(default_factory=list)  # steps left, for back
    moves: int = 0  # transitions taken; a timer scheduled at moves=n is stale afterwards
    id: str | None = None


# Values shared rather than copied: immutable, and all a JSON column gives back (with dates).
_ATOMIC = frozenset({str, int, float, bool, type(None), date, datetime})


def copy_data(value: Any) -> Any:
    """Deep-copy instance data: dicts and lists rebuilt, immutable scalars shared.

    Several times cheaper than copy.deepcopy on JSON-shaped data, which is all a store
    keeps; any other value is deep-copied. Like a JSON round trip (and unlike deepcopy),
    an object reached twice is copied twice.
    """
    kind = type(value)
    if kind is dict:
        return {key: copy_data(item) for key, item in value.items()}
    if kind is list:
        return [copy_data(item) for item in value]
    if kind in _ATOMIC:
        return value
    return copy.deepcopy(value)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """Record one transition: who, when, from where to where, and what data changed."""

    instance_id: str | None
    key: str
    version: int
    actor: str | None
    at: datetime
    trigger: str
    from_step: str | None
    to_step: str
    outcome: str  # started, moved, blocked, cancelled
    changes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
