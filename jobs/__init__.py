"""Background work: queued during a transaction, released only once it commits.

`enqueue()` is the one way to start a job. On rollback the job is dropped; on commit it
goes to rq (when REDIS_URL is set) or runs inline in a fresh app context.
"""

from jobs.queue import enqueue, init_app, rq_queue, rq_queue_names

__all__ = ["enqueue", "init_app", "rq_queue", "rq_queue_names"]
