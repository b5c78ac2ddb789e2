"""The database models, imported here so Alembic and the app see all of them."""

from models.accounts import STAFF_ROLES, Account, Membership, Role
from models.audit import AuditEvent
from models.billing import (
    Invoice,
    Payment,
    PaymentMethod,
    PaymentStatus,
    SandboxOperation,
    TicketCounter,
)
from models.outbox import Channel, DeliveryStatus, OutboxAttachment, OutboxMessage
from models.people import Guardian, GuardianLink, Pupil
from models.school import School
from models.workflow import (
    InstanceStatus,
    UploadedFile,
    WorkflowEvent,
    WorkflowInstance,
    WorkflowTimer,
    WorkflowVersion,
)

__all__ = [
    "STAFF_ROLES",
    "Account",
    "AuditEvent",
    "Channel",
    "DeliveryStatus",
    "Guardian",
    "GuardianLink",
    "InstanceStatus",
    "Invoice",
    "Membership",
    "OutboxAttachment",
    "OutboxMessage",
    "Payment",
    "PaymentMethod",
    "PaymentStatus",
    "Pupil",
    "Role",
    "SandboxOperation",
    "School",
    "TicketCounter",
    "UploadedFile",
    "WorkflowEvent",
    "WorkflowInstance",
    "WorkflowTimer",
    "WorkflowVersion",
]
