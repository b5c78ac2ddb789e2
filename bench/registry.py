"""The benchmarks `python -m bench` knows, and the rows they report.

A benchmark is a function taking the run's Options and returning Rows. Register it with
`@benchmark("name", "what it measures")` in a module listed in MODULES; its rows then
appear in the table and the JSON results, compared to the benchmark's baseline row.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

# Modules that register benchmarks, in the order a full run takes them.
MODULES = (
    "bench.web",
    "bench.workflow_web",
    "bench.invoices_web",
    "bench.engine",
    "bench.siecle_import",
    "bench.desk",
    "bench.studio",
)


@dataclass(frozen=True)
class Options:
    """How long and how hard every load test of a run goes."""

    warmup: float = 2.0  # seconds of load before measuring (imports, caches, pools)
    duration: float = 8.0  # seconds measured per target
    rounds: int = 4  # slices each target's measurement is cut into, targets taking turns
    clients: int = 4  # concurrent client processes
    workers: int = 2  # gunicorn sync workers


@dataclass
class Row:
    """One target's figures, as printed in the table and written to JSON."""

    benchmark: str
    target: str
    requests: int
    errors: int
    seconds: float
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    ratio: float | None = None  # throughput relative to the benchmark's baseline row
    goal: float | None = None  # minimum ratio wanted (0.6 = 60 % of the baseline)
    notes: dict[str, object] = field(default_factory=dict)

    @property
    def goal_met(self) -> bool | None:
        if self.goal is None or self.ratio is None:
            return None
        return self.ratio >= self.goal


Benchmark = Callable[[Options], list[Row]]


@dataclass(frozen=True)
class Entry:
    name: str
    description: str
    run: Benchmark


BENCHMARKS: dict[str, Entry] = {}


def benchmark(name: str, description: str) -> Callable[[Benchmark], Benchmark]:
    """Register a benchmark function under a name (`python -m bench <name>`)."""

    def register(func: Benchmark) -> Benchmark:
        if name in BENCHMARKS:
            raise ValueError(f"benchmark {name!r} registered twice")
        BENCHMARKS[name] = Entry(name, description, func)
        return func

    return register


def load_all() -> dict[str, Entry]:
    """Import every benchmark module and return the registry."""
    for module in MODULES:
        importlib.import_module(module)
    return BENCHMARKS


def compare(rows: list[Row], baseline: Row, goal: float | None = None) -> list[Row]:
    """Set each row's throughput ratio to the baseline (and the goal, if one)."""
    for row in rows:
        if baseline.requests_per_s > 0:
            row.ratio = row.requests_per_s / baseline.requests_per_s
        if row is not baseline:
            row.goal = goal
    return rows
