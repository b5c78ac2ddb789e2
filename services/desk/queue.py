"""The staff inbox: families' help requests and workflow tasks, by list, for a staff member."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from extensions import db
from models import (
    Account,
    HelpAttachment,
    HelpMessage,
    HelpRequest,
    InstanceStatus,
    Invoice,
    Pupil,
    RequestStatus,
    WorkflowInstance,
)
from services.billing import family_invoices as invoices_of
from services.billing import family_pupil_ids
from services.desk.desk_settings import DeskSettings, ResponseTime, desk_settings, response_time
from services.tasks import TaskSummary, describe_task, tasks_for


class Box(enum.StrEnum):
    """The lists of the queue."""

    NEW = "nouvelles"
    MINE = "miennes"
    OTHERS = "collegues"
    WAITING = "en-attente"
    CLOSED = "closes"

    @property
    def label(self) -> str:
        """Return the list's name in French."""
        return _BOX_LABELS[self]


_BOX_LABELS = {
    Box.NEW: "À prendre",
    Box.MINE: "Les miennes",
    Box.OTHERS: "Chez des collègues",
    Box.WAITING: "En attente de la famille",
    Box.CLOSED: "Closes",
}


class Kind(enum.StrEnum):
    """What a line of the queue is: a family's request, or a step of a workflow."""

    REQUEST = "demandes"
    TASK = "taches"


def _in_box(box: Box, staff: Account) -> sa.ColumnElement[bool]:
    working = HelpRequest.status.in_((RequestStatus.NEW, RequestStatus.OPEN))
    if box is Box.NEW:
        return working & HelpRequest.assignee_id.is_(None)
    if box is Box.MINE:
        return (HelpRequest.assignee_id == staff.id) & (HelpRequest.status != RequestStatus.CLOSED)
    if box is Box.OTHERS:
        return working & (HelpRequest.assignee_id != staff.id)
    if box is Box.WAITING:
        return HelpRequest.status == RequestStatus.WAITING
    return HelpRequest.status == RequestStatus.CLOSED


def _task_in_box(box: Box, staff: Account, task: WorkflowInstance) -> bool:
    if box is Box.NEW:
        return task.claimed_by_id is None
    if box is Box.MINE:
        return task.claimed_by_id == staff.id
    if box is Box.OTHERS:
        return task.claimed_by_id not in (None, staff.id)
    return False  # a task waits for staff, never for the family; a finished one leaves


@dataclass(frozen=True)
class QueueItem:
    """One line of the queue: a request or a task, with what the list shows of it."""

    kind: Kind
    key: str  # the request's reference, or the task's public id
    title: str
    who: str
    status: str
    since: datetime
    assignee: str | None
    response: ResponseTime | None = None  # requests only: age against the target
    category: str | None = None

    def as_dict(self) -> dict[str, object]:
        """Return the line as JSON-ready values."""
        return {
            "type": "demande" if self.kind is Kind.REQUEST else "tache",
            "reference": self.key,
            "titre": self.title,
            "famille": self.who,
            "statut": self.status,
            "depuis": self.since.isoformat(),
            "traitee_par": self.assignee,
            "categorie": self.category,
            "attente_ouvree": self.response.age if self.response else None,
            "en_retard": self.response.late if self.response else None,
        }


STATUS_LABELS = {
    RequestStatus.NEW: "Nouvelle",
    RequestStatus.OPEN: "En cours",
    RequestStatus.WAITING: "En attente de la famille",
    RequestStatus.CLOSED: "Close",
}


@dataclass(frozen=True)
class QueuePage:
    """One list of the queue, with the count of every list."""

    box: Box
    items: list[QueueItem]
    counts: dict[Box, int]


@dataclass(frozen=True)
class Filters:
    """What narrows a list: words, a kind of line, a category of request."""

    search: str = ""
    kind: Kind | None = None
    category: str | None = None


def _request_query(school_ids: list[int], filters: Filters) -> sa.Select[tuple[HelpRequest]]:
    query = sa.select(HelpRequest).where(HelpRequest.school_id.in_(school_ids))
    if filters.category:
        query = query.where(HelpRequest.category == filters.category)
    for word in filters.search.lower().split()[:5]:
        pattern = f"%{word}%"
        query = query.where(
            sa.or_(
                sa.func.lower(HelpRequest.reference).like(pattern),
                sa.func.lower(HelpRequest.subject).like(pattern),
                sa.func.lower(HelpRequest.requester_email).like(pattern),
                sa.func.lower(HelpRequest.requester_name).like(pattern),
            )
        )
    return query


