"""The demo school `make run` starts with: one collège, a few families, two staff members."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from extensions import db
from models import Guardian, GuardianLink, Pupil, Role, School
from services.accounts import create_staff, find_by_login

DEMO_UAI = "0360009P"
DEMO_STAFF = (
    ("admin@example.org", "Camille Admin", Role.ADMIN),
    ("comptable@example.org", "Dominique Comptable", Role.ACCOUNTANT),
)

# Families of the sample SIECLE exports (every name, date and number is invented; the
# 06 39 98 block is ARCEP's fiction range).
PUPILS = [
    # siecle_id, ine, last_name, usage_name, first_name, birth_date, class_code
    ("2415301", "099990101KA", "LE GALL-NGUYEN", None, "Maël", date(2014, 3, 2), "6A"),
    ("2298711", "099990106KF", "LE GALL-NGUYEN", None, "Tristan", date(2013, 1, 8), "5B"),
    ("2087420", "099990110KK", "LE GALL-NGUYEN", None, "Éloïse", date(2011, 10, 21), "3 A"),
    ("2415302", "099990102KB", "LECŒUR", None, "Zoé", date(2014, 7, 19), "6A"),
    ("2415303", "099990103KC", "LECŒUR", None, "Noé", date(2014, 7, 19), "6A"),
    ("2298713", "099990108KH", "ROBIN", None, "Capucine", date(2013, 9, 3), "5B"),
    ("2087422", "099990112KM", "ROBIN", None, "Gaspard", date(2011, 6, 15), "3 A"),
]
GUARDIANS = [
    # siecle_id, civility, last_name, usage_name, first_name, mobile, email, children
    ("880101", "M.", "LE GALL", None, "Erwan", "+33639980101", "erwan.legall@example.org",
     ("2415301", "2298711", "2087420")),
    ("880102", "MME", "NGUYEN", "LE GALL", "Linh", "+33639980102", "linh.nguyen@example.org",
     ("2415301", "2298711", "2087420")),
    ("880103", "MME", "LECŒUR", None, "Anne-Sophie", "+33639980103", "as.lecoeur@example.net",
     ("2415302", "2415303")),
    ("880104", "MME", "OUEDRAOGO", None, "Nadia", "+33639980104", "nadia.o@example.net",
     ("2415302", "2415303")),
    ("880110", "MME", "ROBIN", None, "Hélène", "+33639980110", "famille.robin@example.org",
     ("2298713", "2087422")),
    ("880111", "M.", "ROBIN", None, "François", "+33639980110", "famille.robin@example.org",
     ("2298713", "2087422")),
]  # fmt: skip


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
    pupils = {}
    for siecle_id, ine, last, usage, first, born, class_code in PUPILS:
        pupil = Pupil(
            school_id=school.id, siecle_id=siecle_id, ine=ine, last_name=last,
            usage_name=usage, first_name=first, birth_date=born, class_code=class_code,
        )  # fmt: skip
        db.session.add(pupil)
        pupils[siecle_id] = pupil
    for siecle_id, civility, last, usage, first, mobile, email, children in GUARDIANS:
        guardian = Guardian(
            school_id=school.id, siecle_id=siecle_id, civility=civility, last_name=last,
            usage_name=usage, first_name=first, mobile=mobile, email=email,
        )  # fmt: skip
        db.session.add(guardian)
        for child in children:
            guardian.links.append(GuardianLink(pupil=pupils[child], is_legal=True, pays_fees=True))
    db.session.flush()
