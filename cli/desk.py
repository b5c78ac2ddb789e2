"""`flask desk …`: the assistance desk's mail, from its IMAP mailbox or from files."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
from flask import current_app

from extensions import db
from jobs import enqueue
from jobs.desk import fetch_mailbox as fetch_job
from jobs.desk import mailbox_school
from models import School
from services.desk import queue
from services.desk.imap import ImapSettings, MailboxError, fetch_mailbox
from services.desk.ingest import IngestResult, Outcome, ingest
from services.schools import SchoolChoiceError, pick_school

cli = click.Group("desk", help="The assistance desk: requests from families.")


def mail_files(paths: tuple[Path, ...]) -> Iterator[Path]:
    """Yield the messages named: .eml files, folders of them, or Maildirs (new/ and cur/)."""
    for path in paths:
        if path.is_file():
            yield path
            continue
        maildir = [path / "new", path / "cur"]
        folders = [folder for folder in maildir if folder.is_dir()] or [path]
        for folder in folders:
            for child in sorted(folder.iterdir()):
                if child.is_file() and (folder in maildir or child.suffix.lower() == ".eml"):
                    yield child


@cli.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--school", "uai", help="The school's UAI (needed when Guichet serves several).")
@click.option("--json", "as_json", is_flag=True, help="Print what happened to each file as JSON.")
def ingest_command(paths: tuple[Path, ...], uai: str | None, as_json: bool) -> None:
    """Ingest .eml files or Maildirs: each message becomes a request or joins its thread."""
    try:
        school = pick_school(uai)
    except SchoolChoiceError as error:
        click.echo(f"Import refusé : {error}", err=True)
        click.get_current_context().exit(1)
    report = []
    for file in mail_files(paths):
        try:
            result = ingest(file.read_bytes(), school).as_dict()
            db.session.commit()  # one message at a time: a bad one loses nothing else
        except Exception as error:
            db.session.rollback()
            result = IngestResult(Outcome.ERROR, reason=str(error)[:300]).as_dict()
        report.append({"file": str(file), **result})
    print_report(report, as_json, lambda line: line["file"])


@cli.command("fetch")
@click.option(
    "--school", "uai", help="The school's UAI (default: DESK_SCHOOL_UAI, or the only one)."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print what happened to each message as JSON."
)
@click.option("--enqueue", "queue", is_flag=True, help="Queue the job for a worker instead.")
def fetch_command(uai: str | None, as_json: bool, queue: bool) -> None:
    """Read the unread messages of the desk's IMAP mailbox (DESK_IMAP_*) into requests."""
    try:
        settings = ImapSettings.from_config(current_app.config)
        school = mailbox_school(uai)
        if queue:
            enqueue(fetch_job, school.uai)
            db.session.commit()  # jobs leave on commit
            click.echo(f"Relève de {settings.user}@{settings.host} mise en file d'attente.")
            return
        results = fetch_mailbox(settings, school)
    except (MailboxError, SchoolChoiceError) as error:
        click.echo(f"Relève impossible : {error}", err=True)
        click.get_current_context().exit(1)
    if not results and not as_json:
        click.echo(f"Aucun message non lu dans {settings.folder}.")
    report = [fetched.as_dict() for fetched in results]
    print_report(report, as_json, lambda line: f"UID {line['uid']}")


def print_report(
    report: list[dict[str, Any]], as_json: bool, source: Callable[[dict[str, Any]], str]
) -> None:
    """Print one line per message (outcome, request, where it came from, why), or JSON."""
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    for line in report:
        reference = f" {line['reference']}" if line["reference"] else ""
        click.echo(f"{line['outcome']:9}{reference}  {source(line)}  ({line['reason']})")


@cli.command("list")
@click.option("--school", "uai", help="The school's UAI (default: every school).")
@click.option("--closed", is_flag=True, help="Include closed requests.")
@click.option("--json", "as_json", is_flag=True, help="Print the queue as JSON.")
def list_command(uai: str | None, closed: bool, as_json: bool) -> None:
    """Print the queue: open requests (age against the target) and staff tasks."""
    try:
        schools = [pick_school(uai)] if uai else list(db.session.scalars(db.select(School)))
    except SchoolChoiceError as error:
        click.echo(f"Liste impossible : {error}", err=True)
        click.get_current_context().exit(1)
    items = queue.overview([s.id for s in schools], closed=closed)
    if as_json:
        click.echo(json.dumps([i.as_dict() for i in items], ensure_ascii=False, indent=2))
        return
    if not items:
        click.echo("Aucune demande ni tâche en cours.")
    for item in items:
        late = " EN RETARD" if item.response and item.response.late else ""
        waited = f"  attente {item.response.age}{late}" if item.response else ""
        who = f"  {item.who}" if item.who else ""
        by = f"  [{item.assignee}]" if item.assignee else ""
        click.echo(f"{item.key:16} {item.status:25} {item.title}{who}{by}{waited}")
