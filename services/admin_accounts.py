"""What administrators do with families' accounts: search, statistics, resets, letters.

Everything is scoped to the schools the acting account administers: a guardian of another
school is neither found nor acted upon. Services flush and never commit.
"""

from __future__ import annotations

import calendar
import enum
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from engine.clock import PARIS
from extensions import db
from models import Account, Guardian, GuardianLink, Pupil, Role, School
from models.base import utcnow
from services import audit
from services.identity import current_children, fold
from services.parents import propose_identifiant
from services.passwords import hash_password, policy_problems

# Temporary credentials printed on an activation letter stay valid this many calendar months,
# as schools' paper letters have always said.
LETTER_VALIDITY_MONTHS = 3
SEARCH_LIMIT = 50
# No 0/O/o, 1/l/I/i: the password is read off paper and typed by hand.
_READABLE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789"
_PASSWORD_GROUPS, _GROUP_LENGTH = 4, 4


class AdminAccountsError(ValueError):
    """An administrator's request that cannot be carried out, explained in French."""


class AccountState(enum.StrEnum):
    """Where a guardian stands with their Guichet account."""

    NONE = "none"
    PENDING = "pending"
    ACTIVE = "active"
    LOCKED = "locked"

    @property
    def label(self) -> str:
        """Return the state as the administrator reads it."""
        return {
            "none": "Aucun compte",
            "pending": "En attente de confirmation du courriel",
            "active": "Actif",
            "locked": "Bloqué",
        }[self.value]


def account_state(account: Account | None, now: datetime | None = None) -> AccountState:
    """Tell the state of a guardian's account (none, pending email confirmation, active, locked)."""
    if account is None:
        return AccountState.NONE
    if not account.is_enabled or (
        account.locked_until and account.locked_until > (now or utcnow())
    ):
        return AccountState.LOCKED
    if account.email_confirmed_at is None:
        return AccountState.PENDING
    return AccountState.ACTIVE


def admin_school_ids(actor: Account) -> set[int]:
    """Return the ids of the schools the account administers."""
    return {m.school_id for m in actor.memberships if m.role == Role.ADMIN}


def paris_today() -> date:
    """Return today's date in the schools' time zone."""
    return datetime.now(PARIS).date()


def _current(today: date) -> sa.ColumnElement[bool]:
    return sa.or_(Pupil.left_on.is_(None), Pupil.left_on > today)


# -- search --------------------------------------------------------------------------------


@dataclass
class GuardianRow:
    """One guardian in the search results, with what the administrator needs to act."""

    guardian: Guardian
    children: list[Pupil]
    state: AccountState

    @property
    def account(self) -> Account | None:
        """Return the guardian's account, if any."""
        return self.guardian.account

    @property
    def may_get_letter(self) -> bool:
        """Tell whether an activation letter can be issued (legal guardian, no account)."""
        return self.account is None and bool(self.children)


@dataclass
class SearchResult:
    """The guardians matching a search, at most SEARCH_LIMIT of them."""

    rows: list[GuardianRow]
    total: int

    @property
    def truncated(self) -> bool:
        """Tell whether more guardians matched than are shown."""
        return self.total > len(self.rows)


def search_guardians(actor: Account, query: str, today: date | None = None) -> SearchResult:
    """Find the guardians of the actor's schools whose name, identifiant or email match.

    Every word of the query must appear, ignoring case and accents. The database cannot
    fold accents portably, so names are folded here: one light query over the schools'
    guardians (a few thousand rows), then the matches are loaded with their families.
    """
    words = fold(query).split()
    school_ids = admin_school_ids(actor)
    if not words or not school_ids:
        return SearchResult([], 0)
    candidates = db.session.execute(
        sa.select(
            Guardian.id,
            Guardian.first_name,
            Guardian.last_name,
            Guardian.usage_name,
            Guardian.email,
            Account.identifiant,
        )
        .outerjoin(Account, Account.id == Guardian.account_id)
        .where(Guardian.school_id.in_(school_ids))
    )
    matched = [
        row.id
        for row in candidates
        if all(word in fold(" ".join(filter(None, row[1:]))) for word in words)
    ]
    rows = _rows(_load_guardians(matched[:SEARCH_LIMIT]), today or paris_today())
    return SearchResult(rows, len(matched))


def _load_guardians(ids: Iterable[int]) -> list[Guardian]:
    ids = list(ids)
    if not ids:
        return []
    return list(
        db.session.scalars(
            sa.select(Guardian)
            .where(Guardian.id.in_(ids))
            .options(
                joinedload(Guardian.account),
                joinedload(Guardian.school),
                selectinload(Guardian.links).joinedload(GuardianLink.pupil),
            )
        ).unique()
    )


def _sorted_children(pupils: list[Pupil]) -> list[Pupil]:
    return sorted(pupils, key=lambda p: (p.first_name, p.id))


def guardians_in_scope(actor: Account, ids: Iterable[int]) -> list[Guardian] | None:
    """Return the guardians with these ids, or None if one is unknown or outside the scope."""
    wanted = set(ids)
    guardians = _load_guardians(wanted)
    school_ids = admin_school_ids(actor)
    if len(guardians) != len(wanted) or any(g.school_id not in school_ids for g in guardians):
        return None
    return guardians


