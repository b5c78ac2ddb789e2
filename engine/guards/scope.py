"""Resolve guard names against instance data, settings and event payload."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import GuardError
from engine.guards.functions import Clock
from engine.guards.values import from_data

EMPTY: Mapping[str, Any] = {}


@dataclass(frozen=True, slots=True)
class Scope:
    """Give a guard its names: locals first, then settings/payload, then data."""

    data: Mapping[str, Any]
    clock: Clock
    settings: Mapping[str, Any] = field(default_factory=dict)
    payload: Mapping[str, Any] = field(default_factory=dict)
    local: Mapping[str, Any] = field(default_factory=dict)

    def root(self, name: str) -> tuple[bool, Any]:
        """Return (found, value) for the first part of a dotted name."""
        if name in self.local:
            return True, self.local[name]
        if name == "settings":
            return True, dict(self.settings)
        if name == "payload":
            return True, dict(self.payload)
        if name in self.data:
            return True, self.data[name]
        return False, None

    def lookup(self, path: tuple[str, ...]) -> Any:
        """Return the value at a dotted path using only dict key lookups."""
        found, value = self.root(path[0])
        if not found:
            raise GuardError(f"unknown name {path[0]!r}")
        for depth, key in enumerate(path[1:], start=1):
            # Key lookup on real dicts only: no getattr, so no way to reach
            # Python internals through a dotted name.
            if not isinstance(value, dict):
                raise GuardError(f"{'.'.join(path[:depth])!r} is not a record")
            if key not in value:
                raise GuardError(f"unknown name {'.'.join(path[: depth + 1])!r}")
            value = value[key]
        return from_data(value, ".".join(path))
