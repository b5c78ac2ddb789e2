"""Mask secret values before they reach audit records or explanations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MASK = "***"
_MISSING = object()


def mask(data: Mapping[str, Any], secret: frozenset[str]) -> dict[str, Any]:
    """Return a copy of data with secret keys masked."""
    return {key: MASK if key in secret else value for key, value in data.items()}


def changes(
    before: Mapping[str, Any], after: Mapping[str, Any], secret: frozenset[str]
) -> dict[str, dict[str, Any]]:
    """List keys whose value changed, as {key: {old, new}}, secrets masked."""
    diff: dict[str, dict[str, Any]] = {}
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key, _MISSING), after.get(key, _MISSING)
        if old == new and type(old) is type(new):
            continue
        if key in secret:
            diff[key] = {"old": MASK if old is not _MISSING else None, "new": MASK}
        else:
            diff[key] = {
                "old": None if old is _MISSING else old,
                "new": None if new is _MISSING else new,
            }
    return diff
