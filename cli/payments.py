"""`flask payments …`: the day's payments for the accounting software, and bank re-checks."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from engine.templates import euros
from jobs.payments import check_due
from services.accounting import day_payments, export_csv, paris_today
from services.schools import SchoolChoiceError, pick_school

cli = click.Group("payments", help="The payments made on the families' invoices.")


@cli.command("export")
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The day (YYYY-MM-DD, Paris time); today by default.",
)
@click.option("--school", "uai", help="The school's UAI (needed when Guichet serves several).")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the CSV to this file instead of the standard output.",
)
def export_command(day: datetime | None, uai: str | None, output: Path | None) -> None:
    """Export one day's PAID payments: UTF-8 with BOM, `;` separators, decimal commas."""
    try:
        school = pick_school(uai)
    except SchoolChoiceError as error:
        click.echo(f"Export refusé : {error}", err=True)
        click.get_current_context().exit(1)
    when = day.date() if day else paris_today()
    payments = day_payments([school.id], when)
    data = export_csv(payments)
    if output is None:
        click.echo(data, nl=False)  # bytes go to the binary stream as they are
        return
    output.write_bytes(data)
    total = sum(payment.amount_cents for payment in payments)
    click.echo(
        f"{school.name} ({school.uai}), {when:%d/%m/%Y} : {len(payments)} paiement(s), "
        f"{euros(total)} → {output}",
        err=True,
    )


@cli.command("check")
def check_command() -> None:
    """Ask the bank about pending payments whose notification has not come (cron: 5 min)."""
    settled = check_due()
    click.echo(f"{settled} paiement(s) réglé(s) après vérification auprès de la banque.")
