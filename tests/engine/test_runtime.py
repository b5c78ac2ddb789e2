"""Runtime: walking the demo workflow, guards, events, back, timers, locking, secrets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from datetime import date, timedelta
from typing import Any

import pytest

from engine import (
    MASK,
    SYSTEM,
    ActionError,
    ActionRegistry,
    Actor,
    ConflictError,
    Definition,
    Engine,
    FixedClock,
    Instance,
    InvalidTriggerError,
    MemoryStore,
    NotAllowedError,
    Status,
    SubmissionError,
)

PARENT = Actor.parent(None)  # activation: the visitor has no account yet
ACCOUNTANT = Actor.staff("agent-1", "accountant")
IDENTITY = {"nom": "Martin", "prenom": "Anne", "portable": "+33612345678", "courriel": "a@b.fr"}
DEMAND = {
    "motif": "cantine",
    "versement": "virement",
    "pieces": ["caf"],
    "montant": 12000,
    "personnes": 4,
    "situation": "",
    "justificatif": None,
    "consentement": True,
}
CODE = "123456"


@pytest.fixture(autouse=True)
def fixed_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("engine.demo.secrets.randbelow", lambda _: int(CODE))


@pytest.fixture
def started(engine: Engine, store: MemoryStore, demo: Definition) -> Instance:
    store.publish(demo)
    return engine.start("demo", applicant=PARENT)


def at_code(engine: Engine, started: Instance) -> Instance:
    return engine.submit(started, IDENTITY, PARENT).instance


def at_demande(engine: Engine, started: Instance) -> Instance:
    instance = engine.submit(at_code(engine, started), {"code": CODE}, PARENT).instance
    dates = {"naissances": ["2011-03-14", "2013-11-02"]}
    return engine.submit(instance, dates, PARENT).instance


def at_instruction(engine: Engine, started: Instance) -> Instance:
    instance = engine.submit(at_demande(engine, started), DEMAND, PARENT).instance
    instance = engine.submit(instance, {"nouveau_mot_de_passe": "Correct-horse-9"}, PARENT).instance
    return engine.submit(instance, {"mot_de_passe": "Correct-horse-9"}, PARENT).instance


def test_walk_the_demo_to_a_granted_request(
    engine: Engine, store: MemoryStore, started: Instance
) -> None:
    assert (started.step, started.status, started.revision) == ("identite", Status.ACTIVE, 1)
    instance = at_instruction(engine, started)
    assert instance.step == "instruction"
    assert instance.assignee == "role:accountant"
    assert instance.history == [
        "identite",
        "code",
        "enfants",
        "demande",
        "mot_de_passe",
        "signature",
    ]
    with pytest.raises(NotAllowedError):
        engine.submit(instance, {"decision": "accord", "montant_accorde": 9000}, PARENT)
    outcome = engine.submit(instance, {"decision": "accord", "montant_accorde": 9000}, ACCOUNTANT)
    assert (outcome.moved, outcome.to_step) == (True, "accordee")
    assert outcome.instance.status is Status.COMPLETED
    assert outcome.instance.assignee is None
    view = engine.current_step(outcome.instance)
    assert view.final and view.message == "Une aide de 90,00\u00a0€ vous est accordée."
    with pytest.raises(InvalidTriggerError, match="completed"):
        engine.submit(outcome.instance, {}, ACCOUNTANT)
    triggers = [(r.trigger, r.from_step, r.to_step, r.outcome) for r in store.audit]
    assert triggers[0] == ("start", None, "identite", "started")
    assert triggers[-1] == ("submit", "instruction", "accordee", "moved")
    assert store.audit[-1].actor == "agent-1"


def test_secret_fields_are_never_stored_and_audit_is_masked(
    engine: Engine, store: MemoryStore, started: Instance
) -> None:
    instance = at_instruction(engine, started)
    for secret_field in ("code", "nouveau_mot_de_passe", "mot_de_passe"):
        assert secret_field not in instance.data
    assert len(instance.data["password_hash"]) == 64  # kept, but only as a hash
    audited = [r.changes for r in store.audit if r.changes]
    hashes = [c["code_hash"] for c in audited if "code_hash" in c]
    assert hashes == [{"old": None, "new": MASK}]
    assert [c["password_hash"] for c in audited if "password_hash" in c] == [
        {"old": None, "new": MASK}
    ]
    flat = repr([r.changes for r in store.audit])
    assert "Correct-horse-9" not in flat
    assert f"'{CODE}'" not in flat
    assert audited[0]["nom"] == {"old": None, "new": "Martin"}


def test_wrong_code_blocks_with_an_explanation_and_counts(
    engine: Engine, started: Instance
) -> None:
    instance = at_code(engine, started)
    outcome = engine.submit(instance, {"code": "000000"}, PARENT)
    assert not outcome.moved and outcome.to_step == "code"
    assert outcome.message == "Le code est incorrect ou a expiré."
    assert outcome.blocked[0] == {
        "guard": "code_ok and not code_expired",
        "values": {"code_ok": False, "code_expired": False},
        "result": False,
        "to": "enfants",
        "message": "Le code est incorrect ou a expiré.",
    }
    # The failed attempt is saved: a brute-force cannot retry for free.
    assert outcome.instance.data["code_attempts"] == 1
    assert outcome.instance.revision == instance.revision + 1
    assert engine.why_blocked(outcome.instance)[1]["values"] == {
        "code_attempts": 1,
        "settings.max_code_attempts": 3,
    }
    instance = outcome.instance
    for _ in range(2):
        outcome = engine.submit(instance, {"code": "999999"}, PARENT)
        instance = outcome.instance
    assert outcome.to_step == "bloque" and instance.status is Status.COMPLETED


def test_submission_is_checked(engine: Engine, started: Instance) -> None:
    with pytest.raises(SubmissionError) as caught:
        engine.submit(started, {**IDENTITY, "nom": "", "intrus": 1}, PARENT)
    assert caught.value.errors == {
        "intrus": "Ce champ n’existe pas à cette étape.",
        "nom": "Ce champ est obligatoire.",
    }
    instance = engine.submit(at_code(engine, started), {"code": CODE}, PARENT).instance
    with pytest.raises(SubmissionError, match=r"\(2\)"):
        engine.submit(instance, {"naissances": ["2011-03-14"]}, PARENT)
    with pytest.raises(SubmissionError, match="obligatoire"):
        engine.submit(instance, {"naissances": ["2011-03-14", None]}, PARENT)
    outcome = engine.submit(instance, {"naissances": ["2011-03-14", "2013-11-03"]}, PARENT)
    assert not outcome.moved
    assert outcome.instance.data["naissances"] == ["2011-03-14", "2013-11-03"]


def test_repeated_field_view_is_rendered_per_item(engine: Engine, started: Instance) -> None:
    instance = engine.submit(at_code(engine, started), {"code": CODE}, PARENT).instance
    (field,) = engine.current_step(instance).fields
    assert [item.label for item in field.items or ()] == [
        "Date de naissance de Léa",
        "Date de naissance de Hugo",
    ]
    assert {item.max for item in field.items or ()} == {date(2025, 3, 1)}
    assert {item.min for item in field.items or ()} == {date(2000, 1, 1)}


def test_step_view_bounds_and_escaping(engine: Engine, started: Instance) -> None:
    instance = at_demande(engine, started)
    view = engine.current_step(instance)
    montant = next(f for f in view.fields if f.name == "montant")
    assert (montant.min, montant.max) == (100, 50000)
    assert view.intro.endswith("500,00\u00a0€.")
    assert view.can_go_back
    instance.data["prenom"] = "<script>x</script>"
    instance.data["nom"] = "M"
    instance.data["montant"] = 100
    instance.step = "instruction"
    assert "&lt;script&gt;" in engine.current_step(instance).title


def test_button_events_follow_guards_and_actors(
    engine: Engine, store: MemoryStore, started: Instance
) -> None:
    instance = at_code(engine, started)
    assert [b.event for b in engine.current_step(instance).buttons] == ["renvoyer"]
    store.commit()
    for expected in (1, 2):
        outcome = engine.fire(instance, "renvoyer", actor=PARENT)
        instance = outcome.instance
        assert outcome.moved and instance.data["renvois"] == expected
    assert engine.current_step(instance).buttons == ()
    blocked = engine.fire(instance, "renvoyer", actor=PARENT)
    assert not blocked.moved and blocked.instance is instance
    assert blocked.blocked[0]["values"] == {"renvois": 2, "settings.max_resends": 2}
    with pytest.raises(NotAllowedError, match="system"):
        engine.fire(instance, "expirer", actor=PARENT)
    with pytest.raises(InvalidTriggerError, match="no event"):
        engine.fire(instance, "pay", actor=SYSTEM)


def test_stale_events_are_ignored(engine: Engine, store: MemoryStore, started: Instance) -> None:
    instance = at_demande(engine, started)
    revision = instance.revision
    outcome = engine.fire(instance, "renvoyer", actor=SYSTEM)
    assert outcome.ignored and not outcome.moved
    assert store.get(instance.id or "").revision == revision


def test_timers_are_armed_and_stale_ones_ignored(
    engine: Engine, store: MemoryStore, clock: FixedClock, started: Instance
) -> None:
    instance = at_code(engine, started)
    (timer,) = store.timers
    assert (timer.event, timer.at, timer.moves) == (
        "expirer",
        clock.now() + timedelta(minutes=10),
        1,
    )
    resent = engine.fire(instance, "renvoyer", actor=PARENT).instance  # re-arms the timer
    clock.advance(timedelta(minutes=11))
    due = store.due_timers(clock.now())
    assert [t.moves for t in due] == [1, 2]
    current = store.get(resent.id or "")
    stale = engine.fire_timer(current, due[0].event, moves=due[0].moves)
    assert stale.ignored
    fired = engine.fire_timer(current, due[1].event, moves=due[1].moves)
    assert fired.moved and fired.instance.data["code_expired"] is True
    # The right code no longer opens the door once the timer fired.
    late = engine.submit(fired.instance, {"code": CODE}, PARENT)
    assert not late.moved


def test_back_returns_to_the_previous_step(engine: Engine, started: Instance) -> None:
    instance = at_code(engine, started)
    outcome = engine.back(instance, PARENT)
    assert (outcome.to_step, outcome.instance.history) == ("identite", [])
    assert outcome.instance.data["nom"] == "Martin"  # what was typed is kept for the form
    with pytest.raises(InvalidTriggerError, match="back"):
        engine.back(outcome.instance, PARENT)


def test_staff_can_send_back_to_the_applicant_with_a_button(
    engine: Engine, started: Instance
) -> None:
    instance = at_instruction(engine, started)
    assert [b.event for b in engine.current_step(instance).buttons] == ["complement"]
    with pytest.raises(NotAllowedError):
        engine.fire(instance, "complement", actor=PARENT)
    outcome = engine.fire(instance, "complement", actor=ACCOUNTANT)
    assert outcome.to_step == "complement" and outcome.instance.assignee is None
    back_in_queue = engine.submit(outcome.instance, {"reponse": "Voici mon avis."}, PARENT)
    assert back_in_queue.instance.assignee == "role:accountant"


def test_concurrent_submissions_exactly_one_wins(
    engine: Engine, store: MemoryStore, started: Instance
) -> None:
    instance = at_code(engine, started)
    store.commit()
    first, second = store.get(instance.id or ""), store.get(instance.id or "")
    audits = len(store.audit)
    engine.submit(first, {"code": CODE}, PARENT)
    with pytest.raises(ConflictError):
        engine.fire(second, "renvoyer", actor=PARENT)
    assert len(store.audit) == audits + 1
    assert len(store.pending) == 0  # the loser's SMS was never queued
    assert store.get(instance.id or "").step == "enfants"


def test_side_effects_wait_for_the_commit(
    engine: Engine, store: MemoryStore, started: Instance, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="guichet.engine.demo")
    at_code(engine, started)
    assert "SMS to" not in caplog.text
    assert store.commit() == 1
    assert "SMS to +33612345678: code 123456" in caplog.text


def test_start_rules(engine: Engine, store: MemoryStore, demo: Definition) -> None:
    from dataclasses import replace

    store.publish(replace(demo, start="role:accountant"))
    with pytest.raises(NotAllowedError):
        engine.start("demo", applicant=PARENT)
    assert engine.start("demo", applicant=ACCOUNTANT).applicant == "agent-1"
    store.publish(replace(demo, start="parent"))
    assert engine.start("demo", applicant=PARENT).step == "identite"
    with pytest.raises(NotAllowedError):
        engine.start("demo", applicant=ACCOUNTANT)


def test_applicant_is_bound_to_the_instance(
    engine: Engine, store: MemoryStore, demo: Definition
) -> None:
    store.publish(demo)
    instance = engine.start("demo", applicant=Actor.parent("p-1"))
    with pytest.raises(NotAllowedError):
        engine.submit(instance, IDENTITY, Actor.parent("p-2"))
    assert engine.submit(instance, IDENTITY, Actor.parent("p-1")).moved


def test_cancel(engine: Engine, store: MemoryStore, started: Instance) -> None:
    cancelled = engine.cancel(started, ACCOUNTANT)
    assert cancelled.status is Status.CANCELLED
    assert store.audit[-1].outcome == "cancelled"
    assert engine.current_step(cancelled).buttons == ()


def test_actions_may_only_write_what_they_declare(
    store: MemoryStore, clock: FixedClock, publish: Callable[[str], Definition]
) -> None:
    registry = ActionRegistry()

    @registry.action("sneaky", produces=["allowed"])
    def sneaky(ctx: Any) -> None:
        ctx.set("allowed", 1)
        ctx.set("balance", 0)

    text = """
