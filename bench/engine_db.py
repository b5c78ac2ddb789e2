"""(3) of the engine benchmark: one workflow step through the app's SqlStore, per database.

In this process, one fresh database per table size: `create_app()` on it,
`flask_migrate.upgrade()`, bench/workflows/linear10.yaml published with the versions
service, then instances bulk-inserted into workflow_instances (1,000 in one, 100,000 in
the other) and the table analysed. Each step is what the step view does around the
engine: in a new app context, load the row by public id, `services.workflows.submit()`,
commit (one commit per step, as per request), and the session is removed with the
context. Steps are timed one by one, spread over instances drawn at random from the
whole table, and the sizes take turns, round after round, as the web benchmarks do.

SQLite always (a temporary file); PostgreSQL too when BENCH_DATABASE_URL names a
server, or when the one on 127.0.0.1:5432 answers (a temporary database, dropped).
BENCH_ENGINE_SIZES="1000,100000,1000000" measures other table sizes.
"""

from __future__ import annotations

import os
import random
import statistics
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

import sqlalchemy as sa

from bench.database import _postgres, _sqlite
from bench.registry import Options, Row, compare
from bench.steptiming import Timing, timing_row

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
SIZES = (1_000, 100_000)
ROUNDS = 8  # per table size, the sizes taking turns
INSTANCES_PER_ROUND = 10  # each round advances 10 instances by 10 steps: 100 timed steps
WARMUP_INSTANCES = 5
INSERT_CHUNK = 10_000
APPLICANT = "anon:bench-engine"


def thousands(number: int) -> str:
    """1 000 000, as French typography writes it."""
    return f"{number:,}".replace(",", " ")


def sizes() -> tuple[int, ...]:
    """The table sizes to measure at (BENCH_ENGINE_SIZES overrides)."""
    text = os.environ.get("BENCH_ENGINE_SIZES", "").strip()
    if not text:
        return SIZES
    return tuple(sorted(int(part.replace("_", "")) for part in text.split(",") if part.strip()))


def postgres_server() -> str | None:
    """The PostgreSQL server to create the temporary database on, if one answers."""
    import psycopg

    url = os.environ.get("BENCH_DATABASE_URL", "").strip()
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url:
        return url  # named on purpose: fail loudly below if it does not answer
    try:
        psycopg.connect(LOCAL_POSTGRES, connect_timeout=2).close()
    except psycopg.OperationalError:
        return None
    return LOCAL_POSTGRES


def databases() -> Iterator[tuple[str, Callable[[], Any]]]:
    yield "SQLite", _sqlite
    server = postgres_server()
    if server is not None:
        yield "PostgreSQL", lambda: _postgres(server)


@dataclass
class Bench:
    """The app on one database, the published benchmark workflow and its instances."""

    app: Any
    version: int
    fresh: list[str]  # public ids of instances still on their first step
    size: int = 0


@contextmanager
def guichet(url: str) -> Iterator[Bench]:
    """Guichet on a fresh database: migrated, the benchmark workflow published."""
    import flask_migrate

    from app import create_app
    from bench.engine import LINEAR10_YAML, register_noop
    from extensions import db
    from services.workflow_actions import action_registry
    from services.workflow_versions import sync_files

    register_noop(action_registry())  # as a host app registers its actions
    app = create_app("development", SQLALCHEMY_DATABASE_URI=url, REDIS_URL=None, JOBS_INLINE=True)
    try:
        with app.app_context():
            flask_migrate.upgrade()
            [synced] = sync_files([LINEAR10_YAML])
            db.session.commit()
        yield Bench(app, synced.version, [])
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def populate(bench: Bench, size: int) -> float:
    """Bulk-insert instances on the first step until the table holds `size`; return seconds."""
    from bench.engine import KEY, STATES
    from extensions import db
    from models import InstanceStatus, WorkflowInstance
    from models.base import utcnow

    started = perf_counter()
    table = WorkflowInstance.__table__
    with bench.app.app_context():
        now = utcnow()
        while bench.size < size:
            count = min(INSERT_CHUNK, size - bench.size)
            rows = [
                {
                    "public_id": uuid.uuid4().hex,
                    "key": KEY,
                    "version": bench.version,
                    "step": STATES[0],
                    "data": {},
                    "status": InstanceStatus.ACTIVE,
                    "applicant": APPLICANT,
                    "history": [],
                    "moves": 0,
                    "revision": 1,
                    "created_at": now,
                    "updated_at": now,
                }
                for _ in range(count)
            ]
            db.session.execute(table.insert(), rows)  # one executemany per chunk
            bench.fresh.extend(row["public_id"] for row in rows)
            bench.size += count
        db.session.commit()
        # As a database that has been running would be: vacuumed and analysed (else
        # PostgreSQL's autovacuum wakes up for the bulk insert during the measure).
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("VACUUM (ANALYZE) workflow_instances"))
            else:
                conn.execute(sa.text("ANALYZE workflow_instances"))
    return perf_counter() - started


def _actor():  # type: ignore[no-untyped-def]
    from engine import Actor

    return Actor(APPLICANT, frozenset())  # an anonymous visitor, as the step view makes


