"""Run a job inside an app context, with one commit at the end, in a worker or inline."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from flask import Flask
from werkzeug.utils import import_string

from extensions import db

if TYPE_CHECKING:
    from jobs.queue import PendingJob

log = logging.getLogger(__name__)

_worker_app: Flask | None = None
_pool_pid: int | None = None


def use_app(app: Flask) -> None:
    """Make rq workers started from `flask jobs worker` reuse the app already built."""
    global _worker_app, _pool_pid
    _worker_app = app
    _pool_pid = os.getpid()


def _app_for_this_process() -> Flask:
    global _worker_app, _pool_pid
    if _worker_app is None:
        from app import create_app

        _worker_app = create_app()
        _pool_pid = os.getpid()
    if _pool_pid != os.getpid():
        # rq forks a work horse per job: connections inherited from the parent must not be
        # shared, so each process starts with a pool of its own.
        with _worker_app.app_context():
            db.engine.dispose(close=False)
        _pool_pid = os.getpid()
    return _worker_app


def _execute(func_path: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    func = import_string(func_path)
    try:
        result = func(*args, **kwargs)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return result


def run_job(func_path: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """Run one queued job in an rq worker (the entry point every enqueued job goes through)."""
    app = _app_for_this_process()
    with app.app_context():
        log.info("job %s starting", func_path)
        return _execute(func_path, args, kwargs)


def run_inline(app: Flask, job: PendingJob) -> None:
    """Run a job right after the commit that released it (no Redis configured)."""
    with app.app_context():
        try:
            _execute(job.func, list(job.args), job.kwargs)
        except Exception:
            # The request that queued it has committed already: log and carry on, as a
            # failed rq job would not break the request either.
            log.exception("inline job %s failed", job.func)
