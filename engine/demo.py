"""Stand-in actions that let workflows/demo.yaml run without the real services."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from engine.actions import ActionContext, ActionRegistry, FromParam, Param, Sends

log = logging.getLogger("guichet.engine.demo")

# A demo family: the real lookup lives in services/ and reads the SIECLE import.
DEMO_CHILDREN = [
    {"prenom": "Léa", "naissance": "2011-03-14"},
    {"prenom": "Hugo", "naissance": "2013-11-02"},
]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def demo_registry() -> ActionRegistry:
    """Return a registry with the built-in actions and the demo stand-ins."""
    registry = ActionRegistry()
    register_demo_actions(registry)
    return registry


SmsSender = Callable[[str, str], None]
MailSender = Callable[[str, Mapping[str, Any]], None]


def _log_sms(phone: str, code: str) -> None:
    log.info("SMS to %s: code %s", phone, code)


def _log_mail(template: str, data: Mapping[str, Any]) -> None:
    log.info("mail %s to %s", template, data.get("courriel"))


def register_demo_actions(
    registry: ActionRegistry,
    *,
    send_code_sms: SmsSender = _log_sms,
    send_mail: MailSender = _log_mail,
) -> None:
    """Add the demo actions used by workflows/demo.yaml; the host may plug real senders."""

    @registry.action("find_children", produces=["guardian_found", "children"])
    def find_children(ctx: ActionContext) -> None:
        """Pretend to find the guardian by name and mobile, with two children."""
        found = bool(ctx.data.get("nom")) and bool(ctx.data.get("portable"))
        ctx.set("guardian_found", found)
        ctx.set("children", [{"prenom": c["prenom"]} for c in DEMO_CHILDREN] if found else [])

    @registry.action(
        "send_code",
        params={"to_field": Param(str, required=True), "validity_minutes": Param(int, default=10)},
        produces=["code_hash", "code_expires_at", "code_attempts", "code_expired"],
        secrets=["code_hash"],
        sends=["sms"],
    )
    def send_code(ctx: ActionContext) -> None:
        """Draw a one-time code, keep its hash, and queue the SMS after the commit."""
        code = f"{secrets.randbelow(10**6):06d}"
        expires = ctx.now + timedelta(minutes=ctx.params["validity_minutes"])
        ctx.set("code_hash", _digest(code))
        ctx.set("code_expires_at", expires.isoformat())
        ctx.set("code_attempts", 0)
        ctx.set("code_expired", False)
        phone = ctx.data.get(ctx.params["to_field"])
        ctx.after_commit(lambda: send_code_sms(phone, code))

    @registry.action(
        "check_code",
        params={"field": Param(str, required=True)},
        produces=["code_ok", "code_attempts"],
    )
    def check_code(ctx: ActionContext) -> None:
        """Compare the typed code with the stored hash, counting attempts."""
        typed = str(ctx.values.get(ctx.params["field"]) or "")
        expires = ctx.data.get("code_expires_at")
        fresh = bool(expires) and ctx.now <= datetime.fromisoformat(expires)
        ok = fresh and secrets.compare_digest(_digest(typed), ctx.data.get("code_hash") or "")
        ctx.set("code_ok", ok)
        ctx.set("code_attempts", (ctx.data.get("code_attempts") or 0) + (0 if ok else 1))

    @registry.action(
        "check_birth_dates",
        params={"field": Param(str, required=True)},
        produces=["dates_ok"],
    )
    def check_birth_dates(ctx: ActionContext) -> None:
        """Compare the typed birth dates with the demo family's."""
        typed = [str(v) for v in ctx.data.get(ctx.params["field"]) or []]
        ctx.set("dates_ok", typed == [c["naissance"] for c in DEMO_CHILDREN])

    @registry.action(
        "set_password",
        params={"field": Param(str, required=True)},
        produces=["password_hash"],
        secrets=["password_hash"],
    )
    def set_password(ctx: ActionContext) -> None:
        """Keep a hash of the new password (the real one hands it to the account service)."""
        ctx.set("password_hash", _digest(str(ctx.values[ctx.params["field"]])))

    @registry.action(
        "verify_password",
        params={"field": Param(str, required=True)},
        produces=["password_ok"],
    )
    def verify_password(ctx: ActionContext) -> None:
        """Check a typed password against the stored hash."""
        typed = _digest(str(ctx.values.get(ctx.params["field"]) or ""))
        ctx.set("password_ok", secrets.compare_digest(typed, ctx.data.get("password_hash") or ""))

    @registry.action(
        "notify",
        params={"template": Param(str, required=True)},
        sends=[Sends("email", FromParam("template"))],
    )
    def notify(ctx: ActionContext) -> None:
        """Queue an email built from a template, sent after the commit."""
        template, snapshot = ctx.params["template"], dict(ctx.data)
        ctx.after_commit(lambda: send_mail(template, snapshot))
