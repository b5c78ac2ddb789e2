"""Scenario tests carried by a definition: given answers and events, expect a path.

A definition may list `scenarios:` (see docs/workflows.md). Each one starts an instance on
a MemoryStore with a FixedClock and plays its entries through the real Engine: the built-in
pure actions run for real, every app action is replaced by a scripted stand-in (same name,
params, produces, secrets and sends) that writes only the `results` the scenario gives and
records the messages it would send. A message counts as sent only once the engine handed
the trigger's effects to the store and the store committed them.

Everything here is a pure function of the YAML text and a registry, so that the CLI, CI
and the admin studio share it: `run_scenarios` never raises on a bad scenario, and
`check_scenarios` reports structural mistakes as validation Problems ("bad-scenario").
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import yaml

from engine.actions import ActionContext, ActionRegistry, ActionSpec
from engine.clock import PARIS, FixedClock
from engine.definition import APPLICANT, Definition, build, parse_duration
from engine.errors import EngineError, SubmissionError
from engine.instance import SYSTEM, Actor, Instance, copy_data
from engine.memory import MemoryStore
from engine.runtime import Engine, Outcome
from engine.templates import render
from engine.yamlsource import PathPart, load, locate

if TYPE_CHECKING:  # engine.validation may import this module from check()
    from engine.validation import Problem

CODE = "bad-scenario"
DEFAULT_MOMENT = datetime(2026, 9, 15, 10, 0, tzinfo=PARIS)
TRIGGERS = ("submit", "event", "back", "wait")
BUILTINS = frozenset(ActionRegistry().names())


@dataclass(frozen=True, slots=True)
class ScenarioFailure:
    """One expectation a scenario missed, where it is written, in French."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(slots=True)
