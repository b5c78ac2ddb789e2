"""Production gunicorn settings: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every value can be changed from the environment, so one file serves every host. A web
process keeps no state of its own: sessions are signed cookies, rate limits and jobs live
in Redis, data in PostgreSQL. Any worker on any host can answer any request, which is
what lets a load balancer spread them freely. See docs/operations.md.
"""

from __future__ import annotations

import os


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "")
    return value if value.strip() else default


def _cores() -> int:
    # The CPUs this process may run on (a container's cpuset), not every CPU of the host.
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# This file is the production server's: unless told otherwise, load production settings,
# so a forgotten GUICHET_ENV can never serve the development config (and its outbox
# page) to the Internet. An explicit GUICHET_ENV still wins (the benchmarks use that).
os.environ.setdefault("GUICHET_ENV", "production")

wsgi_app = "wsgi:app"
proc_name = "guichet"

# GUNICORN_BIND (comma-separated addresses) wins; PORT is the platform convention and
# means every interface, as gunicorn itself reads it; otherwise loopback only, for a
# reverse proxy or load balancer agent on the same host.
if os.environ.get("GUNICORN_BIND", "").strip():
    bind = [address.strip() for address in os.environ["GUNICORN_BIND"].split(",")]
elif os.environ.get("PORT", "").strip():
    bind = [f"0.0.0.0:{os.environ['PORT'].strip()}"]
else:
    bind = ["127.0.0.1:8000"]

# Sync workers: one request per process at a time. Guichet's requests are short and wait
# on PostgreSQL, so processes (not threads) use both the cores and the database well, and
# each one owns its connection pool outright. Sync workers must sit behind a buffering
# proxy or load balancer: a slow client would otherwise hold a worker for its upload.
worker_class = "sync"
workers = int(_env("WEB_CONCURRENCY", str(2 * _cores() + 1)))

# A worker that answers nothing for this long is killed and replaced. Nothing in a
# request should take more than a few seconds (slow work goes to rq), so 30 s means stuck.
timeout = int(_env("GUNICORN_TIMEOUT", "30"))
# On SIGTERM/SIGHUP (deploy, scale-in), workers get this long to finish their request.
graceful_timeout = int(_env("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# Off by default: recycling workers costs a cold start and hides leaks. Set it (with
# jitter, so the workers don't all restart together) if memory is seen to grow.
max_requests = int(_env("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10

# Not preloaded: each worker imports the app and opens its own database and Redis
# connections after the fork, so no socket is ever shared between processes, and
# `kill -HUP` reloads new code. The price (a few MB per worker, a slower boot) is small.
preload_app = False

# The heartbeat file is touched by every worker every second; on a disk-backed /tmp (a
# container's overlay filesystem) that can block a worker. Memory is safe.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - a directory, not a file

# Logs are a stream for the process supervisor: access log on stdout, errors on stderr.
# %(M)s is the request time in ms; behind a load balancer %(h)s is the balancer, so the
# client address the balancer reports comes next. Request lines can hold a password
# reset link (/mot-de-passe/<token>, valid for an hour): keep access logs private.
accesslog = _env("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = _env("GUNICORN_LOG_LEVEL", "info")
access_log_format = (
    '%(h)s %({x-forwarded-for}i)s %(l)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s"'
)

# Addresses of the load balancers trusted to say a request came over HTTPS
# (X-Forwarded-Proto): comma-separated IPs or networks, "*" only when nothing else can
# reach the port. Then Flask sees https, secure cookies and CSRF's referrer check work.
forwarded_allow_ips = _env("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# gunicorn's runtime control socket defaults to one path per user ($HOME/.gunicorn), which
# several instances on one machine (hosts sharing a user, tests, benchmarks) would steal
# from each other. Off unless a path is given.
control_socket = _env("GUNICORN_CONTROL_SOCKET", "gunicorn.ctl")
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET", "").strip()


def on_starting(server: object) -> None:
    """Refuse unsafe settings once, in the master, before binding or forking anything.

    Without this each worker would fail to boot with a traceback. ConfigError is a
    RuntimeError, which gunicorn prints as one line ("Error: ...") before exiting with 1.
    """
    from config import load_config

    load_config()
