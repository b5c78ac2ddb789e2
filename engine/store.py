"""The persistence contract the engine needs from its host."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from engine.definition import Definition
from engine.instance import AuditRecord, Instance


class Store(Protocol):
    """Load definitions, save instances with optimistic locking, keep audit and timers."""

    def load_definition(self, key: str, version: int | None = None) -> tuple[int, Definition]:
        """Return (version, definition); the latest published one when version is None."""
        ...

    def save(self, instance: Instance, expected_revision: int | None) -> Instance:
        """Insert (expected_revision None) or update if the stored revision still matches.

        Raise ConflictError when another request saved first. Return the saved
        instance (with its id when it was inserted).
        """
        ...

    def record_audit(self, record: AuditRecord) -> None:
        """Keep an audit record in the same transaction as the save."""
        ...

    def schedule_timer(self, instance: Instance, event: str, at: datetime) -> None:
        """Remember to fire event at `at`.

        Keep instance.id and instance.moves: Engine.fire_timer(instance, event, moves=...)
        ignores a timer whose instance has moved on since.
        """
        ...

    def after_commit(self, effect: Callable[[], None]) -> None:
        """Run effect once the current transaction has committed; drop it on rollback."""
        ...
