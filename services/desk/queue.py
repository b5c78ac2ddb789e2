"""The accountants' queue of help requests: which ones a staff member sees, by list."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from extensions import db
from models import (
    Account,
    HelpAttachment,
    HelpMessage,
    HelpRequest,
    Invoice,
    Pupil,
    RequestStatus,
)
from services.billing import family_invoices as invoices_of
from services.billing import family_pupil_ids


class Box(enum.StrEnum):
    """The lists of the queue."""

    NEW = "nouvelles"
    MINE = "miennes"
    WAITING = "en-attente"
    CLOSED = "closes"

    @property
    def label(self) -> str:
        """Return the list's name in French."""
        return _BOX_LABELS[self]


_BOX_LABELS = {
    Box.NEW: "Nouvelles",
    Box.MINE: "Les miennes",
    Box.WAITING: "En attente de la famille",
    Box.CLOSED: "Closes",
}


def _in_box(box: Box, staff: Account) -> sa.ColumnElement[bool]:
    if box is Box.NEW:
        return HelpRequest.status.in_((RequestStatus.NEW, RequestStatus.OPEN)) & (
            HelpRequest.assignee_id.is_(None)
        )
    if box is Box.MINE:
        return (HelpRequest.assignee_id == staff.id) & (HelpRequest.status != RequestStatus.CLOSED)
    if box is Box.WAITING:
        return HelpRequest.status == RequestStatus.WAITING
    return HelpRequest.status == RequestStatus.CLOSED


@dataclass(frozen=True)
class QueuePage:
    """One list of the queue, with the count of every list."""

    box: Box
    requests: list[HelpRequest]
    counts: dict[Box, int]


def queue(school_ids: Iterable[int], staff: Account, box: Box, search: str = "") -> QueuePage:
    """Return a list of the schools' requests, newest message first, and every list's count."""
    schools = HelpRequest.school_id.in_(list(school_ids))
    count = sa.select(sa.func.count(HelpRequest.id)).where(schools)
    counts = {b: db.session.scalar(count.where(_in_box(b, staff))) or 0 for b in Box}
    query = sa.select(HelpRequest).where(schools, _in_box(box, staff))
    words = search.lower().split()
    for word in words[:5]:
        pattern = f"%{word}%"
        query = query.where(
            sa.or_(
                sa.func.lower(HelpRequest.reference).like(pattern),
                sa.func.lower(HelpRequest.subject).like(pattern),
                sa.func.lower(HelpRequest.requester_email).like(pattern),
                sa.func.lower(HelpRequest.requester_name).like(pattern),
            )
        )
    query = query.order_by(HelpRequest.last_message_at.desc()).limit(200)
    return QueuePage(box, list(db.session.scalars(query)), counts)


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
