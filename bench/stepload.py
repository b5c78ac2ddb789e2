"""A load generator that submits workflow steps: real POSTs that advance real instances.

Each client process plays one visitor: a session cookie, the CSRF token of that session
and a few instances it started. For each instance it keeps the hidden fields of the step
form as the page shows them (the position the page was shown at, which the step view
compares to detect a stale tab), and it posts the form of its instances in turn: the
CSRF token, those hidden fields, and the step's field with a new value each time, on a
new connection per request as `bench.loadgen` does. The benchmark workflow's step leads
back to itself, so after a submit that went through the page shows the same form with
the same hidden fields, ready for the next POST.

A request counts as successful only when it answers 302 (the step view redirects after a
submit). Anything else is an error, after which the client reads the page again. A 302
alone does not prove a step was taken (a stale or blocked submit redirects too), so the
benchmark compares the 302s counted here with the `moved` submits the database recorded
(`moved_submits()`): they must be equal. Stdlib only in the clients: spawned processes
import nothing else.
"""

from __future__ import annotations

import contextlib
import http.client
import multiprocessing
import re
import time
import urllib.parse
from dataclasses import dataclass, field
from types import TracebackType

from bench.loadgen import REQUEST_TIMEOUT, Result

_INPUT = re.compile(r"<input[^>]*>")
_ATTRIBUTE = re.compile(r'(\w+)="([^"]*)"')


class StepLoadError(RuntimeError):
    """A visitor could not be set up, or the database disagrees with what was counted."""


@dataclass
class Instance:
    """One instance a client advances: its page and the hidden fields its form carries."""

    path: str
    hidden: dict[str, str]
    submits: int = 0  # 302s received for it


@dataclass
class Visitor:
    """One client's session: cookie, CSRF token and its instances."""

    cookie: str
    token: str
    field: str
    instances: list[Instance] = field(default_factory=list)

    @property
    def submits(self) -> int:
        return sum(instance.submits for instance in self.instances)


def _request(
    host: str, port: int, method: str, path: str, cookie: str = "", body: str = ""
) -> tuple[int, str, str, str]:
    """Send one request on a new connection; return status, body, Location, session cookie."""
    conn = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT)
    try:
        headers = {"Cookie": cookie} if cookie else {}
        if method == "POST":
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body or None, headers=headers)
        with conn.getresponse() as response:
            text = response.read().decode(errors="replace")
            session = ""
            for header in response.headers.get_all("Set-Cookie") or []:
                if header.startswith("session="):
                    session = header.split(";", 1)[0]
            return response.status, text, response.headers.get("Location", ""), session
    finally:
        conn.close()


def hidden_fields(html: str) -> dict[str, str]:
    """The hidden inputs of a page, by name (the CSRF token among them)."""
    fields = {}
    for tag in _INPUT.findall(html):
        attributes = dict(_ATTRIBUTE.findall(tag))
        if attributes.get("type") == "hidden" and "name" in attributes:
            fields[attributes["name"]] = attributes.get("value", "")
    return fields


def _step_page(host: str, port: int, visitor: Visitor, path: str) -> dict[str, str]:
    status, html, _, _ = _request(host, port, "GET", path, visitor.cookie)
    if status != 200 or f'name="{visitor.field}"' not in html:
        raise StepLoadError(f"GET {path} answered {status} without the {visitor.field!r} field")
    hidden = hidden_fields(html)
    hidden.pop("csrf_token", None)  # the session's token is sent anyway
    return hidden


def open_visitor(
    host: str, port: int, *, index_path: str, start_path: str, field: str, instances: int
) -> Visitor:
    """Start `instances` instances from one new session, as a visitor's browser would."""
    status, html, _, cookie = _request(host, port, "GET", index_path)
    token = hidden_fields(html).get("csrf_token")
    if status != 200 or not cookie or not token:
        raise StepLoadError(f"GET {index_path} answered {status} without a session or a token")
    visitor = Visitor(cookie, token, field)
    body = urllib.parse.urlencode({"csrf_token": token})
    for _ in range(instances):
        status, _, location, session = _request(
            host, port, "POST", start_path, visitor.cookie, body
        )
        if status != 302 or not location:
            raise StepLoadError(f"POST {start_path} answered {status}")
        visitor.cookie = session or visitor.cookie  # now holds the visitor's applicant id
        path = urllib.parse.urlsplit(location).path
        visitor.instances.append(Instance(path, _step_page(host, port, visitor, path)))
    return visitor


def _ready(_: int) -> None:
    time.sleep(0.05)


def _client(
    host: str, port: int, visitor: Visitor, measure_from: float, stop_at: float
) -> tuple[list[float], int, Visitor]:
    latencies: list[float] = []
    errors = 0
    turn = 0
    while True:
        started = time.monotonic()
        if started >= stop_at:
            return latencies, errors, visitor
        instance = visitor.instances[turn % len(visitor.instances)]
        turn += 1
        body = urllib.parse.urlencode(
            {
                "csrf_token": visitor.token,
                **instance.hidden,
                # A new value each time: the data really changes, the audit has a diff.
                visitor.field: str(instance.submits),
            }
        )
        try:
            status, _, _, _ = _request(host, port, "POST", instance.path, visitor.cookie, body)
        except (OSError, http.client.HTTPException):
            status = 0
        ok = status == 302
        if ok:
            instance.submits += 1
        if started >= measure_from:
            if ok:
                latencies.append(time.monotonic() - started)
            else:
                errors += 1
        if not ok:  # read the page again before posting its form once more
            with contextlib.suppress(OSError, http.client.HTTPException, StepLoadError):
                instance.hidden = _step_page(host, port, visitor, instance.path)


class StepLoad:
    """A pool of client processes, one per visitor, reused for every window."""

    def __init__(self, visitors: list[Visitor]) -> None:
        self.visitors = visitors
        self._pool = multiprocessing.get_context("spawn").Pool(len(visitors))
        self._pool.map(_ready, range(len(visitors)), chunksize=1)

    def run(self, host: str, port: int, *, warmup: float, duration: float) -> Result:
        """POST steps for `warmup` s unmeasured, then `duration` s measured."""
        measure_from = time.monotonic() + warmup
        stop_at = measure_from + duration
        parts = self._pool.starmap(
            _client,
            [(host, port, visitor, measure_from, stop_at) for visitor in self.visitors],
            chunksize=1,
        )
        self.visitors = [visitor for _, _, visitor in parts]  # with their counts
        latencies = [latency for part, _, _ in parts for latency in part]
        errors = sum(errors for _, errors, _ in parts)
        return Result(len(latencies), errors, duration, latencies)

    @property
    def submits(self) -> int:
        """POSTs answered 302 so far, warm-up included."""
        return sum(visitor.submits for visitor in self.visitors)

    def close(self) -> None:
        self._pool.close()
        self._pool.join()

    def __enter__(self) -> StepLoad:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is not None:
            self._pool.terminate()
        self.close()


def moved_submits(database_url: str, key: str) -> int:
    """How many submits of a workflow's instances the audit trail records as `moved`."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.text(
                    "SELECT count(*) FROM workflow_events WHERE key = :key "
                    "AND trigger = 'submit' AND outcome = 'moved'"
                ),
                {"key": key},
            ).scalar_one()
    finally:
        engine.dispose()
