"""The production topology on loopback: gunicorn, an rq worker, PostgreSQL, Redis, SMTP.

Everything runs as the real processes with production settings, against a PostgreSQL
database created for the test (and dropped after). A client that knows nothing of Flask
(urllib) talks HTTP to gunicorn, as a load balancer terminating TLS would: it says the
request came over HTTPS, so the production cookies (Secure) and CSRF checks apply.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, OpenerDirector, Request, build_opener

import psycopg
import pytest
from psycopg import sql
from redis import Redis
from rq import Queue, Worker
from rq.registry import FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry
from sqlalchemy.engine import make_url
from support import SmtpInbox, free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
SECRET_KEY = secrets.token_urlsafe(32)
SCHOOL_NAME = "Collège des Tilleuls"
ADMIN_EMAIL = "admin@example.org"
EMAIL_WAIT = 20.0  # seconds an email may take from the form to the SMTP server
START_WAIT = 30.0  # seconds gunicorn may take to answer its first request

# Settings of a developer's shell or of CI that must not leak into the processes started
# here: each test says exactly what the processes get.
SCRUBBED = re.compile(
    r"^(GUICHET_|FLASK_|GUNICORN_|TEST_|RQ_|MAIL_|SMS_|RATELIMIT_|SESSION_|PAYFIP_)|"
    r"^(SECRET_KEY|DATABASE_URL|REDIS_URL|PUBLIC_URL|PAYMENT_BACKEND|SEED_DEMO_PASSWORD|"
    r"WEB_CONCURRENCY|PORT|FORWARDED_ALLOW_IPS|SHOW_DEV_OUTBOX|DEFAULT_SCHOOL_UAI)$"
)


def clean_env(**settings: str) -> dict[str, str]:
    """The current environment without Guichet's settings, plus the ones given."""
    env = {name: value for name, value in os.environ.items() if not SCRUBBED.match(name)}
    env.update(FLASK_APP="wsgi.py", PYTHONUNBUFFERED="1", **settings)
    return env


def flask(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run a `flask` command to completion (bounded) and return what it did."""
    return subprocess.run(
        [PYTHON, "-m", "flask", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def stop(process: subprocess.Popen, grace: float = 15) -> None:
    """Ask a process to stop (SIGTERM: graceful for gunicorn and rq), kill it if it lingers."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=grace)


def poll(check: Callable[[], Any], timeout: float, interval: float = 0.2) -> Any:
    """Call `check` until it returns something truthy or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() >= deadline:
            return result
        time.sleep(interval)


# --- the database made for this test ------------------------------------------------------


@pytest.fixture(scope="module")
def postgres_url() -> str:
    """The PostgreSQL server named by TEST_DATABASE_URL (SQLAlchemy form)."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql")):
        pytest.skip("TEST_DATABASE_URL does not name a PostgreSQL database")
    return url


