"""Create accounts, check credentials with lockout, and reset forgotten staff passwords."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from extensions import db
from models import STAFF_ROLES, Account, Membership, Role, School
from models.base import utcnow
from services import audit
from services.mail import send_email
from services.passwords import hash_password, policy_problems, verify_password

MAX_FAILED_LOGINS = 5
LOCK_DURATION = timedelta(minutes=15)
RESET_SALT = "staff-password-reset"


class AccountError(ValueError):
    """A request about an account that cannot be carried out, explained in French."""


def find_by_login(login: str) -> Account | None:
    """Return the account a login names: an email for staff, an identifiant for parents."""
    login = login.strip().lower()
    if "@" in login:
        staff = db.select(Membership.account_id).where(Membership.role.in_(STAFF_ROLES))
        query = db.select(Account).where(Account.email == login, Account.id.in_(staff))
    else:
        query = db.select(Account).where(Account.identifiant == login)
    return db.session.scalars(query).first()


def staff_of(school_id: int, roles: Iterable[Role]) -> list[Account]:
    """Return the enabled accounts holding one of these roles in a school, by name."""
    query = (
        sa.select(Account)
        .join(Membership, Membership.account_id == Account.id)
        .where(
            Membership.school_id == school_id,
            Membership.role.in_(list(roles)),
            Account.is_enabled.is_(True),
        )
        .distinct()
        .order_by(Account.name)
    )
    return list(db.session.scalars(query))


def create_staff(
    *, email: str, name: str, password: str, role: Role, schools: list[School]
) -> Account:
    """Create a staff account (or add a role to an existing one) in the given schools."""
    if role not in (Role.ADMIN, Role.ACCOUNTANT):
        raise AccountError("Un compte du personnel est administrateur ou comptable.")
    if not schools:
        raise AccountError("Indiquez au moins un établissement.")
    email = email.strip().lower()
    account = find_by_login(email)
    if account is None:
        problems = policy_problems(password, forbidden=(name, email.split("@")[0]))
        if problems:
            raise AccountError(" ".join(problems))
        account = Account(email=email, name=name.strip(), password_hash=hash_password(password))
        account.email_confirmed_at = utcnow()  # staff addresses are given by the school
        db.session.add(account)
    for school in schools:
        if role not in account.roles_in(school.id):
            account.memberships.append(Membership(school_id=school.id, role=role))
    db.session.flush()
    audit.record("account.staff_created", target=account, data={"role": role.value})
    return account


def authenticate(login: str, password: str) -> Account | None:
    """Return the account if the credentials are right; count failures and lock after five."""
    account = find_by_login(login)
    now = utcnow()
    if account is None:
        verify_password(None, password)
        return None
    if account.locked_until and account.locked_until > now:
        return None
    if account.password_expires_at and account.password_expires_at < now:
        return None  # temporary credentials of an activation letter, unused in time
    if not account.is_enabled or not verify_password(account.password_hash, password):
        account.failed_logins += 1
        if account.failed_logins >= MAX_FAILED_LOGINS:
            account.locked_until = now + LOCK_DURATION
            account.failed_logins = 0
            audit.record("account.locked", target=account)
        return None
    account.failed_logins = 0
    account.locked_until = None
    account.last_login_at = now
    audit.record("account.login", actor=account, target=account)
    return account


def is_locked(account: Account | None) -> bool:
    """Tell whether an account is temporarily locked after too many failures."""
    return bool(account and account.locked_until and account.locked_until > utcnow())


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESET_SALT)


def request_password_reset(email: str) -> None:
    """Email a reset link to a staff account with that address (silently nothing otherwise)."""
    account = find_by_login(email)
    if account is None or not account.email or not account.is_staff:
        return
    send_password_reset_link(account)


def send_password_reset_link(account: Account) -> None:
    """Email a single-use link to choose a new password, to the account's confirmed address."""
    if not account.email or not account.email_confirmed_at:
        return
    # The hash suffix makes the link single-use: it dies once the password changes.
    token = _serializer().dumps({"id": account.id, "h": (account.password_hash or "")[-12:]})
    link = current_app.config["PUBLIC_URL"].rstrip("/") + url_for(
        "auth.reset_password", token=token
    )
    minutes = current_app.config["PASSWORD_RESET_MAX_AGE"] // 60
    send_email(
        account.email,
        "Réinitialisation de votre mot de passe Guichet",
        "password_reset",
        account=account,
        link=link,
        minutes=minutes,
    )
    audit.record("account.password_reset_requested", target=account)


def account_for_reset_token(token: str) -> Account | None:
    """Return the account a reset link was made for, if the link is genuine and unused."""
    try:
        payload = _serializer().loads(token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"])
    except (BadSignature, SignatureExpired):
        return None
    account = db.session.get(Account, payload.get("id"))
    if account is None or (account.password_hash or "")[-12:] != payload.get("h"):
        return None
    return account


def set_password(account: Account, password: str) -> None:
    """Give an account a new password that meets the policy, and unlock it."""
    forbidden = (account.name, account.identifiant or "", (account.email or "").split("@")[0])
    problems = policy_problems(password, forbidden=forbidden)
    if problems:
        raise AccountError(" ".join(problems))
    account.password_hash = hash_password(password)
    account.failed_logins = 0
    account.locked_until = None
    audit.record("account.password_changed", target=account)