def queue(
    school_ids: Iterable[int], staff: Account, box: Box, filters: Filters | None = None
) -> QueuePage:
    """Return a list of requests and tasks, oldest waiting first, and every list's count."""
    filters = filters or Filters()
    schools = list(school_ids)
    settings = desk_settings()
    want_requests = filters.kind in (None, Kind.REQUEST)
    want_tasks = filters.kind in (None, Kind.TASK) and not filters.category
    base = _request_query(schools, filters)
    counts = dict.fromkeys(Box, 0)
    if want_requests:
        for b in Box:
            counts[b] = (
                db.session.scalar(
                    sa.select(sa.func.count()).select_from(base.where(_in_box(b, staff)).subquery())
                )
                or 0
            )
    items: list[QueueItem] = []
    if want_requests:
        query = base.where(_in_box(box, staff)).order_by(HelpRequest.last_message_at.desc())
        items = [_request_item(r, settings) for r in db.session.scalars(query.limit(200))]
    if want_tasks:
        task_list = [t for t in tasks_for(staff) if t.school_id in schools]
        described = [(t, describe_task(t)) for t in task_list]
        words = filters.search.lower().split()[:5]
        described = [
            (t, d) for t, d in described
            if all(w in f"{d.workflow} {d.step}".lower() for w in words)
        ]  # fmt: skip
        for b in Box:
            counts[b] += sum(1 for t, _ in described if _task_in_box(b, staff, t))
        items += [_task_item(t, d) for t, d in described if _task_in_box(box, staff, t)]
    return QueuePage(box, items, counts)


def overview(school_ids: Iterable[int], *, closed: bool = False) -> list[QueueItem]:
    """Return every open request and staff task of the schools, oldest first (for a report)."""
    schools = list(school_ids)
    settings = desk_settings()
    query = _request_query(schools, Filters())
    if not closed:
        query = query.where(HelpRequest.status != RequestStatus.CLOSED)
    items = [
        _request_item(r, settings)
        for r in db.session.scalars(query.order_by(HelpRequest.created_at, HelpRequest.id))
    ]
    waiting = sa.select(WorkflowInstance).where(
        WorkflowInstance.status == InstanceStatus.ACTIVE,
        WorkflowInstance.assignee_role.is_not(None),
        WorkflowInstance.school_id.in_(schools),
    )
    tasks = db.session.scalars(waiting.order_by(WorkflowInstance.updated_at))
    return items + [_task_item(t, describe_task(t)) for t in tasks]


def _request_item(request: HelpRequest, settings: DeskSettings) -> QueueItem:
    return QueueItem(
        kind=Kind.REQUEST,
        key=request.reference,
        title=request.subject,
        who=request.requester_name or request.requester_email,
        status=STATUS_LABELS[request.status],
        since=request.last_message_at,
        assignee=request.assignee.name if request.assignee else None,
        response=response_time(request, settings)
        if request.status is not RequestStatus.CLOSED
        else None,
        category=settings.categories.get(request.category or "", request.category),
    )


def _task_item(task: WorkflowInstance, summary: TaskSummary) -> QueueItem:
    return QueueItem(
        kind=Kind.TASK,
        key=task.public_id,
        title=f"{summary.workflow} — {summary.step}",
        who="",
        status="Tâche à faire",
        since=task.updated_at,
        assignee=task.claimed_by.name if task.claimed_by else None,
    )


def request_in_scope(school_ids: Iterable[int], reference: str) -> HelpRequest | None:
    """Return the request with that reference if it belongs to one of these schools."""
    return db.session.scalars(
        sa.select(HelpRequest).where(
            HelpRequest.reference == reference.upper(),
            HelpRequest.school_id.in_(list(school_ids)),
        )
    ).first()


def attachment_of(request: HelpRequest, attachment_id: int) -> HelpAttachment | None:
    """Return an attachment of one of the request's messages."""
    return db.session.scalars(
        sa.select(HelpAttachment)
        .join(HelpMessage, HelpMessage.id == HelpAttachment.message_id)
        .where(HelpAttachment.id == attachment_id, HelpMessage.request_id == request.id)
    ).first()


def family_invoices(request: HelpRequest) -> list[Invoice]:
    """Return the invoices of the linked parent's children, to have them at hand."""
    if request.account is None:
        return []
    return [i for i in invoices_of(request.account) if i.school_id == request.school_id]


def family_children(request: HelpRequest) -> list[Pupil]:
    """Return the pupils of the linked parent in the request's school."""
    if request.account_id is None:
        return []
    query = (
        sa.select(Pupil)
        .where(
            Pupil.id.in_(family_pupil_ids(request.account)), Pupil.school_id == request.school_id
        )
        .order_by(Pupil.last_name, Pupil.first_name)
    )
    return list(db.session.scalars(query))