@pytest.fixture(scope="module")
def fresh_database(postgres_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on that server, dropped after the tests."""
    server = make_url(postgres_url).set(drivername="postgresql")
    name = f"guichet_topology_{uuid.uuid4().hex[:12]}"
    admin = server.render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server.set(drivername="postgresql+psycopg", database=name).render_as_string(
            hide_password=False
        )
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            # FORCE: a worker killed mid-job could have left a connection behind.
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def query_one(database_url: str, statement: str, *params: Any) -> tuple | None:
    """Run one query on the test database, as an operator's psql would."""
    conninfo = make_url(database_url).set(drivername="postgresql")
    with (
        psycopg.connect(conninfo.render_as_string(hide_password=False), connect_timeout=10) as conn,
        conn.cursor() as cursor,
    ):
        cursor.execute(statement, params)
        return cursor.fetchone()


# --- an HTTP client that is not Flask's -------------------------------------------------


class LoopbackIsTLS(DefaultCookiePolicy):
    """Send Secure cookies to the loopback server, which stands behind a TLS balancer."""

    def return_ok_secure(self, cookie: Any, request: Any) -> bool:
        return True


class Browser:
    """urllib with a cookie jar, speaking as a TLS-terminating load balancer would."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.opener: OpenerDirector = build_opener(
            HTTPCookieProcessor(CookieJar(policy=LoopbackIsTLS()))
        )

    def request(self, path: str, data: dict[str, str] | None = None) -> tuple[int, str, str]:
        """GET (or POST a form) and follow redirects; return status, final URL and body."""
        url = self.base_url + path
        headers = {
            "X-Forwarded-Proto": "https",  # trusted from 127.0.0.1 (FORWARDED_ALLOW_IPS)
            "X-Forwarded-For": "203.0.113.7",
            # Under HTTPS, Flask-WTF also checks the referrer is the site itself.
            "Referer": url.replace("http://", "https://", 1),
        }
        body = urlencode(data).encode() if data is not None else None
        try:
            request = Request(url, data=body, headers=headers)  # noqa: S310 - http:// only
            with self.opener.open(request, timeout=10) as resp:
                return resp.status, resp.url, resp.read().decode()
        except HTTPError as error:
            with closing(error):
                return error.code, url, error.read().decode(errors="replace")

    def csrf_token(self, path: str) -> str:
        """Open a page and return the CSRF token of its form."""
        status, _, html = self.request(path)
        assert status == 200, html
        match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
        assert match, f"no CSRF token on {path}"
        return match.group(1)


def wait_until_serving(base_url: str, process: subprocess.Popen, log: Path) -> None:
    """Wait (bounded) until gunicorn answers /healthz; fail with its log otherwise."""

    def answers() -> bool:
        if process.poll() is not None:
            return True
        try:
            with build_opener().open(base_url + "/healthz", timeout=2) as response:
                return response.status == 200
        except HTTPError as error:
            error.close()
            return False
        except (URLError, OSError):
            return False

    ready = poll(answers, START_WAIT)
    assert ready and process.poll() is None, f"gunicorn did not start:\n{log.read_text()}"


# --- the topology -----------------------------------------------------------------------


@pytest.fixture
def production_env(
    fresh_database: str, redis_url: str, smtp_server: SmtpInbox, queue_prefix: str
) -> dict[str, str]:
    """Production settings for every process: this test's database, queues and SMTP."""
    port = free_port()
    return clean_env(
        GUICHET_ENV="production",
        SECRET_KEY=SECRET_KEY,
        DATABASE_URL=fresh_database,
        REDIS_URL=redis_url,
        RQ_QUEUE_PREFIX=queue_prefix,
        MAIL_BACKEND="smtp",
        MAIL_SERVER=smtp_server.host,
        MAIL_PORT=str(smtp_server.port),
        PUBLIC_URL=f"https://127.0.0.1:{port}",
        PAYFIP_CLIENT_NUMBER="123456",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
    )


@pytest.fixture
def rq_keys_cleanup(redis_url: str, queue_prefix: str) -> Iterator[Redis]:
    """A Redis client; this test's queues, registries and jobs are deleted afterwards."""
    redis = Redis.from_url(redis_url)
    try:
        yield redis
    finally:
        job_ids = {
            job_id
            for name in ("high", "default", "low")
            for registry in (FinishedJobRegistry, FailedJobRegistry, StartedJobRegistry)
            for job_id in registry(f"{queue_prefix}-{name}", connection=redis).get_job_ids()
        }
        keys = [f"rq:{kind}:{job_id}" for job_id in job_ids for kind in ("job", "results")]
        keys += redis.scan_iter(match=f"rq:*{queue_prefix}*", count=1000)
        # A stopped worker's record lingers for a minute; ours names our queues.
        keys += [
            key
            for key in redis.scan_iter(match="rq:worker:*", count=1000)
            if queue_prefix.encode() in (redis.hget(key, "queues") or b"")
        ]
        if keys:
            redis.delete(*keys)
        redis.close()


@pytest.mark.postgres
@pytest.mark.redis
def test_gunicorn_and_an_rq_worker_serve_and_mail_in_production(
    production_env: dict[str, str],
    fresh_database: str,
    smtp_server: SmtpInbox,
    queue_prefix: str,
    rq_keys_cleanup: Redis,
    tmp_path: Path,
) -> None:
    env = production_env
    for command in (("db", "upgrade"), ("seed", "demo")):
        done = flask(env, *command)
        assert done.returncode == 0, f"flask {' '.join(command)}:\n{done.stdout}\n{done.stderr}"
    base_url = "http://" + env["GUNICORN_BIND"]
    redis = rq_keys_cleanup
    high = Queue(f"{queue_prefix}-high", connection=redis)

    with ExitStack() as stack:
        web_log = tmp_path / "gunicorn.log"
        web_out = stack.enter_context(web_log.open("w"))
        web = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=web_out,
            stderr=subprocess.STDOUT,
        )
        stack.callback(stop, web)
        wait_until_serving(base_url, web, web_log)
        browser = Browser(base_url)

        # The home page, from the database, through either of the two workers.
        status, _, html = browser.request("/")
        assert status == 200
        assert SCHOOL_NAME in html

        # The balancer's health check sees both backing services.
        status, _, body = browser.request("/healthz")
        assert status == 200, body
        assert json.loads(body) == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}

        # A reset request: the web process records the email and queues its delivery.
        token = browser.csrf_token("/mot-de-passe-oublie")
        status, final_url, html = browser.request(
            "/mot-de-passe-oublie", {"email": ADMIN_EMAIL, "csrf_token": token}
        )
        assert status == 200, html
        assert final_url.endswith("/connexion")
        assert "un lien de réinitialisation vient d" in html

        # No worker yet: the job waits in Redis, the message in PostgreSQL, nothing is sent.
        assert high.count == 1
        row = query_one(
            fresh_database, 'SELECT status FROM outbox_messages WHERE "to" = %s', ADMIN_EMAIL
        )
        assert row == ("queued",)
        assert smtp_server.messages == []

        worker_log = tmp_path / "worker.log"
        worker_out = stack.enter_context(worker_log.open("w"))
        worker = subprocess.Popen(
            [PYTHON, "-m", "flask", "jobs", "worker"],
            cwd=ROOT,
            env=env,
            stdout=worker_out,
            stderr=subprocess.STDOUT,
        )
        stack.callback(stop, worker)

        def delivered() -> list:
            return [m for m in smtp_server.messages if ADMIN_EMAIL in m["To"]]

        messages = poll(delivered, EMAIL_WAIT)
        assert messages, f"no email within {EMAIL_WAIT} s. Worker log:\n{worker_log.read_text()}"
        message = messages[0]
        assert message["Subject"] == "Réinitialisation de votre mot de passe Guichet"
        text = message.get_body(preferencelist=("plain",)).get_content()
        assert f"{env['PUBLIC_URL']}/mot-de-passe/" in text

        # The worker ran the job (not the web process) and recorded the delivery.
        finished = FinishedJobRegistry(queue=high)
        assert poll(lambda: finished.count == 1, 5), worker_log.read_text()
        sent = poll(
            lambda: (
                query_one(
                    fresh_database,
                    "SELECT status, attempts, sent_at IS NOT NULL"
                    ' FROM outbox_messages WHERE "to" = %s',
                    ADMIN_EMAIL,
                )
                == ("sent", 1, True)
            ),
            5,
        )
        assert sent, worker_log.read_text()
        assert len(smtp_server.messages) == 1

    # Both processes stopped cleanly on SIGTERM (with ExitStack's callbacks).
    assert web.returncode == 0, web_log.read_text()
    assert worker.returncode == 0, worker_log.read_text()
    assert Worker.all(queue=high) == []  # the worker said goodbye to Redis
    log = web_log.read_text()
    assert log.count("Booting worker with pid") == 2, log
    assert "203.0.113.7" in log  # the access log names the client the balancer reports


