"""How long a school's SIECLE import takes: 2,000 pupils and 3,500 guardians, in process.

Synthetic exports in SIECLE's current layout (ElevesSansAdresses.xml and
ResponsablesAvecAdresses.xml, ISO-8859-15, accents and Œ included) are generated, then
imported the way `flask siecle import` does (parse, apply, one commit) into a fresh,
migrated database holding the school:

1. first import: every pupil, guardian and link created;
2. re-import of the same files: everything unchanged (the idempotent path);
3. import of a later export: 5 % of classes and mobiles changed, 2 % of pupils gone.

SQLite always (a temporary file); PostgreSQL too when BENCH_DATABASE_URL names a server,
or when the one on 127.0.0.1:5432 answers (a temporary database, dropped afterwards).
Goal: each import under 10 seconds. The "vs baseline" column compares the import to that
10-second budget (200 % = done in 5 s); the goal is 100 %.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from time import perf_counter
from typing import Any
from xml.sax.saxutils import escape

from bench.database import _postgres, _sqlite
from bench.registry import Options, Row, benchmark

UAI = "0360009P"
PUPILS = 2_000
GUARDIANS = 3_500
BUDGET_S = 10.0
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
EXPORT_DATE = date(2025, 9, 15)

SURNAMES = (
    "MARTIN", "BERNARD", "DUBOIS", "THOMAS", "ROBERT", "RICHARD", "PETIT", "DURAND", "LEROY",
    "MOREAU", "LECŒUR", "FRANÇOIS", "MÉNARD", "LE GALL", "N'DIAYE", "CŒURDEROY", "BENALI",
    "NGUYEN", "DA SILVA", "LEFÈVRE", "GIRAUD-PERRIN", "OUEDRAOGO", "SOW", "HADDAD", "BRUNEAU",
)  # fmt: skip
FIRST_NAMES = (
    "Zoé", "Noé", "Maël", "Éloïse", "Inès", "Jules", "Hélène", "François", "Anaïs", "Chloé",
    "Léa", "Mathéo", "Loïc", "Gaëlle", "Jérôme", "Agnès", "Raphaël", "Célia", "Noël", "Aurélien",
)  # fmt: skip
CLASSES = ("6A", "6B", "6C", "5A", "5B", "5C", "4A", "4 B", "3 A", "3B")


@dataclass(frozen=True)
class Family:
    """One household of the synthetic school: its guardians and children, by index."""

    guardians: tuple[int, ...]
    children: tuple[int, ...]


def families(pupils: int = PUPILS, guardians: int = GUARDIANS) -> list[Family]:
    """Split pupils and guardians into households of 1-2 guardians and 1-3 children."""
    households = max(1, min(pupils, guardians // 2 + guardians % 2))
    result = []
    for index in range(households):
        kept = tuple(g for g in (2 * index, 2 * index + 1) if g < guardians)
        result.append(Family(kept, tuple(range(index, pupils, households))))
    return result


def generate_exports(
    pupils: int = PUPILS,
    guardians: int = GUARDIANS,
    *,
    uai: str = UAI,
    revision: int = 0,
    export_date: date = EXPORT_DATE,
) -> tuple[bytes, bytes]:
    """Return (pupils file, guardians file) as SIECLE writes them, ISO-8859-15 encoded.

    Revision 1 is a later export: 5 % of classes and mobiles changed, 2 % of pupils gone.
    """
    households = families(pupils, guardians)
    gone = set(range(pupils - pupils // 50, pupils)) if revision else set()
    when = export_date + timedelta(days=30 * revision)
    eleves = _pupils_xml(pupils, gone, uai, revision, when)
    responsables = _guardians_xml(households, guardians, gone, uai, revision, when)
    return eleves.encode("iso8859-15"), responsables.encode("iso8859-15")


def _header(root: str, version: str, uai: str, when: date) -> list[str]:
    return [
        '<?xml version="1.0" encoding="ISO-8859-15"?>',
        f'<{root} VERSION="{version}">',
        "  <PARAMETRES>",
        f"    <UAJ>{uai}</UAJ>",
        f"    <ANNEE_SCOLAIRE>{when.year if when.month >= 9 else when.year - 1}</ANNEE_SCOLAIRE>",
        f"    <DATE_EXPORT>{when:%d/%m/%Y}</DATE_EXPORT>",
        f"    <HORODATAGE>{when:%d/%m/%Y} 08:42:17</HORODATAGE>",
        "  </PARAMETRES>",
        "  <DONNEES>",
    ]


def _pupils_xml(count: int, gone: set[int], uai: str, revision: int, when: date) -> str:
    lines = [*_header("BEE_ELEVES", "3.0", uai, when), "    <ELEVES>"]
    structures = ["    <STRUCTURES>"]
    for index in range(count):
        if index in gone:
            continue
        eleve_id = str(3_000_000 + index)
        born = date(2011, 1, 1) + timedelta(days=index % 1400)
        lines += [
            f'      <ELEVE ELEVE_ID="{eleve_id}" ELENOET="{10_000 + index}">',
            f"        <ID_NATIONAL>{990_000_000 + index:09d}KA</ID_NATIONAL>",
            f"        <ELENOET>{10_000 + index}</ELENOET>",
            f"        <NOM_DE_FAMILLE>{escape(_surname(index))}</NOM_DE_FAMILLE>",
            "        <NOM_USAGE/>" if index % 7 else "        <NOM_USAGE>BERTHIER</NOM_USAGE>",
            f"        <PRENOM>{escape(FIRST_NAMES[index % len(FIRST_NAMES)])}</PRENOM>",
            f"        <DATE_NAISS>{born:%d/%m/%Y}</DATE_NAISS>",
            "        <DOUBLEMENT>0</DOUBLEMENT>",
            "        <CODE_PAYS>100</CODE_PAYS>",
            f"        <CODE_REGIME>{(0, 24, 29)[index % 3]}</CODE_REGIME>",
            "        <DATE_ENTREE>01/09/2025</DATE_ENTREE>",
            *(["        <DATE_SORTIE>12/09/2025</DATE_SORTIE>"] if index % 97 == 0 else []),
            f"        <CODE_SEXE>{1 + index % 2}</CODE_SEXE>",
            "        <CODE_STATUT>ST</CODE_STATUT>",
            "        <CODE_MEF>10010012110</CODE_MEF>",
            "      </ELEVE>",
        ]
        shift = revision if index % 20 == 0 else 0
        structures += [
            f'      <STRUCTURES_ELEVE ELEVE_ID="{eleve_id}" ELENOET="{10_000 + index}">',
            "        <STRUCTURE><CODE_STRUCTURE>LAT5</CODE_STRUCTURE>"
            "<TYPE_STRUCTURE>G</TYPE_STRUCTURE></STRUCTURE>",
            f"        <STRUCTURE><CODE_STRUCTURE>{CLASSES[(index + shift) % len(CLASSES)]}"
            "</CODE_STRUCTURE><TYPE_STRUCTURE>D</TYPE_STRUCTURE></STRUCTURE>",
            "      </STRUCTURES_ELEVE>",
        ]
    lines += ["    </ELEVES>", *structures, "    </STRUCTURES>", "    <BOURSES/>"]
    return "\n".join([*lines, "  </DONNEES>", "</BEE_ELEVES>", ""])


def _guardians_xml(
    households: list[Family], count: int, gone: set[int], uai: str, revision: int, when: date
) -> str:
    lines = [*_header("BEE_RESPONSABLES", "2.1", uai, when), "    <PERSONNES>"]
    lines += [line for index in range(count) for line in _person(index, revision)]
    lines += ["    </PERSONNES>", "    <RESPONSABLES>"]
    for family in households:
        for rank, guardian in enumerate(family.guardians):
            for child in family.children:
                if child not in gone:
                    lines += _link(child, guardian, rank)
    lines += ["    </RESPONSABLES>", "    <ADRESSES>"]
    for index in range(0, count, 2):
        lines += [
            f'      <ADRESSE ADRESSE_ID="{800_000 + index // 2}">',
            f"        <LIGNE1_ADRESSE>{1 + index % 90} RUE DES ESSAIS</LIGNE1_ADRESSE>",
            "        <LIGNE2_ADRESSE/>",
            "        <CODE_POSTAL>36000</CODE_POSTAL>",
            "        <CODE_PAYS>100</CODE_PAYS>",
            "        <LL_PAYS>FRANCE</LL_PAYS>",
            "        <LIBELLE_POSTAL>CHATEAUROUX</LIBELLE_POSTAL>",
            "      </ADRESSE>",
        ]
    lines += ["    </ADRESSES>"]
    return "\n".join([*lines, "  </DONNEES>", "</BEE_RESPONSABLES>", ""])


def _person(index: int, revision: int) -> list[str]:
    # ARCEP fiction block 06 39 98 xx xx: 10,000 numbers, enough for any school.
    number = (index + (revision * 5_000 if index % 20 == 0 else 0)) % 10_000
    if index % 25 == 0:
        mobile = "        <TEL_PORTABLE/>"
    elif index % 41 == 0:
        mobile = f"        <TEL_PORTABLE>+332619{number:05d}</TEL_PORTABLE>"  # a landline
    else:
        mobile = f"        <TEL_PORTABLE>+3363998{number:04d}</TEL_PORTABLE>"
    return [
        f'      <PERSONNE PERSONNE_ID="{5_000_000 + index}">',
        f"        <LC_CIVILITE>{'MME' if index % 2 else 'M.'}</LC_CIVILITE>",
        f"        <NOM_DE_FAMILLE>{escape(_surname(index // 2))}</NOM_DE_FAMILLE>",
        *(["        <NOM_USAGE>LE GALL</NOM_USAGE>"] if index % 11 == 0 else []),
        f"        <PRENOM>{escape(FIRST_NAMES[(index * 7) % len(FIRST_NAMES)])}</PRENOM>",
        "        <TEL_PERSONNEL/>",
        mobile,
        "        <ACCEPTE_SMS>1</ACCEPTE_SMS>",
        "        <TEL_PROFESSIONNEL/>",
        *([f"        <MEL>parent{index}@example.org</MEL>"] if index % 3 else []),
        f"        <ADRESSE_ID>{800_000 + index // 2}</ADRESSE_ID>",
        "      </PERSONNE>",
    ]  # fmt: skip


def _link(child: int, guardian: int, rank: int) -> list[str]:
    return [
        "      <RESPONSABLE_ELEVE>",
        f"        <ELEVE_ID>{3_000_000 + child}</ELEVE_ID>",
        f"        <PERSONNE_ID>{5_000_000 + guardian}</PERSONNE_ID>",
        "        <NIVEAU_RESPONSABILITE>1</NIVEAU_RESPONSABILITE>",
        f"        <CODE_PARENTE>{20 if rank else 10}</CODE_PARENTE>",
        f"        <PAIE_FRAIS_SCOLAIRES>{0 if rank else 1}</PAIE_FRAIS_SCOLAIRES>",
        f"        <HEBERGE_ELEVE>{'false' if rank else 'true'}</HEBERGE_ELEVE>",
        "      </RESPONSABLE_ELEVE>",
    ]


def _surname(index: int) -> str:
    return SURNAMES[index % len(SURNAMES)]


# -- measuring ---------------------------------------------------------------------------


def postgres_server() -> str | None:
    """The PostgreSQL server to create the temporary database on, if one answers."""
    import psycopg

    url = os.environ.get("BENCH_DATABASE_URL", "").strip()
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url:
        return url  # named on purpose: fail loudly if it does not answer
    try:
        psycopg.connect(LOCAL_POSTGRES, connect_timeout=2).close()
    except psycopg.OperationalError:
        return None
    return LOCAL_POSTGRES


def databases() -> Iterator[tuple[str, Callable[[], AbstractContextManager[str]]]]:
    """Yield (name, context manager giving a fresh database URL) for each database to try."""
    yield "SQLite", _sqlite
    server = postgres_server()
    if server is not None:
        yield "PostgreSQL", lambda: _postgres(server)


@contextmanager
def guichet(url: str) -> Iterator[Any]:
    """Guichet on a fresh, migrated database holding the school the files name."""
    import flask_migrate

    from app import create_app
    from extensions import db
    from models import School

    app = create_app("development", SQLALCHEMY_DATABASE_URI=url, REDIS_URL=None, JOBS_INLINE=True)
    try:
        with app.app_context():
            flask_migrate.upgrade()
            db.session.add(School(uai=UAI, name="Collège de la mesure"))
            db.session.commit()
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def timed_import(app: Any, pupils: bytes, guardians: bytes) -> tuple[float, float, Any]:
    """Import as `flask siecle import` does; return (seconds, parse seconds, report)."""
    from extensions import db
    from services.siecle_import import apply_exports, find_school, read_exports

    with app.app_context():
        started = perf_counter()
        exports = read_exports(pupils, guardians)
        parsed = perf_counter()
        report = apply_exports(find_school(exports), exports, actor_label="bench")
        db.session.commit()
        elapsed = perf_counter() - started
        db.session.remove()
    return elapsed, parsed - started, report


def row(database: str, label: str, seconds: float, parse_s: float, report: Any) -> Row:
    """One import as a table row, compared to the 10-second budget."""
    records = sum(
        counts.created + counts.updated + counts.unchanged + counts.left
        for counts in (report.pupils, report.guardians, report.links)
    )
    return Row(
        benchmark="siecle_import",
        target=f"{database}: {label}",
        requests=records,
        errors=0,
        seconds=seconds,
        requests_per_s=records / seconds,
        p50_ms=seconds * 1000,
        p99_ms=seconds * 1000,
        ratio=BUDGET_S / seconds,
        goal=1.0,
        notes={
            "parse_s": round(parse_s, 3),
            "pupils": report.pupils.as_dict(),
            "guardians": report.guardians.as_dict(),
            "links": report.links.as_dict(),
            "rejected": len(report.rejected),
            "without_mobile": len(report.without_mobile),
        },
    )


@benchmark("siecle_import", "SIECLE import of 2,000 pupils and 3,500 guardians (< 10 s)")
def run(options: Options) -> list[Row]:
    """Time a first import, a re-import and a later export, on each database."""
    first = generate_exports()
    later = generate_exports(revision=1)
    rows = []
    for database, fresh in databases():
        with fresh() as url, guichet(url) as app:
            for label, files in (
                ("first import", first),
                ("same files again", first),
                ("later export", later),
            ):
                seconds, parse_s, report = timed_import(app, *files)
                rows.append(row(database, label, seconds, parse_s, report))
                print(f"  {database:10} {label:17} {seconds:6.2f} s", flush=True)
    return rows
