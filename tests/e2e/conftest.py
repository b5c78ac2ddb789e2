"""End-to-end harness: the real app on a live server, driven by a real headless Chromium.

How it runs
    `.venv/bin/pytest tests/e2e` (add `-m "not browser"` anywhere to leave these tests out).
    Every test under tests/e2e gets the `browser` marker automatically.
    The browser is Debian's Chromium driven by Playwright's sync API; Playwright's own browser
    downloads are never used (do not run `playwright install`). The binary is $CHROMIUM_PATH,
    else /usr/bin/chromium, else `chromium` on PATH. Without one the tests are skipped, except
    under CI=true where they fail: CI must run them. Chromium is launched once per session.

Fixtures
    browser                   session-wide headless Chromium (playwright.sync_api.Browser).
    live_server               the app (built by `make_app`, so on the test database, emptied
                              after the test) served by werkzeug on 127.0.0.1:<free port> in a
                              background thread. Yields a LiveServer: `.url`, `.app`,
                              `.run(fn, *args)` (call fn in a fresh app context of the served app),
                              `.requests` (log lines) and `.errors` (exceptions the app logged
                              or let through, with tracebacks; any left at the end makes the test
                              error: call `live_server.errors.clear()` if one is expected).
                              Setting overrides through indirect parametrisation:
                                  @pytest.mark.parametrize(
                                      "live_server", [{"SHOW_DEV_OUTBOX": False}], indirect=True)
    make_live_server(**over)  factory for further servers (or servers with other settings).
    page                      a fresh context + page on `live_server` (base_url set, so
                              `page.goto("/connexion")` works), French locale, Paris time,
                              1280x900, 10 s default timeout. Closed after the test.
    new_page(**options)       factory for more pages, each in its own context (own cookies):
                              e.g. a parent and an accountant side by side, or
                              `new_page(viewport={"width": 375, "height": 812}, is_mobile=True)`.
                              Options go to `Browser.new_context`; base_url defaults to
                              `live_server.url`.
    console_errors            the list (live) of console errors, uncaught page errors and CSP
                              violations ("CSP violation: <directive> blocked <uri> ...") seen by
                              every page of the test; assert it is empty where it matters.

    When the test itself fails, every open page is screenshotted into $E2E_ARTIFACTS_DIR (default:
    <pytest basetemp>/e2e-artifacts) and the failure report gains sections with the screenshot
    paths, the browser console and the server's request log.

Data and the database
    Fixtures such as make_staff / make_school commit, so the served app (which opens its own
    app context and session per request, in another thread) sees their rows before the browser
    acts. To read what the app wrote while the browser works (an SMS code in the outbox, say),
    first wait for the page showing the step is done (the request committed before answering),
    then query in a fresh session:

        expect(page.get_by_role("heading", name="Saisissez le code")).to_be_visible()
        sms = live_server.run(
            lambda: db.session.scalars(
                db.select(OutboxMessage)
                .filter_by(channel=Channel.SMS, to="+33612345678")
                .order_by(OutboxMessage.id.desc())
            ).first()
        )
        page.get_by_label("Code reçu par SMS").fill(re.search(r"\\d{6}", sms.body)[0])

    (`db` is `extensions.db`.) Alternatively, open /dev/outbox in a second `new_page()`, as a
    developer would.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import socket
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    expect,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

E2E_DIR = Path(__file__).resolve().parent
IN_CI = os.environ.get("CI") == "true"
DEFAULT_TIMEOUT_MS = 10_000
DEFAULT_VIEWPORT = {"width": 1280, "height": 900}
CHROMIUM_ARGS = [
    "--no-sandbox",  # runs as root in containers
    "--disable-gpu",
    "--disable-dev-shm-usage",
    # Offline machines and CI: no calls to Google services.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-domain-reliability",
    "--disable-breakpad",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
]

# Turns CSP violations into console errors that name the directive and the blocked resource.
_CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.effectiveDirective} blocked ${e.blockedURI || "(inline)"}`
    + ` in ${e.sourceFile || e.documentURI}:${e.lineNumber}`
    + (e.sample ? ` sample=${JSON.stringify(e.sample)}` : ""));
});
"""