class ScenarioResult:
    """What one scenario did: passed or not, why, and the path and messages observed."""

    name: str
    file: str
    line: int
    passed: bool
    failures: list[ScenarioFailure] = field(default_factory=list)
    path: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    step: str | None = None
    status: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (for `flask workflows test --json` and the studio)."""
        return {
            "name": self.name,
            "file": self.file,
            "line": self.line,
            "passed": self.passed,
            "failures": [
                {"file": f.file, "line": f.line, "message": f.message} for f in self.failures
            ],
            "path": list(self.path),
            "sent": list(self.sent),
            "step": self.step,
            "status": self.status,
        }


# -- static checks ------------------------------------------------------------------


def check_scenarios(source: str, filename: str, registry: ActionRegistry) -> list[Problem]:
    """Return the structural mistakes of the scenarios of a YAML definition (sorted)."""
    try:
        data, root = load(source)
    except yaml.YAMLError:
        return []  # engine.validation.check reports the syntax error
    return scenario_problems(data, root, filename, registry)


def scenario_problems(
    data: Any, root: yaml.Node | None, filename: str, registry: ActionRegistry
) -> list[Problem]:
    """Like check_scenarios, on YAML already loaded (what engine.validation.check holds)."""
    from engine.validation import Problem

    return sorted(
        Problem(filename, line, column, CODE, message)
        for _, line, column, message in _static(data, root, registry)
    )


class _Facts:
    """What scenarios may name, read defensively from the raw definition."""

    def __init__(self, data: Mapping[str, Any], registry: ActionRegistry) -> None:
        raw_steps = data.get("steps")
        self.steps: dict[str, Mapping[str, Any]] = {
            str(k): v for k, v in (raw_steps or {}).items() if isinstance(v, Mapping)
        } if isinstance(raw_steps, Mapping) else {}  # fmt: skip
        given = data.get("given")
        self.given = [g for g in given if isinstance(g, str)] if isinstance(given, list) else []
        self.fields: dict[str, set[str]] = {}
        self.events: dict[str, set[str]] = {}
        self.writes: dict[str, set[str]] = {}  # app action -> keys its calls may write
        self.messages: set[str] = set()
        for name, step in self.steps.items():
            fields = step.get("fields")
            self.fields[name] = {
                str(f["name"]) for f in fields if isinstance(f, Mapping) and "name" in f
            } if isinstance(fields, list) else set()  # fmt: skip
            events = step.get("events")
            self.events[name] = {str(e) for e in events} if isinstance(events, Mapping) else set()
            for call in _calls(step):
                action = call.get("action")
                if not isinstance(action, str) or action not in registry:
                    continue
                spec = registry.get(action)
                params = call.get("with") if isinstance(call.get("with"), Mapping) else {}
                params = {k: _setting(v, data.get("settings")) for k, v in params.items()}
                self.messages.update(spec.messages(params))
                if action not in BUILTINS:
                    self.writes.setdefault(action, set()).update(spec.written_keys(params))

    def all_fields(self) -> set[str]:
        return set().union(*self.fields.values()) if self.fields else set()

    def all_events(self) -> set[str]:
        return set().union(*self.events.values()) if self.events else set()


def _setting(value: Any, settings: Any) -> Any:
    if isinstance(value, str) and value.startswith("settings.") and isinstance(settings, Mapping):
        return settings.get(value.removeprefix("settings."), value)
    return value


def _calls(step: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    groups: list[Any] = [step.get("actions")]
    for transition in step.get("next") or ():
        if isinstance(transition, Mapping):
            groups.append(transition.get("actions"))
    events = step.get("events")
    for event in events.values() if isinstance(events, Mapping) else ():
        if isinstance(event, Mapping):
            groups.append(event.get("actions"))
    for group in groups:
        for call in group if isinstance(group, list) else ():
            if isinstance(call, Mapping):
                yield call


def _suggest(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(candidates), n=1)
    return f" ; vouliez-vous dire « {close[0]} » ?" if close else ""


def _static(
    data: Any, root: yaml.Node | None, registry: ActionRegistry
) -> Iterator[tuple[int, int, int, str]]:
    """Yield (scenario index, line, column, message) for every structural mistake."""
    if not isinstance(data, Mapping) or not isinstance(data.get("scenarios"), list):
        return
    facts = _Facts(data, registry)

    def at(path: Sequence[PathPart], *, key: bool = False) -> tuple[int, int]:
        pos = locate(root, path, key=key)
        return pos.line, pos.column

    names: set[str] = set()
    for i, scenario in enumerate(data["scenarios"]):
        if not isinstance(scenario, Mapping):
            continue
        base: list[PathPart] = ["scenarios", i]
        name = scenario.get("name")
        if isinstance(name, str):
            if name in names:
                yield i, *at([*base, "name"]), f"deux scénarios s’appellent « {name} »"
            names.add(name)
        for problem in _static_given(scenario, facts):
            key, message = problem
            yield i, *at([*base, "given", key] if key else base, key=bool(key)), message
        for j, entry in enumerate(scenario.get("steps") or ()):
            if isinstance(entry, Mapping):
                for path, key, message in _static_entry(entry, facts, registry):
                    yield i, *at([*base, "steps", j, *path], key=key), message
        expect = scenario.get("expect")
        if isinstance(expect, Mapping):
            for path, message in _static_expect(expect, facts):
                yield i, *at([*base, "expect", *path]), message


def _static_given(scenario: Mapping[str, Any], facts: _Facts) -> Iterator[tuple[str, str]]:
    given = scenario.get("given") or {}
    if not isinstance(given, Mapping):
        return
    for key in given:
        if key not in facts.given:
            declared = ", ".join(facts.given) or "aucune"
            yield str(key), f"« {key} » n’est pas une donnée given de la définition ({declared})"
    missing = [k for k in facts.given if k not in given]
    if missing:
        yield "", f"il manque la donnée given {', '.join(missing)} pour démarrer"


def _unknown_step(name: Any, facts: _Facts) -> str | None:
    if isinstance(name, str) and name not in facts.steps:
        return f"étape inconnue « {name} »{_suggest(name, facts.steps)}"
    return None


def _static_entry(
    entry: Mapping[str, Any], facts: _Facts, registry: ActionRegistry
) -> Iterator[tuple[list[PathPart], bool, str]]:
    triggers = [t for t in TRIGGERS if t in entry]
    if len(triggers) != 1:
        found = ", ".join(triggers) or "aucune"
        yield (
            [],
            False,
            (f"une entrée fait une seule chose parmi submit, event, back et wait (ici : {found})"),
        )
    step = entry.get("at")
    message = _unknown_step(step, facts)
    if message:
        yield ["at"], False, message
    known_step = isinstance(step, str) and step in facts.steps
    submit = entry.get("submit")
    if isinstance(submit, Mapping):
        fields = facts.fields[step] if known_step else facts.all_fields()
        where = f"l’étape « {step} » n’a pas ce champ" if known_step else "aucune étape ne l’a"
        for name in submit:
            if name not in fields:
                text = f"champ inconnu « {name} » : {where}"
                yield ["submit", name], True, text + _suggest(str(name), fields)
    event = entry.get("event")
    if isinstance(event, str):
        events = facts.events[step] if known_step else facts.all_events()
        if event not in events:
            where = f"l’étape « {step} » ne le déclare pas" if known_step else "aucune étape"
            if not known_step:
                where += " ne le déclare"
            yield (
                ["event"],
                False,
                f"événement inconnu « {event} » : {where}" + _suggest(event, events),
            )
    for group in ("results", "refuse"):
        actions = entry.get(group)
        if not isinstance(actions, Mapping):
            continue
        for action, keys in actions.items():
            problem = _app_action(str(action), facts, registry)
            if problem:
                yield [group, action], True, problem
            elif group == "results" and isinstance(keys, Mapping):
                allowed = facts.writes.get(str(action), set())
                for key in keys:
                    if key not in allowed:
                        yield (
                            [group, action, key],
                            True,
                            _undeclared(str(action), str(key), allowed),
                        )
    for index, action in enumerate(entry.get("quiet") or ()):
        problem = _app_action(str(action), facts, registry)
        if problem:
            yield ["quiet", index], False, problem


def _undeclared(action: str, key: str, allowed: Iterable[str]) -> str:
    keys = ", ".join(sorted(allowed)) or "aucune"
    return (
        f"l’action « {action} » ne déclare pas « {key} » dans produces : "
        f"elle ne peut pas l’écrire (clés permises : {keys})"
    )


def _app_action(action: str, facts: _Facts, registry: ActionRegistry) -> str | None:
    if action not in registry:
        return f"action inconnue « {action} »{_suggest(action, registry.names())}"
    if action in BUILTINS:
        return f"« {action} » est une action intégrée : elle s’exécute vraiment, sans script"
    if action not in facts.writes:
        return f"l’action « {action} » n’est appelée par aucune étape de cette définition"
    return None


def _static_expect(expect: Mapping[str, Any], facts: _Facts) -> Iterator[tuple[list[Any], str]]:
    for index, step in enumerate(expect.get("path") or ()):
        message = _unknown_step(step, facts)
        if message:
            yield ["path", index], message
    message = _unknown_step(expect.get("step"), facts)
    if message:
        yield ["step"], message
    for index, label in enumerate(expect.get("sent") or ()):
        if isinstance(label, str) and label not in facts.messages:
            possible = ", ".join(sorted(facts.messages)) or "aucun"
            yield (
                ["sent", index],
                f"aucune action de cette définition n’envoie « {label} » (possibles : {possible})",
            )


# -- running ------------------------------------------------------------------------


def run_scenarios(source: str, filename: str, registry: ActionRegistry) -> list[ScenarioResult]:
    """Run every scenario of a YAML definition; a bad scenario is a failed result, never raised."""
    from engine.validation import check, errors_only

    try:
        data, root = load(source)
    except yaml.YAMLError as error:
        return [_broken(filename, 1, f"YAML illisible : {error}")]
    if not isinstance(data, Mapping) or "scenarios" not in data:
        return []
    raw = data["scenarios"]
    line = locate(root, ["scenarios"]).line
    if not isinstance(raw, list):
        return [_broken(filename, line, "scenarios doit être une liste de scénarios")]
    spans = _spans(root, len(raw))
    try:
        problems = [p for p in errors_only(check(source, filename, registry)) if p.code != CODE]
    except Exception as error:  # a studio draft must never crash the caller
        return [_broken(filename, line, f"vérification impossible : {error}")]
    early: dict[int, list[ScenarioFailure]] = {i: [] for i in range(len(raw))}
    elsewhere = []
    for problem in problems:
        owner = _owner(spans, problem.line)
        if owner is None:
            elsewhere.append(problem)
        else:
            early[owner].append(ScenarioFailure(filename, problem.line, problem.message))
    for i, line_, _, message in _static(data, root, registry):
        early[i].append(ScenarioFailure(filename, line_, message))
    definition = None
    if not elsewhere:
        try:
            definition = build(data)
        except Exception as error:
            elsewhere_message = f"définition inutilisable : {error}"
        else:
            elsewhere_message = ""
    else:
        first = elsewhere[0]
        elsewhere_message = (
            f"la définition contient {len(elsewhere)} erreur(s), scénario non joué ; "
            f"ligne {first.line} : {first.message}"
        )
    results = []
    for i, scenario in enumerate(raw):
        name = _name(scenario, i)
        start = spans[i][0] if i < len(spans) else line
        if definition is None or early[i]:
            failures = early[i] or [ScenarioFailure(filename, start, elsewhere_message)]
            results.append(ScenarioResult(name, filename, start, False, failures))
            continue
        try:
            result = _Player(definition, registry, scenario, i, root, filename).play(name, start)
        except Exception as error:  # reported, never raised
            failure = ScenarioFailure(filename, start, f"erreur inattendue : {error!r}")
            result = ScenarioResult(name, filename, start, False, [failure])
        results.append(result)
    return results


def _broken(filename: str, line: int, message: str) -> ScenarioResult:
    failure = ScenarioFailure(filename, line, message)
    return ScenarioResult("scenarios", filename, line, False, [failure])


def _name(scenario: Any, index: int) -> str:
    name = scenario.get("name") if isinstance(scenario, Mapping) else None
    return name if isinstance(name, str) and name else f"scénario {index + 1}"


def _spans(root: yaml.Node | None, count: int) -> list[tuple[int, int]]:
    """Return the (first, last) lines of each scenario in the text."""
    node = root
    for key, value in root.value if isinstance(root, yaml.MappingNode) else ():
        if isinstance(key, yaml.ScalarNode) and key.value == "scenarios":
            node = value
    if not isinstance(node, yaml.SequenceNode):
        return []
    starts = [item.start_mark.line + 1 for item in node.value[:count]]
    end = node.end_mark.line + 1
    return [
        (first, (starts[k + 1] - 1) if k + 1 < len(starts) else end)
        for k, first in enumerate(starts)
    ]


def _owner(spans: Sequence[tuple[int, int]], line: int) -> int | None:
    return next((i for i, (first, last) in enumerate(spans) if first <= line <= last), None)


class _Stop(Exception):  # noqa: N818 - control flow inside a scenario
    """End a scenario early with a failure at a line."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class _Script:
    """What the stand-ins do at the current entry, and what they did."""

    results: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    refuse: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    quiet: frozenset[str] = frozenset()
    ran: set[str] = field(default_factory=set)
    sent: list[str] = field(default_factory=list)
    bad_write: tuple[str, str, frozenset[str]] | None = None