key: sneak
title: S
start: anyone
initial: a
steps:
  a:
    title: A
    actions: [{action: sneaky}]
    next: [{to: b}]
  b: {final: true, title: B}
"""
    from engine import parse_definition

    store.publish(parse_definition(text, "s.yaml", registry))
    engine = Engine(store, registry, clock)
    instance = engine.start("sneak", applicant=PARENT)
    with pytest.raises(ActionError, match="'balance'"):
        engine.submit(instance, {}, PARENT)
    assert store.get(instance.id or "").step == "a"  # nothing saved
    assert instance.data == {}  # the caller's copy is untouched


def test_a_step_carries_over_what_it_does_not_change(
    engine: Engine, store: MemoryStore, demo: Definition
) -> None:
    store.publish(demo)
    started = engine.start("demo", applicant=Actor.parent("p-1"))
    moved = engine.submit(started, IDENTITY, Actor.parent("p-1")).instance
    assert (moved.key, moved.version, moved.applicant, moved.id) == (
        started.key,
        started.version,
        started.applicant,
        started.id,
    )


def test_every_instance_field_is_handled_by_a_step() -> None:
    # Engine._finish spells out every field of the next instance (for speed): when Instance
    # gains a field, carry it over there, then add it here.
    assert [f.name for f in fields(Instance)] == [
        "key",
        "version",
        "step",
        "data",
        "status",
        "applicant",
        "assignee",
        "revision",
        "history",
        "moves",
        "id",
    ]
