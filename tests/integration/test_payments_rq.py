"""Payments with Redis: the bank's notification and the re-checks go through rq workers."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from payment_support import ACCEPTED, LOST_NOTIFICATION, Payer, emails, payments
from rq import SimpleWorker
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from support import csrf_token

from extensions import db
from jobs import rq_queue
from jobs.runner import use_app
from models import PaymentStatus
from services.payments.checkout import CHECK_DELAYS, EXPIRE_AFTER


@pytest.fixture
def rq_client(make_app, redis_url, queue_prefix, family):
    app = make_app(REDIS_URL=redis_url, JOBS_INLINE=False, RQ_QUEUE_PREFIX=queue_prefix)
    with app.app_context():
        yield app.test_client()
        for name in app.config["RQ_QUEUES"]:
            queue = rq_queue(app, name)
            scheduled = ScheduledJobRegistry(queue=queue)
            for job_id in scheduled.get_job_ids():
                scheduled.remove(job_id, delete_job=True)
            queue.empty()
            queue.delete(delete_jobs=True)


def choose_card(client, family, card: str) -> None:
    payer = Payer(client, "l.legall")
    _, bank_path = payer.to_bank(family["payable"], "30,00")
    token = csrf_token(client, bank_path)
    answer = client.post(bank_path, data={"csrf_token": token, "carte": card})
    assert urlsplit(answer.headers["Location"]).path.endswith("/retour")  # not followed


def work(app, name: str) -> None:
    queue = rq_queue(app, name)
    use_app(app)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def test_the_notification_is_handled_by_a_worker(rq_client, family):
    app = rq_client.application
    choose_card(rq_client, family, ACCEPTED)
    assert payments()[0].status is PaymentStatus.PENDING  # nothing ran in the request
    work(app, "high")  # the bank's notification, then the ticket email
    payment = payments()[0]
    assert payment.status is PaymentStatus.PAID and payment.ticket_number
    [ticket] = emails("linh.nguyen@example.org")
    assert ticket.attachments[0].filename.endswith(".pdf")


def test_lost_notifications_are_checked_later_by_scheduled_jobs(rq_client, family):
    app = rq_client.application
    choose_card(rq_client, family, LOST_NOTIFICATION)
    assert rq_queue(app, "high").count == 0  # the bank sent nothing
    registry = ScheduledJobRegistry(queue=rq_queue(app, "default"))
    payment = payments()[0]
    jobs = sorted(registry.get_job_ids(), key=registry.get_scheduled_time)
    # Three checks from the opening of the operation, one from the reservation in case
    # the parent never reached the bank (both moments are the same second here).
    wanted = sorted([*CHECK_DELAYS, EXPIRE_AFTER + timedelta(minutes=1)])
    offsets = [registry.get_scheduled_time(i) - payment.opened_at for i in jobs]
    assert all(abs((o - w).total_seconds()) < 2 for o, w in zip(offsets, wanted, strict=True))
    # Run the first check now, as rq's scheduler would two minutes later.
    first = Job.fetch(jobs[0], connection=rq_queue(app).connection)
    assert first.args[0] == "jobs.payments.check_payment"
    rq_queue(app, "default").enqueue_job(first)
    work(app, "default")
    db.session.expire_all()
    assert payments()[0].status is PaymentStatus.PAID
