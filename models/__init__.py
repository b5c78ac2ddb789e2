"""The database models, imported here so Alembic and the app see all of them."""

from models.accounts import STAFF_ROLES, Account, Membership, Role
from models.audit import AuditEvent
from models.outbox import Channel, DeliveryStatus, OutboxAttachment, OutboxMessage
from models.people import Guardian, GuardianLink, Pupil
from models.school import School

__all__ = [
    "STAFF_ROLES",
    "Account",
    "AuditEvent",
    "Channel",
    "DeliveryStatus",
    "Guardian",
    "GuardianLink",
    "Membership",
    "OutboxAttachment",
    "OutboxMessage",
    "Pupil",
    "Role",
    "School",
]