def advance(app: Any, public_id: str) -> None:
    """One step as the step view takes it: load, submit, commit, session removed."""
    from extensions import db
    from services import workflows

    with app.app_context():
        row = workflows.get_instance(public_id)
        if row is None:
            raise RuntimeError(f"no instance {public_id}")
        outcome = workflows.submit(row, {"n": 1}, _actor())
        db.session.commit()
    if not outcome.moved:
        raise RuntimeError(f"the instance did not move: {outcome.blocked}")


def warm_up(bench: Bench) -> None:
    """A few instances through every step, unmeasured: caches, pool, compiled workflow."""
    from bench.engine import STEPS

    random.shuffle(bench.fresh)  # then pop(): instances drawn at random from the table
    for public_id in [bench.fresh.pop() for _ in range(WARMUP_INSTANCES)]:
        for _ in range(STEPS):
            advance(bench.app, public_id)


@dataclass
class Rounds:
    """The rounds of one table size, gathered across turns."""

    per_step: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def timing(self) -> Timing:
        return Timing(self.per_step, len(self.latencies), self.seconds, self.latencies)


def one_round(bench: Bench, rounds: Rounds) -> None:
    """Advance INSTANCES_PER_ROUND fresh instances by every step, timing each step."""
    from bench.engine import STEPS

    chosen = [bench.fresh.pop() for _ in range(INSTANCES_PER_ROUND)]
    started = perf_counter()
    for _ in range(STEPS):  # step k of every chosen instance, then step k + 1
        for public_id in chosen:
            began = perf_counter()
            advance(bench.app, public_id)
            rounds.latencies.append(perf_counter() - began)
    elapsed = perf_counter() - started
    rounds.seconds += elapsed
    rounds.per_step.append(elapsed / (STEPS * INSTANCES_PER_ROUND))


def queries_of_one_step(bench: Bench) -> list[str]:
    """The SQL statements one step sends (COMMIT included), in order."""
    from bench.engine import STEPS
    from extensions import db

    public_id = bench.fresh.pop()
    advance(bench.app, public_id)  # the first step of an instance is no different, but
    statements: list[str] = []  # take the second: a warm row, as in the measured rounds

    def on_execute(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(" ".join(statement.split()))

    def on_commit(conn) -> None:  # type: ignore[no-untyped-def]
        statements.append("COMMIT")

    with bench.app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", on_execute)
    sa.event.listen(engine, "commit", on_commit)
    try:
        advance(bench.app, public_id)
    finally:
        sa.event.remove(engine, "before_cursor_execute", on_execute)
        sa.event.remove(engine, "commit", on_commit)
    for _ in range(STEPS - 2):
        advance(bench.app, public_id)
    return statements


def lookup_plan(bench: Bench, kind: str) -> str:
    """How the database finds an instance by public id (it must use the unique index)."""
    from extensions import db

    public_id = bench.fresh[-1]
    with bench.app.app_context():
        if kind == "SQLite":
            rows = db.session.execute(
                sa.text(
                    "EXPLAIN QUERY PLAN SELECT * FROM workflow_instances WHERE public_id = :id"
                ),
                {"id": public_id},
            ).all()
            return "; ".join(str(row[-1]) for row in rows)
        rows = db.session.execute(
            sa.text("EXPLAIN SELECT * FROM workflow_instances WHERE public_id = :id"),
            {"id": public_id},
        ).all()
        return rows[0][0].split("  (cost")[0].strip()


def measure_all(options: Options) -> list[Row]:
    """Rows of (3) for every database available: one per table size."""
    from bench.engine import GOAL_FLAT

    rows: list[Row] = []
    for kind, make_database in databases():
        with ExitStack() as stack:
            # One database per table size, measured in turns (1 000, 100 000, 1 000,
            # 100 000…) so whatever else the machine does weighs on every size alike.
            benches = []
            for size in sizes():
                bench = stack.enter_context(guichet(stack.enter_context(make_database())))
                seconds = populate(bench, size)
                warm_up(bench)
                print(
                    f"  (3) {kind}: {thousands(size)} instances inserted in {seconds:.1f} s",
                    flush=True,
                )
                benches.append(bench)
            queries = queries_of_one_step(benches[0])
            plan = lookup_plan(benches[-1], kind)
            measured = [Rounds() for _ in benches]
            for _ in range(ROUNDS):
                for bench, rounds in zip(benches, measured, strict=True):
                    one_round(bench, rounds)
        for bench, rounds in zip(benches, measured, strict=True):
            timing = rounds.timing()
            print(
                f"  (3) {kind}, {thousands(bench.size)} instances: {timing.us:,.0f} µs/step, "
                f"median step {statistics.median(timing.latencies) * 1e6:,.0f} µs",
                flush=True,
            )
        print(f"      {len(queries)} statements per step; lookup by public id: {plan}")
        for statement in queries:
            print(f"        {statement[:110]}")
        group = [
            timing_row(
                f"engine/{kind.lower()}",
                f"(3) {kind}, {thousands(bench.size)} instances",
                rounds.timing(),
                database=kind,
                instances=bench.size,
                statements_per_step=len(queries),
                statements=queries,
                lookup_plan=plan,
            )
            for bench, rounds in zip(benches, measured, strict=True)
        ]
        rows += compare(group, baseline=group[0], goal=GOAL_FLAT)
    return rows
