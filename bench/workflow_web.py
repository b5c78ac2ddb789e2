"""A workflow step POST under gunicorn against the bare page, same server, same load.

The web benchmark's two servers on one freshly migrated and seeded database: the bare page
(`bench.bare_app`, the baseline) and Guichet (`wsgi:app`, development settings) with
WORKFLOWS_DIR pointing at bench/workflows/web/, whose one workflow `flask workflows sync`
publishes: a one-field step whose form leads back to itself. Before measuring, each client
opens a session (GET /demarches/ for the cookie and the CSRF token) and starts a few
instances through the real start form. Then, in turns with the bare page's GETs, each
client POSTs the step form of its instances (csrf_token, the hidden field that says which
position the page was shown at, the step's field): CSRF, the staleness check, form
validation, the engine (guard, action, optimistic lock, audit record) and the commit, on
every request. Only 302 answers count, and at the end the audit trail in the database
must record exactly as many `moved` submits as 302s were counted (`bench.stepload`).

Goal: a step POST keeps at least 40 % of the bare page's throughput.
"""

from __future__ import annotations

from contextlib import ExitStack

from bench import ROOT
from bench.database import demo_database, describe
from bench.loadgen import LoadGenerator, Result
from bench.registry import Options, Row, benchmark, compare
from bench.servers import clean_env, flask_command, serving
from bench.stepload import StepLoad, StepLoadError, moved_submits, open_visitor
from bench.web import row

GOAL = 0.40  # a step POST ≥ 40 % of the bare page's throughput
WORKFLOWS_DIR = ROOT / "bench" / "workflows" / "web"
KEY = "bench_boucle"
FIELD = "n"
INSTANCES_PER_CLIENT = 10
TITLE = "étape en boucle"  # in the workflow's title, listed on /demarches/


@benchmark("workflow_web", "workflow step POST vs the bare page, gunicorn sync workers")
def workflow_web(options: Options) -> list[Row]:
    with demo_database() as database_url, ExitStack() as stack:
        database = describe(database_url)
        env = clean_env(
            GUICHET_ENV="development", DATABASE_URL=database_url, WORKFLOWS_DIR=str(WORKFLOWS_DIR)
        )
        flask_command("workflows", "sync", env=env)
        print(f"  database: {database}, migrated, seeded, {KEY} published", flush=True)
        bare = stack.enter_context(serving("bench.bare_app:app", env, workers=options.workers))
        guichet = stack.enter_context(
            serving(
                "wsgi:app", env, workers=options.workers, check_path="/demarches/", expect=TITLE
            )
        )
        visitors = [
            open_visitor(
                guichet.host,
                guichet.port,
                index_path="/demarches/",
                start_path=f"/demarches/{KEY}/commencer",
                field=FIELD,
                instances=INSTANCES_PER_CLIENT,
            )
            for _ in range(options.clients)
        ]
        bare_load = stack.enter_context(LoadGenerator(options.clients))
        step_load = stack.enter_context(StepLoad(visitors))

        def bare_window(warmup: float, duration: float) -> Result:
            return bare_load.run(bare.host, bare.port, "/", warmup=warmup, duration=duration)

        def step_window(warmup: float, duration: float) -> Result:
            return step_load.run(guichet.host, guichet.port, warmup=warmup, duration=duration)

        # As bench.web.measure_side_by_side does, with a POST load for the second target.
        bare_window(options.warmup, 0)
        step_window(options.warmup, 0)
        bare_slices: list[Result] = []
        step_slices: list[Result] = []
        for _ in range(options.rounds):
            bare_slices.append(bare_window(0, options.duration / options.rounds))
            step_slices.append(step_window(0, options.duration / options.rounds))
        steps = moved_submits(database_url, KEY)
        if steps != step_load.submits:
            raise StepLoadError(
                f"{step_load.submits} POSTs answered 302 but the audit trail records "
                f"{steps} steps taken: some 302s were not steps"
            )
        print(f"  {steps} steps taken (warm-up included), as many as 302s counted", flush=True)
    rows = [
        row("workflow_web", "bare page", Result.combine(bare_slices), database=database),
        row(
            "workflow_web",
            "workflow step POST",
            Result.combine(step_slices),
            database=database,
            instances=len(visitors) * INSTANCES_PER_CLIENT,
            steps_verified=steps,
        ),
    ]
    return compare(rows, baseline=rows[0], goal=GOAL)