_PAGES = pytest.StashKey[list[Page]]()
_CONSOLE = pytest.StashKey[list[str]]()
_SERVERS = pytest.StashKey[list["LiveServer"]]()


# --- collection and reporting ---------------------------------------------------------------


_STATIC_FILE_LEFT_OPEN = pytest.mark.filterwarnings(
    r"ignore:Exception ignored in. <_io\.FileIO:pytest.PytestUnraisableExceptionWarning"
)
_STATIC_FILE_UNCLOSED = pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(E2E_DIR):
            item.add_marker(pytest.mark.browser)
            # When a page is closed while the live server still streams a static file
            # (a DSFR icon, a font), werkzeug's thread drops that file unclosed; the app is
            # not at fault and the warning would fail an unrelated test at random.
            item.add_marker(_STATIC_FILE_LEFT_OPEN)
            item.add_marker(_STATIC_FILE_UNCLOSED)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item,
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call" and report.failed:
        _attach_artifacts(item, report)
    return report


def _attach_artifacts(item: pytest.Item, report: pytest.TestReport) -> None:
    # Runs before fixture teardown, so the pages are still open.
    pages = [p for p in item.stash.get(_PAGES, []) if not p.is_closed()]
    if pages:
        folder = Path(
            os.environ.get("E2E_ARTIFACTS_DIR")
            or item.config._tmp_path_factory.getbasetemp() / "e2e-artifacts"  # type: ignore[attr-defined]
        )
        folder.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^\w.-]+", "_", item.nodeid.split("::", 1)[-1])[:120]
        lines = []
        for index, page in enumerate(pages):
            path = folder / f"{stem}-{index}.png"
            try:
                page.screenshot(path=str(path), full_page=True, timeout=5_000)
                lines.append(f"{path}  ({page.url})")
            except PlaywrightError as error:
                lines.append(f"(no screenshot of {page.url}: {error.message.splitlines()[0]})")
        print("\n".join(f"e2e screenshot: {line}" for line in lines))
        report.sections.append(("e2e screenshots", "\n".join(lines)))
    console = item.stash.get(_CONSOLE, [])
    if console:
        report.sections.append(("browser console", "\n".join(console)))
    for server in item.stash.get(_SERVERS, []):
        report.sections.append((f"live server {server.url}", "\n".join(server.requests[-40:])))


# --- browser ----------------------------------------------------------------------------------


def chromium_path() -> str | None:
    """Return the Chromium to drive: $CHROMIUM_PATH, /usr/bin/chromium, or chromium on PATH."""
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured if Path(configured).is_file() else None
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """A headless Chromium for the whole session (skipped if absent, except under CI=true)."""
    executable = chromium_path()
    if executable is None:
        message = (
            "Chromium not found (set CHROMIUM_PATH or install Debian's chromium: make browser)"
        )
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


# --- live server --------------------------------------------------------------------------------


class _Handler(WSGIRequestHandler):
    """Werkzeug's handler, logging into the LiveServer and tracking open connections."""

    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.connections.add(self.connection)

    def finish(self) -> None:
        self.server.connections.discard(self.connection)
        super().finish()

    def log(self, type: str, message: str, *args: Any) -> None:
        self.server.live.requests.append(f"{type}: {message % args if args else message}")


class _Server(BaseWSGIServer):
    connections: set[socket.socket]
    live: LiveServer


class _ErrorCollector(logging.Handler):
    """Keeps the errors the app logs (its 500 handler logs the exception, then answers)."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(level=logging.ERROR)
        self.errors = errors
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.errors.append(self.format(record))


@dataclass
class LiveServer:
    """The app served over HTTP for the browser."""

    app: Flask
    url: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call fn in a fresh app context of the served app (it sees every committed row)."""
        with self.app.app_context():
            return fn(*args, **kwargs)


