"""`flask users …`: manage staff accounts from the command line."""

from __future__ import annotations

import sys

import click

from extensions import db
from models import Role, School
from services.accounts import AccountError, create_staff

cli = click.Group("users", help="Manage staff accounts.")


@cli.command("create")
@click.option("--role", type=click.Choice(["admin", "accountant"]), required=True)
@click.option("--email", required=True, help="The staff member's email address (their login).")
@click.option("--name", required=True, help="First name and name, as shown in Guichet.")
@click.option("--school", "uais", multiple=True, help="UAI of a school (repeatable; default: all).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create(role: str, email: str, name: str, uais: tuple[str, ...], password_stdin: bool) -> None:
    """Create a staff account, or give an existing one another role."""
    if uais:
        schools = list(db.session.scalars(db.select(School).where(School.uai.in_(uais))))
        missing = set(uais) - {s.uai for s in schools}
        if missing:
            raise click.ClickException(f"Unknown school UAI: {', '.join(sorted(missing))}")
    else:
        schools = list(db.session.scalars(db.select(School)))
    if not schools:
        raise click.ClickException("No school yet: run `flask seed demo` or import one first.")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        account = create_staff(
            email=email, name=name, password=password, role=Role(role), schools=schools
        )
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"{role} {account.email} in {', '.join(s.uai for s in schools)}")
