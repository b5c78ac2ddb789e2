"""Check a workflow definition and report problems with file, line and column."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jinja2 import TemplateSyntaxError

from engine import templates
from engine.actions import ActionRegistry
from engine.definition import APPLICANT, SETTINGS_REF
from engine.errors import GuardSyntaxError
from engine.fields import BOUND_OPTIONS, COMMON_OPTIONS, FIELD_TYPES
from engine.guards import Guard
from engine.views import UNSAFE_PATH_CHARS, safe_path
from engine.yamlsource import PathPart, Position, duplicate_keys, load, locate, position, scalar_at

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "workflows" / "schema.json"
RESERVED_NAMES = frozenset({"settings", "payload"})
# Triggers the engine itself uses, and prefixes transitions gives model methods.
RESERVED_EVENTS = frozenset(
    {"submit", "back", "start", "cancel", "trigger", "run", "state", "machine"}
)
RESERVED_EVENT_PREFIXES = ("may_", "is_", "to_")
TEXT_KEYS = ("title", "intro", "message", "submit")
# What a final step may not have: it ends the instance and only shows its message (and links).
FINAL_FORBIDS = (
    "fields", "next", "events", "actions", "timer", "back", "redirect", "refresh", "submit"
)  # fmt: skip


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One thing wrong with a definition, where it is, and how to fix it."""

    file: str
    line: int
    column: int
    code: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message} [{self.code}]"


