"""Hold jobs until the surrounding transaction commits, then hand them to rq or run them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from sqlalchemy.orm import Session, SessionTransaction

from extensions import db

log = logging.getLogger(__name__)

PENDING = "guichet_pending_jobs"
READY = "guichet_ready_jobs"
# Delivery problems (an SMTP hiccup) usually clear within minutes: back off, then give up
# and leave the job in rq's failed registry where `flask jobs failed` shows it.
RETRY_INTERVALS = [10, 60, 300]


@dataclass(frozen=True, slots=True)
class PendingJob:
    """A job waiting for the commit of the transaction that asked for it."""

    func: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    queue: str = "default"
    at: datetime | None = None


def enqueue(
    func: Callable[..., Any] | str,
    *args: Any,
    queue: str = "default",
    at: datetime | None = None,
    **kwargs: Any,
) -> None:
    """Queue a job to run after the current transaction commits (with `at`: not before then).

    Without Redis a delayed job is not run here: its owner keeps a row that a periodic
    sweep (`flask workflows tick`) picks up.
    """
    path = func if isinstance(func, str) else f"{func.__module__}.{func.__qualname__}"
    if queue not in current_app.config["RQ_QUEUES"]:
        raise ValueError(f"unknown queue {queue!r}")
    session = db.session()
    session.info.setdefault(PENDING, []).append(PendingJob(path, args, kwargs, queue, at))


def rq_queue_names(app: Flask) -> list[str]:
    """Return the rq queue names for this deployment, most urgent first."""
    prefix = app.config["RQ_QUEUE_PREFIX"]
    return [f"{prefix}-{name}" for name in app.config["RQ_QUEUES"]]


def rq_queue(app: Flask, name: str = "default") -> Queue:
    """Return the rq queue of that name, on the configured Redis."""
    redis = app.extensions["guichet_redis"]
    return Queue(f"{app.config['RQ_QUEUE_PREFIX']}-{name}", connection=redis)


def init_app(app: Flask) -> None:
    """Connect to Redis when configured; release held jobs on commit, drop them on rollback."""
    if app.config.get("REDIS_URL"):
        app.extensions["guichet_redis"] = Redis.from_url(app.config["REDIS_URL"])
    else:
        app.extensions["guichet_redis"] = None
    if not getattr(init_app, "_listening", False):
        sa.event.listen(Session, "after_commit", _after_commit)
        sa.event.listen(Session, "after_soft_rollback", _after_soft_rollback)
        sa.event.listen(Session, "after_transaction_end", _after_transaction_end)
        init_app._listening = True  # type: ignore[attr-defined]


def _after_commit(session: Session) -> None:
    pending = session.info.pop(PENDING, [])
    if pending:
        session.info.setdefault(READY, []).extend(pending)


def _after_soft_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None:
        dropped = session.info.pop(PENDING, [])
        if dropped:
            log.info("dropped %d job(s) of a rolled-back transaction", len(dropped))


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    # Released here rather than in after_commit: the connection is back in the pool, so an
    # inline job may use the database freely.
    if transaction.parent is not None or transaction.nested:
        return
    ready = session.info.pop(READY, [])
    if ready:
        _release(current_app._get_current_object(), ready)


def _release(app: Flask, jobs: list[PendingJob]) -> None:
    redis = app.extensions.get("guichet_redis")
    for job in jobs:
        if redis is not None:
            try:
                _to_rq(app, job)
            except RedisError:
                # The data is committed already: answering 500 would lie to the visitor.
                # The job's owner row stays queued; `flask outbox requeue` picks it up.
                log.exception("could not hand job %s to Redis", job.func)
        elif job.at is not None:
            continue
        else:
            from jobs.runner import run_inline

            run_inline(app, job)


def _to_rq(app: Flask, job: PendingJob) -> None:
    queue = rq_queue(app, job.queue)
    options = {
        "retry": Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
        "description": job.func,
    }
    args = (job.func, list(job.args), job.kwargs)
    if job.at is not None:
        queue.enqueue_at(job.at, "jobs.runner.run_job", *args, **options)
    else:
        queue.enqueue_call("jobs.runner.run_job", args=args, **options)
