"""SMS through a real provider: Brevo's transactional SMS HTTP API (SMS_BACKEND=brevo).

What this relies on, from Brevo's public documentation:

- developers.brevo.com/docs/transactional-sms-endpoints: `POST
  https://api.brevo.com/v3/transactionalSMS/send`, the key in an `api-key` header, a JSON body
  with `sender`, `recipient`, `content`, `type` ("transactional"), `unicodeEnabled`; a 201
  answer on success, 400 for a bad request.
- developers.brevo.com/changelog/deprecated-endpoint-post-v3transactionalsmssms: the older
  `/v3/transactionalSMS/sms` is deprecated in favour of `/send` (same body), whose 201
  answer is `{"messageId": <integer>}`.
- the `sendTransacSms` model of the API reference (also in Brevo's SDKs): the sender is at
  most 11 letters and digits, or at most 15 digits; the recipient carries the country code,
  6 to 15 digits, optionally after a '+' (the examples omit it: "33689965433"); errors answer
  `{"code": "...", "message": "..."}` (`invalid_parameter`, `unauthorized`,
  `not_enough_credits`…).

The SMS text carries security codes: it is never logged nor put in an error message.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import ssl
from urllib.parse import urlsplit

from flask import current_app

from models import OutboxMessage

log = logging.getLogger(__name__)

_SENDER = re.compile(r"[A-Za-z0-9]{1,11}|[0-9]{1,15}")
_E164 = re.compile(r"\+([0-9]{6,15})")
# GSM 03.38: the basic alphabet (minus the escape) and its extension. Anything else makes
# the SMS Unicode (70 characters a segment instead of 160), which Brevo must be told.
_GSM_7BIT = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    "\f^{}\\[~]|€"
)
_MAX_ANSWER_BYTES = 64 * 1024
_MAX_ERROR_CHARS = 300


class SmsDeliveryError(RuntimeError):
    """An SMS the provider did not take; `retryable` tells whether trying again may help."""

    retryable = False


class SmsRejectedError(SmsDeliveryError):
    """Permanent: the provider refused the message (4xx), or it cannot be sent as configured."""


class SmsProviderUnavailableError(SmsDeliveryError):
    """Temporary: the provider failed (5xx, 429), timed out or could not be reached."""

    retryable = True


def needs_unicode(text: str) -> bool:
    """Tell whether a text has characters outside the GSM 7-bit alphabet (’, œ, ç, emoji…)."""
    return not set(text) <= _GSM_7BIT


def brevo_payload(message: OutboxMessage, sender: str) -> dict[str, object]:
    """Build Brevo's JSON body for an outbox SMS (recipient as digits with country code)."""
    if not _SENDER.fullmatch(sender):
        raise SmsRejectedError(
            f"SMS_SENDER {sender!r} is not up to 11 letters and digits (or up to 15 digits)"
        )
    recipient = _E164.fullmatch(message.to.strip())
    if recipient is None:
        raise SmsRejectedError(f"outbox message {message.id}: the recipient is not an E.164 number")
    return {
        "sender": sender,
        "recipient": recipient.group(1),
        "content": message.body,
        "type": "transactional",
        "unicodeEnabled": needs_unicode(message.body),
    }


def deliver_brevo(message: OutboxMessage) -> None:
    """Send an outbox SMS through Brevo; raise SmsRejectedError or SmsProviderUnavailableError."""
    config = current_app.config
    api_key = config.get("SMS_API_KEY")
    if not api_key:
        raise SmsRejectedError("SMS_API_KEY is not set: Brevo needs an API key")
    body = json.dumps(brevo_payload(message, config["SMS_SENDER"])).encode()
    headers = {
        "api-key": api_key,
        "accept": "application/json",
        "content-type": "application/json",
    }
    status, answer = _post(config["SMS_API_URL"], headers, body, config["SMS_TIMEOUT_SECONDS"])
    if 200 <= status < 300:
        log.info("SMS %s sent through Brevo, messageId %s", message.id, _message_id(answer))
        return
    explanation = _explain(answer, message.body)
    if status >= 500 or status in (408, 429):
        raise SmsProviderUnavailableError(f"Brevo answered {status} (temporary): {explanation}")
    raise SmsRejectedError(f"Brevo refused the SMS ({status}): {explanation}")


def _post(url: str, headers: dict[str, str], body: bytes, timeout: float) -> tuple[int, bytes]:
    # http.client rather than urllib: a redirect must not replay the request, nor the key,
    # elsewhere. The timeout bounds the connection and each read.
    parts = urlsplit(url)
    if parts.scheme == "https":
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    elif parts.scheme == "http":
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    else:
        raise SmsRejectedError(f"SMS_API_URL is not an http(s) URL: {url!r}")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read(_MAX_ANSWER_BYTES)
    except (OSError, http.client.HTTPException) as error:
        # Refused, reset, DNS, TLS, timeout: maybe sent, maybe not; retried like a 5xx.
        raise SmsProviderUnavailableError(
            f"no answer from Brevo at {parts.netloc}: {type(error).__name__}: {error}"
        ) from error
    finally:
        connection.close()


def _message_id(answer: bytes) -> object:
    try:
        data = json.loads(answer)
    except ValueError:
        return None
    return data.get("messageId") if isinstance(data, dict) else None


def _explain(answer: bytes, sms_text: str) -> str:
    """Return the provider's code and message, short, without the SMS text."""
    try:
        data = json.loads(answer)
    except ValueError:
        data = None
    if isinstance(data, dict) and (data.get("code") or data.get("message")):
        text = ": ".join(str(data[key]) for key in ("code", "message") if data.get(key))
    else:
        text = answer.decode("utf-8", "replace")
    if sms_text:
        text = text.replace(sms_text, "[SMS text]")
    text = " ".join(text.split())[:_MAX_ERROR_CHARS]
    return text or "no explanation given"
