"""Exceptions raised by the workflow engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.validation import Problem


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""


class GuardSyntaxError(EngineError):
    """Reject a guard expression that does not parse."""

    def __init__(self, message: str, position: int = 0) -> None:
        super().__init__(f"{message} (at character {position + 1})")
        self.reason = message
        self.position = position


class GuardError(EngineError):
    """Report a guard that parsed but could not be evaluated."""


class DefinitionError(EngineError):
    """Refuse a workflow definition that has validation problems."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(str(p) for p in self.problems)
        super().__init__(f"invalid workflow definition:\n{lines}")


class ConflictError(EngineError):
    """Signal that an instance changed since it was loaded (optimistic locking)."""


class NotAllowedError(EngineError):
    """Refuse an actor who may not act on this instance or step."""


class InvalidTriggerError(EngineError):
    """Refuse a trigger that does not exist or is not possible in the current step."""


class ActionError(EngineError):
    """Report an action that is unknown, misused, or broke its contract."""


class SubmissionError(EngineError):
    """Reject submitted values that do not fit the step (messages in French)."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))