class _BadWrite(Exception):  # noqa: N818 - raised through the engine, caught by the player
    pass


def _stand_in_registry(real: ActionRegistry, script: _Script) -> ActionRegistry:
    """Return built-ins plus a scripted stand-in for every app action of real."""
    registry = ActionRegistry()
    for name in real.names():
        if name in BUILTINS:
            continue
        spec = real.get(name)
        registry.add(
            ActionSpec(
                spec.name,
                _stand_in(spec, script),
                spec.params,
                spec.produces,
                spec.secrets,
                spec.doc,
                spec.sends,
            )
        )
    return registry


def _stand_in(spec: ActionSpec, script: _Script) -> Any:
    def scripted(ctx: ActionContext) -> None:
        script.ran.add(spec.name)
        refusal = script.refuse.get(spec.name)
        if refusal:
            raise SubmissionError(refusal)
        for key, value in (script.results.get(spec.name) or {}).items():
            if key not in ctx.writable:
                script.bad_write = (spec.name, key, ctx.writable)
                raise _BadWrite(key)
            ctx.set(key, copy_data(value))
        if spec.name not in script.quiet:
            for label in spec.messages(ctx.params):
                ctx.after_commit(lambda label=label: script.sent.append(label))

    return scripted


def _applicant(rule: str) -> Actor:
    if rule.startswith("role:"):
        return Actor.staff("demandeur", rule.removeprefix("role:"))
    return Actor.parent("demandeur")


