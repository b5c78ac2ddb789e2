"""Jobs of the workflow engine: timers that come due."""

from __future__ import annotations

from services.workflows import fire_timer as fire_timer_now


def fire_timer(timer_id: int) -> None:
    """Fire a workflow timer (scheduled by rq at its due time)."""
    fire_timer_now(timer_id)
