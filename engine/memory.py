"""An in-memory Store for tests, benchmarks and the engine's own demos."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from engine.definition import Definition
from engine.errors import ConflictError, EngineError
from engine.instance import AuditRecord, Instance, copy_data


@dataclass(frozen=True, slots=True)
class ScheduledTimer:
    """Remember a timer: which instance, which event, when, and at which move."""

    instance_id: str
    event: str
    at: datetime
    moves: int


def _detached(instance: Instance) -> Instance:
    """Copy an instance so that no caller shares its data or history with the store."""
    # Only data and history are mutable: copy them, share the rest. Spelled out because
    # dataclasses.replace costs twice as much (tests/engine/test_memory.py checks every field).
    return Instance(
        key=instance.key,
        version=instance.version,
        step=instance.step,
        data=copy_data(instance.data),
        status=instance.status,
        applicant=instance.applicant,
        assignee=instance.assignee,
        revision=instance.revision,
        history=list(instance.history),
        moves=instance.moves,
        id=instance.id,
    )


class MemoryStore:
    """Keep definitions, instances, audit, timers and queued effects in memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._definitions: dict[str, list[Definition]] = {}
        self._instances: dict[str, Instance] = {}
        self.audit: list[AuditRecord] = []
        self.timers: list[ScheduledTimer] = []
        self.pending: list[Callable[[], None]] = []

    def publish(self, definition: Definition) -> int:
        """Add a new immutable version of a definition and return its number."""
        with self._lock:
            versions = self._definitions.setdefault(definition.key, [])
            versions.append(definition)
            return len(versions)

    def load_definition(self, key: str, version: int | None = None) -> tuple[int, Definition]:
        """Return (version, definition), the latest when version is None."""
        versions = self._definitions.get(key)
        if not versions:
            raise EngineError(f"no workflow called {key!r}")
        number = len(versions) if version is None else version
        if not 1 <= number <= len(versions):
            raise EngineError(f"workflow {key!r} has no version {number}")
        return number, versions[number - 1]

    def save(self, instance: Instance, expected_revision: int | None) -> Instance:
        """Store a copy, refusing a stale revision (compare-and-set under a lock).

        Return the instance given, its id set on insert, as the SQL store does: only the
        stored copy needs to be apart from what the caller holds.
        """
        with self._lock:
            if expected_revision is None:
                instance.id = instance.id or uuid.uuid4().hex
            else:
                current = self._instances.get(instance.id or "")
                if current is None or current.revision != expected_revision:
                    raise ConflictError(f"instance {instance.id} was changed by someone else")
            self._instances[instance.id] = _detached(instance)  # type: ignore[index]
            return instance

    def get(self, instance_id: str) -> Instance:
        """Load a fresh copy of an instance, as a new request would."""
        with self._lock:
            return _detached(self._instances[instance_id])

    def record_audit(self, record: AuditRecord) -> None:
        """Append an audit record."""
        with self._lock:
            self.audit.append(record)

    def schedule_timer(self, instance: Instance, event: str, at: datetime) -> None:
        """Remember a timer for instance."""
        with self._lock:
            self.timers.append(ScheduledTimer(instance.id or "", event, at, instance.moves))

    def due_timers(self, now: datetime) -> list[ScheduledTimer]:
        """Remove and return the timers due at now."""
        with self._lock:
            due = [t for t in self.timers if t.at <= now]
            self.timers = [t for t in self.timers if t.at > now]
            return due

    def after_commit(self, effect: Callable[[], None]) -> None:
        """Queue an effect until commit()."""
        with self._lock:
            self.pending.append(effect)

    def commit(self) -> int:
        """Run the queued effects, as a real store does after its commit; return how many."""
        with self._lock:
            effects, self.pending = self.pending, []
        for effect in effects:
            effect()
        return len(effects)

    def rollback(self) -> None:
        """Drop the queued effects."""
        with self._lock:
            self.pending = []