def _moment(text: Any) -> datetime:
    if not isinstance(text, str):
        return DEFAULT_MOMENT
    value = datetime.fromisoformat(text)
    if len(text) == 10:
        value = value.replace(hour=DEFAULT_MOMENT.hour)
    return value.replace(tzinfo=PARIS)


def _plain(value: Any) -> Any:
    """Write dates as ISO text, so YAML expectations compare with engine data."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _text(value: Any) -> str:
    return "[" + ", ".join(map(str, value)) + "]" if isinstance(value, list) else str(value)


class _Player:
    """Play one scenario through a real Engine on a MemoryStore."""

    def __init__(
        self,
        definition: Definition,
        real: ActionRegistry,
        scenario: Mapping[str, Any],
        index: int,
        root: yaml.Node | None,
        filename: str,
    ) -> None:
        self.definition = definition
        self.scenario = scenario
        self.base: list[PathPart] = ["scenarios", index]
        self.root = root
        self.filename = filename
        self.script = _Script()
        self.store = MemoryStore()
        self.store.publish(definition)
        self.clock = FixedClock(_moment(scenario.get("today")))
        self.engine = Engine(self.store, _stand_in_registry(real, self.script), self.clock)
        self.applicant = _applicant(definition.start)
        self.failures: list[ScenarioFailure] = []
        self.path: list[str] = []
        self.blocked: list[str] = []

    def line(self, *path: PathPart, key: bool = False) -> int:
        return locate(self.root, [*self.base, *path], key=key).line

    def fail(self, line: int, message: str) -> None:
        self.failures.append(ScenarioFailure(self.filename, line, message))

    def play(self, name: str, start: int) -> ScenarioResult:
        instance: Instance | None = None
        try:
            instance = self.engine.start(
                self.definition.key,
                applicant=self.applicant,
                data=copy_data(dict(self.scenario.get("given") or {})),
            )
            self.path.append(instance.step)
            for j, entry in enumerate(self.scenario.get("steps") or ()):
                instance = self.entry(instance, j, entry)
        except _Stop as stop:
            self.fail(stop.line, stop.message)
        except EngineError as error:
            self.fail(start, f"démarrage impossible : {error}")
        if instance is not None:
            self.expect(instance)
        return ScenarioResult(
            name,
            self.filename,
            start,
            not self.failures,
            self.failures,
            self.path,
            list(self.script.sent),
            instance.step if instance else None,
            instance.status.value if instance else None,
        )

    # -- one entry ------------------------------------------------------------

    def entry(self, instance: Instance, j: int, entry: Mapping[str, Any]) -> Instance:
        where = self.line("steps", j)
        expected = entry.get("at")
        if expected is not None and instance.step != expected:
            raise _Stop(
                self.line("steps", j, "at"),
                f"étape attendue « {expected} », mais le parcours est à « {instance.step} » "
                f"(parcours : {_text(self.path)})",
            )
        self.script.results = entry.get("results") or {}
        self.script.refuse = entry.get("refuse") or {}
        self.script.quiet = frozenset(entry.get("quiet") or ())
        self.script.ran = set()
        self.script.bad_write = None
        blocked_before = len(self.blocked)
        try:
            moved = self.act(instance, j, entry)
        except SubmissionError as error:
            self.store.rollback()
            self.blocked.extend(error.errors.values())
            moved = False
            if entry.get("blocked") is None and "submit" in entry:
                # The likeliest cause of what fails next (a field made required, say).
                refused = "; ".join(f"« {k} » : {v}" for k, v in error.errors.items())
                self.fail(
                    self.line("steps", j, "submit"),
                    f"le formulaire de l’étape « {instance.step} » est refusé ({refused})",
                )
        except _BadWrite:
            self.store.rollback()
            action, key, allowed = self.script.bad_write or ("?", "?", frozenset())
            raise _Stop(
                self.line("steps", j, "results", action, key, key=True),
                _undeclared(action, key, allowed),
            ) from None
        except EngineError as error:
            self.store.rollback()
            raise _Stop(where, f"action refusée par le moteur : {error}") from None
        self.store.commit()  # runs the effects the engine handed over: the stand-ins' messages
        for group in ("results", "refuse"):
            for action in entry.get(group) or {}:
                if action not in self.script.ran:
                    self.fail(
                        self.line("steps", j, group, action, key=True),
                        f"l’action « {action} » ne s’est pas exécutée à cette entrée : "
                        f"ses {'résultats' if group == 'results' else 'refus'} ne servent pas",
                    )
        self.entry_blocked(entry, j, moved, self.blocked[blocked_before:])
        return self.store.get(instance.id or "")

    def act(self, instance: Instance, j: int, entry: Mapping[str, Any]) -> bool:
        step = self.definition.steps[instance.step]
        actor = self.actor(step.actor)
        if "submit" in entry:
            values = self.values(step, entry["submit"] or {}, j)
            return self.note(self.engine.submit(instance, values, actor))
        if "event" in entry:
            event = entry["event"]
            declared = step.events.get(event)
            sender = actor if declared is not None and declared.button else SYSTEM
            outcome = self.engine.fire(instance, event, entry.get("payload") or {}, sender)
            if outcome.ignored:
                raise _Stop(
                    self.line("steps", j, "event"),
                    f"l’étape « {instance.step} » n’attend pas l’événement « {event} » : "
                    "il serait ignoré",
                )
            return self.note(outcome)
        if "back" in entry:
            return self.note(self.engine.back(instance, actor))
        self.clock.advance(parse_duration(entry["wait"]))
        moved = False
        for timer in self.store.due_timers(self.clock.now()):
            if timer.instance_id == instance.id:
                current = self.store.get(timer.instance_id)
                outcome = self.engine.fire_timer(current, timer.event, moves=timer.moves)
                moved = self.note(outcome) or moved
        return moved

    def actor(self, rule: str) -> Actor:
        if rule == APPLICANT:
            return self.applicant
        role = rule.removeprefix("role:")
        return Actor.staff(f"agent_{role}", role)

    def values(self, step: Any, raw: Mapping[str, Any], j: int) -> dict[str, Any]:
        values = copy_data(dict(raw))
        for spec in step.fields:
            if spec.type != "date" or spec.name not in values:
                continue
            try:
                value = values[spec.name]
                if isinstance(value, list):
                    values[spec.name] = [
                        date.fromisoformat(v) if isinstance(v, str) else v for v in value
                    ]
                elif isinstance(value, str):
                    values[spec.name] = date.fromisoformat(value)
            except ValueError:
                raise _Stop(
                    self.line("steps", j, "submit", spec.name),
                    f"date invalide pour « {spec.name} » : écrivez AAAA-MM-JJ",
                ) from None
        return values

    def note(self, outcome: Outcome) -> bool:
        if outcome.moved and outcome.to_step != self.path[-1]:
            self.path.append(outcome.to_step)
        if not outcome.moved:
            data = outcome.instance.data
            settings = self.definition.settings
            for block in outcome.blocked:
                text = block.get("message") or ""
                with contextlib.suppress(Exception):  # a broken template: show the raw text
                    text = render(text, data, settings).unescape()
                if text.strip():
                    self.blocked.append(text.strip())
            if not outcome.blocked:
                self.blocked.append("")
        return outcome.moved

    def entry_blocked(self, entry: Mapping[str, Any], j: int, moved: bool, seen: list[str]) -> None:
        want = entry.get("blocked")
        if want is None:
            return
        line = self.line("steps", j, "blocked")
        shown = "; ".join(s for s in seen if s) or "aucun message"
        if want is False and not moved:
            self.fail(line, f"cette entrée devait avancer, elle a été bloquée ({shown})")
        elif want is not False and moved:
            self.fail(line, "cette entrée devait être bloquée, elle a avancé")
        elif isinstance(want, str) and not any(want in s for s in seen):
            self.fail(line, f"message de blocage attendu « {want} », affiché : {shown}")

    # -- expectations ---------------------------------------------------------

    def expect(self, instance: Instance) -> None:
        expect = self.scenario.get("expect") or {}
        if "path" in expect and list(expect["path"]) != self.path:
            self.fail(
                self.line("expect", "path"),
                f"parcours attendu {_text(expect['path'])}, obtenu {_text(self.path)}",
            )
        if "step" in expect and expect["step"] != instance.step:
            self.fail(
                self.line("expect", "step"),
                f"étape finale attendue « {expect['step']} », obtenue « {instance.step} »",
            )
        if "status" in expect and expect["status"] != instance.status.value:
            self.fail(
                self.line("expect", "status"),
                f"statut attendu « {expect['status']} », obtenu « {instance.status.value} »",
            )
        if "sent" in expect and list(expect["sent"]) != self.script.sent:
            self.fail(
                self.line("expect", "sent"),
                f"messages attendus {_text(expect['sent'])}, envoyés {_text(self.script.sent)}",
            )
        if "blocked" in expect and not any(expect["blocked"] in s for s in self.blocked):
            shown = "; ".join(s for s in self.blocked if s) or "aucun blocage"
            self.fail(
                self.line("expect", "blocked"),
                f"blocage attendu avec « {expect['blocked']} », observé : {shown}",
            )
        for key, value in (expect.get("data") or {}).items():
            actual = _plain(instance.data.get(key))
            if actual != value:
                self.fail(
                    self.line("expect", "data", key),
                    f"donnée « {key} » attendue {value!r}, obtenue {actual!r}",
                )
