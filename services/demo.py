"""The demo school `make run` starts with: one collège, a few families, two staff members."""

from __future__ import annotations

from dataclasses import dataclass

from config import ROOT
from extensions import db
from models import Role, School
from services.accounts import create_staff, find_by_login
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
    staff = []
    for email, name, role in DEMO_STAFF:
        existed = find_by_login(email) is not None
        create_staff(email=email, name=name, password=password, role=role, schools=[school])
        staff.append((email, role.value, not existed))
    return SeedReport(school=school, created=created, staff=staff)


def _add_families(school: School) -> None:
    exports = read_exports(DEMO_PUPILS_FILE.read_bytes(), DEMO_GUARDIANS_FILE.read_bytes())
    apply_exports(school, exports, actor_label="flask seed demo")
