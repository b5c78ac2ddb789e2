"""The school office's working hours: a request's age and its response deadline (pure).

Working time is counted in Europe/Paris local time: a working day runs from `start` to
`end` on the wall clock, whatever the UTC offset, so a day is an hour shorter or longer
on the days the clocks change if it spans the change. A time that does not exist on a
spring-forward day is read as the moment the clocks jump; a time that occurs twice on a
fall-back day is read as its first occurrence. All arithmetic is done in UTC.

The settings come from a workflow's `settings`:

    horaires:
      jours: [lundi, mardi, mercredi, jeudi, vendredi]
      debut: "08:00"
      fin: "17:30"
      fermetures: ["2026-12-25", "2027-01-01"]
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from engine.clock import PARIS

__all__ = ["DEFAULT", "HORIZON_DAYS", "WorkingHours", "deadline", "describe", "working_seconds"]

# deadline() looks this many calendar days ahead at most, so it always ends.
HORIZON_DAYS = 366

_DAY_NAMES = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
_KEYS = ("jours", "debut", "fin", "fermetures")
_TIME = re.compile(r"(\d{1,2})\s*[:hH]\s*(\d{2})?")
_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class WorkingHours:
    """Open days (0 is Monday), opening and closing times, and dates the office is closed."""

    days: frozenset[int]
    start: time
    end: time
    closed: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if not self.days:
            raise ValueError("horaires : il faut au moins un jour ouvré dans « jours ».")
        if not self.days <= set(range(7)):
            raise ValueError(f"horaires : jours hors de 0 à 6 : {sorted(self.days)}.")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("horaires : les heures s’entendent à l’heure de Paris, sans fuseau.")
        if self.end <= self.start:
            raise ValueError(
                f"horaires : la fin ({self.end:%H:%M}) doit être après le début "
                f"({self.start:%H:%M})."
            )

    @classmethod
    def from_settings(cls, raw: Mapping[str, Any]) -> WorkingHours:
        """Read `horaires` from a workflow's settings; missing keys take the defaults."""
        section = (raw or {}).get("horaires")
        if section is None:
            return DEFAULT
        if not isinstance(section, Mapping):
            raise ValueError("horaires : attendu des clés jours, debut, fin et fermetures.")
        section = {_fold_accents(str(key)): value for key, value in section.items()}
        unknown = sorted(key for key in section if key not in _KEYS)
        if unknown:
            raise ValueError(
                f"horaires : clé inconnue « {unknown[0]} » (clés possibles : {', '.join(_KEYS)})."
            )
        days = section.get("jours")
        start = section.get("debut")
        end = section.get("fin")
        closed = section.get("fermetures")
        return cls(
            days=DEFAULT.days if days is None else _parse_days(days),
            start=DEFAULT.start if start is None else _parse_time("debut", start),
            end=DEFAULT.end if end is None else _parse_time("fin", end),
            closed=frozenset() if closed is None else _parse_dates(closed),
        )

    @property
    def day_seconds(self) -> int:
        """Return the length of an ordinary working day, in seconds."""
        return _seconds_of(self.end) - _seconds_of(self.start)

    def is_open_on(self, day: date) -> bool:
        """Tell whether the office works on this local date."""
        return day.weekday() in self.days and day not in self.closed

    def window(self, day: date) -> tuple[datetime, datetime]:
        """Return the UTC opening and closing instants of this local date."""
        return _instant(day, self.start), _instant(day, self.end)


DEFAULT = WorkingHours(days=frozenset(range(5)), start=time(8, 0), end=time(17, 0))


def working_seconds(start: datetime, end: datetime, hours: WorkingHours) -> int:
    """Return the whole working seconds between two aware instants, 0 if end <= start."""
    start, end = _utc(start), _utc(end)
    if end <= start:
        return 0
    total = timedelta()
    first, last = start.astimezone(PARIS).date(), end.astimezone(PARIS).date()
    for opens, closes in _windows(first, last, hours):
        lo, hi = max(opens, start), min(closes, end)
        if lo < hi:
            total += hi - lo
    return total // _SECOND


def deadline(start: datetime, seconds: int, hours: WorkingHours) -> datetime:
    """Return the UTC instant when `seconds` of working time have passed since `start`."""
    start = _utc(start)
    if seconds < 0:
        raise ValueError(f"délai négatif : {seconds} s.")
    if seconds > HORIZON_DAYS * 86_400:
        raise _too_long(seconds, hours)
    remaining = timedelta(seconds=seconds)
    if not remaining:
        return start
    first = start.astimezone(PARIS).date()
    for opens, closes in _windows(first, first + timedelta(days=HORIZON_DAYS), hours):
        lo = max(opens, start)
        if lo >= closes:
            continue
        if remaining <= closes - lo:
            return lo + remaining
        remaining -= closes - lo
    raise _too_long(seconds, hours)


