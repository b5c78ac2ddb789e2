"""The demo school `make run` starts with: one collège, a few families, two staff members."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from config import ROOT
from extensions import db
from models import Role, School
from services.accounts import create_staff, find_by_login
from services.desk.ingest import ingest
from services.invoice_import import import_invoices
from services.siecle_import import apply_exports, read_exports

DEMO_UAI = "0360009P"
DEMO_STAFF = (
    ("admin@example.org", "Camille Admin", Role.ADMIN),
    ("comptable@example.org", "Dominique Comptable", Role.ACCOUNTANT),
)

# The sample SIECLE exports the demo families come from (every person in them is invented;
# the 06 39 98 block is ARCEP's fiction range): see demo/siecle/README.md.
DEMO_SIECLE = ROOT / "demo" / "siecle"
DEMO_PUPILS_FILE = DEMO_SIECLE / "ElevesSansAdresses.xml"
DEMO_GUARDIANS_FILE = DEMO_SIECLE / "ResponsablesAvecAdresses.xml"
DEMO_DESK = ROOT / "demo" / "desk"  # emails to the agent comptable, for the desk's queue


@dataclass
class SeedReport:
    """What seeding did, for the command to print."""

    school: School
    created: bool
    staff: list[tuple[str, str, bool]]


def seed_demo(password: str) -> SeedReport:
    """Create the demo school, its families and staff, unless they already exist."""
    school = db.session.scalars(db.select(School).filter_by(uai=DEMO_UAI)).first()
    created = school is None
    if school is None:
        school = School(
            uai=DEMO_UAI,
            name="Collège des Tilleuls",
            address="1 rue des Écoles, 36000 Châteauroux",
            accountant_email="agent-comptable@example.org",
            phone="02 61 91 01 00",
        )
        db.session.add(school)
        db.session.flush()
        _add_families(school)
        _add_invoices(school, date.today())
        _add_help_requests(school)
    staff = []
    for email, name, role in DEMO_STAFF:
        existed = find_by_login(email) is not None
        create_staff(email=email, name=name, password=password, role=role, schools=[school])
        staff.append((email, role.value, not existed))
    return SeedReport(school=school, created=created, staff=staff)


def _add_families(school: School) -> None:
    exports = read_exports(DEMO_PUPILS_FILE.read_bytes(), DEMO_GUARDIANS_FILE.read_bytes())
    apply_exports(school, exports, actor_label="flask seed demo")


# The demo invoices, dated from the day of seeding: (number, ELEVE_ID, label, amount, issued
# days ago, due in days, payable online). Le Gall family: two payable, one past due, one by
# direct debit; another family so the accountant's lists are not about one family only.
DEMO_INVOICES = (
    ("F-DP-0001", "2415301", "Demi-pension septembre-décembre", "187,20", 20, 25, "oui"),
    ("F-IN-0002", "2298711", "Internat 1er trimestre", "412,00", 10, 5, "oui"),
    ("F-DP-0003", "2415301", "Demi-pension juin", "96,00", 170, -140, "oui"),
    ("F-VS-0004", "2298711", "Voyage scolaire en Espagne", "150,00", 20, 40, "non"),
    ("F-DP-0005", "2415304", "Demi-pension septembre-décembre", "187,20", 20, 25, "oui"),
)


def _add_invoices(school: School, today: date) -> None:
    lines = ["numero;eleve;objet;montant;emission;echeance;paiement_en_ligne"]
    for number, pupil, label, amount, issued_ago, due_in, online in DEMO_INVOICES:
        issued = (today - timedelta(days=issued_ago)).strftime("%d/%m/%Y")
        due = (today + timedelta(days=due_in)).strftime("%d/%m/%Y")
        lines.append(f"{number};{pupil};{label};{amount};{issued};{due};{online}")
    report = import_invoices("\n".join(lines).encode(), school, actor_label="flask seed demo")
    if not report.imported:
        raise RuntimeError(f"demo invoices rejected: {report}")


def _add_help_requests(school: School) -> None:
    for message in sorted(DEMO_DESK.glob("*.eml")):
        ingest(message.read_bytes(), school)
