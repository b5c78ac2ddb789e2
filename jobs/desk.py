"""Jobs of the assistance desk: reading its mailbox (`flask desk fetch --enqueue`)."""

from __future__ import annotations

import logging
from collections import Counter

from flask import current_app

from models import School
from services.desk import imap
from services.schools import pick_school

log = logging.getLogger(__name__)


def mailbox_school(uai: str | None = None) -> School:
    """Return the school named, else DESK_SCHOOL_UAI's, else the only one Guichet serves."""
    return pick_school(uai or current_app.config.get("DESK_SCHOOL_UAI"))


def fetch_mailbox(uai: str | None = None) -> dict[str, int]:
    """Ingest the unread messages of the desk's mailbox; return how many had each outcome."""
    settings = imap.ImapSettings.from_config(current_app.config)
    results = imap.fetch_mailbox(settings, mailbox_school(uai))
    counts = Counter(fetched.result.outcome.value for fetched in results)
    log.info("desk mailbox %s@%s: %s", settings.user, settings.host, dict(counts) or "nothing new")
    return dict(counts)
