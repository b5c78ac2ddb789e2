"""`flask schools …`: declare the schools this Guichet serves."""

from __future__ import annotations

import json
import re

import click

from extensions import db
from models import School
from services import audit

cli = click.Group("schools", help="The schools (EPLE) Guichet serves.")
UAI = re.compile(r"^\d{7}[A-Z]$")


@cli.command("create")
@click.option("--uai", required=True, help="The school's UAI (7 digits and a letter).")
@click.option("--name", required=True, help="Its name, as parents know it.")
@click.option("--accountant-email", help="The agent comptable's address.")
@click.option("--address", help="Postal address shown in the footer.")
@click.option("--phone")
def create(
    uai: str, name: str, accountant_email: str | None, address: str | None, phone: str | None
) -> None:
    """Add a school, or update its details if the UAI is known already."""
    uai = uai.strip().upper()
    if not UAI.match(uai):
        raise click.ClickException(f"{uai!r} is not a UAI: 7 digits and a letter, e.g. 0360009P.")
    school = db.session.scalars(db.select(School).filter_by(uai=uai)).first()
    created = school is None
    if school is None:
        school = School(uai=uai, name=name)
        db.session.add(school)
    school.name = name
    # On an update, details not given on the command line stay as they were.
    for attribute, value in (
        ("accountant_email", accountant_email),
        ("address", address),
        ("phone", phone),
    ):
        if value is not None:
            setattr(school, attribute, value)
    db.session.flush()
    audit.record(
        "school.created" if created else "school.updated", target=school, school_id=school.id
    )
    db.session.commit()
    click.echo(f"{'Created' if created else 'Updated'} {uai} {name}")


@cli.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_schools(as_json: bool) -> None:
    """List the schools."""
    schools = db.session.scalars(db.select(School).order_by(School.uai)).all()
    rows = [{"uai": s.uai, "name": s.name, "accountant_email": s.accountant_email} for s in schools]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(f"{row['uai']}  {row['name']}  {row['accountant_email']}")
