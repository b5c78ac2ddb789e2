"""Print the rows as a table and keep them as JSON in bench/results/ (git-ignored)."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from bench import ROOT
from bench.registry import Options, Row

RESULTS = ROOT / "bench" / "results"
COLUMNS = ("benchmark", "target", "req/s", "p50 ms", "p99 ms", "errors", "vs baseline", "goal")


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 0
    return {
        "cores": cores,
        "cpu": model or platform.processor(),
        "system": platform.platform(),
        "python": platform.python_version(),
        "gunicorn": version("gunicorn"),
        "flask": version("flask"),
        # Anything else running skews the figures: a busy machine shows here.
        "load_average": " ".join(f"{load:.2f}" for load in os.getloadavg()),
    }


def _cells(row: Row) -> tuple[str, ...]:
    ratio = f"{row.ratio:.0%}" if row.ratio is not None else ""
    if row.goal is None:
        goal = "baseline" if row.ratio is not None else ""
    else:
        goal = f"≥ {row.goal:.0%}: {'met' if row.goal_met else 'NOT met'}"
    return (
        row.benchmark,
        row.target,
        f"{row.requests_per_s:.1f}",
        f"{row.p50_ms:.1f}",
        f"{row.p99_ms:.1f}",
        str(row.errors),
        ratio,
        goal,
    )


def table(rows: list[Row]) -> str:
    """The rows as an aligned text table (also valid Markdown)."""
    lines = [COLUMNS, *(_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]
    numeric = {2, 3, 4, 5, 6}

    def render(cells: tuple[str, ...]) -> str:
        padded = [
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = (
        "|"
        + "|".join(
            "-" * (w + 1) + ":" if i in numeric else "-" * (w + 2) for i, w in enumerate(widths)
        )
        + "|"
    )
    return "\n".join([render(lines[0]), rule, *(render(cells) for cells in lines[1:])])


def save(rows: list[Row], options: Options, names: list[str]) -> Path:
    """Write the run to bench/results/<UTC time>-<names>.json and return the path."""
    now = datetime.now(UTC)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{now:%Y%m%dT%H%M%SZ}-{'-'.join(names)}.json"
    data = {
        "date": now.isoformat(timespec="seconds"),
        "machine": machine(),
        "options": asdict(options),
        "rows": [{**asdict(row), "goal_met": row.goal_met} for row in rows],
    }
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return path