def account_in_scope(actor: Account, account_id: int) -> Account | None:
    """Return a parent account linked to a guardian of the actor's schools, else None."""
    account = db.session.get(Account, account_id)
    if account is None or account.is_staff:
        return None
    school_ids = admin_school_ids(actor)
    if not any(g.school_id in school_ids for g in account.guardians):
        return None
    return account


# -- statistics ----------------------------------------------------------------------------


@dataclass
class ClassStats:
    """Activation in one class: its current pupils, and those reachable through an account."""

    class_code: str | None
    pupils: int
    activated: int

    @property
    def rate(self) -> float:
        """Return the share of pupils with at least one legal guardian's active account."""
        return self.activated / self.pupils if self.pupils else 0.0


@dataclass
class SchoolStats:
    """Activation per class in one school, with its totals."""

    school: School
    classes: list[ClassStats] = field(default_factory=list)

    @property
    def total(self) -> ClassStats:
        """Return the school's totals, as a class of all pupils."""
        return ClassStats(
            None, sum(c.pupils for c in self.classes), sum(c.activated for c in self.classes)
        )


def activation_stats(actor: Account, today: date | None = None) -> list[SchoolStats]:
    """Count, per class of current pupils, those with a legal guardian's active account.

    Active means enabled with a confirmed email, as at the end of the activation procedure.
    """
    today = today or paris_today()
    school_ids = admin_school_ids(actor)
    if not school_ids:
        return []
    reachable = (
        sa.select(GuardianLink.id)
        .join(Guardian, Guardian.id == GuardianLink.guardian_id)
        .join(Account, Account.id == Guardian.account_id)
        .where(
            GuardianLink.pupil_id == Pupil.id,
            GuardianLink.is_legal.is_(True),
            GuardianLink.active.is_(True),
            Account.is_enabled.is_(True),
            Account.email_confirmed_at.is_not(None),
        )
        .exists()
    )
    counts = db.session.execute(
        sa.select(
            Pupil.school_id,
            Pupil.class_code,
            sa.func.count(Pupil.id),
            sa.func.sum(sa.case((reachable, 1), else_=0)),
        )
        .where(Pupil.school_id.in_(school_ids), _current(today))
        .group_by(Pupil.school_id, Pupil.class_code)
    ).all()
    schools = db.session.scalars(
        sa.select(School).where(School.id.in_(school_ids)).order_by(School.name)
    )
    by_school = {school.id: SchoolStats(school) for school in schools}
    for school_id, class_code, pupils, activated in counts:
        by_school[school_id].classes.append(ClassStats(class_code, pupils, int(activated or 0)))
    for stats in by_school.values():
        stats.classes.sort(key=lambda c: _natural(c.class_code))
    return list(by_school.values())


def _natural(class_code: str | None) -> tuple[int, list[int | str]]:
    # "6A" < "6B" < "5A" is not wanted: plain number-aware order, classless pupils last.
    if not class_code:
        return (1, [])
    parts = re.split(r"(\d+)", fold(class_code))
    return (0, [int(p) if p.isdigit() else p for p in parts])


# -- reset ---------------------------------------------------------------------------------


def reset_account(account: Account, actor: Account, *, detach: bool = False) -> list[Guardian]:
    """Disable an account's password so its owner must use "Mot de passe oublié", and unlock it.

    With `detach`, also untie the account from the guardians of the actor's schools, so the
    person can activate again from scratch (lost mobile and mailbox); an account left with
    no guardian at all is disabled. Returns the guardians detached.
    """
    school_ids = admin_school_ids(actor)
    mine = [g for g in account.guardians if g.school_id in school_ids]
    if not mine:
        raise AdminAccountsError(
            "Ce compte n'est rattaché à aucun responsable de vos établissements."
        )
    account.password_hash = None
    account.must_change_password = False
    account.password_expires_at = None
    account.failed_logins = 0
    account.locked_until = None
    detached = mine if detach else []
    for guardian in detached:
        guardian.account = None
    if detach and not account.guardians:
        account.is_enabled = False
    db.session.flush()
    for school_id in sorted({g.school_id for g in mine}):
        audit.record(
            "account.admin_reset",
            actor=actor,
            target=account,
            school_id=school_id,
            data={
                "detached_guardians": [g.id for g in detached if g.school_id == school_id],
                "disabled": not account.is_enabled,
            },
        )
    return detached


# -- activation letters --------------------------------------------------------------------


@dataclass(frozen=True)
class Letter:
    """What one activation letter prints; the password exists nowhere else."""

    school_name: str
    school_address: str
    civility: str | None
    guardian_name: str
    children: tuple[str, ...]
    identifiant: str
    password: str = field(repr=False)
    issued_on: date
    valid_until: date


def temporary_password(forbidden: tuple[str, ...] = ()) -> str:
    """Draw a readable password (four groups of four) that meets the password policy."""
    while True:
        groups = (
            "".join(secrets.choice(_READABLE_CHARS) for _ in range(_GROUP_LENGTH))
            for _ in range(_PASSWORD_GROUPS)
        )
        password = "-".join(groups)
        if not policy_problems(password, forbidden=forbidden):
            return password


