"""The workflow studio: how fast an administrator's edits are checked, previewed and moved.

1. live check: the editor's check of activation.yaml after a keystroke (a new text each
   time, so no cache helps). Goal: under 200 ms, for the errors to follow the typing
   ("vs baseline" = 200 ms / median).
2. publish checks: validation, the 6 scenarios and the retired-steps query for
   activation.yaml with a new required checkbox. Goal: under 2 s.
3. impact report and bulk move over 1,000 running activations (half at the identity step,
   which may move, half past it, which may not). Goals: the report under 2 s, the move
   of the 500 compatible cases, each locked and checked again, under 10 s.

SQLite always; PostgreSQL too when BENCH_DATABASE_URL names a server or the local one
answers (a temporary database each, dropped afterwards).
"""

from __future__ import annotations

import re
from statistics import median
from time import perf_counter

from bench.registry import Options, Row, benchmark
from bench.siecle_import import databases, guichet
from config import ROOT

RUNNING = 1_000
CHECK_BUDGET_MS = 200.0
PUBLISH_BUDGET_S = 2.0
IMPACT_BUDGET_S = 2.0
MOVE_BUDGET_S = 10.0
ACTIVATION = (ROOT / "workflows" / "activation.yaml").read_text(encoding="utf-8")
ANCHOR = 'pour un numéro étranger."\n'
CONSENT = "      - name: consentement\n        type: checkbox\n        label: J’accepte\n"
WITH_CONSENT = re.sub(
    r"(submit: \{nom: [^}]*)\}",
    r"\1, consentement: true}",
    ACTIVATION.replace(ANCHOR, ANCHOR + CONSENT, 1),
)


def row(target: str, timings_ms: list[float], budget_ms: float, **notes: object) -> Row:
    """One target as a table row, against its budget."""
    ordered = sorted(timings_ms)
    return Row(
        benchmark="studio",
        target=target,
        requests=len(timings_ms),
        errors=0,
        seconds=sum(timings_ms) / 1000,
        requests_per_s=1000 * len(timings_ms) / sum(timings_ms),
        p50_ms=median(timings_ms),
        p99_ms=ordered[-1],
        ratio=budget_ms / median(timings_ms),
        goal=1.0,
        notes=dict(notes),
    )


def running_cases(count: int) -> list[object]:
    """Activations on version 1: half at `identite`, half at `code` having passed it."""
    from models import WorkflowInstance

    cases = []
    for n in range(count):
        early = n % 2 == 0
        data = {"profil": "responsable"}
        if not early:
            data.update(nom="Martin", prenom="Anne", portable="+33612345678", match="found")
        cases.append(
            WorkflowInstance(
                key="activation",
                version=1,
                step="identite" if early else "code",
                data=data,
                applicant=f"anon:bench-{n}",
                history=["profil"] if early else ["profil", "identite"],
                moves=1 if early else 2,
                revision=2 if early else 3,
            )
        )
    return cases


@benchmark("studio", "workflow studio: live check, publish checks, impact and move of 1,000 cases")
def run(options: Options) -> list[Row]:
    """Time the studio's checks and its bulk move on each database."""
    from extensions import db
    from models import Account
    from services import workflow_moves, workflow_publishing
    from services.workflow_drafts import problems_of
    from services.workflow_versions import sync_files

    rows = []
    checks = []
    for n in range(30):
        started = perf_counter()
        problems_of("activation", ACTIVATION + f"# frappe {n}\n")
        checks.append((perf_counter() - started) * 1000)
    rows.append(row("live check of activation.yaml", checks, CHECK_BUDGET_MS))
    print(f"  live check  {median(checks):6.1f} ms", flush=True)

    for database, fresh in databases():
        with fresh() as url, guichet(url) as app, app.app_context():
            sync_files()
            db.session.add_all(running_cases(RUNNING))
            admin = Account(name="Bench", email="bench@example.org")
            db.session.add(admin)
            db.session.commit()

            timings = []
            for _ in range(3):
                started = perf_counter()
                check = workflow_publishing.prepare("activation", WITH_CONSENT)
                timings.append((perf_counter() - started) * 1000)
            assert check.ok, check.reasons()  # noqa: S101 - a bench on a broken text is void
            rows.append(row(f"{database}: publish checks", timings, PUBLISH_BUDGET_S * 1000))
            print(f"  {database:10} publish checks  {median(timings):6.0f} ms", flush=True)

            workflow_publishing.publish("activation", WITH_CONSENT, "Consentement", admin)
            db.session.commit()
            target = workflow_publishing.published_definition("activation")
            timings = []
            for _ in range(3):
                started = perf_counter()
                impact = workflow_moves.impact("activation", target[1], target[0])
                timings.append((perf_counter() - started) * 1000)
                db.session.expire_all()
            movable = sum(v.movable for v in impact)
            rows.append(
                row(
                    f"{database}: impact over {RUNNING} cases",
                    timings,
                    IMPACT_BUDGET_S * 1000,
                    movable=movable,
                )
            )
            print(f"  {database:10} impact report  {median(timings):6.0f} ms", flush=True)

            started = perf_counter()
            report = workflow_moves.move_compatible("activation", 1, admin)
            db.session.commit()
            seconds = perf_counter() - started
            rows.append(
                row(
                    f"{database}: move {report.moved} cases",
                    [seconds * 1000],
                    MOVE_BUDGET_S * 1000,
                    kept=len(report.kept),
                )
            )
            print(f"  {database:10} move {report.moved}  {seconds:6.2f} s", flush=True)
            db.session.remove()
    return rows
