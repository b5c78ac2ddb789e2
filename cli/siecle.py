"""`flask siecle …`: import the pupils and guardians a school exports from SIECLE."""

from __future__ import annotations

from pathlib import Path

import click

from cli.imports import run_import
from services.siecle_import import ImportReport, import_exports
from services.siecle_parser import SiecleFileError

cli = click.Group("siecle", help="Import the school's SIECLE exports (pupils and guardians).")
COLUMNS = ("créés", "modifiés", "inchangés", "sortis")


@cli.command("import")
@click.argument("pupils_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("guardians_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--school", "uai", help="Refuse the files unless they are this school's (UAI).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option("--dry-run", is_flag=True, help="Show what the import would do, change nothing.")
def import_command(
    pupils_file: Path, guardians_file: Path, uai: str | None, as_json: bool, dry_run: bool
) -> None:
    """Import ElevesSansAdresses.xml and ResponsablesAvecAdresses.xml (any variant, any layout)."""
    run_import(
        lambda: import_exports(
            pupils_file.read_bytes(),
            guardians_file.read_bytes(),
            expected_uai=uai,
            actor_label="flask siecle import",
        ),
        SiecleFileError,
        as_json=as_json,
        dry_run=dry_run,
        summary=summary_lines,
    )


def summary_lines(report: ImportReport) -> list[str]:
    """Describe an import for a terminal, in French."""
    lines = [
        f"Import SIECLE : {report.school_name} ({report.uai}), "
        f"export du {report.export_date:%d/%m/%Y}",
        f"{'':14}" + "".join(f"{column:>11}" for column in COLUMNS),
    ]
    for label, counts in (
        ("Élèves", report.pupils),
        ("Responsables", report.guardians),
        ("Liens", report.links),
    ):
        figures = (counts.created, counts.updated, counts.unchanged, counts.left)
        lines.append(f"{label:14}" + "".join(f"{figure:>11}" for figure in figures))
    lines.append(f"Fiches rejetées : {len(report.rejected)}")
    lines.extend(f"  - {rejection.reason}" for rejection in report.rejected)
    lines.append(f"Responsables légaux sans portable utilisable : {len(report.without_mobile)}")
    for entry in report.without_mobile:
        children = ", ".join(
            f"{child.name} ({child.class_code or 'sans classe'})" for child in entry.children
        )
        lines.append(
            f"  - {entry.name} ({entry.siecle_id}) : {entry.reason} ; enfants : {children}"
        )
    return lines
