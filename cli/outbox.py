"""`flask outbox …`: read the messages Guichet sent."""

from __future__ import annotations

import json
from datetime import timedelta

import click

from extensions import db
from models import Channel
from services.outbox import recent_messages, requeue, stuck_messages

cli = click.Group("outbox", help="Read the outbox of emails and SMS.")


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of objects.")
@click.option("--channel", type=click.Choice([c.value for c in Channel]))
@click.option("--limit", default=50, show_default=True)
def list_messages(as_json: bool, channel: str | None, limit: int) -> None:
    """Print the latest messages, newest first."""
    messages = recent_messages(limit, Channel(channel) if channel else None)
    if as_json:
        click.echo(json.dumps([m.as_dict() for m in messages], ensure_ascii=False, indent=2))
        return
    for m in messages:
        stamp = m.created_at.strftime("%Y-%m-%d %H:%M")
        click.echo(f"{stamp}  {m.channel.value:5}  {m.status.value:6}  {m.to}  {m.subject}")


@cli.command("requeue")
@click.option("--minutes", default=15, show_default=True, help="Only messages stuck this long.")
def requeue_stuck(minutes: int) -> None:
    """Queue again the messages left queued or failed (Redis lost, SMTP down for hours)."""
    messages = stuck_messages(timedelta(minutes=minutes))
    for message in messages:
        requeue(message)
    db.session.commit()
    click.echo(f"{len(messages)} message(s) queued again.")
