"""Find the school a page speaks for."""

from __future__ import annotations

from flask import current_app, g

from extensions import db
from models import School


def current_school() -> School | None:
    """Return the school of this request: the configured one, else the first one, or None."""
    if "school" not in g:
        uai = current_app.config.get("DEFAULT_SCHOOL_UAI")
        query = db.select(School)
        query = query.filter_by(uai=uai) if uai else query.order_by(School.id)
        g.school = db.session.scalars(query.limit(1)).first()
    return g.school


def get_school(uai: str) -> School | None:
    """Return the school with that UAI, if Guichet serves it."""
    return db.session.scalars(db.select(School).filter_by(uai=uai.upper())).first()
