"""`flask invoices …`: import the invoices a school's accounting software exports as CSV."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from cli.imports import run_import
from engine.templates import euros
from extensions import db
from services.invoice_import import InvoiceFileError, InvoiceReport, import_invoices
from services.payments.gateway import PARIS
from services.payments.reminders import send_reminders
from services.schools import SchoolChoiceError, pick_school

cli = click.Group("invoices", help="The invoices (créances) of the families.")


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--school", "uai", help="The school's UAI (needed when Guichet serves several).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option("--dry-run", is_flag=True, help="Check the file and show the counts, save nothing.")
def import_command(file: Path, uai: str | None, as_json: bool, dry_run: bool) -> None:
    """Import FILE.csv (numero;eleve;objet;montant;emission;echeance;paiement_en_ligne[;payeur])."""
    report = run_import(
        lambda: import_invoices(
            file.read_bytes(), pick_school(uai), actor_label="flask invoices import"
        ),
        (InvoiceFileError, SchoolChoiceError),
        as_json=as_json,
        dry_run=dry_run,
        saved=lambda report: report.imported,
        summary=summary_lines,
    )
    if not report.imported:
        click.get_current_context().exit(1)


def summary_lines(report: InvoiceReport) -> list[str]:
    """Describe an import for a terminal, in French."""
    lines = [f"Import des factures : {report.school_name} ({report.uai}), {report.rows} lignes"]
    if not report.imported:
        lines.append(
            f"Import refusé, rien n'a été enregistré : {len(report.rejected)} ligne(s) en erreur"
        )
        lines.extend(f"  - ligne {r.line} : {r.reason}" for r in report.rejected)
        return lines
    lines += [
        f"Créées : {report.created} ({euros(report.created_cents)})",
        f"Modifiées : {report.updated} ({euros(report.updated_cents)})",
        f"Inchangées : {report.unchanged}",
        f"Total du fichier : {euros(report.total_cents)}",
    ]
    return lines


@cli.command("remind")
@click.option(
    "--days", type=click.IntRange(0, 60), help="Days before the due date (default: paiement.yaml)."
)
def remind_command(days: int | None) -> None:
    """Email the reminders of unpaid invoices coming due (run it daily from cron)."""
    today = datetime.now(PARIS).date()
    count = send_reminders(today, days)
    db.session.commit()
    click.echo(f"{count} facture(s) rappelée(s).")
