"""What one workflow step costs, in process, from a bare state machine to a BPMN engine.

Four ways of advancing the same 10-step linear workflow (bench/workflows/linear10.*)
by one step, measured side by side in one run, in microseconds per step:

1. a raw `transitions` trigger on a machine built once (a guard, a `before` callback
   that does nothing): the floor any engine built on `transitions` pays;
2. Guichet's engine on a MemoryStore: the submitted values checked, the step's guard
   and no-op action, the save with its optimistic lock, the audit record;
3. the same through the app's SqlStore on a real database (bench/engine_db.py): load
   the row by public id, submit, commit, as a request does; on SQLite and PostgreSQL,
   with 1,000 then 100,000 instances in the table, to show the cost stays flat;
4. SpiffWorkflow, what one would pick instead: complete the ready user task of a
   10-task BPMN process and serialise the workflow to JSON, as an app that keeps
   workflows in its database does after every task.

Goals: (2) within 3x of (1); (2) at least 20x cheaper than (4); (3) as costly with
100,000 instances as with 1,000.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from itertools import pairwise
from time import perf_counter
from typing import TYPE_CHECKING

from bench import ROOT
from bench.registry import Options, Row, benchmark, compare
from bench.steptiming import Stepper, measure, timing_row

if TYPE_CHECKING:  # the engine is imported when a benchmark runs, not for --list
    from engine import ActionContext, ActionRegistry

WORKFLOWS = ROOT / "bench" / "workflows"
LINEAR10_YAML = WORKFLOWS / "linear10.yaml"
LINEAR10_BPMN = WORKFLOWS / "linear10.bpmn"
KEY = "bench_linear10"
STEPS = 10  # transitions from the initial step to the final one
STATES = [f"e{i:02d}" for i in range(1, STEPS + 1)] + ["fin"]

GOAL_VS_TRANSITIONS = 1 / 3  # (2) within 3x of (1): at least a third of its throughput
GOAL_VS_SPIFF = 20.0  # (2) at least 20x cheaper than (4)
GOAL_FLAT = 0.8  # a step with 100,000 instances costs at most 1.25x a step with 1,000


def noop(ctx: ActionContext) -> None:
    """The benchmark's action: does nothing, so what is measured is the engine."""


def register_noop(registry: ActionRegistry) -> None:
    """Add `noop` to an action registry (once)."""
    if "noop" not in registry:
        registry.action("noop")(noop)


@cache
def bench_registry() -> ActionRegistry:
    """The engine's built-in actions plus `noop`."""
    from engine import ActionRegistry

    registry = ActionRegistry()
    register_noop(registry)
    return registry


# -- (1) raw transitions -----------------------------------------------------------------


class RawInstance:
    """The model a plain `transitions` user would write: state, a value, a guard, a hook."""

    def __init__(self) -> None:
        self.n = 1

    def guard(self) -> bool:
        return self.n >= 0

    def action(self) -> None:
        """Does nothing, like the engine benchmark's `noop`."""


def raw_transitions() -> Stepper:
    from transitions import Machine

    model = RawInstance()
    # Built once and kept, as Guichet keeps its compiled machines.
    Machine(
        model=model,
        states=STATES,
        initial=STATES[0],
        transitions=[
            {"trigger": "submit", "source": a, "dest": b, "conditions": "guard", "before": "action"}
            for a, b in pairwise(STATES)
        ],
        auto_transitions=False,
    )

    def run(laps: int) -> float:
        submit = model.submit  # type: ignore[attr-defined]
        started = perf_counter()
        for _ in range(laps):
            for _ in range(STEPS):
                if not submit():
                    raise RuntimeError("the raw machine did not move")
            model.state = STATES[0]  # type: ignore[attr-defined]  # next lap, a new instance
        return perf_counter() - started

    return run


# -- (2) Guichet's engine in memory ------------------------------------------------------------


def guichet_memory() -> Stepper:
    from engine import Actor, Engine, MemoryStore, Status, SystemClock, WorkflowCache, load_file

    registry = bench_registry()
    definition = load_file(str(LINEAR10_YAML), registry)
    cache_ = WorkflowCache(registry)  # shared by every round, as in a worker process
    clock = SystemClock()
    actor = Actor.parent("account:1")
    values = {"n": 1}

    def run(laps: int) -> float:
        store = MemoryStore()
        store.publish(definition)
        engine = Engine(store, registry, clock, cache=cache_)
        instances = [engine.start(KEY, applicant=actor) for _ in range(laps)]
        started = perf_counter()
        for instance in instances:
            for _ in range(STEPS):
                outcome = engine.submit(instance, values, actor)
                if not outcome.moved:
                    raise RuntimeError(f"the engine did not move: {outcome.blocked}")
                instance = outcome.instance
        elapsed = perf_counter() - started
        if instance.status is not Status.COMPLETED or len(store.audit) != laps * (STEPS + 1):
            raise RuntimeError("the in-memory instances did not complete")
        return elapsed

    return run