# --- production refuses unsafe settings -------------------------------------------------

SAFE = {
    "SECRET_KEY": SECRET_KEY,
    "DATABASE_URL": "postgresql+psycopg://guichet@127.0.0.1:1/guichet",
    "REDIS_URL": "redis://127.0.0.1:1/0",
}
UNSAFE = [
    pytest.param(
        {"SECRET_KEY": "dev-secret-key-change-me"},
        "SECRET_KEY is missing or left at its default",
        id="default-secret-key",
    ),
    pytest.param(
        {"SECRET_KEY": ""},
        "SECRET_KEY is missing or left at its default",
        id="no-secret-key",
    ),
    pytest.param(
        {"DATABASE_URL": "sqlite:////tmp/guichet.sqlite"},
        "DATABASE_URL points to SQLite: production needs PostgreSQL.",
        id="sqlite",
    ),
    pytest.param(
        {"REDIS_URL": ""},
        "REDIS_URL is not set: production needs Redis for jobs and rate limits.",
        id="no-redis",
    ),
]


def unsafe_env(change: dict[str, str]) -> dict[str, str]:
    settings = {**SAFE, **change}
    return clean_env(GUICHET_ENV="production", **{k: v for k, v in settings.items() if v})


@pytest.mark.parametrize(("change", "explanation"), UNSAFE)
def test_flask_refuses_unsafe_production_settings_in_one_line(change, explanation):
    done = flask(unsafe_env(change), "db", "upgrade", timeout=30)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert explanation in lines[0]


@pytest.mark.parametrize(("change", "explanation"), UNSAFE)
def test_gunicorn_refuses_unsafe_production_settings_before_listening(change, explanation):
    done = run_gunicorn(unsafe_env(change))
    assert done.returncode != 0
    assert f"Error: {explanation}" in done.stderr
    assert "Traceback" not in done.stderr
    assert "Listening at" not in done.stderr


def test_gunicorn_config_means_production_when_guichet_env_is_unset():
    env = unsafe_env({"SECRET_KEY": ""})
    del env["GUICHET_ENV"]
    done = run_gunicorn(env)
    assert done.returncode != 0
    assert "Error: SECRET_KEY is missing or left at its default" in done.stderr


def run_gunicorn(env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run gunicorn with the production config file on a free loopback port (bounded)."""
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{free_port()}", "WEB_CONCURRENCY": "1"}
    return subprocess.run(
        [PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
