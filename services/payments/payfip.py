"""PayFiP's web service (PAYMENT_BACKEND=payfip): SOAP 1.1 over HTTPS, server to server.

What this relies on, from public integrations of the DGFiP's web service (the guide itself,
"Guide de mise en œuvre PayFiP Régie Web service", is relayed by them and by
/work/shared/PAYFIP.md):

- Endpoints. eopayment (Entr'ouvert), `eopayment/payfip_ws.py`: the service at
  `https://www.tipi.budget.gouv.fr/tpa/services/securite` in older releases,
  `https://www.payfip.gouv.fr/tpa/services/securite?wsdl` in recent ones, and the bank page
  `…/tpa/paiementws.web?idop=<idOp>` (its tests). The Odoo module ylamoincl/payment_payfip,
  `payment_payfip/models/inherited_payment_acquirer.py`, posts to the same
  `/tpa/services/securite` on `www.tipi.budget.gouv.fr`, later on `www.payfip.gouv.fr`. Both
  hosts are the one service; its current name is the default here.
- Messages. The same Odoo module (and a TypeScript integration's tests asserting `<arg0>`
  and no `…Request` element): the operation element `creerPaiementSecurise` /
  `recupererDetailPaiementSecurise` in the namespace `SERVICE_NS` below, one unqualified
  `arg0` child holding unqualified fields (`exer, mel, montant, numcli, objet, refdet,
  saisie, urlnotif, urlredirect`, or `idOp`). Answers: `…Response/return/idOp`, and for the
  detail `return/{dattrans, exer, heurtrans, idOp, mel, montant, numauto, numcli, objet,
  refdet, resultrans, saisie}`. Children may carry a `…/reponse` namespace and integrations
  disagree on `idOp`/`idop`, so answers are read by local name, case-insensitively.
  `numauto` is absent on refused payments (the TypeScript tests, from the guide's annex).
- Faults. A SOAP 1.1 Fault (HTTP 500) whose `faultstring` is the Java exception
  (`fr.gouv.finances.cp.tpa.webservice.exceptions.FonctionnelleErreur`, eopayment) and
  whose `detail` holds `FonctionnelleErreur`, `TechDysfonctionnementErreur`,
  `TechIndisponibiliteErreur` or `TechProtocolaireErreur`, each with `code`, `libelle`,
  `descriptif`, `severite` (the Odoo module's `_get_errors_from_webservice`). Codes seen in
  public code: P1 idOp incorrect (unknown or purged), P5 result not known yet, R3 refdet
  format, A2 email, M3/M5 amount limits, T1/T2 client number, S1 saisie.
- `dattrans`/`heurtrans` are Paris time: the Odoo module ships a migration
  (`pre-french-tz-to-utc-payfip-transaction-date-.py`) fixing dates it had stored as UTC.
- `saisie` is echoed in the detail; a `T` answer is a test payment (eopayment's
  `test=response.saisie == 'T'`): one answering in another mode than ours is refused.

Safety: the envelope is built with ElementTree (values are escaped, never formatted into
XML); answers are read only after refusing any DTD (expat would expand its entities), are
capped in size, and the payer's email is masked in every log line and error message.
"""

from __future__ import annotations

import http.client
import logging
import re
import ssl
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from services.payments.gateway import (
    GatewayError,
    InvalidPaymentRequestError,
    Operation,
    PaymentRequest,
    PaymentResult,
    PaymentStatus,
    mask_email,
    paris_time,
)

log = logging.getLogger(__name__)

DEFAULT_SOAP_URL = "https://www.payfip.gouv.fr/tpa/services/securite"
DEFAULT_PAYMENT_URL = "https://www.payfip.gouv.fr/tpa/paiementws.web"
DEFAULT_TIMEOUT_SECONDS = 10.0

SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SERVICE_NS = (
    "http://securite.service.tpa.cp.finances.gouv.fr/services/mas_securite/"
    "contrat_paiement_securise/PaiementSecuriseService"
)

MODES = {"T": "test", "X": "activation", "W": "production"}
MIN_AMOUNT_CENTS = 100  # 1 €
MAX_AMOUNT_CENTS = 10_000_000  # 100,000 €

RESULTS = {
    "P": PaymentStatus.PAID,  # card accepted
    "V": PaymentStatus.PAID,  # direct debit accepted
    "R": PaymentStatus.REFUSED,  # card refused
    "Z": PaymentStatus.REFUSED,  # direct debit refused
    "A": PaymentStatus.CANCELLED,  # abandoned by the payer
}
IN_PROGRESS = "P5"  # "résultat de la transaction non connu": the parent may still be paying
UNKNOWN_OPERATION = "P1"  # "idOp incorrect": never received, or purged at night

