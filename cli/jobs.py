"""`flask jobs …`: run rq workers and see failed jobs."""

from __future__ import annotations

import click
from flask import current_app
from rq import Worker
from rq.registry import FailedJobRegistry

from jobs import rq_queue, rq_queue_names
from jobs.runner import use_app

cli = click.Group("jobs", help="Background jobs (rq).")


def _redis():  # type: ignore[no-untyped-def]
    redis = current_app.extensions.get("guichet_redis")
    if redis is None:
        raise click.ClickException("REDIS_URL is not set: jobs run inline, there is no worker.")
    return redis


@cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--with-scheduler", is_flag=True, help="Also run rq's scheduler (timers).")
def worker(burst: bool, with_scheduler: bool) -> None:
    """Work the Guichet queues (high, default, low) until stopped."""
    redis = _redis()
    use_app(current_app._get_current_object())
    Worker(rq_queue_names(current_app), connection=redis).work(
        burst=burst, with_scheduler=with_scheduler
    )


@cli.command("failed")
def failed() -> None:
    """List jobs that failed after their retries, with their error."""
    _redis()
    for name in current_app.config["RQ_QUEUES"]:
        queue = rq_queue(current_app, name)
        registry = FailedJobRegistry(queue=queue)
        for job_id in registry.get_job_ids():
            job = queue.fetch_job(job_id)
            if job is None:
                continue
            last_line = (
                (job.latest_result().exc_string or "").strip().splitlines()[-1:]
                if job.latest_result()
                else []
            )
            click.echo(f"{queue.name}  {job.id}  {job.description}  {' '.join(last_line)}")