# -- (4) SpiffWorkflow ---------------------------------------------------------------------------


def _spiff_spec():  # type: ignore[no-untyped-def]
    from SpiffWorkflow.bpmn.parser import BpmnParser, BpmnValidator

    parser = BpmnParser(validator=BpmnValidator())
    parser.add_bpmn_file(str(LINEAR10_BPMN))
    return parser.get_spec(KEY), parser.get_subprocess_specs(KEY)


def spiff(*, load_first: bool = False) -> Stepper:
    """Complete one ready user task and serialise; with load_first, deserialise before."""
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.util.task import TaskState

    spec, subprocess_specs = _spiff_spec()  # parsed once, as an app keeps its specs
    serializer = BpmnWorkflowSerializer()

    def step(workflow: BpmnWorkflow) -> str:
        task = workflow.get_next_task(state=TaskState.READY, manual=True)
        if task is None:
            raise RuntimeError("SpiffWorkflow has no ready task")
        task.data["n"] = 1  # the submitted value
        task.run()
        workflow.do_engine_steps()  # past the next flow (to the next task or the end)
        return serializer.serialize_json(workflow)

    def run(laps: int) -> float:
        workflows = []
        for _ in range(laps):
            workflow = BpmnWorkflow(spec, subprocess_specs)
            workflow.do_engine_steps()  # the start event: the first task is now ready
            workflows.append((workflow, serializer.serialize_json(workflow)))
        started = perf_counter()
        for workflow, saved in workflows:
            for _ in range(STEPS):
                if load_first:
                    workflow = serializer.deserialize_json(saved)
                saved = step(workflow)
        elapsed = perf_counter() - started
        if not workflow.is_completed():
            raise RuntimeError("the SpiffWorkflow process did not complete")
        return elapsed

    return run


# -- the benchmark -------------------------------------------------------------------------------


@contextmanager
def quiet_logs() -> Iterator[None]:
    """No INFO lines in process (the engine logs one per step; alembic's upgrade talks)."""
    previous = logging.root.manager.disable
    logging.disable(logging.INFO)
    try:
        yield
    finally:
        logging.disable(previous)


@benchmark("engine", "cost of one workflow step: transitions, Guichet (memory, SQL), Spiff")
def engine(options: Options) -> list[Row]:
    from importlib.metadata import version

    from bench import engine_db

    with quiet_logs():
        raw = measure(raw_transitions(), STEPS)
        print(f"  (1) transitions {version('transitions')}: {raw.us:.1f} µs/step", flush=True)
        memory = measure(guichet_memory(), STEPS)
        print(f"  (2) Guichet engine, MemoryStore: {memory.us:.1f} µs/step", flush=True)
        spiffed = measure(spiff(), STEPS)
        loaded = measure(spiff(load_first=True), STEPS)
        print(
            f"  (4) SpiffWorkflow {version('spiffworkflow')}: {spiffed.us:,.0f} µs/step "
            f"({loaded.us:,.0f} when it is loaded from JSON first)",
            flush=True,
        )
        database_rows = engine_db.measure_all(options)

    raw_row = timing_row("engine", "(1) transitions trigger", raw)
    memory_row = timing_row("engine", "(2) Guichet engine, in memory", memory)
    rows = compare([raw_row, memory_row], baseline=raw_row, goal=GOAL_VS_TRANSITIONS)

    spiff_row = timing_row("engine/spiff", "(4) Spiff: complete 1 task + JSON", spiffed)
    loaded_row = timing_row("engine/spiff", "(4) same, loaded from JSON first", loaded)
    versus = timing_row("engine/spiff", "(2) Guichet engine, in memory", memory)
    rows += compare([spiff_row, loaded_row, versus], baseline=spiff_row)
    loaded_row.ratio = loaded_row.goal = None  # for information: a Spiff request in full
    versus.goal = GOAL_VS_SPIFF
    return rows + database_rows
