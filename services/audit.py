"""Record who did what in the audit trail, with secrets masked."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request

from extensions import db
from models import Account, AuditEvent

SECRET_MARKERS = ("password", "mot_de_passe", "code", "otp", "token", "secret")
MASK = "••••"


def mask_secrets(data: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of data where values of secret-looking keys are masked."""
    masked: dict[str, Any] = {}
    for key, value in data.items():
        if any(marker in key.lower() for marker in SECRET_MARKERS):
            masked[key] = MASK
        elif isinstance(value, dict):
            masked[key] = mask_secrets(value)
        else:
            masked[key] = value
    return masked


def record(
    action: str,
    *,
    actor: Account | None = None,
    actor_label: str | None = None,
    target: Any = None,
    school_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event for an action, naming its actor and target."""
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor is not None else None,
        actor_label=actor_label or (actor.email or actor.identifiant or "") if actor else "",
        target_type=type(target).__name__ if target is not None else None,
        target_id=str(target.id) if target is not None and hasattr(target, "id") else None,
        school_id=school_id,
        data=mask_secrets(data or {}),
        ip_address=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    return event
