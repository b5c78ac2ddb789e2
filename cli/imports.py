"""What every `flask … import` command does around its service: one transaction, one answer."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import click

from extensions import db


class Report(Protocol):
    """An import report the commands can print."""

    def as_dict(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=Report)


def run_import(
    load: Callable[[], R],
    refused: type[Exception] | tuple[type[Exception], ...],
    *,
    as_json: bool,
    dry_run: bool,
    saved: Callable[[R], bool] = lambda report: True,
    summary: Callable[[R], list[str]],
) -> R:
    """Run an import, commit it unless it is a dry run or refused, and print its report.

    A file the service refuses as a whole prints one line (or `{"error": …}`) and exits 1.
    """
    try:
        report = load()
    except refused as error:
        db.session.rollback()
        if as_json:
            click.echo(json.dumps({"error": str(error)}, ensure_ascii=False))
        else:
            click.echo(f"Import refusé : {error}", err=True)
        click.get_current_context().exit(1)
    if dry_run or not saved(report):
        db.session.rollback()
    else:
        db.session.commit()
    if as_json:
        click.echo(json.dumps({**report.as_dict(), "dry_run": dry_run}, ensure_ascii=False))
    else:
        click.echo("\n".join(summary(report)))
        if dry_run and saved(report):
            click.echo("Simulation : rien n'a été enregistré.")
    return report
