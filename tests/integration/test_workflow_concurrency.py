"""Two submissions of the same step at the same moment: exactly one wins."""

from __future__ import annotations

import threading

from engine import Actor, ConflictError
from extensions import db
from models import Channel, OutboxMessage, WorkflowInstance
from services import workflows
from services.workflow_versions import sync_files

IDENTITY = {"nom": "Robin", "prenom": "Hélène", "portable": "+33639980110",
            "courriel": "famille.robin@example.org"}  # fmt: skip


def test_exactly_one_of_two_concurrent_submissions_wins(app, make_school):
    school = make_school()
    sync_files()
    actor = Actor("anon:twice", frozenset())
    public_id = workflows.start("demo", actor, school).public_id
    db.session.commit()

    both_loaded = threading.Barrier(2, timeout=10)
    results: list[str] = []

    def submit_in_its_own_request() -> None:
        with app.app_context():
            row = workflows.get_instance(public_id)
            both_loaded.wait()  # both requests read revision 1 before either saves
            try:
                workflows.submit(row, IDENTITY, actor)
                db.session.commit()
                results.append("won")
            except ConflictError:
                db.session.rollback()
                results.append("conflict")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=submit_in_its_own_request) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert sorted(results) == ["conflict", "won"]
    db.session.expire_all()
    row = db.session.scalars(db.select(WorkflowInstance)).one()
    assert (row.step, row.revision) == ("code", 2)
    # The loser's SMS was rolled back with it: one code sent, not two.
    assert db.session.query(OutboxMessage).filter_by(channel=Channel.SMS).count() == 1
