"""A local PayFiP for tests: its SOAP web service, a minimal bank page, and levers for tests.

It plays the messages public integrations document (see services/payments/payfip.py):
`creerPaiementSecurise` checks its fields and answers an idOp or a FonctionnelleErreur;
`recupererDetailPaiementSecurise` answers P1 for an unknown idOp, P5 until the test (or the
bank page) settles the operation, then the full detail. A test can also make the next
calls fail (HTTP 503, no answer at all, any raw answer) and read every request received.

    with FakePayfip() as payfip:
        gateway = PayfipGateway(payfip.soap_url, payfip.payment_url, payfip.client_number)
        operation = gateway.create_operation(request)
        payfip.settle(operation.id_op, "P", numauto="A55A")

Error codes come from public integrations where they name one (T1, T2, S1, M1, M3, M5, A1,
A2, R3, P1, P5); the few they do not name are marked as the fake's own.
"""

from __future__ import annotations

import html
import http.client
import itertools
import re
import threading
import uuid
import xml.etree.ElementTree as ET
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

SOAP_PATH = "/tpa/services/securite"
PAYMENT_PATH = "/tpa/paiementws.web"
CLIENT_NUMBER = "123456"

SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SERVICE_NS = (
    "http://securite.service.tpa.cp.finances.gouv.fr/services/mas_securite/"
    "contrat_paiement_securise/PaiementSecuriseService"
)
REPONSE_NS = "http://securite.service.tpa.cp.finances.gouv.fr/reponse"
EXCEPTIONS = "fr.gouv.finances.cp.tpa.webservice.exceptions."
PARIS = ZoneInfo("Europe/Paris")
RESULT_CODES = {"P", "V", "R", "Z", "A"}
_HANG_SECONDS = 10


@dataclass
class FakeOperation:
    """An operation the fake opened, as creerPaiementSecurise received it."""

    id_op: str
    fields: dict[str, str]
    resultrans: str | None = None
    numauto: str | None = None
    settled_at: datetime | None = None
    purged: bool = False


@dataclass
class ReceivedRequest:
    """One HTTP request the fake received (SOAP calls carry their operation and fields)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    operation: str | None = None
    fields: dict[str, str] = field(default_factory=dict)


class PayfipFaultError(Exception):
    """A SOAP fault the fake answers: PayFiP's exception name, code and label."""

    def __init__(self, kind: str, code: str, libelle: str) -> None:
        super().__init__(f"{kind} {code}: {libelle}")
        self.kind, self.code, self.libelle = kind, code, libelle


def _functional(code: str, libelle: str) -> PayfipFaultError:
    return PayfipFaultError("FonctionnelleErreur", code, libelle)


