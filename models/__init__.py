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
from models.desk import (
    HelpAttachment,
    HelpMessage,
    HelpRequest,
    MessageKind,
    RequestCounter,
    RequestStatus,
)
from models.outbox import Channel, DeliveryStatus, OutboxAttachment, OutboxMessage
from models.people import Guardian, GuardianLink, Pupil
from models.school import School
from models.workflow import (
    InstanceStatus,
    UploadedFile,
    WorkflowDraft,
    WorkflowEvent,
    WorkflowInstance,
    WorkflowMove,
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
    "HelpAttachment",
    "HelpMessage",
    "HelpRequest",
    "InstanceStatus",
    "Invoice",
    "Membership",
    "MessageKind",
    "OutboxAttachment",
    "OutboxMessage",
    "Payment",
    "PaymentMethod",
    "PaymentStatus",
    "Pupil",
    "RequestCounter",
    "RequestStatus",
    "Role",
    "SandboxOperation",
    "School",
    "TicketCounter",
    "UploadedFile",
    "WorkflowDraft",
    "WorkflowEvent",
    "WorkflowInstance",
    "WorkflowMove",
    "WorkflowTimer",
    "WorkflowVersion",
]