@cache
def schema() -> dict[str, Any]:
    """Return the JSON Schema of workflow definitions."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def check(source_text: str, filename: str, registry: ActionRegistry) -> list[Problem]:
    """Return every problem of a YAML definition, sorted by position."""
    try:
        data, root = load(source_text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = err.problem or "invalid YAML"
        message = f"YAML syntax error: {what}; check indentation, colons and quotes"
        return [Problem(filename, line, column, "yaml-syntax", message)]
    except yaml.YAMLError as err:
        return [Problem(filename, 1, 1, "yaml-syntax", f"YAML error: {err}")]
    checker = _Checker(filename, root, registry)
    for key_node in duplicate_keys(root):
        checker.report_at(
            position(key_node),
            "duplicate-key",
            f"key {key_node.value!r} appears twice in the same mapping; "
            "YAML would silently keep only the last one, remove or rename one",
        )
    if not checker.schema(data):
        checker.semantics(data)
    return sorted(checker.problems)


def errors_only(problems: Iterable[Problem]) -> list[Problem]:
    """Keep the problems that make a definition unusable."""
    return [p for p in problems if p.severity == "error"]


def _suggest(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


@dataclass
class _Checker:
    filename: str
    root: yaml.Node | None
    registry: ActionRegistry
    problems: list[Problem] = field(default_factory=list)
    secret_fields: dict[str, str] = field(default_factory=dict)

    def report_at(self, pos: Position, code: str, message: str, severity: str = "error") -> None:
        self.problems.append(Problem(self.filename, pos.line, pos.column, code, message, severity))

    def report(
        self,
        path: Sequence[PathPart],
        code: str,
        message: str,
        *,
        key: bool = False,
        severity: str = "error",
    ) -> None:
        self.report_at(locate(self.root, path, key=key), code, message, severity)

    # -- schema -------------------------------------------------------------

    def schema(self, data: Any) -> bool:
        """Report schema violations; return True if there were any."""
        validator = jsonschema.Draft202012Validator(schema())
        found = False
        seen: set[tuple[tuple[PathPart, ...], str]] = set()
        for error in validator.iter_errors(data):
            path = tuple(error.absolute_path)
            message, at_key, path = self._schema_message(error, path)
            if (path, message) in seen:
                continue
            seen.add((path, message))
            found = True
            self.report(path, "schema", message, key=at_key)
        return found

    def _schema_message(
        self, error: jsonschema.ValidationError, path: tuple[PathPart, ...]
    ) -> tuple[str, bool, tuple[PathPart, ...]]:
        where = "/".join(str(p) for p in path) or "the top level"
        if error.validator == "additionalProperties":
            allowed = sorted(error.schema.get("properties", {}))
            extra = sorted(set(error.instance) - set(allowed))
            name = extra[0] if extra else "?"
            hint = _suggest(name, allowed) or f"; allowed keys: {', '.join(allowed)}"
            return f"unknown key {name!r} in {where}{hint}", True, (*path, name)
        if error.validator == "required":
            return f"{where} is missing {error.message.split(' is ')[0]}; add it", False, path
        if "propertyNames" in error.schema_path:
            return (
                f"name {error.instance!r} in {where} must be lower case letters, digits "
                "and underscores, starting with a letter",
                True,
                (*path, str(error.instance)),
            )
        if error.validator == "pattern" and path and path[-1] == "start":
            return "start must be 'anyone', 'parent' or 'role:<name>'", False, path
        if error.validator == "pattern" and path and path[-1] == "actor":
            return "actor must be 'applicant' or 'role:<name>'", False, path
        if error.validator == "pattern" and "after" in path:
            return "timer 'after' must look like 10m, 48h or 2d", False, path
        if error.validator == "pattern" and path[:1] == ("given",):
            return (
                f"given name {error.instance!r} must be lower case letters, digits and "
                "underscores, starting with a letter",
                False,
                path,
            )
        if len(path) == 3 and path[0] == "steps" and path[2] == "refresh":
            return "refresh must be a whole number of seconds from 2 to 120", False, path
        return f"{where}: {error.message}", False, path

    # -- semantics ----------------------------------------------------------

    def semantics(self, data: Mapping[str, Any]) -> None:
        steps: Mapping[str, Any] = data["steps"]
        settings: Mapping[str, Any] = data.get("settings") or {}
        if data["initial"] not in steps:
            self.report(
                ["initial"],
                "initial-missing",
                f"initial step {data['initial']!r} is not defined under steps"
                + _suggest(data["initial"], steps),
            )
        given = self._given(data.get("given") or [])
        names = self._data_names(steps)
        for key in given:
            names.setdefault(key, "given")
        self.secret_fields = {
            spec["name"]: spec["type"]
            for step in steps.values()
            for spec in step.get("fields", ())
            if spec["type"] in FIELD_TYPES and FIELD_TYPES[spec["type"]].secret
        }
        for step_name, step in steps.items():
            self._step(step_name, step, steps, settings, names)
        if data["initial"] in steps:  # otherwise every step would be reported unreachable
            self._graph(data, steps)

    def _given(self, given: Sequence[str]) -> list[str]:
        """Check the data keys the host provides at start; return the usable ones."""
        seen: list[str] = []
        for index, key in enumerate(given):
            if key in RESERVED_NAMES:
                self.report(
                    ["given", index],
                    "reserved-name",
                    f"{key!r} is reserved and cannot be given; rename it",
                )
            elif key in seen:
                self.report(
                    ["given", index],
                    "duplicate-given",
                    f"{key!r} is listed twice under given; remove one",
                )
            else:
                seen.append(key)
        return seen

    def _data_names(self, steps: Mapping[str, Any]) -> dict[str, str]:
        """Collect persistent data names: field name -> type, action writes -> 'action'."""
        names: dict[str, str] = {}
        for step in steps.values():
            for spec in step.get("fields", ()):
                field_type = FIELD_TYPES.get(spec["type"])
                if field_type is None or not field_type.secret:
                    names.setdefault(spec["name"], spec["type"])
            for call in _all_actions(step):
                if call["action"] in self.registry:
                    action = self.registry.get(call["action"])
                    for key in action.written_keys(call.get("with") or {}):
                        names.setdefault(key, "action")
        return names

    def _step(
        self,
        name: str,
        step: Mapping[str, Any],
        steps: Mapping[str, Any],
        settings: Mapping[str, Any],
        names: Mapping[str, str],
    ) -> None:
        base: list[PathPart] = ["steps", name]
        secret_here = {
            f["name"]
            for f in step.get("fields", ())
            if f["type"] in FIELD_TYPES and FIELD_TYPES[f["type"]].secret
        }
        scope = _Scope(names, settings, self.secret_fields, secret_here=frozenset(), payload=False)
        if step.get("final"):
            for key in FINAL_FORBIDS:
                if step.get(key):
                    self.report(
                        [*base, key],
                        "final-with-exits",
                        f"final step {name!r} cannot have {key}; remove it or drop 'final: true'",
                        key=True,
                    )
        elif "tone" in step:
            self.report(
                [*base, "tone"],
                "tone-not-final",
                f"step {name!r} is not final: 'tone' colours a final step's message; remove it",
                key=True,
            )
        for key in TEXT_KEYS:
            if key in step:
                self._template([*base, key], step[key], scope)
        self._page(name, base, step, scope)
        self._fields(base, step, steps, settings, names)
        for index, call in enumerate(step.get("actions", ())):
            self._action([*base, "actions", index], call, settings)
        next_scope = _Scope(
            names, settings, self.secret_fields, secret_here=frozenset(secret_here), payload=False
        )
        transitions = step.get("next", ())
        for index, transition in enumerate(transitions):
            path = [*base, "next", index]
            self._target([*path, "to"], transition["to"], steps)
            if "when" in transition:
                self._guard([*path, "when"], transition["when"], next_scope)
            elif index < len(transitions) - 1:
                self.report(
                    path,
                    "shadowed-transition",
                    f"transition {index + 1} of step {name!r} has no 'when', so the ones after "
                    "it can never be taken; add a guard or move it last",
                    severity="warning",
                )
            if "message" in transition:
                self._template([*path, "message"], transition["message"], next_scope)
            for a_index, call in enumerate(transition.get("actions", ())):
                self._action([*path, "actions", a_index], call, settings)
        event_scope = _Scope(
            names, settings, self.secret_fields, secret_here=frozenset(), payload=True
        )
        for event_name, event in (step.get("events") or {}).items():
            path = [*base, "events", event_name]
            if event_name in RESERVED_EVENTS or event_name.startswith(RESERVED_EVENT_PREFIXES):
                self.report(
                    path,
                    "reserved-name",
                    f"event name {event_name!r} is reserved by the engine; choose another name",
                    key=True,
                )
            if "to" in event:
                self._target([*path, "to"], event["to"], steps)
            if "when" in event:
                self._guard([*path, "when"], event["when"], event_scope)
            for key in ("label", "message"):
                if key in event:
                    self._template([*path, key], event[key], event_scope)
            for a_index, call in enumerate(event.get("actions", ())):
                self._action([*path, "actions", a_index], call, settings)
        timer = step.get("timer")
        if timer and timer["event"] not in (step.get("events") or {}):
            self.report(
                [*base, "timer", "event"],
                "unknown-timer-event",
                f"timer fires event {timer['event']!r}, which step {name!r} does not declare; "
                "add it under events" + _suggest(timer["event"], step.get("events") or {}),
            )

    def _page(
        self, name: str, base: list[PathPart], step: Mapping[str, Any], scope: _Scope
    ) -> None:
        """Check what the step's page does besides its form: redirect, refresh, links."""
        # Staff pages never redirect nor reload: only an applicant step can hide its form.
        applicant_page = step.get("actor", APPLICANT) == APPLICANT and not step.get("final")
        if "redirect" in step:
            self._path([*base, "redirect"], step["redirect"], scope, "redirect")
            buttons = any(e.get("button") for e in (step.get("events") or {}).values())
            hidden = [k for k in ("fields", "next", "back") if step.get(k)]
            hidden += ["button events"] if buttons else []
            if hidden and applicant_page:
                self.report(
                    [*base, "redirect"],
                    "redirect-hides-page",
                    f"the applicant is always sent away from step {name!r}, so its "
                    f"{', '.join(hidden)} can never be used; move them to another step "
                    "or remove 'redirect'",
                    key=True,
                    severity="warning",
                )
        if step.get("refresh") and step.get("fields") and applicant_page:
            self.report(
                [*base, "refresh"],
                "refresh-with-fields",
                f"the page of step {name!r} reloads every {step['refresh']} seconds and would "
                "wipe what the applicant is typing; put the fields on another step",
                key=True,
                severity="warning",
            )
        for index, link in enumerate(step.get("links", ())):
            path = [*base, "links", index]
            self._template([*path, "label"], link["label"], scope)
            self._path([*path, "href"], link["href"], scope, "href")

    def _path(self, path: list[PathPart], text: str, scope: _Scope, what: str) -> None:
        """Check a template that must render a relative path on this site."""
        if not self._template(path, text, scope):
            return
        prefix, parts = templates.literal_parts(text)
        if not prefix.startswith("/"):
            problem = (
                f"{what} must be a relative path starting with '/', such as "
                "'/demarches/{{ ref }}': full addresses and other sites are refused"
            )
        elif prefix.startswith("//"):
            problem = f"{what} must start with a single '/': '//' leads to another site"
        elif not safe_path(prefix) or any(UNSAFE_PATH_CHARS.search(p) for p in parts):
            problem = (
                f"{what} must not contain spaces, backslashes or control characters; "
                "pass free text through '| urlencode'"
            )
        else:
            return
        self.report(path, "unsafe-path", problem)

    def _fields(
        self,
        base: list[PathPart],
        step: Mapping[str, Any],
        steps: Mapping[str, Any],
        settings: Mapping[str, Any],
        names: Mapping[str, str],
    ) -> None:
        seen: set[str] = set()
        for index, spec in enumerate(step.get("fields", ())):
            path = [*base, "fields", index]
            fname, ftype = spec["name"], spec["type"]
            if fname in seen:
                self.report(
                    [*path, "name"],
                    "duplicate-field",
                    f"field {fname!r} is declared twice in this step; rename one",
                )
            seen.add(fname)
            if fname in RESERVED_NAMES:
                self.report(
                    [*path, "name"], "reserved-name", f"{fname!r} is reserved; rename the field"
                )
            if ftype not in FIELD_TYPES:
                self.report(
                    [*path, "type"],
                    "unknown-field-type",
                    f"unknown field type {ftype!r}"
                    + (_suggest(ftype, FIELD_TYPES) or f"; use one of {', '.join(FIELD_TYPES)}"),
                )
                continue
            field_type = FIELD_TYPES[ftype]
            other = names.get(fname)
            if other not in (None, ftype, "action") and not field_type.secret:
                self.report(
                    [*path, "name"],
                    "duplicate-field",
                    f"field {fname!r} is also declared with type {other!r} in another step and "
                    "both would write the same data key; rename one",
                )
            for option in spec:
                if option not in COMMON_OPTIONS and option not in field_type.options:
                    fits = ", ".join(sorted(field_type.options)) or "none"
                    self.report(
                        [*path, option],
                        "field-option-not-applicable",
                        f"option {option!r} does not apply to fields of type {ftype} "
                        f"(its options: {fits}); remove it",
                        key=True,
                    )
            local: dict[str, str] = {}
            repeat = spec.get("repeat")
            if repeat:
                if repeat["over"] not in names:
                    self.report(
                        [*path, "repeat", "over"],
                        "unknown-name",
                        f"repeat over {repeat['over']!r}, which no field or action provides"
                        + _suggest(repeat["over"], names),
                    )
                if repeat["as"] in names or repeat["as"] in RESERVED_NAMES:
                    self.report(
                        [*path, "repeat", "as"],
                        "reserved-name",
                        f"repeat variable {repeat['as']!r} hides a data name; choose another",
                    )
                local[repeat["as"]] = "repeat"
            scope = _Scope(
                names, settings, self.secret_fields, frozenset(), payload=False, local=local
            )
            for key in ("label", "hint", "pattern_message"):
                if key in spec:
                    self._template([*path, key], spec[key], scope)
            for bound in sorted(BOUND_OPTIONS & spec.keys()):
                self._bound([*path, bound], spec[bound], ftype, scope)
            if spec.get("min_length", 0) > spec.get("max_length", float("inf")):
                self.report(
                    [*path, "min_length"],
                    "bad-bound",
                    "min_length is larger than max_length; swap them",
                )
            if "pattern" in spec:
                try:
                    re.compile(spec["pattern"])
                except re.error as err:
                    self.report(
                        [*path, "pattern"],
                        "bad-pattern",
                        f"pattern is not a valid regular expression ({err}); fix it",
                    )
            if ftype == "choice" and isinstance(spec["choices"], str):
                self._choice_source([*path, "choices"], spec["choices"], settings, scope)
            elif ftype == "choice":
                values = [c["value"] for c in spec["choices"]]
                if len(values) != len(set(map(repr, values))):
                    self.report([*path, "choices"], "duplicate-choice", "two choices share a value")

    def _choice_source(
        self, path: list[PathPart], text: str, settings: Mapping[str, Any], scope: _Scope
    ) -> None:
        """Check choices read from a name: known, and a list of {value, label} if a setting."""
        guard = self._guard(path, text, scope)
        if guard is None or len(guard.name_paths) != 1 or guard.names[0] != text.strip():
            if guard is not None:
                self.report(path, "bad-choices", "choices must name one list, such as settings.x")
            return
        name_path = guard.name_paths[0]
        if name_path[0] != "settings" or len(name_path) != 2 or name_path[1] not in settings:
            return  # given or computed data: its shape is known only at run time
        problem = choice_list_problem(settings[name_path[1]])
        if problem:
            self.report(path, "bad-choices", f"setting {name_path[1]!r} {problem}")

    def _bound(self, path: list[PathPart], value: Any, ftype: str, scope: _Scope) -> None:
        if isinstance(value, int | float) and not isinstance(value, bool):
            if ftype == "date":
                self.report(
                    path,
                    "bad-bound",
                    "a date bound must be an expression such as \"date('2010-01-01')\" "
                    'or "today()", not a number',
                )
            return
        guard = self._guard(path, value, scope)
        if guard is not None and ftype == "date" and not guard.names and "(" not in value:
            self.report(
                path,
                "bad-bound",
                f"{value!r} is arithmetic, not a date; write \"date('{value}')\"",
            )

    def _template(self, path: list[PathPart], text: str, scope: _Scope) -> bool:
        """Check a template's syntax and names; return False if it does not parse."""
        try:
            used = templates.parse_names(text)
        except TemplateSyntaxError as err:
            self.report(
                path,
                "template-syntax",
                f"template does not parse: {(err.message or '').rstrip('.')}; fix the braces",
            )
            return False
        for name in sorted(used):
            problem = scope.problem((name,))
            if problem:
                self.report(path, "unknown-name", f"template uses {problem}")
        return True

    def _guard(self, path: list[PathPart], text: str, scope: _Scope) -> Guard | None:
        try:
            guard = Guard.parse(text)
        except GuardSyntaxError as err:
            self.report_at(
                self._inside(path, err.position),
                "guard-syntax",
                f"expression {text!r} does not parse: {err.reason}",
            )
            return None
        for name_path in guard.name_paths:
            problem = scope.problem(name_path)
            if problem:
                offset = _find_name(text, ".".join(name_path))
                self.report_at(self._inside(path, offset), "unknown-name", f"guard uses {problem}")
        return guard

    def _inside(self, path: Sequence[PathPart], offset: int) -> Position:
        """Point inside a one-line scalar, or at its start otherwise."""
        node = scalar_at(self.root, path)
        pos = locate(self.root, path)
        if node is None or node.start_mark.line != node.end_mark.line:
            return pos
        quote = 1 if node.style in ("'", '"') else 0
        return Position(pos.line, pos.column + quote + offset)

    def _target(self, path: list[PathPart], target: str, steps: Mapping[str, Any]) -> None:
        if target not in steps:
            self.report(
                path,
                "unknown-step",
                f"goes to {target!r}, which is not a step" + _suggest(target, steps),
            )

    def _action(
        self, path: list[PathPart], call: Mapping[str, Any], settings: Mapping[str, Any]
    ) -> None:
        name = call["action"]
        if name not in self.registry:
            self.report(
                [*path, "action"],
                "unknown-action",
                f"unknown action {name!r}"
                + (_suggest(name, self.registry.names()) or "; register it in the ActionRegistry"),
            )
            return
        spec = self.registry.get(name)
        given = call.get("with") or {}
        for param, value in given.items():
            if param not in spec.params:
                allowed = ", ".join(sorted(spec.params)) or "none"
                self.report(
                    [*path, "with", param],
                    "unknown-action-param",
                    f"action {name!r} has no parameter {param!r} (it accepts: {allowed})"
                    + _suggest(param, spec.params),
                    key=True,
                )
                continue
            ref = SETTINGS_REF.match(value) if isinstance(value, str) else None
            if ref and ref.group(1) not in settings:
                self.report(
                    [*path, "with", param],
                    "unknown-setting",
                    f"{value!r} names no setting; declare {ref.group(1)!r} under settings",
                )
                continue
            resolved = settings[ref.group(1)] if ref else value
            if not spec.params[param].accepts(resolved):
                self.report(
                    [*path, "with", param],
                    "bad-action-param",
                    f"parameter {param!r} of action {name!r} must be of type "
                    f"{spec.params[param].type_name}, not a {type(resolved).__name__}",
                )
        for param, declared in spec.params.items():
            if declared.required and param not in given:
                self.report(
                    path,
                    "missing-action-param",
                    f"action {name!r} needs parameter {param!r}; add it under 'with'",
                )

    # -- graph --------------------------------------------------------------

    def _graph(self, data: Mapping[str, Any], steps: Mapping[str, Any]) -> None:
        declared = {name: _targets(name, step) for name, step in steps.items()}
        edges = {name: targets & steps.keys() for name, targets in declared.items()}
        reachable = _closure({data["initial"]} & steps.keys(), edges)
        reverse: dict[str, set[str]] = {name: set() for name in steps}
        for source, targets in edges.items():
            for target in targets:
                reverse[target].add(source)
        finals = {name for name, step in steps.items() if step.get("final")}
        can_finish = _closure(finals, reverse)
        # Dead ends and unknown targets are reported already; do not pile on.
        dangling = any(targets - steps.keys() for targets in declared.values())
        dead_ends = {
            name
            for name, step in steps.items()
            if not step.get("final") and not declared[name] - {name}
        }
        if not finals:
            self.report(
                ["steps"], "no-final-step", "no step is final; add a step with 'final: true'"
            )
        for name, step in steps.items():
            path = ["steps", name]
            if name not in reachable:
                self.report(
                    path,
                    "unreachable-step",
                    f"step {name!r} cannot be reached from the initial step; "
                    "add a transition to it or remove it",
                    key=True,
                )
            elif step.get("final"):
                continue
            elif name in dead_ends:
                self.report(
                    path,
                    "dead-end",
                    f"step {name!r} has no way out and is not final; add 'next' or "
                    "an event leading elsewhere, or mark it 'final: true'",
                    key=True,
                )
            elif finals and not dead_ends and not dangling and name not in can_finish:
                self.report(
                    path,
                    "cannot-finish",
                    f"no path leads from step {name!r} to a final step; add one",
                    key=True,
                )
            if step.get("back") and not reverse[name] - {name}:
                self.report(
                    [*path, "back"],
                    "back-without-previous",
                    f"step {name!r} allows back but no step leads to it; remove 'back'",
                    key=True,
                    severity="warning",
                )


