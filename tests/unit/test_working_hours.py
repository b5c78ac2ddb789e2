"""Working hours of the office: settings, age of a request, deadline and display (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import pytest

from engine.clock import PARIS
from services.desk.working_hours import (
    DEFAULT,
    HORIZON_DAYS,
    WorkingHours,
    deadline,
    describe,
    working_seconds,
)

HOUR = 3600
EVERY_DAY = frozenset(range(7))
# Open every day around the night the clocks change (02:00-03:00 local on a Sunday).
NIGHT = WorkingHours(days=EVERY_DAY, start=time(0, 0), end=time(6, 0))
# Open from a time that does not exist (spring) or occurs twice (autumn) on those nights.
SKIPPED = WorkingHours(days=EVERY_DAY, start=time(2, 30), end=time(5, 0))
CHRISTMAS = WorkingHours(
    days=frozenset(range(5)),
    start=time(8, 0),
    end=time(17, 0),
    closed=frozenset({date(2026, 12, 25), date(2027, 1, 1)}),
)


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """Return the UTC instant when the Paris wall clock shows this time."""
    return datetime(year, month, day, hour, minute, tzinfo=PARIS).astimezone(UTC)


def local(moment: datetime) -> tuple[int, int, int, int, int]:
    """Return the Paris wall-clock reading of an instant."""
    seen = moment.astimezone(PARIS)
    return seen.year, seen.month, seen.day, seen.hour, seen.minute


# --- settings ---------------------------------------------------------------------------


def test_default_is_monday_to_friday_eight_to_five() -> None:
    assert DEFAULT.days == frozenset({0, 1, 2, 3, 4})
    assert (DEFAULT.start, DEFAULT.end) == (time(8, 0), time(17, 0))
    assert DEFAULT.closed == frozenset()
    assert DEFAULT.day_seconds == 9 * HOUR


def test_from_settings_reads_the_documented_example() -> None:
    hours = WorkingHours.from_settings(
        {
            "code_validity_minutes": 10,
            "horaires": {
                "jours": ["lundi", "mardi", "mercredi", "jeudi", "vendredi"],
                "debut": "08:00",
                "fin": "17:30",
                "fermetures": ["2026-12-25", "2027-01-01"],
            },
        }
    )
    assert hours == WorkingHours(
        days=frozenset(range(5)),
        start=time(8, 0),
        end=time(17, 30),
        closed=frozenset({date(2026, 12, 25), date(2027, 1, 1)}),
    )
    assert hours.day_seconds == 9 * HOUR + 1800


@pytest.mark.parametrize("settings", [{}, {"autre": 1}, {"horaires": None}, None])
def test_without_horaires_the_default_applies(settings: Any) -> None:
    assert WorkingHours.from_settings(settings) is DEFAULT


def test_missing_keys_take_the_defaults() -> None:
    assert WorkingHours.from_settings({"horaires": {}}) == DEFAULT
    hours = WorkingHours.from_settings({"horaires": {"fin": "12:00"}})
    assert hours == WorkingHours(days=DEFAULT.days, start=time(8, 0), end=time(12, 0))


def test_day_names_ignore_case_accents_spaces_and_repeats() -> None:
    hours = WorkingHours.from_settings(
        {"horaires": {"jours": ["LUNDI", " Mércredi ", "samedi", "Dimanche", "lundi"]}}
    )
    assert hours.days == frozenset({0, 2, 5, 6})


def test_keys_may_carry_accents() -> None:
    hours = WorkingHours.from_settings({"horaires": {"Début": "09:00", "fin": "16:00"}})
    assert (hours.start, hours.end) == (time(9, 0), time(16, 0))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("08:00", time(8)), ("8:05", time(8, 5)), ("8h30", time(8, 30)), ("17 h", time(17))],
)
def test_times_may_be_written_the_french_way(text: str, expected: time) -> None:
    hours = WorkingHours.from_settings({"horaires": {"debut": text, "fin": "23:59"}})
    assert hours.start == expected


def test_times_and_dates_already_parsed_by_yaml_are_accepted() -> None:
    hours = WorkingHours.from_settings(
        {"horaires": {"debut": time(7, 45), "fin": time(16), "fermetures": [date(2026, 12, 25)]}}
    )
    assert (hours.start, hours.end, hours.closed) == (
        time(7, 45),
        time(16),
        frozenset({date(2026, 12, 25)}),
    )


@pytest.mark.parametrize(
    ("horaires", "message"),
    [
        ({"jours": ["lundi", "fériés"]}, "horaires.jours : jour inconnu « fériés »"),
        ({"jours": ["monday"]}, "jour inconnu « monday »"),
        ({"jours": [1]}, "jour inconnu « 1 »"),
        ({"jours": []}, "il faut au moins un jour ouvré"),
        ({"jours": "lundi"}, "horaires.jours : attendu une liste"),
        ({"debut": "25:00"}, "horaires.debut : heure invalide « 25:00 »"),
        ({"fin": "17:60"}, "horaires.fin : heure invalide « 17:60 »"),
        ({"fin": "midi"}, "horaires.fin : heure invalide « midi »"),
        ({"fin": ""}, "horaires.fin : heure invalide"),
        ({"fin": 1050}, "horaires.fin : écrivez l’heure entre guillemets"),
        ({"debut": "17:00", "fin": "08:00"}, r"la fin \(08:00\) doit être après le début"),
        ({"debut": "08:00", "fin": "08:00"}, "doit être après le début"),
        ({"fin": "07:00"}, "doit être après le début"),
        ({"fermetures": ["2026-02-30"]}, "horaires.fermetures : date invalide « 2026-02-30 »"),
        ({"fermetures": ["Noël"]}, "date invalide « Noël »"),
        ({"fermetures": [datetime(2026, 12, 25, 8)]}, "date invalide"),
        ({"fermetures": "2026-12-25"}, "horaires.fermetures : attendu une liste"),
        ({"jour": ["lundi"]}, "horaires : clé inconnue « jour »"),
    ],
)
def test_bad_settings_are_explained_in_french(horaires: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WorkingHours.from_settings({"horaires": horaires})


def test_horaires_must_be_a_mapping() -> None:
    with pytest.raises(ValueError, match="horaires : attendu des clés"):
        WorkingHours.from_settings({"horaires": ["lundi"]})


def test_the_dataclass_refuses_what_would_never_end_or_be_negative() -> None:
    with pytest.raises(ValueError, match="au moins un jour"):
        WorkingHours(days=frozenset(), start=time(8), end=time(17))
    with pytest.raises(ValueError, match="hors de 0 à 6"):
        WorkingHours(days=frozenset({7}), start=time(8), end=time(17))
    with pytest.raises(ValueError, match="après le début"):
        WorkingHours(days=EVERY_DAY, start=time(17), end=time(8))
    with pytest.raises(ValueError, match="sans fuseau"):
        WorkingHours(days=EVERY_DAY, start=time(8, tzinfo=UTC), end=time(17))


def test_window_follows_the_wall_clock_whatever_the_offset() -> None:
    winter = DEFAULT.window(date(2027, 1, 11))
    summer = DEFAULT.window(date(2027, 6, 14))
    assert winter == (datetime(2027, 1, 11, 7, tzinfo=UTC), datetime(2027, 1, 11, 16, tzinfo=UTC))
    assert summer == (datetime(2027, 6, 14, 6, tzinfo=UTC), datetime(2027, 6, 14, 15, tzinfo=UTC))


# --- working_seconds --------------------------------------------------------------------


def test_within_one_day() -> None:
    assert working_seconds(paris(2027, 1, 12, 9), paris(2027, 1, 12, 10, 30), DEFAULT) == 5400


def test_lunchtime_counts_inside_the_day() -> None:
    assert working_seconds(paris(2027, 1, 12, 11, 30), paris(2027, 1, 12, 14), DEFAULT) == 9000


def test_friday_afternoon_to_monday_morning() -> None:
    assert working_seconds(paris(2027, 1, 8, 16), paris(2027, 1, 11, 9), DEFAULT) == 2 * HOUR


def test_friday_evening_to_monday_morning_counts_monday_only() -> None:
    assert working_seconds(paris(2027, 1, 8, 18), paris(2027, 1, 11, 8, 30), DEFAULT) == 1800


def test_weekend_start_counts_from_monday_opening() -> None:
    assert working_seconds(paris(2027, 1, 9, 10), paris(2027, 1, 11, 10), DEFAULT) == 2 * HOUR
    assert working_seconds(paris(2027, 1, 9, 10), paris(2027, 1, 10, 23), DEFAULT) == 0


def test_overnight() -> None:
    assert working_seconds(paris(2027, 1, 12, 16), paris(2027, 1, 13, 9), DEFAULT) == 2 * HOUR
    assert working_seconds(paris(2027, 1, 12, 20), paris(2027, 1, 13, 7), DEFAULT) == 0


def test_a_whole_week_is_five_working_days() -> None:
    assert working_seconds(paris(2027, 1, 11, 8), paris(2027, 1, 18, 8), DEFAULT) == 5 * 9 * HOUR
    assert working_seconds(paris(2027, 1, 4), paris(2027, 2, 1), DEFAULT) == 20 * 9 * HOUR


def test_closed_dates_do_not_count() -> None:
    start, end = paris(2026, 12, 24, 16), paris(2026, 12, 28, 9)
    assert working_seconds(start, end, DEFAULT) == 11 * HOUR
    assert working_seconds(start, end, CHRISTMAS) == 2 * HOUR
    inside = working_seconds(paris(2026, 12, 25, 9), paris(2026, 12, 25, 12), CHRISTMAS)
    assert inside == 0


def test_end_before_or_at_start_is_zero() -> None:
    start = paris(2027, 1, 12, 10)
    assert working_seconds(start, start, DEFAULT) == 0
    assert working_seconds(start, start - timedelta(hours=3), DEFAULT) == 0


def test_partial_seconds_are_dropped() -> None:
    start = paris(2027, 1, 12, 10) + timedelta(microseconds=200_000)
    end = paris(2027, 1, 12, 10, 1)
    assert working_seconds(start, end, DEFAULT) == 59


def test_any_aware_datetime_is_accepted_and_naive_ones_are_refused() -> None:
    start, end = paris(2027, 1, 8, 16), paris(2027, 1, 11, 9)
    tokyo = timezone(timedelta(hours=9))
    assert working_seconds(start.astimezone(PARIS), end.astimezone(tokyo), DEFAULT) == 2 * HOUR
    with pytest.raises(ValueError, match="naive"):
        working_seconds(datetime(2027, 1, 8, 16), end, DEFAULT)


def test_an_ordinary_night_of_six_hours() -> None:
    assert working_seconds(paris(2027, 3, 21), paris(2027, 3, 22), NIGHT) == 6 * HOUR


def test_spring_forward_night_is_an_hour_shorter() -> None:
    assert working_seconds(paris(2027, 3, 28), paris(2027, 3, 29), NIGHT) == 5 * HOUR
    # 01:30 CET to 03:30 CEST: one hour passes on the clocks' two.
    start = datetime(2027, 3, 28, 0, 30, tzinfo=UTC)
    assert working_seconds(start, datetime(2027, 3, 28, 1, 30, tzinfo=UTC), NIGHT) == HOUR


def test_fall_back_night_is_an_hour_longer() -> None:
    assert working_seconds(paris(2026, 10, 25), paris(2026, 10, 26), NIGHT) == 7 * HOUR


def test_an_opening_time_skipped_by_the_clocks_opens_when_they_jump() -> None:
    opens, closes = SKIPPED.window(date(2027, 3, 28))
    assert opens == datetime(2027, 3, 28, 1, tzinfo=UTC)  # 03:00 CEST, just after 01:59:59 CET
    assert closes == datetime(2027, 3, 28, 3, tzinfo=UTC)  # 05:00 CEST
    assert working_seconds(paris(2027, 3, 28), paris(2027, 3, 29), SKIPPED) == 2 * HOUR


def test_an_opening_time_seen_twice_opens_the_first_time() -> None:
    opens, closes = SKIPPED.window(date(2026, 10, 25))
    assert opens == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    assert closes == datetime(2026, 10, 25, 4, tzinfo=UTC)  # 05:00 CET
    assert working_seconds(paris(2026, 10, 25), paris(2026, 10, 26), SKIPPED) == 3 * HOUR + 1800


def test_office_days_around_the_clock_changes_keep_their_local_hours() -> None:
    # Friday 16:00 CET to Monday 09:00 CEST; Friday 16:00 CEST to Monday 09:00 CET.
    spring = working_seconds(paris(2027, 3, 26, 16), paris(2027, 3, 29, 9), DEFAULT)
    autumn = working_seconds(paris(2026, 10, 23, 16), paris(2026, 10, 26, 9), DEFAULT)
    assert spring == autumn == 2 * HOUR
    assert paris(2027, 3, 29, 9) == datetime(2027, 3, 29, 7, tzinfo=UTC)
    assert paris(2026, 10, 26, 9) == datetime(2026, 10, 26, 8, tzinfo=UTC)


# --- deadline ---------------------------------------------------------------------------


def test_deadline_friday_afternoon_falls_on_monday() -> None:
    due = deadline(paris(2027, 1, 8, 16), 2 * HOUR, DEFAULT)
    assert due == paris(2027, 1, 11, 9)
    assert due.tzinfo is UTC


def test_deadline_from_the_weekend_counts_from_monday_opening() -> None:
    assert local(deadline(paris(2027, 1, 9, 11), 2 * HOUR, DEFAULT)) == (2027, 1, 11, 10, 0)
    assert local(deadline(paris(2027, 1, 10, 23), 30 * 60, DEFAULT)) == (2027, 1, 11, 8, 30)


def test_deadline_before_opening_and_overnight() -> None:
    assert local(deadline(paris(2027, 1, 12, 6), HOUR, DEFAULT)) == (2027, 1, 12, 9, 0)
    assert local(deadline(paris(2027, 1, 12, 16), 2 * HOUR, DEFAULT)) == (2027, 1, 13, 9, 0)


def test_deadline_at_closing_time_stays_that_day() -> None:
    assert local(deadline(paris(2027, 1, 8, 16), HOUR, DEFAULT)) == (2027, 1, 8, 17, 0)


def test_deadline_skips_closed_dates() -> None:
    assert local(deadline(paris(2026, 12, 24, 16), 2 * HOUR, CHRISTMAS)) == (2026, 12, 28, 9, 0)
    assert local(deadline(paris(2026, 12, 31, 16), 2 * HOUR, CHRISTMAS)) == (2027, 1, 4, 9, 0)
    assert local(deadline(paris(2026, 12, 24, 16), 2 * HOUR, DEFAULT)) == (2026, 12, 25, 9, 0)


def test_deadline_across_the_clock_changes() -> None:
    assert deadline(paris(2027, 3, 26, 16), 2 * HOUR, DEFAULT) == datetime(
        2027, 3, 29, 7, tzinfo=UTC
    )
    assert deadline(paris(2026, 10, 23, 16), 2 * HOUR, DEFAULT) == datetime(
        2026, 10, 26, 8, tzinfo=UTC
    )
    # 5 working hours from midnight on the short night end at 06:00 CEST.
    assert local(deadline(paris(2027, 3, 28), 5 * HOUR, NIGHT)) == (2027, 3, 28, 6, 0)
    assert local(deadline(paris(2026, 10, 25), 5 * HOUR, NIGHT)) == (2026, 10, 25, 4, 0)


def test_deadline_of_several_weeks() -> None:
    start = paris(2027, 1, 11, 8)
    assert deadline(start, 15 * 9 * HOUR, DEFAULT) == paris(2027, 1, 29, 17)


def test_zero_target_is_due_at_once() -> None:
    start = paris(2027, 1, 9, 11)
    assert deadline(start, 0, DEFAULT) == start
    assert deadline(start.astimezone(PARIS), 0, DEFAULT).tzinfo is UTC


def test_negative_target_is_refused() -> None:
    with pytest.raises(ValueError, match="délai négatif"):
        deadline(paris(2027, 1, 8, 16), -1, DEFAULT)


@pytest.mark.parametrize("seconds", [HORIZON_DAYS * 86_400 + 1, 10**30])
def test_huge_targets_are_refused_at_once(seconds: int) -> None:
    with pytest.raises(ValueError, match=r"délai de .* ouvrés impossible à atteindre"):
        deadline(paris(2027, 1, 8, 16), seconds, DEFAULT)


def test_target_beyond_the_horizon_ends_with_an_error() -> None:
    # Under the cap of 366 × 24 h, but a year holds about 261 working days of 9 h.
    with pytest.raises(ValueError, match="impossible à atteindre en 366 jours"):
        deadline(paris(2027, 1, 8, 16), 300 * 9 * HOUR, DEFAULT)


def test_an_office_closed_on_every_open_day_ends_with_an_error() -> None:
    mondays = frozenset(date(2027, 1, 4) + timedelta(weeks=n) for n in range(120))
    hours = WorkingHours(days=frozenset({0}), start=time(8), end=time(17), closed=mondays)
    assert working_seconds(paris(2027, 1, 1), paris(2028, 1, 1), hours) == 0
    with pytest.raises(ValueError, match="trop souvent fermé"):
        deadline(paris(2027, 1, 1), 60, hours)


def _starts() -> list[datetime]:
    """Return starts every 7 h 37 min around Christmas and both clock changes."""
    starts = []
    for first in (paris(2026, 10, 20), paris(2026, 12, 20), paris(2027, 3, 24)):
        starts += [first + timedelta(hours=7, minutes=37) * n for n in range(30)]
    return starts


TARGETS = [1, 59, 60, HOUR, 2 * HOUR + 17, 9 * HOUR - 1, 9 * HOUR, 9 * HOUR + 1, 40 * HOUR]


@pytest.mark.parametrize(
    "hours", [DEFAULT, CHRISTMAS, NIGHT, SKIPPED], ids=["default", "christmas", "night", "skipped"]
)
def test_deadline_and_working_seconds_agree(hours: WorkingHours) -> None:
    for start in _starts():
        for seconds in TARGETS:
            due = deadline(start, seconds, hours)
            assert working_seconds(start, due, hours) == seconds, (start, seconds)
            # ... and it is the earliest such instant.
            assert working_seconds(start, due - timedelta(seconds=1), hours) == seconds - 1


def test_deadline_keeps_the_start_microseconds() -> None:
    start = paris(2027, 1, 12, 10) + timedelta(microseconds=250_000)
    due = deadline(start, 90, DEFAULT)
    assert due - start == timedelta(seconds=90)
    assert working_seconds(start, due, DEFAULT) == 90


# --- describe ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 min"),
        (59, "0 min"),
        (-30, "0 min"),
        (45 * 60, "45 min"),
        (HOUR, "1 h"),
        (3 * HOUR + 20 * 60, "3 h 20"),
        (3 * HOUR + 5 * 60 + 59, "3 h 05"),
        (9 * HOUR - 1, "8 h 59"),
        (9 * HOUR, "1 j"),
        (2 * 9 * HOUR + 4 * HOUR + 50 * 60, "2 j 4 h"),
        (12 * 9 * HOUR + 30, "12 j"),
    ],
)
def test_describe_with_the_default_day(seconds: int, text: str) -> None:
    assert describe(seconds, DEFAULT) == text


def test_describe_uses_the_length_of_the_school_day() -> None:
    long_day = WorkingHours(days=frozenset(range(5)), start=time(8), end=time(17, 30))
    assert describe(9 * HOUR, long_day) == "9 h"
    assert describe(9 * HOUR + 1800, long_day) == "1 j"
    assert describe(2 * (9 * HOUR + 1800) + 4 * HOUR, long_day) == "2 j 4 h"
    assert describe(9 * HOUR) == "1 j"


def test_describe_an_age_in_the_queue() -> None:
    age = working_seconds(paris(2027, 1, 8, 16), paris(2027, 1, 12, 10, 20), DEFAULT)
    assert describe(age, DEFAULT) == "1 j 3 h"