@pytest.fixture
def make_live_server(
    request: pytest.FixtureRequest, make_app: Callable[..., Flask]
) -> Iterator[Callable[..., LiveServer]]:
    """Serve apps built with `make_app(**overrides)`; all are stopped after the test."""
    running: list[tuple[LiveServer, _Server, threading.Thread, logging.Handler]] = []
    request.node.stash.setdefault(_SERVERS, [])

    def start(**overrides: Any) -> LiveServer:
        app = make_app(**overrides)
        server: _Server = make_server(  # type: ignore[assignment]
            "127.0.0.1", 0, app, threaded=True, request_handler=_Handler
        )
        live = LiveServer(app=app, url=f"http://127.0.0.1:{server.port}")
        server.connections = set()
        server.live = live

        def log(type: str, message: str, *args: Any) -> None:
            text = message % args if args else message
            live.requests.append(f"{type}: {text}")
            if type == "error":
                live.errors.append(text)

        server.log = log  # type: ignore[method-assign]
        collector = _ErrorCollector(live.errors)
        app.logger.addHandler(collector)
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"e2e {live.url}"
        )
        thread.start()
        running.append((live, server, thread, collector))
        request.node.stash[_SERVERS].append(live)
        return live

    yield start

    errors = []
    for live, server, thread, collector in running:
        _stop(server, thread)
        live.app.logger.removeHandler(collector)
        errors.extend(live.errors)
    if errors:
        message = "The live server logged errors (clear live_server.errors if expected):\n"
        pytest.fail(message + "\n".join(errors), pytrace=False)


def _stop(server: _Server, thread: threading.Thread) -> None:
    # shutdown() ends serve_forever; werkzeug then calls server_close(), which joins the
    # request threads. Those may wait on keep-alive connections, so close the connections.
    server.shutdown()
    for _ in range(100):
        for connection in list(server.connections):
            with contextlib.suppress(OSError):  # already closed by the browser
                connection.shutdown(socket.SHUT_RDWR)
        thread.join(timeout=0.1)
        if not thread.is_alive():
            break
    else:
        raise RuntimeError(f"live server thread {thread.name} did not stop")
    server.server_close()


@pytest.fixture
def live_server(
    request: pytest.FixtureRequest, make_live_server: Callable[..., LiveServer]
) -> LiveServer:
    """The app on a live server; settings overrides through indirect parametrisation."""
    return make_live_server(**getattr(request, "param", {}))


# --- pages --------------------------------------------------------------------------------------


@pytest.fixture
def console_errors(request: pytest.FixtureRequest) -> list[str]:
    """Console errors, page errors and CSP violations of every page of the test."""
    return request.node.stash.setdefault(_CONSOLE, [])


@pytest.fixture
def new_page(
    request: pytest.FixtureRequest,
    browser: Browser,
    live_server: LiveServer,
    console_errors: list[str],
) -> Iterator[Callable[..., Page]]:
    """Open pages, each in a fresh context (French, Paris time, 1280x900, 10 s timeouts)."""
    contexts: list[BrowserContext] = []
    pages = request.node.stash.setdefault(_PAGES, [])

    def open_page(**options: Any) -> Page:
        settings: dict[str, Any] = {
            "base_url": live_server.url,
            "locale": "fr-FR",
            "timezone_id": "Europe/Paris",
            "viewport": DEFAULT_VIEWPORT,
            **options,
        }
        context = browser.new_context(**settings)
        contexts.append(context)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
        context.add_init_script(_CSP_REPORTER)
        page = context.new_page()
        label = f"page {len(pages)}"

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                where = message.location.get("url", "")
                console_errors.append(f"[{label}] {message.text} ({where})")

        page.on("console", on_console)
        page.on("pageerror", lambda error: console_errors.append(f"[{label}] uncaught: {error}"))
        pages.append(page)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    """A fresh page on `live_server` (its own cookies), closed after the test."""
    return new_page()
