"""Whitelisted functions callable from guards."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from engine.errors import GuardError
from engine.guards.values import bounded, is_number, is_plain_date, type_name


class Clock(Protocol):
    """Tell the time, so that guards never read the system clock directly."""

    def now(self) -> datetime:
        """Return the current aware datetime."""
        ...

    def today(self) -> date:
        """Return the current calendar date where the school is."""
        ...


@dataclass(frozen=True, slots=True)
class Function:
    """Describe a whitelisted function: how many arguments and what it does."""

    min_args: int
    max_args: int
    impl: Callable[[Clock, list[Any]], Any]


def _len(_: Clock, args: list[Any]) -> int:
    (value,) = args
    if not isinstance(value, str | list):
        raise GuardError(f"len() needs a text or a list, not a {type_name(value)}")
    return len(value)


def _extreme(pick: Callable[..., Any]) -> Callable[[Clock, list[Any]], Any]:
    def impl(_: Clock, args: list[Any]) -> Any:
        items = args[0] if len(args) == 1 and isinstance(args[0], list) else args
        if not items:
            raise GuardError(f"{pick.__name__}() of an empty list")
        if all(is_number(v) for v in items) or all(isinstance(v, str) for v in items):
            return pick(items)
        if all(is_plain_date(v) for v in items):
            return pick(items)
        raise GuardError(f"{pick.__name__}() needs numbers, texts or dates of one kind")

    return impl


def _abs(_: Clock, args: list[Any]) -> Any:
    (value,) = args
    if not is_number(value):
        raise GuardError(f"abs() needs a number, not a {type_name(value)}")
    return abs(value)


def _round(_: Clock, args: list[Any]) -> Any:
    value = args[0]
    if not is_number(value):
        raise GuardError(f"round() needs a number, not a {type_name(value)}")
    if len(args) == 1:
        return round(value)
    digits = args[1]
    if not isinstance(digits, int) or isinstance(digits, bool) or not 0 <= digits <= 10:
        raise GuardError("round() digits must be a whole number from 0 to 10")
    return round(value, digits)


def _date(_: Clock, args: list[Any]) -> date:
    (value,) = args
    if not isinstance(value, str):
        raise GuardError(f"date() needs a text like '2025-09-01', not a {type_name(value)}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise GuardError(f"date() cannot read {value!r}; write it as 'YYYY-MM-DD'") from None


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raise GuardError(f"days_between() needs dates, not a {type_name(value)}")


def _days_between(_: Clock, args: list[Any]) -> int:
    first, second = (_as_date(v) for v in args)
    return (second - first).days


FUNCTIONS: dict[str, Function] = {
    "today": Function(0, 0, lambda clock, _: clock.today()),
    "now": Function(0, 0, lambda clock, _: clock.now()),
    "len": Function(1, 1, _len),
    "min": Function(1, 20, _extreme(min)),
    "max": Function(1, 20, _extreme(max)),
    "abs": Function(1, 1, _abs),
    "round": Function(1, 2, _round),
    "date": Function(1, 1, _date),
    "days_between": Function(2, 2, _days_between),
}


def call(name: str, clock: Clock, args: list[Any]) -> Any:
    """Run a whitelisted function and keep its result within bounds."""
    return bounded(FUNCTIONS[name].impl(clock, args))
