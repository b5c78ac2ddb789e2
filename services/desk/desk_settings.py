"""The desk's settings, read from workflows/assistance.yaml: categories, target, office hours."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from models import HelpRequest
from models.base import utcnow
from services.desk import working_hours
from services.desk.working_hours import WorkingHours
from services.workflow_store import definition_of, published_version

log = logging.getLogger(__name__)

ASSISTANCE_WORKFLOW = "assistance"
DEFAULT_TARGET_HOURS = 16


@dataclass(frozen=True)
class DeskSettings:
    """What the queue needs from the assistance workflow's settings."""

    categories: dict[str, str]
    target_seconds: int
    hours: WorkingHours


@dataclass(frozen=True)
class ResponseTime:
    """A request's age in working time against the first-response target."""

    age: str  # "3 h 20", in working time
    target: str
    due: datetime
    answered: bool
    late: bool


def desk_settings() -> DeskSettings:
    """Return the published assistance settings; defaults (logged) where they are unusable."""
    version = published_version(ASSISTANCE_WORKFLOW)
    settings = definition_of(version).settings if version is not None else {}
    categories = {
        str(c["value"]): str(c["label"])
        for c in settings.get("categories") or ()
        if isinstance(c, Mapping) and "value" in c and "label" in c
    }
    target = settings.get("premiere_reponse_heures", DEFAULT_TARGET_HOURS)
    if not isinstance(target, int | float) or isinstance(target, bool) or target <= 0:
        target = DEFAULT_TARGET_HOURS
    try:
        hours = WorkingHours.from_settings(settings)
    except ValueError as error:
        log.warning("assistance.yaml: office hours unusable, using the default: %s", error)
        hours = working_hours.DEFAULT
    return DeskSettings(categories, int(target * 3600), hours)


def response_time(
    request: HelpRequest, settings: DeskSettings, now: datetime | None = None
) -> ResponseTime:
    """Tell how long a request has waited for its first answer, in the office's hours."""
    now = now or utcnow()
    end = request.first_response_at or now
    waited = working_hours.working_seconds(request.created_at, end, settings.hours)
    return ResponseTime(
        age=working_hours.describe(waited, settings.hours),
        target=working_hours.describe(settings.target_seconds, settings.hours),
        due=working_hours.deadline(request.created_at, settings.target_seconds, settings.hours),
        answered=request.first_response_at is not None,
        late=waited > settings.target_seconds,
    )
