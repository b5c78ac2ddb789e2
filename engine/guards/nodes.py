"""The guard syntax tree; each node evaluates itself against an environment."""

from __future__ import annotations

import operator
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from engine.errors import GuardError
from engine.guards.functions import Clock, call
from engine.guards.values import bounded, is_number, is_plain_date, type_name


class Env(Protocol):
    """Give guards their names and their clock."""

    clock: Clock

    def lookup(self, path: tuple[str, ...]) -> Any:
        """Return the value at a dotted path or raise GuardError."""
        ...


class Node:
    """Base class of guard syntax nodes."""

    __slots__ = ()

    def evaluate(self, env: Env) -> Any:
        """Compute this node's value."""
        raise NotImplementedError

    def children(self) -> tuple[Node, ...]:
        """Return the direct sub-expressions."""
        return ()

    def walk(self) -> Iterator[Node]:
        """Yield this node and all nodes below it, depth first."""
        yield self
        for child in self.children():
            yield from child.walk()


@dataclass(frozen=True, slots=True)
class Literal(Node):
    """A number, text, boolean or null written in the guard."""

    value: Any

    def evaluate(self, env: Env) -> Any:
        return self.value


@dataclass(frozen=True, slots=True)
class Name(Node):
    """A dotted name read from the instance data, settings or payload."""

    path: tuple[str, ...]

    @property
    def dotted(self) -> str:
        """Return the name as written."""
        return ".".join(self.path)

    def evaluate(self, env: Env) -> Any:
        return env.lookup(self.path)


@dataclass(frozen=True, slots=True)
class ListExpr(Node):
    """A list written as [a, b, c]."""

    items: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.items

    def evaluate(self, env: Env) -> Any:
        return [item.evaluate(env) for item in self.items]


@dataclass(frozen=True, slots=True)
class Call(Node):
    """A call to a whitelisted function."""

    func: str
    args: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.args

    def evaluate(self, env: Env) -> Any:
        return call(self.func, env.clock, [arg.evaluate(env) for arg in self.args])


@dataclass(frozen=True, slots=True)
class Not(Node):
    """Logical negation."""

    operand: Node

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)

    def evaluate(self, env: Env) -> Any:
        return not _truth(self.operand.evaluate(env))


@dataclass(frozen=True, slots=True)
class Negate(Node):
    """Unary minus."""

    operand: Node

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)

    def evaluate(self, env: Env) -> Any:
        value = self.operand.evaluate(env)
        if not is_number(value):
            raise GuardError(f"cannot negate a {type_name(value)}")
        return -value


@dataclass(frozen=True, slots=True)
class Logical(Node):
    """Short-circuit and/or, always yielding a boolean."""

    op: str
    left: Node
    right: Node

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)

    def evaluate(self, env: Env) -> Any:
        left = _truth(self.left.evaluate(env))
        if self.op == "and":
            return left and _truth(self.right.evaluate(env))
        return left or _truth(self.right.evaluate(env))


@dataclass(frozen=True, slots=True)
class Binary(Node):
    """Arithmetic, comparison and membership."""

    op: str
    left: Node
    right: Node

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)

    def evaluate(self, env: Env) -> Any:
        left = self.left.evaluate(env)
        right = self.right.evaluate(env)
        try:
            return bounded(_BINARY[self.op](left, right))
        except (TypeError, ValueError, ArithmeticError):
            # Belt and braces: the operator functions check types first, but a
            # raw Python error must never escape to the caller.
            raise GuardError(
                f"cannot apply {self.op} to {type_name(left)} and {type_name(right)}"
            ) from None


def _truth(value: Any) -> bool:
    if isinstance(value, dict):
        raise GuardError("a record is neither true nor false; name one of its keys")
    return bool(value)


def _mismatch(op: str, left: Any, right: Any) -> GuardError:
    return GuardError(f"cannot apply {op} to {type_name(left)} and {type_name(right)}")


def _add(left: Any, right: Any) -> Any:
    if is_number(left) and is_number(right):
        return left + right
    if isinstance(left, str) and isinstance(right, str):
        return left + right
    if isinstance(left, list) and isinstance(right, list):
        return left + right
    if is_plain_date(left) and isinstance(right, int) and not isinstance(right, bool):
        return left + timedelta(days=right)  # date + days: "today() + 30"
    raise _mismatch("+", left, right)


def _sub(left: Any, right: Any) -> Any:
    if is_number(left) and is_number(right):
        return left - right
    if is_plain_date(left) and is_plain_date(right):
        return (left - right).days
    if is_plain_date(left) and isinstance(right, int) and not isinstance(right, bool):
        return left - timedelta(days=right)
    raise _mismatch("-", left, right)


def _mul(left: Any, right: Any) -> Any:
    # Numbers only: "x" * 10**9 would be an easy way to exhaust memory.
    if is_number(left) and is_number(right):
        return left * right
    raise _mismatch("*", left, right)


def _div(left: Any, right: Any) -> Any:
    if is_number(left) and is_number(right):
        if right == 0:
            raise GuardError("division by zero")
        return left / right
    raise _mismatch("/", left, right)


def _comparable(left: Any, right: Any) -> bool:
    if is_number(left) and is_number(right):
        return True
    if isinstance(left, str) and isinstance(right, str):
        return True
    return isinstance(left, date) and isinstance(right, date) and type(left) is type(right)


def _ordering(op: str) -> Any:
    func = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}[op]

    def compare(left: Any, right: Any) -> bool:
        if not _comparable(left, right):
            raise _mismatch(op, left, right)
        return bool(func(left, right))

    return compare


def _equal(left: Any, right: Any) -> bool:
    # true == 1 is True in Python; in a guard a boolean is never a number.
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    return bool(left == right)


def _contains(left: Any, right: Any) -> bool:
    if isinstance(right, str):
        if not isinstance(left, str):
            raise _mismatch("in", left, right)
        return left in right
    if isinstance(right, list):
        return any(_equal(left, item) for item in right)
    raise GuardError(f"'in' needs a list or a text on its right, not a {type_name(right)}")


_BINARY = {
    "+": _add,
    "-": _sub,
    "*": _mul,
    "/": _div,
    "==": _equal,
    "!=": lambda a, b: not _equal(a, b),
    "<": _ordering("<"),
    "<=": _ordering("<="),
    ">": _ordering(">"),
    ">=": _ordering(">="),
    "in": _contains,
    "not in": lambda a, b: not _contains(a, b),
}
