"""The actions Guichet's workflows may call: the engine's built-ins plus the app's own."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from flask import current_app

from engine import ActionRegistry
from engine.demo import register_demo_actions
from services.activation_actions import register_parent_actions
from services.desk.form_actions import register_desk_actions
from services.mail import send_email
from services.payments.actions import register_payment_actions
from services.schools import current_school
from services.sms import send_sms

# Subjects of the demo workflow's notification emails.
DEMO_SUBJECTS = {
    "demande_recue": "Votre demande d'aide a bien été reçue",
    "aide_accordee": "Votre demande d'aide est acceptée",
    "aide_refusee": "Votre demande d'aide n'a pas été acceptée",
    "complement_demande": "L'agent comptable vous demande un complément",
    "relance_agent_comptable": "Une demande d'aide attend votre décision",
}


def _school_id() -> int | None:
    school = current_school()
    return school.id if school else None


def _send_code_sms(phone: str, code: str) -> None:
    send_sms(
        phone,
        f"Guichet : votre code de vérification est {code}. Ne le communiquez à personne.",
        school_id=_school_id(),
    )


def _send_demo_mail(template: str, data: Mapping[str, Any]) -> None:
    if template == "relance_agent_comptable":
        school = current_school()
        to = school.accountant_email if school else None
    else:
        to = data.get("courriel")
    if not to:
        current_app.logger.warning("demo notification %s has no recipient", template)
        return
    send_email(
        to,
        DEMO_SUBJECTS.get(template, "Votre demande"),
        "workflow_notice",
        school_id=_school_id(),
        notice=template,
        data=data,
    )


@cache
def action_registry() -> ActionRegistry:
    """Return the registry of every action a Guichet workflow may name (built once)."""
    registry = ActionRegistry()
    # Real senders: the SMS and emails are outbox rows released after the commit.
    register_demo_actions(registry, send_code_sms=_send_code_sms, send_mail=_send_demo_mail)
    register_parent_actions(registry)
    register_payment_actions(registry)
    register_desk_actions(registry)
    return registry