@dataclass(frozen=True)
class _Scope:
    """Tell which names a guard or template may read at a given place."""

    names: Mapping[str, str]
    settings: Mapping[str, Any]
    secret_fields: Mapping[str, str]
    secret_here: frozenset[str]
    payload: bool
    local: Mapping[str, str] = field(default_factory=dict)

    def problem(self, path: tuple[str, ...]) -> str | None:
        """Explain what is wrong with a name, or return None if it is fine."""
        root = path[0]
        if root in self.local or root in self.names or root in self.secret_here:
            return None
        if root == "settings":
            if len(path) == 1:
                return None
            if path[1] not in self.settings:
                return f"unknown setting {path[1]!r}; declare it under settings" + _suggest(
                    path[1], self.settings
                )
            return None
        if root in self.secret_fields:
            return (
                f"{root!r}, a field of type {self.secret_fields[root]} that is kept only while "
                "its own step is submitted; read it in that step's 'next' guards or have an "
                "action store what later steps need"
            )
        if root == "payload":
            if self.payload:
                return None
            return "'payload', which exists only in event guards and actions"
        hint = _suggest(root, [*self.names, *self.local])
        return (
            f"unknown name {root!r}; names come from fields, action results, given and "
            f"settings{hint}"
        )


def _all_actions(step: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    yield from step.get("actions", ())
    for transition in step.get("next", ()):
        yield from transition.get("actions", ())
    for event in (step.get("events") or {}).values():
        yield from event.get("actions", ())


def _targets(name: str, step: Mapping[str, Any]) -> set[str]:
    targets = {t["to"] for t in step.get("next", ())}
    return targets | {e.get("to", name) for e in (step.get("events") or {}).values()}


def _closure(start: set[str], edges: Mapping[str, set[str]]) -> set[str]:
    seen, todo = set(start), list(start)
    while todo:
        for target in edges.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _find_name(text: str, name: str) -> int:
    match = re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", text)
    return match.start() if match else 0


def choice_list_problem(value: Any) -> str | None:
    """Explain why a value is not a list of choices ({value, label} items), or return None."""
    if not isinstance(value, list) or not value:
        return "must be a non-empty list of {value, label} items"
    values = []
    for number, item in enumerate(value, start=1):
        if not isinstance(item, Mapping) or set(item) != {"value", "label"}:
            return (
                f"must hold only {{value, label}} items, but item {number} is not one "
                "(quote a label that holds a comma)"
            )
        values.append(repr(item["value"]))
    if len(values) != len(set(values)):
        return "has two choices with the same value"
    return None