def _too_long(seconds: int, hours: WorkingHours) -> ValueError:
    """Return the error for a target that cannot be reached within the horizon."""
    return ValueError(
        f"délai de {describe(seconds, hours)} ouvrés impossible à atteindre en "
        f"{HORIZON_DAYS} jours : délai trop long ou bureau trop souvent fermé."
    )


def describe(seconds: int, hours: WorkingHours = DEFAULT) -> str:
    """Return a short French text for a working time: "45 min", "3 h 20", "2 j 4 h"."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, hours.day_seconds)
    if days:
        whole_hours = rest // 3600
        return f"{days} j {whole_hours} h" if whole_hours else f"{days} j"
    whole_hours, minutes = rest // 3600, rest % 3600 // 60
    if not whole_hours:
        return f"{minutes} min"
    return f"{whole_hours} h {minutes:02d}" if minutes else f"{whole_hours} h"


def _windows(first: date, last: date, hours: WorkingHours) -> Iterator[tuple[datetime, datetime]]:
    """Yield the UTC windows of the working days from `first` to `last` local dates."""
    day = first
    while day <= last:
        if hours.is_open_on(day):
            yield hours.window(day)
        day += timedelta(days=1)


@lru_cache(maxsize=4096)
def _instant(day: date, at: time) -> datetime:
    """Return the first UTC instant when the Paris wall clock reads `at` on `day`."""
    wall = datetime.combine(day, at)
    after = wall.replace(tzinfo=PARIS, fold=0).astimezone(UTC)
    if after.astimezone(PARIS).replace(tzinfo=None) == wall:
        return after  # the time exists; fold=0 is its first occurrence if there are two
    # In the gap of a spring-forward, fold=0 lands after the jump and fold=1 before it:
    # look for the jump, to the second, between them.
    lo = int(wall.replace(tzinfo=PARIS, fold=1).timestamp())
    hi = int(after.timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, PARIS).replace(tzinfo=None) < wall:
            lo = mid
        else:
            hi = mid
    return datetime.fromtimestamp(hi, UTC)


def _utc(moment: datetime) -> datetime:
    """Return an aware datetime in UTC; naive ones are refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: an aware datetime is needed")
    return moment.astimezone(UTC)


def _seconds_of(at: time) -> int:
    return at.hour * 3600 + at.minute * 60 + at.second


def _fold_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip().lower()


def _parse_days(raw: Any) -> frozenset[int]:
    """Read a list of French weekday names."""
    if not isinstance(raw, list | tuple | set | frozenset):
        raise ValueError("horaires.jours : attendu une liste, par exemple [lundi, mardi].")
    days = set()
    for name in raw:
        folded = _fold_accents(name) if isinstance(name, str) else None
        if folded not in _DAY_NAMES:
            raise ValueError(
                f"horaires.jours : jour inconnu « {name} » (attendu : {', '.join(_DAY_NAMES)})."
            )
        days.add(_DAY_NAMES.index(folded))
    if not days:
        raise ValueError("horaires.jours : il faut au moins un jour ouvré.")
    return frozenset(days)


def _parse_time(key: str, raw: Any) -> time:
    """Read a time of day written "08:00", "8:00" or "8h30"."""
    if isinstance(raw, time):
        if raw.tzinfo is not None:
            raise ValueError(f"horaires.{key} : heure sans fuseau attendue.")
        return raw
    if isinstance(raw, int) and not isinstance(raw, bool):
        # YAML 1.1 reads an unquoted 17:30 as the number 1050 (base 60).
        raise ValueError(f'horaires.{key} : écrivez l’heure entre guillemets, par exemple "08:00".')
    match = _TIME.fullmatch(raw.strip()) if isinstance(raw, str) else None
    hour, minute = (int(match[1]), int(match[2] or 0)) if match else (99, 99)
    if hour > 23 or minute > 59:
        raise ValueError(
            f'horaires.{key} : heure invalide « {raw} » (attendu HH:MM, par exemple "08:00").'
        )
    return time(hour, minute)


def _parse_dates(raw: Any) -> frozenset[date]:
    """Read a list of ISO dates; YAML may already have made them dates."""
    if not isinstance(raw, list | tuple | set | frozenset):
        raise ValueError("horaires.fermetures : attendu une liste de dates AAAA-MM-JJ.")
    dates = set()
    for item in raw:
        if isinstance(item, date) and not isinstance(item, datetime):
            dates.add(item)
            continue
        try:
            if not isinstance(item, str):
                raise TypeError
            dates.add(date.fromisoformat(item.strip()))
        except (TypeError, ValueError):
            raise ValueError(
                f"horaires.fermetures : date invalide « {item} » (attendu AAAA-MM-JJ, "
                'par exemple "2026-12-25").'
            ) from None
    return frozenset(dates)
