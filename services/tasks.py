"""Staff tasks: workflow steps waiting in a role's queue, taken, released or handed over."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from extensions import db
from models import Account, InstanceStatus, Role, WorkflowInstance
from services.accounts import staff_of
from services.workflows import definition, step_view

STAFF_ROLE_NAMES = {Role.ADMIN.value, Role.ACCOUNTANT.value}


@dataclass(frozen=True)
class TaskSummary:
    """What a queue shows of a task."""

    workflow: str
    step: str


def describe_task(row: WorkflowInstance) -> TaskSummary:
    """Return the workflow and step titles of a task, rendered with its data."""
    view = step_view(row)
    return TaskSummary(workflow=definition(row).title, step=str(view.title))


def staff_school_ids(account: Account) -> set[int]:
    """Return the schools where an account holds a staff role."""
    return {m.school_id for m in account.memberships if m.role.value in STAFF_ROLE_NAMES}


def tasks_for(account: Account) -> list[WorkflowInstance]:
    """Return the active tasks waiting in the queues of an account's roles and schools."""
    conditions = [
        sa.and_(
            WorkflowInstance.school_id == m.school_id,
            WorkflowInstance.assignee_role == f"role:{m.role.value}",
        )
        for m in account.memberships
        if m.role.value in STAFF_ROLE_NAMES
    ]
    if not conditions:
        return []
    query = (
        db.select(WorkflowInstance)
        .where(WorkflowInstance.status == InstanceStatus.ACTIVE, sa.or_(*conditions))
        .order_by(WorkflowInstance.updated_at)
    )
    return list(db.session.scalars(query))


def may_work_on(account: Account, row: WorkflowInstance) -> bool:
    """Tell whether a staff member may see and act on a task (their role, their school)."""
    if row.assignee_role is None or row.school_id is None:
        return False
    role = row.assignee_role.removeprefix("role:")
    return any(m.school_id == row.school_id and m.role.value == role for m in account.memberships)


def colleagues(row: WorkflowInstance) -> list[Account]:
    """Return the staff who may take a task: its role, its school, still enabled."""
    if row.assignee_role is None or row.school_id is None:
        return []
    try:
        role = Role(row.assignee_role.removeprefix("role:"))
    except ValueError:
        return []  # a role no account can hold
    return staff_of(row.school_id, [role])


def claim(row: WorkflowInstance, account: Account) -> None:
    """Take a task: colleagues see who works on it."""
    row.claimed_by_id = account.id


def release(row: WorkflowInstance) -> None:
    """Put a task back in its queue."""
    row.claimed_by_id = None


def assign(row: WorkflowInstance, colleague: Account) -> None:
    """Hand a task to a colleague who holds the task's role in its school."""
    if not may_work_on(colleague, row):
        raise ValueError("Cette personne n'a pas le rôle requis pour cette tâche.")
    row.claimed_by_id = colleague.id
