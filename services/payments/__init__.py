"""Paying invoices at the bank: the gateway interface and its adapters (PayFiP, the sandbox)."""

from services.payments.gateway import (
    EXPIRE_AFTER,
    Gateway,
    GatewayError,
    InvalidPaymentRequestError,
    Operation,
    PaymentRequest,
    PaymentResult,
    PaymentStatus,
    expire_if_stale,
    mask_email,
    to_objet,
)

__all__ = [
    "EXPIRE_AFTER",
    "Gateway",
    "GatewayError",
    "InvalidPaymentRequestError",
    "Operation",
    "PaymentRequest",
    "PaymentResult",
    "PaymentStatus",
    "expire_if_stale",
    "mask_email",
    "to_objet",
]
