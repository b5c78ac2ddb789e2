"""`python -m bench [name ...]`: run the benchmarks (all by default), print, save as JSON."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from bench.registry import Options, Row, load_all
from bench.report import machine, save, table


def main(argv: list[str] | None = None) -> int:
    registry = load_all()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names", nargs="*", metavar="name", help=f"benchmarks to run: {', '.join(registry)}"
    )
    defaults = Options()
    parser.add_argument("--warmup", type=float, default=defaults.warmup, help="seconds")
    parser.add_argument("--duration", type=float, default=defaults.duration, help="seconds")
    parser.add_argument("--rounds", type=int, default=defaults.rounds, help="turns per target")
    parser.add_argument("--clients", type=int, default=defaults.clients)
    parser.add_argument("--workers", type=int, default=defaults.workers)
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when a goal is missed or a request failed"
    )
    args = parser.parse_args(argv)
    if args.list:
        for entry in registry.values():
            print(f"{entry.name:12} {entry.description}")
        return 0
    names = args.names or list(registry)
    unknown = [name for name in names if name not in registry]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)} (try --list)")
    options = Options(args.warmup, args.duration, args.rounds, args.clients, args.workers)

    host = machine()
    print(
        f"Guichet benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {host['cores']} cores "
        f"({host['cpu']}), Python {host['python']}, gunicorn {host['gunicorn']}\n"
        f"{options.workers} sync workers, {options.clients} client processes, "
        f"{options.warmup:g} s warm-up + {options.duration:g} s measured per target "
        f"in {options.rounds} turns; load average before: {host['load_average']}",
        flush=True,
    )
    rows: list[Row] = []
    for name in names:
        print(f"running {name}: {registry[name].description} …", flush=True)
        rows.extend(registry[name].run(options))
    print()
    print(table(rows))
    print(f"\nsaved to {save(rows, options, names)}")
    failed = [row for row in rows if row.errors or row.goal_met is False]
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
