"""Jobs wait for the commit: emails leave only when the request's transaction succeeded."""

from __future__ import annotations

import pytest
from rq import SimpleWorker
from rq.registry import ScheduledJobRegistry

from extensions import db
from jobs import rq_queue
from jobs.runner import use_app
from models import DeliveryStatus, OutboxMessage
from services.mail import send_email


def _add_test_routes(app):
    @app.post("/test/send")
    def send_and_succeed():
        send_email(
            "parent@example.org",
            "Votre demande",
            "password_reset",
            account=_Who(),
            link="L",
            minutes=60,
        )
        return "ok"

    @app.post("/test/send-then-fail")
    def send_then_crash():
        send_email(
            "parent@example.org",
            "Votre demande",
            "password_reset",
            account=_Who(),
            link="L",
            minutes=60,
        )
        raise RuntimeError("the database rejected something after the email was queued")


class _Who:
    name = "Hélène Robin"


def _outbox():
    return db.session.scalars(db.select(OutboxMessage)).all()


def test_committed_request_delivers_text_and_html_through_smtp(smtp_app, smtp_server):
    smtp_app.config["WTF_CSRF_ENABLED"] = False
    _add_test_routes(smtp_app)
    assert smtp_app.test_client().post("/test/send").status_code == 200
    [received] = smtp_server.messages
    assert received["To"] == "parent@example.org"
    assert received["Subject"] == "Votre demande"
    assert "Hélène Robin" in received.get_body(("plain",)).get_content()
    assert "<a href=" in received.get_body(("html",)).get_content()
    [row] = _outbox()
    assert row.status == DeliveryStatus.SENT
    assert row.sent_at is not None


def test_rolled_back_request_sends_nothing(smtp_app, smtp_server):
    smtp_app.config["WTF_CSRF_ENABLED"] = False
    _add_test_routes(smtp_app)
    assert smtp_app.test_client().post("/test/send-then-fail").status_code == 500
    assert smtp_server.messages == []
    assert _outbox() == []


def test_jobs_of_a_rolled_back_transaction_never_run_later(smtp_app, smtp_server):
    send_email("a@example.org", "Premier", "password_reset", account=_Who(), link="L", minutes=60)
    db.session.rollback()
    send_email("b@example.org", "Second", "password_reset", account=_Who(), link="L", minutes=60)
    db.session.commit()
    assert [m["To"] for m in smtp_server.messages] == ["b@example.org"]


def test_smtp_failure_is_recorded_on_the_outbox_row(make_app):
    app = make_app(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=1)
    with app.app_context():
        send_email("a@example.org", "Sujet", "password_reset", account=_Who(), link="L", minutes=60)
        db.session.commit()
        [row] = _outbox()
        assert row.status == DeliveryStatus.FAILED
        assert "ConnectionRefusedError" in row.error


@pytest.fixture
def rq_app(make_app, redis_url, queue_prefix):
    app = make_app(REDIS_URL=redis_url, JOBS_INLINE=False, RQ_QUEUE_PREFIX=queue_prefix)
    with app.app_context():
        yield app
        for name in app.config["RQ_QUEUES"]:
            queue = rq_queue(app, name)
            queue.empty()
            queue.delete(delete_jobs=True)


def test_with_redis_the_job_reaches_rq_only_after_commit(rq_app):
    queue = rq_queue(rq_app, "high")
    send_email("a@example.org", "Sujet", "password_reset", account=_Who(), link="L", minutes=60)
    db.session.flush()
    assert queue.count == 0  # still inside the transaction
    db.session.commit()
    assert queue.count == 1
    [row] = _outbox()
    assert row.status == DeliveryStatus.QUEUED

    use_app(rq_app)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    db.session.expire_all()
    assert _outbox()[0].status == DeliveryStatus.STORED


def test_with_redis_a_failed_delivery_is_retried_later(rq_app):
    rq_app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=1)
    rq_app.extensions["mail"].server = "127.0.0.1"
    rq_app.extensions["mail"].port = 1
    queue = rq_queue(rq_app, "high")
    send_email("a@example.org", "Sujet", "password_reset", account=_Who(), link="L", minutes=60)
    db.session.commit()
    use_app(rq_app)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    db.session.expire_all()
    [row] = _outbox()
    assert row.status == DeliveryStatus.FAILED
    assert row.attempts == 1
    scheduled = ScheduledJobRegistry(queue=queue)
    assert len(scheduled.get_job_ids()) == 1  # back-off before the next try


def test_outbox_list_json_prints_what_was_sent(app, runner):
    send_email(
        "a@example.org", "Sujet du message", "password_reset", account=_Who(), link="L", minutes=60
    )
    db.session.commit()
    result = runner.invoke(args=["outbox", "list", "--json"])
    assert result.exit_code == 0
    import json

    [message] = json.loads(result.output)
    assert {"channel", "to", "subject", "body", "created_at"} <= message.keys()
    assert message["channel"] == "email"
    assert message["to"] == "a@example.org"
    assert "Hélène Robin" in message["body"]


def test_redis_down_after_commit_keeps_the_answer_and_requeue_recovers(make_app, runner=None):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    with app.app_context():
        send_email("a@example.org", "Sujet", "password_reset", account=_Who(), link="L", minutes=60)
        db.session.commit()  # Redis refuses the job: logged, not raised
        [row] = _outbox()
        assert row.status == DeliveryStatus.QUEUED
    inline = make_app()
    with inline.app_context():
        result = inline.test_cli_runner().invoke(args=["outbox", "requeue", "--minutes", "0"])
        assert "1 message(s) queued again." in result.output
        db.session.expire_all()
        assert _outbox()[0].status == DeliveryStatus.STORED


def test_timer_jobs_are_scheduled_in_rq_for_their_due_time(rq_app):
    from datetime import timedelta

    from rq.registry import ScheduledJobRegistry

    from jobs import enqueue
    from models.base import utcnow

    due = utcnow() + timedelta(minutes=10)
    enqueue("jobs.workflows.fire_timer", 42, at=due)
    db.session.commit()
    queue = rq_queue(rq_app, "default")
    assert queue.count == 0
    registry = ScheduledJobRegistry(queue=queue)
    [job_id] = registry.get_job_ids()
    assert abs((registry.get_scheduled_time(job_id) - due).total_seconds()) < 1
