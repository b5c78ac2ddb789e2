"""Parent accounts: identifiants, creation at the end of activation, email confirmation."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeSerializer

from extensions import db
from models import Account, Guardian, Pupil, School
from models.base import utcnow
from services import audit
from services.identity import current_children, fold
from services.mail import send_email
from services.passwords import hash_password, policy_problems

EMAIL_SALT = "email-confirmation"


class ParentAccountError(ValueError):
    """Something about a parent account that cannot be done, explained in French."""


def children_of(account: Account, today: date) -> list[tuple[Pupil, School]]:
    """Return the current pupils an account is legal guardian of, with their school."""
    found = {p.id: (p, g.school) for g in account.guardians for p in current_children(g, today)}
    return sorted(found.values(), key=lambda pair: (pair[0].first_name, pair[0].id))


def propose_identifiant(guardian: Guardian) -> str:
    """Make a unique, lowercase ASCII identifiant: first initial, dot, name (p.legall-nguyen)."""
    name = fold(guardian.usage_name or guardian.last_name)
    name = re.sub(r"[^a-z0-9 -]", "", name).replace(" ", "")
    initial = (fold(guardian.first_name)[:1] or "x").replace(" ", "")
    base = f"{initial}.{name}"[:56].strip("-") or "parent"
    taken = set(
        db.session.scalars(
            db.select(Account.identifiant).where(Account.identifiant.like(f"{base}%"))
        )
    )
    if base not in taken:
        return base
    suffix = 2
    while f"{base}{suffix}" in taken:
        suffix += 1
    return f"{base}{suffix}"


def create_parent_account(guardians: list[Guardian], identifiant: str, password: str) -> Account:
    """Create the account of a guardian (one person, maybe in several schools) and link it."""
    if not guardians:
        raise ParentAccountError("Aucun responsable légal à rattacher.")
    if any(g.account_id for g in guardians):
        raise ParentAccountError("Un compte existe déjà pour ce responsable légal.")
    person = guardians[0]
    problems = policy_problems(
        password,
        forbidden=(person.first_name, person.last_name, person.usage_name or "", identifiant),
    )
    if problems:
        raise ParentAccountError(problems[0])
    account = Account(
        identifiant=identifiant,
        name=f"{person.first_name} {person.usage_name or person.last_name}",
        password_hash=hash_password(password),
    )
    db.session.add(account)
    db.session.flush()
    for guardian in guardians:
        guardian.account_id = account.id
    audit.record("account.parent_activated", target=account, school_id=person.school_id)
    return account


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=EMAIL_SALT)


def confirmation_link(
    account: Account, email: str, valid_for: timedelta, instance: str | None = None
) -> str:
    """Return a signed link that confirms this address for this account until it expires."""
    expires = int((utcnow() + valid_for).timestamp())
    token = _serializer().dumps({"a": account.id, "e": email, "x": expires, "i": instance})
    path = url_for("account.confirm_email", token=token)
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


def request_email_confirmation(
    account: Account, email: str, valid_for: timedelta, instance: str | None = None
) -> None:
    """Record the address as waiting for confirmation and email the link (after the commit).

    `instance` names the activation waiting for this confirmation, to move it on.
    """
    account.new_email = email.strip().lower()
    link = confirmation_link(account, account.new_email, valid_for, instance)
    send_email(
        account.new_email,
        "Confirmez votre adresse électronique",
        "email_confirmation",
        account=account,
        link=link,
        hours=int(valid_for.total_seconds() // 3600),
    )


def account_for_confirmation(token: str, now: datetime) -> tuple[Account, str, str | None] | None:
    """Return (account, email, activation id) of a genuine, unexpired, still pending link."""
    try:
        payload = _serializer().loads(token)
    except BadSignature:
        return None
    if payload.get("x", 0) < now.timestamp():
        return None
    account = db.session.get(Account, payload.get("a"))
    if account is None:
        return None
    email = payload.get("e")
    if account.new_email != email and not (account.email == email and account.email_confirmed_at):
        return None  # superseded by a later address
    return account, email, payload.get("i")


def confirm_email(account: Account, email: str) -> bool:
    """Make a pending address the account's confirmed one; False if it was already confirmed."""
    if account.email == email and account.email_confirmed_at and account.new_email is None:
        return False
    account.email = email
    account.new_email = None
    account.email_confirmed_at = utcnow()
    audit.record("account.email_confirmed", actor=account, target=account)
    return True