def add_months(day: date, months: int) -> date:
    """Return the same day some months later (the month's last day if it is shorter)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def letter_candidates(actor: Account, today: date | None = None) -> list[GuardianRow]:
    """Return the legal guardians of current pupils with neither usable mobile nor account."""
    today = today or paris_today()
    school_ids = admin_school_ids(actor)
    if not school_ids:
        return []
    has_current_child = (
        sa.select(GuardianLink.id)
        .join(Pupil, Pupil.id == GuardianLink.pupil_id)
        .where(
            GuardianLink.guardian_id == Guardian.id,
            GuardianLink.is_legal.is_(True),
            GuardianLink.active.is_(True),
            _current(today),
        )
        .exists()
    )
    ids = db.session.scalars(
        sa.select(Guardian.id).where(
            Guardian.school_id.in_(school_ids),
            Guardian.mobile.is_(None),
            Guardian.account_id.is_(None),
            has_current_child,
        )
    )
    return _rows(_load_guardians(ids), today)


def _rows(guardians: Iterable[Guardian], today: date) -> list[GuardianRow]:
    now = utcnow()
    rows = [
        GuardianRow(g, _sorted_children(current_children(g, today)), account_state(g.account, now))
        for g in guardians
    ]
    rows.sort(key=lambda r: (fold(r.guardian.usage_name or r.guardian.last_name),
                             fold(r.guardian.first_name), r.guardian.id))  # fmt: skip
    return rows


def account_guardians(
    actor: Account, account: Account, today: date | None = None
) -> list[GuardianRow]:
    """Return the guardians an account is linked to in the actor's schools (never others)."""
    school_ids = admin_school_ids(actor)
    mine = [g for g in account.guardians if g.school_id in school_ids]
    return _rows(mine, today or paris_today())


def issue_activation_letters(
    guardians: list[Guardian], actor: Account, today: date | None = None
) -> list[Letter]:
    """Create an account with temporary credentials for each guardian, for a printed letter.

    Only legal guardians of current pupils without an account qualify; if any does not,
    nothing is created and the error names them. The password is hashed at once: the
    returned letters are the only place it exists in clear.
    """
    today = today or paris_today()
    unique = list({g.id: g for g in guardians}.values())
    if not unique:
        raise AdminAccountsError("Aucun responsable sélectionné.")
    # Two administrators printing for one guardian at once: the second waits here, then
    # sees the first one's account instead of making a second one.
    db.session.execute(
        sa.select(Guardian.id)
        .where(Guardian.id.in_([g.id for g in unique]))
        .order_by(Guardian.id)
        .with_for_update()
    )
    for guardian in unique:
        db.session.refresh(guardian, ["account_id", "account"])
    school_ids = admin_school_ids(actor)
    problems = []
    for guardian in unique:
        if guardian.school_id not in school_ids:
            problems.append(
                f"{guardian.display_name} n'est pas responsable dans vos établissements."
            )
        elif guardian.account is not None:
            problems.append(
                f"{guardian.display_name} a déjà un compte (identifiant "
                f"{guardian.account.identifiant}) : réinitialisez-le plutôt."
            )
        elif not current_children(guardian, today):
            problems.append(
                f"{guardian.display_name} n'est responsable légal d'aucun élève scolarisé."
            )
    if problems:
        raise AdminAccountsError(" ".join(problems))
    valid_until = add_months(today, LETTER_VALIDITY_MONTHS)
    # Valid through the printed day, in the school's time zone.
    expires_at = datetime.combine(valid_until + timedelta(days=1), time(), PARIS).astimezone(UTC)
    return [_issue(guardian, actor, today, valid_until, expires_at) for guardian in unique]


def _issue(
    guardian: Guardian, actor: Account, today: date, valid_until: date, expires_at: datetime
) -> Letter:
    identifiant = propose_identifiant(guardian)
    password = temporary_password(
        forbidden=(guardian.first_name, guardian.last_name, guardian.usage_name or "", identifiant)
    )
    account = Account(
        identifiant=identifiant,
        name=guardian.display_name,
        password_hash=hash_password(password),
        must_change_password=True,
        password_expires_at=expires_at,
    )
    guardian.account = account
    db.session.add(account)
    db.session.flush()  # the next proposed identifiant must see this one
    audit.record(
        "account.activation_letter",
        actor=actor,
        target=account,
        school_id=guardian.school_id,
        data={"guardian_id": guardian.id, "valid_until": valid_until.isoformat()},
    )
    children = tuple(
        f"{p.display_name} ({p.class_code})" if p.class_code else p.display_name
        for p in _sorted_children(current_children(guardian, today))
    )
    return Letter(
        school_name=guardian.school.name,
        school_address=guardian.school.address,
        civility=guardian.civility,
        guardian_name=guardian.display_name,
        children=children,
        identifiant=identifiant,
        password=password,
        issued_on=today,
        valid_until=valid_until,
    )