# Technical unavailability and malfunction are PayFiP's side: ask again later. A protocol
# error means our message is wrong, and a functional one that our data is: both stay wrong.
_FAULT_KINDS = {
    "FonctionnelleErreur": False,
    "TechIndisponibiliteErreur": True,
    "TechDysfonctionnementErreur": True,
    "TechProtocolaireErreur": False,
}
_RETRYABLE_HTTP = {408, 429, 502, 503, 504}
_CLIENT_NUMBER = re.compile(r"[0-9]{6}")
_ID_OP = re.compile(r"[A-Za-z0-9-]{1,64}")
_MAX_ANSWER_BYTES = 256 * 1024
_MAX_TEXT_CHARS = 300


class PayfipGateway:
    """The real PayFiP web service, behind the `Gateway` protocol."""

    def __init__(
        self,
        soap_url: str = DEFAULT_SOAP_URL,
        payment_url: str = DEFAULT_PAYMENT_URL,
        client_number: str = "",
        mode: str = "T",
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if not _CLIENT_NUMBER.fullmatch(client_number):
            raise ValueError("the PayFiP client number (numcli) must be 6 digits")
        if mode not in MODES:
            raise ValueError(f"PayFiP mode {mode!r} must be T (test), X (activation) or W")
        for name, url in (("soap_url", soap_url), ("payment_url", payment_url)):
            if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
                raise ValueError(f"PayFiP {name} is not an http(s) URL: {url!r}")
        self.soap_url = soap_url
        self.payment_url = payment_url
        self.client_number = client_number
        self.mode = mode
        self.timeout = timeout
        self._clock = clock or (lambda: datetime.now(UTC))

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> PayfipGateway:
        """Build the adapter from settings named PAYFIP_* (Flask's config is such a mapping)."""
        return cls(
            soap_url=settings.get("PAYFIP_SOAP_URL") or DEFAULT_SOAP_URL,
            payment_url=settings.get("PAYFIP_PAYMENT_URL") or DEFAULT_PAYMENT_URL,
            client_number=str(settings.get("PAYFIP_CLIENT_NUMBER") or ""),
            mode=settings.get("PAYFIP_MODE") or "T",
            timeout=float(settings.get("PAYFIP_TIMEOUT_SECONDS") or DEFAULT_TIMEOUT_SECONDS),
        )

    def create_operation(self, request: PaymentRequest) -> Operation:
        """Open an operation with creerPaiementSecurise; return the bank page to redirect to."""
        if not MIN_AMOUNT_CENTS <= request.amount_cents <= MAX_AMOUNT_CENTS:
            raise InvalidPaymentRequestError(
                f"PayFiP takes 1 € to 100,000 €, not {request.amount_cents} cents"
            )
        fields = {
            "exer": str(request.year),
            "mel": request.payer_email,
            "montant": str(request.amount_cents),
            "numcli": self.client_number,
            "objet": request.objet,
            "refdet": request.refdet,
            "saisie": self.mode,
            "urlnotif": request.notification_url,
            "urlredirect": request.return_url,
        }
        if not request.objet:
            del fields["objet"]  # optional: left out when empty, as eopayment does
        created_at = self._clock()
        try:
            answer = self._call("creerPaiementSecurise", fields)
        except GatewayError as error:
            # PayFiP's descriptions may quote the values sent back: never the address.
            _mask_email_in(error, request.payer_email)
            raise
        id_op = _text(answer, "idOp")
        if not id_op or not _ID_OP.fullmatch(id_op):
            raise GatewayError("PayFiP answered creerPaiementSecurise without a usable idOp")
        log.info(
            "PayFiP operation %s opened: refdet %s, %s cents, payer %s, mode %s",
            id_op,
            request.refdet,
            request.amount_cents,
            mask_email(request.payer_email),
            self.mode,
        )
        return Operation(
            id_op=id_op,
            redirect_url=f"{self.payment_url}?{urlencode({'idop': id_op})}",
            created_at=created_at,
        )

    def fetch_result(self, id_op: str) -> PaymentResult:
        """Ask recupererDetailPaiementSecurise how an operation ended (P5 → PENDING)."""
        if not _ID_OP.fullmatch(id_op):
            raise InvalidPaymentRequestError(f"{id_op[:80]!r} is not a PayFiP idOp")
        try:
            answer = self._call("recupererDetailPaiementSecurise", {"idOp": id_op})
        except GatewayError as error:
            if error.code == IN_PROGRESS:
                return PaymentResult(
                    id_op=id_op, status=PaymentStatus.PENDING, result_code=IN_PROGRESS
                )
            if error.code == UNKNOWN_OPERATION:
                return PaymentResult(
                    id_op=id_op, status=PaymentStatus.UNKNOWN, result_code=UNKNOWN_OPERATION
                )
            raise
        result = self._result(id_op, _children(answer))
        log.info(
            "PayFiP operation %s: %s (%s), refdet %s, %s cents, payer %s",
            id_op,
            result.status.value,
            result.result_code,
            result.refdet,
            result.amount_cents,
            mask_email(result.payer_email),
        )
        return result

    def _result(self, id_op: str, detail: dict[str, str]) -> PaymentResult:
        # The answer must be about our operation, our client and our mode; anything else is
        # a misrouted or test answer and must not mark an invoice paid.
        if detail.get("idop", "").lower() != id_op.lower():
            raise GatewayError(f"PayFiP answered about another operation than {id_op}")
        if detail.get("numcli") != self.client_number:
            raise GatewayError(f"PayFiP answered for another client number about {id_op}")
        if detail.get("saisie") != self.mode:
            raise GatewayError(
                f"PayFiP answered in mode {detail.get('saisie')!r} about {id_op}, "
                f"expected {self.mode!r}: a test payment is not a payment"
            )
        code = detail.get("resultrans", "")
        status = RESULTS.get(code)
        if status is None:
            raise GatewayError(f"PayFiP answered an unknown resultrans {code!r} about {id_op}")
        montant = detail.get("montant", "")
        if not montant.isdigit():
            raise GatewayError(f"PayFiP answered a malformed montant about {id_op}")
        paid_at = None
        if status is PaymentStatus.PAID:
            try:
                paid_at = paris_time(detail.get("dattrans", ""), detail.get("heurtrans", ""))
            except ValueError:
                # Still paid: the caller records its own clock rather than lose the payment.
                log.warning("PayFiP operation %s: paid without a readable date and time", id_op)
        return PaymentResult(
            id_op=id_op,
            status=status,
            result_code=code,
            refdet=detail.get("refdet"),
            amount_cents=int(montant),
            authorisation=detail.get("numauto") or None,
            paid_at=paid_at,
            payer_email=detail.get("mel"),
        )

    def _call(self, operation: str, fields: Mapping[str, str]) -> ET.Element:
        """Post one SOAP request; return the operation's answer element or raise GatewayError."""
        status, answer = _post(self.soap_url, envelope(operation, fields), self.timeout)
        if status in _RETRYABLE_HTTP:
            raise GatewayError(f"PayFiP answered HTTP {status} (temporary)", retryable=True)
        try:
            root = parse_answer(answer)
        except GatewayError as error:
            if status == 200:
                raise
            # An error page from a proxy or a restarting server: retry when it is theirs.
            raise GatewayError(
                f"PayFiP answered HTTP {status} without a SOAP message ({error})",
                retryable=status >= 500,
            ) from None
        body = _child(root, SOAP_ENV_NS, "Body") if _is(root, SOAP_ENV_NS, "Envelope") else None
        if body is None or len(body) == 0:
            raise GatewayError(
                f"PayFiP answered HTTP {status} without a SOAP body", retryable=status >= 500
            )
        first = body[0]
        if _is(first, SOAP_ENV_NS, "Fault"):
            raise fault_error(first)
        if status != 200:
            raise GatewayError(f"PayFiP answered HTTP {status}", retryable=status >= 500)
        if _local(first.tag) != f"{operation}Response":
            raise GatewayError(f"PayFiP answered {_local(first.tag)!r} to {operation}")
        answer_element = next((c for c in first if _local(c.tag) == "return"), None)
        if answer_element is None:
            raise GatewayError(f"PayFiP answered {operation} without a return element")
        return answer_element


def envelope(operation: str, fields: Mapping[str, str]) -> bytes:
    """Build the SOAP 1.1 request: <operation><arg0><field>…</field></arg0></operation>."""
    root = ET.Element(f"{{{SOAP_ENV_NS}}}Envelope")
    ET.SubElement(root, f"{{{SOAP_ENV_NS}}}Header")
    body = ET.SubElement(root, f"{{{SOAP_ENV_NS}}}Body")
    arg0 = ET.SubElement(ET.SubElement(body, f"{{{SERVICE_NS}}}{operation}"), "arg0")
    for name, value in fields.items():
        ET.SubElement(arg0, name).text = value
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def parse_answer(data: bytes) -> ET.Element:
    """Parse an answer as UTF-8 XML without any DTD; raise GatewayError otherwise."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise GatewayError("PayFiP answered something that is not UTF-8 XML") from None
    # Python 3.11's expat expands internal entities: a DTD is refused before parsing, on the
    # very text expat reads (the parser's encoding is forced to UTF-8 below, and NUL, which
    # UTF-16 would need, is refused) so that no other encoding can hide one.
    lowered = text.lower()
    if "\x00" in text or "<!doctype" in lowered or "<!entity" in lowered:
        raise GatewayError("PayFiP's answer carries a DTD or entity declaration: refused")
    try:
        return ET.fromstring(data, parser=ET.XMLParser(encoding="utf-8"))  # noqa: S314 - no DTD, checked above
    except ET.ParseError as error:
        raise GatewayError(f"PayFiP answered malformed XML: {error}") from None


def fault_error(fault: ET.Element) -> GatewayError:
    """Turn a SOAP Fault into a GatewayError with PayFiP's code, label and severity."""
    faultcode = (_text(fault, "faultcode") or "").strip()
    faultstring = _short(_text(fault, "faultstring") or "")
    detail = next((c for c in fault if _local(c.tag) == "detail"), None)
    kind = None
    if detail is not None:
        kind = next((c for c in detail.iter() if _local(c.tag) in _FAULT_KINDS), None)
    if kind is None:
        # A bare SOAP fault: the Server's fault may pass, the Client's (ours) will not.
        return GatewayError(
            f"PayFiP SOAP fault {faultcode or '?'}: {faultstring or 'no explanation'}",
            retryable=faultcode.rpartition(":")[2] == "Server",
        )
    name = _local(kind.tag)
    values = _children(kind)
    code = values.get("code") or None
    label = _short(values.get("libelle", ""))
    description = _short(values.get("descriptif") or values.get("description") or "")
    severity = values.get("severite") or None
    explanation = " — ".join(part for part in (label, description) if part) or faultstring
    return GatewayError(
        f"PayFiP {name} {code or '?'}: {explanation or 'no explanation'}",
        retryable=_FAULT_KINDS[name],
        code=code,
        label=label or None,
        severity=severity,
    )


def _post(url: str, body: bytes, timeout: float) -> tuple[int, bytes]:
    # http.client rather than urllib: a redirect must not replay the request elsewhere. The
    # timeout bounds the connection and each read.
    parts = urlsplit(url)
    if parts.scheme == "https":
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {
        "Content-Type": "text/xml; charset=utf-8",
        "Accept": "text/xml",
        "SOAPAction": '""',
    }
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read(_MAX_ANSWER_BYTES)
    except (OSError, http.client.HTTPException) as error:
        # Refused, reset, DNS, TLS, timeout: the operation may or may not exist. Creating
        # again is safe (a new refdet per attempt); fetching again is harmless.
        raise GatewayError(
            f"no answer from PayFiP at {parts.netloc}: {type(error).__name__}: {error}",
            retryable=True,
        ) from error
    finally:
        connection.close()


def _mask_email_in(error: GatewayError, email: str) -> None:
    """Mask the payer's address wherever the error's message quotes it."""
    message = str(error)
    if email and email in message:
        error.args = (message.replace(email, mask_email(email)),)
    if error.label and email in error.label:
        error.label = error.label.replace(email, mask_email(email))


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _is(element: ET.Element, namespace: str, name: str) -> bool:
    return element.tag == f"{{{namespace}}}{name}"


def _child(element: ET.Element, namespace: str, name: str) -> ET.Element | None:
    return element.find(f"{{{namespace}}}{name}")


def _children(element: ET.Element) -> dict[str, str]:
    """Map the direct children's local names (lower case) to their stripped text."""
    return {_local(child.tag).lower(): (child.text or "").strip() for child in element}


def _text(element: ET.Element, name: str) -> str | None:
    """Return the text of the first descendant with this local name (any namespace, any case)."""
    wanted = name.lower()
    for child in element.iter():
        if child is not element and _local(child.tag).lower() == wanted:
            return (child.text or "").strip()
    return None


def _short(text: str) -> str:
    return " ".join(text.split())[:_MAX_TEXT_CHARS]
