"""Find the legal guardians a person says they are, the way a school secretary would."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from extensions import db
from models import Guardian, GuardianLink, Pupil

_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss"})


def fold(text: str | None) -> str:
    """Reduce a name to what identifies it: no case, accents, hyphens, apostrophes, extra spaces."""
    text = (text or "").translate(_LIGATURES)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"[-'’‘`´.]", " ", text)
    return " ".join(text.split())


def current_children(guardian: Guardian, today: date) -> list[Pupil]:
    """Return the pupils this guardian is an active legal guardian of, still at school."""
    return [
        link.pupil
        for link in guardian.links
        if link.is_legal
        and link.active
        and (link.pupil.left_on is None or link.pupil.left_on > today)
    ]


def matching_guardians(last_name: str, first_name: str, mobile: str, today: date) -> list[Guardian]:
    """Return the guardian records (one per school) of the person with this name and mobile.

    Only legal guardians of a current pupil count; the usage name or the family name may
    be given. No match returns an empty list, whatever was wrong.
    """
    if not mobile:
        return []
    candidates = db.session.scalars(
        db.select(Guardian)
        .where(Guardian.mobile == mobile)
        .join(GuardianLink, GuardianLink.guardian_id == Guardian.id)
        .distinct()
    ).all()
    wanted_last, wanted_first = fold(last_name), fold(first_name)
    return [
        guardian
        for guardian in candidates
        if wanted_first == fold(guardian.first_name)
        and wanted_last in {fold(guardian.last_name), fold(guardian.usage_name)}
        and current_children(guardian, today)
    ]
