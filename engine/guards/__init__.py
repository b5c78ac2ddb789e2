"""A tiny, safe expression language for guards, bounds and conditions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.errors import GuardError, GuardSyntaxError
from engine.guards.functions import FUNCTIONS, Clock
from engine.guards.nodes import Env, Name, Node
from engine.guards.parser import MAX_DEPTH, MAX_LENGTH, MAX_LIST_ITEMS, parse
from engine.guards.scope import Scope

MASK = "***"

__all__ = [
    "FUNCTIONS",
    "MASK",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "MAX_LIST_ITEMS",
    "Clock",
    "Env",
    "Guard",
    "GuardError",
    "GuardSyntaxError",
    "Scope",
    "parse",
]


@dataclass(frozen=True, slots=True)
class Guard:
    """Hold a guard parsed once at load time, ready to evaluate and explain."""

    source: str
    tree: Node = field(repr=False, compare=False)

    @classmethod
    def parse(cls, source: str) -> Guard:
        """Parse source text, raising GuardSyntaxError."""
        return cls(source, parse(source))

    @property
    def names(self) -> tuple[str, ...]:
        """Return the dotted names the guard reads, in order of first use."""
        seen: dict[str, None] = {}
        for node in self.tree.walk():
            if isinstance(node, Name):
                seen.setdefault(node.dotted, None)
        return tuple(seen)

    @property
    def name_paths(self) -> tuple[tuple[str, ...], ...]:
        """Return the names the guard reads, as paths."""
        return tuple(tuple(name.split(".")) for name in self.names)

    def evaluate(self, env: Env) -> Any:
        """Compute the value, raising only GuardError on failure."""
        try:
            value = self.tree.evaluate(env)
        except GuardError:
            raise
        except RecursionError:
            raise GuardError("guard is too deeply nested") from None
        if isinstance(value, dict):
            raise GuardError("guard yields a record; name one of its keys")
        return value

    def holds(self, env: Env) -> bool:
        """Tell whether the guard is true."""
        return bool(self.evaluate(env))

    def explain(self, env: Env, secret: frozenset[str] = frozenset()) -> dict[str, Any]:
        """Describe the outcome with the value of every name the guard reads."""
        values: dict[str, Any] = {}
        for name in self.names:
            root = name.split(".", 1)[0]
            if name in secret or root in secret:
                values[name] = MASK
                continue
            try:
                values[name] = env.lookup(tuple(name.split(".")))
            except GuardError:
                values[name] = None  # missing: the error below says which
        explanation: dict[str, Any] = {"guard": self.source, "values": values}
        try:
            explanation["result"] = self.holds(env)
        except GuardError as err:
            explanation["result"] = False
            explanation["error"] = str(err)
        return explanation
