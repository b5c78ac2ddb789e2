"""Find the school a page speaks for."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache

import sqlalchemy as sa
from flask import current_app, g

from extensions import db
from models import School


def current_school() -> School | None:
    """Return the school of this request: the configured one, else the first one, or None."""
    if "school" not in g:
        uai = current_app.config.get("DEFAULT_SCHOOL_UAI")
        query = _school_by_uai() if uai else _first_school()
        g.school = db.session.scalars(query, {"uai": uai} if uai else {}).first()
    return g.school


# Every page shows the school: its two statements are built once per process.
@cache
def _school_by_uai() -> sa.Select[tuple[School]]:
    return sa.select(School).where(School.uai == sa.bindparam("uai")).limit(1)


@cache
def _first_school() -> sa.Select[tuple[School]]:
    return sa.select(School).order_by(School.id).limit(1)


def get_school(uai: str) -> School | None:
    """Return the school with that UAI, if Guichet serves it."""
    return db.session.scalars(db.select(School).filter_by(uai=uai.upper())).first()


@dataclass(frozen=True, slots=True)
class SchoolBanner:
    """What every page's frame shows of the school (a copy, safe to keep between requests)."""

    id: int
    uai: str
    name: str
    address: str
    accountant_email: str
    phone: str


BANNER_SECONDS = 60.0  # a renamed school shows on every page within a minute


def school_banner() -> SchoolBanner | None:
    """Return the frame's view of the current school, read at most once a minute."""
    cached = current_app.extensions.get("guichet_school_banner")
    now = time.monotonic()
    if cached is not None and now - cached[0] < BANNER_SECONDS:
        return cached[1]
    school = current_school()
    if school is None:
        return None  # not remembered: the school may be created at any moment
    banner = SchoolBanner(
        school.id, school.uai, school.name, school.address, school.accountant_email, school.phone
    )
    current_app.extensions["guichet_school_banner"] = (now, banner)
    return banner


class SchoolChoiceError(ValueError):
    """A command cannot tell which school it is for; the message is for staff."""


def pick_school(uai: str | None) -> School:
    """Return the school named (a command's --school), or the only one Guichet serves."""
    if uai:
        school = get_school(uai.strip())
        if school is None:
            raise SchoolChoiceError(f"L'établissement {uai.strip().upper()} n'est pas déclaré.")
        return school
    schools = list(db.session.scalars(db.select(School).order_by(School.uai).limit(2)))
    if not schools:
        raise SchoolChoiceError("Aucun établissement déclaré : flask schools create d'abord.")
    if len(schools) > 1:
        raise SchoolChoiceError("Guichet sert plusieurs établissements : précisez --school UAI.")
    return schools[0]
