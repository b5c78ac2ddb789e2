"""Actions of the parent procedures (activation, recovery): what their YAML may call."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import current_app

from engine import ActionContext, ActionRegistry, FromParam, Param, SubmissionError
from engine.actions import Sends
from extensions import db
from models import Account, Guardian
from services import otp, parents
from services.identity import current_children, matching_guardians
from services.mail import send_email
from services.phones import masked
from services.schools import current_school
from services.sms import send_sms

CODE_PARAMS = {
    "phone_field": Param(str, default="portable"),
    "validity_minutes": Param(int, required=True),
    "resend_interval_seconds": Param(int, required=True),
    "codes_per_hour": Param(int, required=True),
}


def _today(ctx: ActionContext) -> date:
    return ctx.today


def _guardians(ctx: ActionContext) -> list[Guardian]:
    ids = ctx.data.get("guardian_ids") or []
    return list(db.session.scalars(db.select(Guardian).where(Guardian.id.in_(ids)))) if ids else []


def _school_id() -> int | None:
    school = current_school()
    return school.id if school else None


APPLICANT_SUBJECTS = {
    "identite_corrigee": "Vous pouvez reprendre l'activation de votre compte",
    "identite_refusee": "Votre demande d'activation de compte",
}


def _security_sms(phone: str, body: str) -> None:
    # Counted with the codes: every security SMS to a number shares one rate limit.
    send_sms(phone, body, school_id=_school_id()).template = otp.CODE_TEMPLATE


def register_parent_actions(registry: ActionRegistry) -> None:
    """Add the actions of activation.yaml and the recovery procedures."""

    @registry.action(
        "find_guardian",
        produces=["match", "guardian_ids", "children", "person", "masked_mobile"],
    )
    def find_guardian(ctx: ActionContext) -> None:
        """Look up the legal guardian by name and mobile; the page never says what failed."""
        found = matching_guardians(
            ctx.data.get("nom", ""), ctx.data.get("prenom", ""), ctx.data.get("portable", ""),
            _today(ctx),
        )  # fmt: skip
        ctx.set("guardian_ids", [g.id for g in found])
        if not found:
            ctx.set("match", "none")
            ctx.set("children", [])
            return
        person = found[0]
        ctx.set("match", "has_account" if any(g.account_id for g in found) else "found")
        children = sorted(
            {p.id: p for g in found for p in current_children(g, _today(ctx))}.values(),
            key=lambda p: (p.birth_date or date.min, p.first_name),
        )
        ctx.set("children", [{"prenom": p.first_name, "pupil_id": p.id} for p in children])
        ctx.set(
            "person", {"prenom": person.first_name, "nom": person.usage_name or person.last_name}
        )
        ctx.set("masked_mobile", masked(person.mobile or ""))

    @registry.action(
        "send_security_code",
        params=CODE_PARAMS,
        produces=["code_hash", "code_expires_at", "code_attempts", "code_notice"],
        secrets=["code_hash"],
        sends=["sms"],
    )
    def send_security_code(ctx: ActionContext) -> None:
        """Send a new code by SMS unless the number had too many lately (then say so)."""
        phone = ctx.data.get(ctx.params["phone_field"]) or ""
        if not phone:
            # Recovery for an unknown identifiant: say the same as for a known one.
            ctx.set("code_notice", "Si ce compte existe, un code vient d'être envoyé par SMS.")
            return
        limit = otp.SendLimit(
            timedelta(seconds=ctx.params["resend_interval_seconds"]), ctx.params["codes_per_hour"]
        )
        refused = otp.refusal(phone, limit, ctx.now)
        if refused:
            ctx.set("code_notice", refused)
            return
        code = otp.draw_code()
        minutes = ctx.params["validity_minutes"]
        ctx.set("code_hash", otp.code_hash(code, ctx.instance_id or ""))
        ctx.set("code_expires_at", (ctx.now + timedelta(minutes=minutes)).isoformat())
        ctx.set("code_attempts", 0)
        ctx.set("code_notice", f"Un code vient d'être envoyé au {masked(phone)}.")
        ctx.after_commit(lambda: otp.send_code(phone, code, minutes, _school_id()))

    @registry.action(
        "check_security_code",
        params={"field": Param(str, required=True), "max_attempts": Param(int, required=True)},
        produces=["code_ok", "code_attempts", "code_hash", "code_notice"],
        secrets=["code_hash"],
    )
    def check_security_code(ctx: ActionContext) -> None:
        """Check the typed code; after too many wrong tries the code is void."""
        expires = ctx.data.get("code_expires_at")
        fresh = bool(expires) and ctx.now <= datetime.fromisoformat(expires)
        typed = str(ctx.values.get(ctx.params["field"]) or "")
        ok = fresh and otp.code_matches(typed, ctx.data.get("code_hash"), ctx.instance_id or "")
        ctx.set("code_ok", ok)
        if ok:
            ctx.set("code_hash", None)  # a code serves once
            return
        attempts = (ctx.data.get("code_attempts") or 0) + 1
        ctx.set("code_attempts", attempts)
        left = ctx.params["max_attempts"] - attempts
        if not ctx.data.get("code_hash"):
            ctx.set("code_notice", "Ce code n'est plus valable : demandez un nouveau code.")
        elif not fresh:
            ctx.set("code_hash", None)
            ctx.set("code_notice", "Ce code a expiré : demandez un nouveau code.")
        elif left <= 0:
            ctx.set("code_hash", None)
            ctx.set(
                "code_notice",
                "Trop d'essais : ce code n'est plus valable. Demandez un nouveau code.",
            )
        else:
            ctx.set(
                "code_notice",
                f"Code incorrect. Il vous reste {left} essai{'s' if left > 1 else ''}.",
            )

    @registry.action(
        "verify_birth_dates",
        params={"field": Param(str, required=True)},
        produces=["dates_ok", "dates_attempts"],
    )
    def verify_birth_dates(ctx: ActionContext) -> None:
        """Compare the date of birth given for each child with the school's records."""
        from models import Pupil

        typed = ctx.data.get(ctx.params["field"]) or []
        children = ctx.data.get("children") or []
        pupils = {p.id: p for p in db.session.scalars(
            db.select(Pupil).where(Pupil.id.in_([c["pupil_id"] for c in children]))
        )}  # fmt: skip
        ok = len(typed) == len(children) and all(
            pupils.get(child["pupil_id"]) is not None
            and pupils[child["pupil_id"]].birth_date == given
            for child, given in zip(children, typed, strict=False)
        )
        ctx.set("dates_ok", ok)
        if not ok:
            ctx.set("dates_attempts", (ctx.data.get("dates_attempts") or 0) + 1)

    @registry.action("propose_identifiant", produces=["identifiant"])
    def propose_identifiant(ctx: ActionContext) -> None:
        """Make the identifiant the parent will sign in with."""
        guardians = _guardians(ctx)
        if guardians:
            ctx.set("identifiant", parents.propose_identifiant(guardians[0]))

    @registry.action(
        "create_parent_account",
        params={"field": Param(str, required=True)},
        produces=["account_id", "password_problem", "identifiant"],
    )
    def create_parent_account(ctx: ActionContext) -> None:
        """Create the account with the chosen password, or say why the password won't do."""
        guardians = _guardians(ctx)
        identifiant = ctx.data.get("identifiant") or parents.propose_identifiant(guardians[0])
        try:
            account = parents.create_parent_account(
                guardians, identifiant, str(ctx.values.get(ctx.params["field"]) or "")
            )
        except parents.ParentAccountError as error:
            # Shown next to the password field, and nothing of this submission is kept.
            raise SubmissionError({ctx.params["field"]: str(error)}) from None
        ctx.set("identifiant", identifiant)
        ctx.set("account_id", account.id)
        ctx.set("password_problem", None)

    @registry.action(
        "request_email_confirmation",
        params={
            "field": Param(str, default="courriel"),
            "validity_hours": Param(int, required=True),
        },
        produces=["email_notice"],
        sends=["email:email_confirmation"],
    )
    def request_email_confirmation(ctx: ActionContext) -> None:
        """Email a confirmation link for the address given (valid for the hours set)."""
        account = db.session.get(Account, ctx.data.get("account_id"))
        email = ctx.data.get(ctx.params["field"])
        if account is None or not email:
            return
        hours = ctx.params["validity_hours"]
        ctx.after_commit(
            lambda: parents.request_email_confirmation(
                account, email, timedelta(hours=hours), instance=ctx.instance_id
            )
        )
        ctx.set("email_notice", f"Un lien de confirmation a été envoyé à {email}.")

    @registry.action(
        "send_identifiant_reminder",
        params={"phone_field": Param(str, default="portable")},
        sends=["sms"],
    )
    def send_identifiant_reminder(ctx: ActionContext) -> None:
        """Text the identifiant to the mobile of a matched account (nothing if no match)."""
        accounts = {g.account for g in _guardians(ctx) if g.account is not None}
        phone = ctx.data.get(ctx.params["phone_field"]) or ""
        limit = otp.SendLimit(timedelta(minutes=1), 5)
        if not accounts or otp.refusal(phone, limit, ctx.now):
            return
        for account in accounts:
            body = f"Guichet : votre identifiant est {account.identifiant}."
            ctx.after_commit(lambda body=body: _security_sms(phone, body))

    @registry.action(
        "email_applicant",
        params={"template": Param(str, required=True), "field": Param(str, required=True)},
        sends=[Sends("email", FromParam("template"))],
    )
    def email_applicant(ctx: ActionContext) -> None:
        """Email the applicant at the address they left, with a link back to their procedure."""
        from services.workflows import resume_link

        to = ctx.data.get(ctx.params["field"])
        if not to:
            return
        template, instance = ctx.params["template"], ctx.instance_id or ""
        answer = ctx.values.get("reponse") or ctx.data.get("reponse") or ""
        ctx.after_commit(
            lambda: send_email(
                to,
                APPLICANT_SUBJECTS.get(template, "Votre démarche sur Guichet"),
                "applicant_notice",
                school_id=_school_id(),
                notice=template,
                answer=answer,
                link=resume_link(instance),
            )
        )

    @registry.action(
        "find_account",
        params={"field": Param(str, default="identifiant")},
        produces=["account_id", "account_mobile"],
    )
    def find_account(ctx: ActionContext) -> None:
        """Find a parent account by identifiant (the page answers the same either way)."""
        from services.accounts import find_by_login

        login = str(ctx.data.get(ctx.params["field"]) or "")
        account = find_by_login(login) if "@" not in login else None
        mobiles = [g.mobile for g in account.guardians if g.mobile] if account else []
        ctx.set("account_id", account.id if account else None)
        ctx.set("account_mobile", mobiles[0] if mobiles else None)

    @registry.action(
        "send_password_link", produces=["email_notice"], sends=["email:password_reset"]
    )
    def send_password_link(ctx: ActionContext) -> None:
        """Email a password link to the account's confirmed address, if it has one."""
        from services.accounts import send_password_reset_link

        account = db.session.get(Account, ctx.data.get("account_id"))
        if account is not None:
            ctx.after_commit(lambda: send_password_reset_link(account))

    @registry.action(
        "set_parent_password",
        params={"field": Param(str, required=True)},
        produces=["password_problem", "password_changed"],
    )
    def set_parent_password(ctx: ActionContext) -> None:
        """Give the matched account a new password (recovery), or say why it won't do."""
        from services.accounts import AccountError, set_password

        account = db.session.get(Account, ctx.data.get("account_id"))
        if account is None:
            ctx.set("password_problem", "Compte introuvable.")
            return
        try:
            set_password(account, str(ctx.values.get(ctx.params["field"]) or ""))
        except AccountError as error:
            raise SubmissionError({ctx.params["field"]: str(error)}) from None
        account.must_change_password = False
        account.password_expires_at = None
        ctx.set("password_problem", None)
        ctx.set("password_changed", True)
        current_app.logger.info("password reset for account %s", account.id)