class FakePayfip:
    """A PayFiP web service and bank page on a free loopback port, in a thread."""

    def __init__(
        self, client_numbers: tuple[str, ...] = (CLIENT_NUMBER,), *, notify: bool = True
    ) -> None:
        self.client_numbers = set(client_numbers)
        self.client_number = client_numbers[0]
        self.notify = notify  # the bank page POSTs idop to urlnotif, as PayFiP does
        self.operations: dict[str, FakeOperation] = {}
        self.requests: list[ReceivedRequest] = []
        self.notifications: list[tuple[str, str]] = []  # (idop, HTTP status or error)
        self._script: deque[tuple[Any, ...]] = deque()
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._numauto = itertools.count(1)
        self._server = _Server(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def soap_url(self) -> str:
        """The web service's URL, to give PayfipGateway."""
        return self.base_url + SOAP_PATH

    @property
    def payment_url(self) -> str:
        """The bank page's URL, to give PayfipGateway."""
        return self.base_url + PAYMENT_PATH

    def start(self) -> FakePayfip:
        """Start serving in a thread."""
        self._thread.start()
        return self

    def close(self) -> None:
        """Release hanging requests, stop serving, and join every thread."""
        self._released.set()
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()  # joins the request threads (daemon_threads is off)

    def __enter__(self) -> FakePayfip:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def settle(
        self,
        id_op: str,
        resultrans: str,
        *,
        numauto: str | None = None,
        at: datetime | None = None,
    ) -> FakeOperation:
        """Decide how an operation ended: P, V (paid), R, Z (refused) or A (abandoned)."""
        if resultrans not in RESULT_CODES:
            raise ValueError(f"resultrans must be one of {sorted(RESULT_CODES)}")
        with self._lock:
            operation = self.operations[id_op]
            operation.resultrans = resultrans
            if resultrans in ("P", "V"):
                operation.numauto = numauto or f"{next(self._numauto):06d}-tip"
            else:
                operation.numauto = numauto  # PayFiP leaves it out of refusals
            operation.settled_at = (at or datetime.now(PARIS)).astimezone(PARIS)
            return operation

    def purge(self, id_op: str) -> None:
        """Forget an operation, as PayFiP's nightly purge does (P1 afterwards)."""
        with self._lock:
            self.operations[id_op].purged = True

    def fail_next(self, status: int = 503, times: int = 1) -> None:
        """Answer the next SOAP calls with a bare HTTP error (an overloaded front end)."""
        body = b"<html><body><h1>Service Unavailable</h1></body></html>"
        for _ in range(times):
            self._script.append(("raw", status, body, "text/html"))

    def hang_next(self) -> None:
        """Accept the next SOAP call and never answer it (until close): a timeout."""
        self._script.append(("hang",))

    def answer_next(self, status: int, body: bytes, content_type: str = "text/xml") -> None:
        """Answer the next SOAP call with these exact bytes."""
        self._script.append(("raw", status, body, content_type))

    def soap_requests(self, operation: str | None = None) -> list[ReceivedRequest]:
        """Return the SOAP calls received, optionally only those of one operation."""
        return [r for r in self.requests if r.operation and operation in (None, r.operation)]

    # The web service.

    def _soap(self, fields: dict[str, str], operation: str) -> bytes:
        if operation == "creerPaiementSecurise":
            return self._create(fields)
        if operation == "recupererDetailPaiementSecurise":
            return self._detail(fields.get("idOp", ""))
        # Not an operation of this service: the fake's own code.
        raise PayfipFaultError("TechProtocolaireErreur", "PR1", f"Opération inconnue : {operation}")

    def _create(self, fields: dict[str, str]) -> bytes:
        _check_creation(fields, self.client_numbers)
        with self._lock:
            key = (fields["numcli"], fields["exer"], fields["refdet"])
            if any(
                (o.fields["numcli"], o.fields["exer"], o.fields["refdet"]) == key
                for o in self.operations.values()
            ):
                # PayFiP refuses a reference already used; the code is the fake's own.
                raise _functional("R4", "La référence REFDET a déjà été utilisée.")
            id_op = str(uuid.uuid1())
            self.operations[id_op] = FakeOperation(id_op=id_op, fields=dict(fields))
        root, answer = _answer("creerPaiementSecuriseResponse")
        ET.SubElement(answer, f"{{{REPONSE_NS}}}idOp").text = id_op
        return ET.tostring(root, encoding="utf-8", xml_declaration=True)

    def _detail(self, id_op: str) -> bytes:
        with self._lock:
            operation = self.operations.get(id_op)
            if operation is None or operation.purged:
                raise _functional("P1", "IdOp incorrect.")
            if operation.resultrans is None or operation.settled_at is None:
                raise _functional("P5", "Résultat de la transaction non connu.")
            sent = operation.fields
            values = {
                "dattrans": operation.settled_at.strftime("%d%m%Y"),
                "exer": sent["exer"],
                "heurtrans": operation.settled_at.strftime("%H%M"),
                "idOp": id_op,
                "mel": sent["mel"],
                "montant": sent["montant"],
                "numauto": operation.numauto,
                "numcli": sent["numcli"],
                "objet": sent.get("objet"),
                "refdet": sent["refdet"],
                "resultrans": operation.resultrans,
                "saisie": sent["saisie"],
            }
        root, answer = _answer("recupererDetailPaiementSecuriseResponse")
        for name, value in values.items():
            if value is not None:
                ET.SubElement(answer, f"{{{REPONSE_NS}}}{name}").text = value
        return ET.tostring(root, encoding="utf-8", xml_declaration=True)

    # The bank page.

    def _bank_page(self, id_op: str) -> tuple[int, str]:
        with self._lock:
            operation = self.operations.get(id_op)
        if operation is None or operation.resultrans is not None:
            return 404, "<h1>Opération inconnue ou terminée</h1>"
        sent = {name: html.escape(value) for name, value in operation.fields.items()}
        buttons = "".join(
            f'<button type="submit" name="resultrans" value="{code}">{label}</button>'
            for code, label in (("P", "Payer"), ("R", "Carte refusée"), ("A", "Abandonner"))
        )
        return 200, (
            f"<h1>Paiement PayFiP (simulé)</h1><p>{sent.get('objet', '')}</p>"
            f"<p>Référence {sent['refdet']} : {sent['montant']} centimes</p>"
            f'<form method="post" action="{PAYMENT_PATH}">'
            f'<input type="hidden" name="idop" value="{html.escape(id_op)}">{buttons}</form>'
        )

    def _pay(self, id_op: str, resultrans: str) -> tuple[int, str]:
        if id_op not in self.operations or resultrans not in RESULT_CODES:
            return 400, "<h1>Requête invalide</h1>"
        operation = self.settle(id_op, resultrans)
        if self.notify:
            self.notifications.append((id_op, _notify(operation.fields["urlnotif"], id_op)))
        # Back to the site only when the parent clicks: the return carries no result.
        target = html.escape(operation.fields["urlredirect"])
        return 200, (
            f'<h1>Paiement terminé</h1><form method="post" action="{target}">'
            f'<input type="hidden" name="idop" value="{html.escape(id_op)}">'
            '<button type="submit">Retour au site</button></form>'
        )


def _check_creation(fields: dict[str, str], client_numbers: set[str]) -> None:
    """Check creerPaiementSecurise's fields as PayFiP does; raise the fault it answers."""
    numcli = fields.get("numcli", "")
    if not re.fullmatch(r"[0-9]{6}", numcli):
        raise _functional("T1", "Numéro client invalide.")
    if numcli not in client_numbers:
        raise _functional("T2", "Le numéro client doit exister dans la base PayFiP.")
    if fields.get("saisie") not in ("T", "X", "W"):
        raise _functional("S1", "Mode de saisie invalide.")
    if not re.fullmatch(r"[0-9]{4}", fields.get("exer", "")):
        raise _functional("E1", "Exercice invalide.")  # the fake's own code
    montant = fields.get("montant", "")
    if not montant.isdigit():
        raise _functional("M1", "Le format du montant n'est pas correct.")
    if int(montant) < 100:
        raise _functional("M3", "Le montant doit être d'au moins 1 euro.")
    if int(montant) > 10_000_000:
        raise _functional("M5", "Le montant dépasse la limite autorisée.")
    mel = fields.get("mel", "")
    if not mel:
        raise _functional("A1", "Adresse mel non renseignée.")
    if "@" not in mel or not 6 <= len(mel) <= 80:
        raise _functional("A2", "Adresse mel incorrecte.")
    # The brief's 1 to 30; note that a recorded PayFiP answer refused "ABCD" with R3.
    if not re.fullmatch(r"[A-Za-z0-9]{1,30}", fields.get("refdet", "")):
        raise _functional("R3", "Le format du paramètre REFDET n'est pas conforme.")
    if "objet" in fields and not re.fullmatch(r"[A-Za-z0-9 ]{0,100}", fields["objet"]):
        raise _functional("O1", "Le format de l'objet n'est pas conforme.")  # the fake's own
    for name, code in (("urlnotif", "N1"), ("urlredirect", "D1")):
        if urlsplit(fields.get(name, "")).scheme not in ("http", "https"):
            raise _functional(code, f"{name.upper()} non valide.")


def _envelope() -> tuple[ET.Element, ET.Element]:
    root = ET.Element(f"{{{SOAP_ENV_NS}}}Envelope")
    return root, ET.SubElement(root, f"{{{SOAP_ENV_NS}}}Body")


def _answer(response: str) -> tuple[ET.Element, ET.Element]:
    """Start an answer: return the envelope and its Body/<response>/return element."""
    root, body = _envelope()
    return root, ET.SubElement(ET.SubElement(body, f"{{{SERVICE_NS}}}{response}"), "return")


def fault_body(fault: PayfipFaultError) -> bytes:
    """Build PayFiP's SOAP 1.1 fault: faultcode, the Java exception, the detail element."""
    root, body = _envelope()
    root.set("xmlns:S", SOAP_ENV_NS)  # the prefix faultcode's QName refers to
    element = ET.SubElement(body, f"{{{SOAP_ENV_NS}}}Fault")
    # JAX-WS reports a service's declared exceptions as Server faults.
    ET.SubElement(element, "faultcode").text = "S:Server"
    ET.SubElement(element, "faultstring").text = EXCEPTIONS + fault.kind
    detail = ET.SubElement(ET.SubElement(element, "detail"), f"{{{SERVICE_NS}}}{fault.kind}")
    for name, value in (
        ("code", fault.code),
        ("descriptif", fault.libelle),
        ("libelle", fault.libelle),
        ("severite", "2"),
    ):
        ET.SubElement(detail, name).text = value
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _read_call(body: bytes) -> tuple[str, dict[str, str]]:
    """Return the operation and the arg0 fields of a SOAP request."""
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise PayfipFaultError("TechProtocolaireErreur", "PR2", "DTD refusée")  # the fake's own
    try:
        root = ET.fromstring(body)  # noqa: S314 - refused any DTD just above
    except ET.ParseError as error:
        raise PayfipFaultError("TechProtocolaireErreur", "PR2", f"XML invalide : {error}") from None
    operation = root.find(f"{{{SOAP_ENV_NS}}}Body/*")
    if root.tag != f"{{{SOAP_ENV_NS}}}Envelope" or operation is None:
        raise PayfipFaultError("TechProtocolaireErreur", "PR2", "Enveloppe SOAP attendue")
    if not operation.tag.startswith(f"{{{SERVICE_NS}}}"):
        raise PayfipFaultError(
            "TechProtocolaireErreur", "PR2", f"Espace de noms inconnu : {operation.tag}"
        )
    arg0 = operation.find("arg0")
    fields = {child.tag: child.text or "" for child in (arg0 if arg0 is not None else [])}
    return operation.tag.rpartition("}")[2], fields


def _notify(url: str, id_op: str) -> str:
    """POST idop to the notification URL, server to server; return the status or the error."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        connection.request(
            "POST",
            (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
            body=urlencode({"idop": id_op}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        return str(connection.getresponse().status)
    except (OSError, http.client.HTTPException) as error:
        return f"{type(error).__name__}: {error}"
    finally:
        connection.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() then joins the request threads


def _handler(fake: FakePayfip) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            fake.requests.append(ReceivedRequest("GET", self.path, dict(self.headers), b""))
            if parts.path != PAYMENT_PATH:
                return self._send(404, b"not found", "text/plain")
            id_op = parse_qs(parts.query).get("idop", [""])[0]
            status, page = fake._bank_page(id_op)
            return self._html(status, page)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            record = ReceivedRequest("POST", self.path, dict(self.headers), body)
            fake.requests.append(record)
            if self.path == PAYMENT_PATH:
                form = parse_qs(body.decode("utf-8", "replace"))
                status, page = fake._pay(form.get("idop", [""])[0], form.get("resultrans", [""])[0])
                return self._html(status, page)
            if self.path != SOAP_PATH:
                return self._send(404, b"not found", "text/plain")
            try:
                step = fake._script.popleft()
            except IndexError:
                step = None
            if step is not None and step[0] == "hang":
                fake._released.wait(_HANG_SECONDS)
                return None
            if step is not None:
                return self._send(*step[1:])
            try:
                if not self.headers.get("Content-Type", "").startswith("text/xml"):
                    raise PayfipFaultError("TechProtocolaireErreur", "PR2", "text/xml attendu")
                record.operation, record.fields = _read_call(body)
                answer = fake._soap(record.fields, record.operation)
            except PayfipFaultError as fault:
                return self._send(500, fault_body(fault), "text/xml; charset=utf-8")
            return self._send(200, answer, "text/xml; charset=utf-8")

        def _html(self, status: int, page: str) -> None:
            document = (
                f'<!doctype html><html lang="fr"><meta charset="utf-8"><body>{page}</body></html>'
            )
            self._send(status, document.encode(), "text/html; charset=utf-8")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
