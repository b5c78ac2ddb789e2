"""`flask seed …`: load demonstration data."""

from __future__ import annotations

import click
from flask import current_app

from extensions import db
from services.demo import seed_demo

cli = click.Group("seed", help="Load demonstration data.")


@cli.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has a school.")
def demo(if_empty: bool) -> None:
    """Create the demo school with a few families and print the staff logins (idempotent)."""
    from models import School

    if if_empty and db.session.scalars(db.select(School).limit(1)).first():
        click.echo("Database already has data: demo not loaded.")
        return
    password = current_app.config["SEED_DEMO_PASSWORD"]
    report = seed_demo(password)
    db.session.commit()
    state = "created" if report.created else "already there"
    click.echo(f"Demo school {report.school.uai} {report.school.name}: {state}.")
    for email, role, new in report.staff:
        click.echo(f"  {role:10} {email}  password: {password}{'' if new else ' (existing)'}")
