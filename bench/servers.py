"""Start and stop gunicorn, with Guichet's production config, for any WSGI app.

`serving()` is a context manager: it starts gunicorn on a free loopback port, waits until
a page answers 200 (bounded), yields where it listens and always stops it, even when the
benchmark fails. Every target runs under the same server settings, so they compare.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from bench import ROOT

START_TIMEOUT = 30.0  # seconds for gunicorn to answer its first request
STOP_TIMEOUT = 15.0  # seconds for a graceful stop before SIGKILL

# A developer's own settings must not leak into what is measured.
_SCRUBBED = re.compile(
    r"^(GUICHET_|FLASK_|GUNICORN_|RQ_|MAIL_|SMS_|RATELIMIT_|SESSION_|BENCH_|PAYFIP_)|"
    r"^(SECRET_KEY|DATABASE_URL|REDIS_URL|PUBLIC_URL|PAYMENT_BACKEND|WEB_CONCURRENCY|PORT|"
    r"FORWARDED_ALLOW_IPS|SHOW_DEV_OUTBOX|DEFAULT_SCHOOL_UAI)$"
)


def clean_env(**settings: str) -> dict[str, str]:
    """The current environment without Guichet's or gunicorn's settings, plus those given."""
    env = {name: value for name, value in os.environ.items() if not _SCRUBBED.match(name)}
    env.update(PYTHONUNBUFFERED="1", **settings)
    return env


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Server:
    """Where a started gunicorn listens."""

    host: str
    port: int
    pid: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


class ServerError(RuntimeError):
    """gunicorn did not start, or answered the check page wrongly."""


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - http:// only
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, ""
    except OSError:
        return 0, ""


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


@contextmanager
def serving(
    app: str, env: dict[str, str], *, workers: int, check_path: str = "/", expect: str = ""
) -> Iterator[Server]:
    """Run `gunicorn -c gunicorn.conf.py <app>` with `workers` sync workers on loopback."""
    port = free_port()
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(workers)}
    command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), app]
    with tempfile.TemporaryFile("w+") as errors:
        # The access log (stdout) is written, as in production, then thrown away.
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors
        )
        try:
            server = Server("127.0.0.1", port, process.pid)
            _wait_until_answering(server, process, check_path, expect, errors)
            yield server
        finally:
            _stop(process)


def _wait_until_answering(
    server: Server, process: subprocess.Popen, path: str, expect: str, log: IO[str]
) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    status, body = 0, ""
    while time.monotonic() < deadline and process.poll() is None:
        status, body = _get(server.url + path)
        if status == 200:
            if expect and expect not in body:
                raise ServerError(f"{server.url}{path} answered without {expect!r}")
            return
        time.sleep(0.1)
    log.seek(0)
    raise ServerError(
        f"gunicorn did not answer {path} with 200 (last status {status}):\n{log.read()[-4000:]}"
    )


def run_command(args: list[str], env: dict[str, str], timeout: float = 120) -> str:
    """Run a command from the repository root (bounded); fail loudly with its output."""
    done = subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise ServerError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def flask_command(*args: str, env: dict[str, str]) -> str:
    """Run a `flask` command of Guichet's (FLASK_APP=wsgi.py)."""
    return run_command([sys.executable, "-m", "flask", *args], {**env, "FLASK_APP": "wsgi.py"})
