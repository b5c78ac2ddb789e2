"""`flask workflows …`: check, sync, list and draw the workflow definitions; fire due timers."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from config import ROOT
from engine import to_mermaid
from engine.scenarios import ScenarioResult, run_scenarios
from extensions import db
from services import workflow_versions as versions
from services.workflow_actions import action_registry
from services.workflow_store import definition_of
from services.workflows import due_timer_ids, fire_timer

cli = click.Group("workflows", help="Workflow definitions and their versions.")


@cli.command("check")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def check(files: tuple[Path, ...]) -> None:
    """Validate definitions (default: the shipped ones); print file:line:column: message."""
    paths = list(files) or versions.shipped_files()
    problems = versions.check_files(paths)
    for problem in problems:
        click.echo(str(problem), err=problem.severity == "error")
    errors = versions.blocking(problems)
    if errors:
        click.echo(f"{len(errors)} error(s) in {len(paths)} file(s).", err=True)
        sys.exit(1)
    click.echo(f"{len(paths)} definition(s) OK.")


@cli.command("test")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of results.")
def test(files: tuple[Path, ...], as_json: bool) -> None:
    """Run the scenarios of definitions (default: the shipped ones); exit 1 on any failure."""
    paths = list(files) or versions.shipped_files()
    results: list[ScenarioResult] = []
    with _quiet("guichet.engine", "transitions"):
        for path in paths:
            results.extend(_run_file(path, as_json))
    failed = [r for r in results if not r.passed]
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in results], indent=2, ensure_ascii=False))
    else:
        click.echo(f"{len(results)} scénario(s), {len(failed)} échec(s).")
    if failed:
        sys.exit(1)


def _run_file(path: Path, as_json: bool) -> list[ScenarioResult]:
    """Run one file's scenarios, printing them unless JSON was asked for."""
    shown = _shown(path)
    ran = run_scenarios(path.read_text(encoding="utf-8"), shown, action_registry())
    if as_json:
        return ran
    click.echo(f"{shown} : {len(ran)} scénario(s)")
    for result in ran:
        click.echo(f"  {'✓' if result.passed else '✗'} {result.name}")
        for failure in result.failures:
            click.echo(f"      {failure}")
    return ran


@contextmanager
def _quiet(*names: str) -> Iterator[None]:
    """Hide the engine's INFO logs while scenarios run (one line per trigger otherwise)."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


@cli.command("sync")
def sync() -> None:
    """Store the files of workflows/ as new versions when their content changed (idempotent)."""
    try:
        results = versions.sync_files()
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    for result in results:
        state = "new version" if result.created else "unchanged"
        published = ", published" if result.published else ""
        click.echo(f"{result.key} v{result.version}: {state}{published}")


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of objects.")
def list_versions(as_json: bool) -> None:
    """List every workflow version, which one is published and how many instances run on it."""
    rows = versions.list_versions()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        mark = "*" if row["published"] else " "
        running = f"{row['running']:>6} running"
        click.echo(f"{mark} {row['key']:<20} v{row['version']:<4} {running}  {row['origin']}")


@cli.command("show")
@click.argument("key")
@click.option("--version", "number", type=int, help="Version number (default: the published one).")
def show(key: str, number: int | None) -> None:
    """Print a version's diagram as Mermaid stateDiagram-v2 text."""
    version = versions.get_version(key, number)
    if version is None:
        raise click.ClickException(f"No workflow {key!r}" + (f" v{number}" if number else ""))
    click.echo(to_mermaid(definition_of(version)))


@cli.command("tick")
def tick() -> None:
    """Fire the timers that came due (run it every minute from cron when Redis is not used)."""
    fired = 0
    for timer_id in due_timer_ids():
        if fire_timer(timer_id):
            fired += 1
        db.session.commit()
    click.echo(f"{fired} timer(s) fired.")
