"""Compilation: one shared machine per version, only declared triggers, thread safety."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import datetime

from engine import (
    ActionRegistry,
    Actor,
    Definition,
    Engine,
    FixedClock,
    MemoryStore,
    compile_definition,
    machine_spec,
)
from engine.compiler import WorkflowCache
from engine.run import Run

SIZES = """
key: sizes
title: Tailles
start: anyone
initial: ask
steps:
  ask:
    title: Question
    fields:
      - {name: n, type: integer, label: Nombre}
    next:
      - {to: big, when: n > 10}
      - {to: small}
  big: {final: true, title: Grand}
  small: {final: true, title: Petit}
"""


def test_machine_has_only_declared_triggers(demo: Definition, registry: ActionRegistry) -> None:
    compiled = compile_definition(demo, registry, version=1)
    assert set(compiled.triggers) == {
        "submit",
        "renvoyer",
        "expirer",
        "complement",
        "relance",
        "back",
    }
    assert not any(t.startswith("to_") for t in compiled.triggers)
    assert compiled.machine.models == []


def test_plain_spec_has_the_transitions_shape(demo: Definition) -> None:
    spec = machine_spec(demo)
    assert spec["initial"] == "identite"
    assert spec["auto_transitions"] is False
    assert {
        "trigger": "renvoyer",
        "source": "code",
        "dest": "code",
        "conditions": ["renvois < settings.max_resends"],
        "before": ["send_code", "increment"],
    } in spec["transitions"]
    assert {
        "trigger": "back",
        "source": "signature",
        "dest": "mot_de_passe",
        "conditions": ["previous == 'mot_de_passe'"],
    } in spec["transitions"]


def test_model_offers_trigger_and_may_methods(demo: Definition, registry: ActionRegistry) -> None:
    compiled = compile_definition(demo, registry, version=1)
    run = Run(
        data={"renvois": 2},
        settings=demo.settings,
        clock=FixedClock(datetime(2025, 3, 1)),
        secret=frozenset(),
        step="code",
    )
    model = compiled.model("code", run)
    assert model.may_renvoyer() is False  # settings.max_resends is 2
    assert model.may_expirer() is True
    assert model.may_trigger("complement") is False  # declared, but not from this step
    assert model.may_trigger("no_such_event") is False
    assert run.explanations[0]["values"] == {"renvois": 2, "settings.max_resends": 2}


def test_cache_compiles_each_version_once(
    publish: Callable[[str], Definition], store: MemoryStore, registry: ActionRegistry
) -> None:
    publish(SIZES)
    calls: list[tuple[str, int | None]] = []
    original = store.load_definition

    def counting(key: str, version: int | None = None) -> tuple[int, Definition]:
        calls.append((key, version))
        return original(key, version)

    store.load_definition = counting  # type: ignore[method-assign]
    engine = Engine(store, registry)
    first = engine.start("sizes", applicant=Actor.parent("p1"))
    for n in range(20):
        instance = engine.start("sizes", applicant=Actor.parent("p1"))
        engine.submit(instance, {"n": n}, Actor.parent("p1"))
    assert len(engine.cache) == 1
    assert engine.compiled("sizes", 1) is engine.compiled("sizes", first.version)
    # start asks the store for the latest version; submit on a pinned version never does.
    assert all(version is None for _, version in calls)
    assert engine.compiled("sizes", 1).machine.models == []


def test_new_version_gets_its_own_machine_and_old_instances_keep_theirs(
    publish: Callable[[str], Definition], engine: Engine
) -> None:
    publish(SIZES)
    old = engine.start("sizes", applicant=Actor.parent("p1"))
    publish(SIZES.replace("when: n > 10", "when: n > 100"))
    new = engine.start("sizes", applicant=Actor.parent("p1"))
    assert (old.version, new.version) == (1, 2)
    assert engine.submit(old, {"n": 50}, Actor.parent("p1")).to_step == "big"
    assert engine.submit(new, {"n": 50}, Actor.parent("p1")).to_step == "small"
    assert engine.compiled("sizes", 1) is not engine.compiled("sizes", 2)


def test_cache_compiles_once_under_concurrency(
    publish: Callable[[str], Definition], registry: ActionRegistry
) -> None:
    definition = publish(SIZES)
    cache = WorkflowCache(registry)
    results = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        results.append(cache.get_or_compile(1, definition))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(r) for r in results}) == 1


def test_shared_machine_is_thread_safe(
    publish: Callable[[str], Definition], engine: Engine
) -> None:
    publish(SIZES)
    errors: list[str] = []
    barrier = threading.Barrier(8)

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        barrier.wait()
        for _ in range(50):
            n = rng.randint(0, 20)
            instance = engine.start("sizes", applicant=Actor.parent(f"p{seed}"))
            outcome = engine.submit(instance, {"n": n}, Actor.parent(f"p{seed}"))
            expected = "big" if n > 10 else "small"
            if outcome.to_step != expected or outcome.instance.data["n"] != n:
                errors.append(f"{n} went to {outcome.to_step}")

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
