"""Bounds and type rules shared by guard operators and functions."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from engine.errors import GuardError

MAX_NUMBER = 10**15  # far above any amount in cents, far below float precision trouble
MAX_STRING = 1000
MAX_LIST = 1000


def type_name(value: Any) -> str:
    """Name a value's type the way staff would."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, datetime):
        return "date and time"
    if isinstance(value, date):
        return "date"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, dict):
        return "record"
    return "unsupported value"


def is_number(value: Any) -> bool:
    """Tell numbers from booleans, which Python treats as ints."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_plain_date(value: Any) -> bool:
    """Tell a calendar date from a date and time."""
    return isinstance(value, date) and not isinstance(value, datetime)


def bounded(value: Any) -> Any:
    """Return value unchanged, or raise GuardError if it outgrew the limits."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise GuardError("number is out of range")
    if isinstance(value, int | float) and abs(value) > MAX_NUMBER:
        raise GuardError("number is out of range")
    if isinstance(value, str) and len(value) > MAX_STRING:
        raise GuardError("text is too long")
    if isinstance(value, list) and len(value) > MAX_LIST:
        raise GuardError("list is too long")
    return value


def from_data(value: Any, name: str) -> Any:
    """Accept a value read from instance data, or raise GuardError for foreign types."""
    if value is None or isinstance(value, bool | int | float | str | date | dict):
        return value
    if isinstance(value, list | tuple):
        return list(value)
    raise GuardError(f"{name} holds an unsupported value ({type(value).__name__})")
