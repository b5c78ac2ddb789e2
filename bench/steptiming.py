"""Time in-process workflow steps: timeit-style rounds, reported as seconds per step.

A stepper is a function `run(laps) -> seconds` that prepares `laps` fresh instances (not
timed), advances each one through every step of the benchmark workflow and returns only
the time the stepping took. `measure()` picks the number of laps that makes a round last
at least ROUND_SECONDS (the calibration runs double as warm-up), then keeps the median of
ROUNDS rounds, so one slow round (a context switch, a GC pass) does not move the figure.
"""

from __future__ import annotations

import gc
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.registry import Row

ROUNDS = 5
ROUND_SECONDS = 0.25
MAX_LAPS = 1 << 20

Stepper = Callable[[int], float]


@dataclass(frozen=True)
class Timing:
    """Seconds per step of each round, and what was measured in all."""

    per_step: list[float]  # one value per round
    steps: int
    seconds: float
    # Seconds of each step, when steps were timed one by one (the database rows).
    latencies: list[float] = field(default_factory=list, repr=False)

    @property
    def median(self) -> float:
        return statistics.median(self.per_step)

    @property
    def us(self) -> float:
        """Median microseconds per step."""
        return self.median * 1e6


def measure(run: Stepper, steps_per_lap: int, rounds: int = ROUNDS) -> Timing:
    """Calibrate, then time `rounds` rounds of `run` and return the seconds per step."""
    laps = 1
    while laps < MAX_LAPS and run(laps) < ROUND_SECONDS:
        laps *= 2
    per_step: list[float] = []
    total = 0.0
    for _ in range(rounds):
        gc.collect()  # start every round with the same heap; GC stays on, as in a request
        elapsed = run(laps)
        total += elapsed
        per_step.append(elapsed / (laps * steps_per_lap))
    return Timing(per_step, laps * steps_per_lap * rounds, total)


def timing_row(benchmark: str, label: str, timing: Timing, **notes: object) -> Row:
    """A table row for an in-process measure: throughput in steps/s, µs/step in the label.

    p50 is the median round (or the median step when steps were timed one by one) and
    p99 the slowest round (or the 99th percentile step), in milliseconds.
    """
    if timing.latencies and len(timing.latencies) >= 2:
        cuts = statistics.quantiles(timing.latencies, n=100, method="inclusive")
        p50, p99 = cuts[49], cuts[98]
    else:
        p50, p99 = timing.median, max(timing.per_step)
    return Row(
        benchmark=benchmark,
        target=f"{label}: {_us(timing.us)}/step",
        requests=timing.steps,
        errors=0,
        seconds=timing.seconds,
        requests_per_s=1 / timing.median if timing.median else 0.0,
        p50_ms=p50 * 1000,
        p99_ms=p99 * 1000,
        notes={
            "us_per_step": round(timing.us, 2),
            "rounds_us_per_step": [round(s * 1e6, 2) for s in timing.per_step],
            **notes,
        },
    )


def _us(us: float) -> str:
    return f"{us:,.0f} µs".replace(",", " ") if us >= 100 else f"{us:.1f} µs"
