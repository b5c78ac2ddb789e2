"""Clocks: the only place the engine reads the time."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


class SystemClock:
    """Read the real time in the school's time zone."""

    def __init__(self, tz: ZoneInfo = PARIS) -> None:
        self.tz = tz

    def now(self) -> datetime:
        """Return the current aware datetime."""
        return datetime.now(self.tz)

    def today(self) -> date:
        """Return today's date where the school is."""
        return self.now().date()


class FixedClock:
    """Stand still until told to move; for tests and simulations."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            at = at.replace(tzinfo=PARIS)
        self.at = at

    def now(self) -> datetime:
        """Return the frozen time."""
        return self.at

    def today(self) -> date:
        """Return the frozen date."""
        return self.at.date()

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward."""
        self.at += delta
