"""The web baseline: a bare Flask page against Guichet's home page, same server, same load.

Both run under gunicorn with the production config file (2 sync workers by default) on
loopback, on the same freshly migrated and seeded database. The bare page is the
baseline; Guichet's pages should keep at least GOAL of its throughput.
"""

from __future__ import annotations

from contextlib import ExitStack

from bench.database import demo_database, describe
from bench.loadgen import LoadGenerator, Result
from bench.registry import Options, Row, benchmark, compare
from bench.servers import Server, clean_env, serving

GOAL = 0.60  # Guichet pages ≥ 60 % of the bare page's throughput
SCHOOL_NAME = "Collège des Tilleuls"  # what the demo seed puts on the home page


def measure_side_by_side(
    targets: dict[str, tuple[Server, str]],
    options: Options,
    headers: dict[str, dict[str, str]] | None = None,
) -> dict[str, Result]:
    """Load each target in turn, in `options.rounds` slices, and combine each one's slices.

    Interleaving (A B A B …) spreads whatever else the machine does over every target
    evenly, so their ratio stays meaningful on a shared or noisy machine. `headers` gives
    request headers by target name (a signed-in session's Cookie, say).
    """
    headers = headers or {}
    slices: dict[str, list[Result]] = {name: [] for name in targets}
    with LoadGenerator(options.clients) as load:
        for name, (server, path) in targets.items():
            load.run(
                server.host,
                server.port,
                path,
                warmup=options.warmup,
                duration=0,
                headers=headers.get(name),
            )
        for _ in range(options.rounds):
            for name, (server, path) in targets.items():
                slices[name].append(
                    load.run(
                        server.host,
                        server.port,
                        path,
                        warmup=0,
                        duration=options.duration / options.rounds,
                        headers=headers.get(name),
                    )
                )
    return {name: Result.combine(results) for name, results in slices.items()}


def row(benchmark_name: str, target: str, result: Result, **notes: object) -> Row:
    """A table row from a measured result."""
    return Row(
        benchmark=benchmark_name,
        target=target,
        requests=result.requests,
        errors=result.errors,
        seconds=result.seconds,
        requests_per_s=result.requests_per_s,
        p50_ms=result.percentile_ms(50),
        p99_ms=result.percentile_ms(99),
        notes=dict(notes),
    )


@benchmark("web", "bare Flask page vs Guichet's home page, gunicorn sync workers")
def web(options: Options) -> list[Row]:
    with demo_database() as database_url, ExitStack() as servers:
        # Development settings (inline jobs, no Redis) on the benchmark's database: the
        # home page does the same work as in production.
        env = clean_env(GUICHET_ENV="development", DATABASE_URL=database_url)
        print(f"  database: {describe(database_url)}, migrated and seeded", flush=True)
        bare = servers.enter_context(serving("bench.bare_app:app", env, workers=options.workers))
        guichet = servers.enter_context(
            serving("wsgi:app", env, workers=options.workers, expect=SCHOOL_NAME)
        )
        results = measure_side_by_side(
            {"bare page": (bare, "/"), "Guichet /": (guichet, "/")}, options
        )
        database = describe(database_url)
    rows = [row("web", name, result, database=database) for name, result in results.items()]
    return compare(rows, baseline=rows[0], goal=GOAL)
