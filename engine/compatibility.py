"""Tell whether a running instance may move to a newer version of its workflow.

An instance is pinned to the version it started on. When staff publish a new version, an
administrator may move running instances onto it, but only those the new version can carry
on without surprise: the current step and every step behind it still exist, nobody else
has to act, no field the instance skipped became required, and every guard it will meet
reads only names it has. `move_problems` lists, in French, why an instance may not move.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from itertools import pairwise
from typing import Any

from engine.actions import ActionRegistry
from engine.definition import APPLICANT, ActionCall, Definition, Field, Step, resolve_param
from engine.guards import Guard
from engine.instance import Instance, Status
from engine.masking import mask
from engine.templates import render

# The roots a guard may read besides data, as the validator's _Scope.problem sees them.
SETTINGS = "settings"
PAYLOAD = "payload"
# Template expressions, dropped from a title or label that cannot be rendered.
_EXPRESSION = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)

FINISHED = "Le dossier est terminé."


def move_problems(
    instance: Instance, old: Definition, new: Definition, registry: ActionRegistry
) -> list[str]:
    """Return the reasons, in French, why the instance may not move from old to new."""
    if instance.key != old.key or instance.key != new.key:
        raise ValueError(
            f"instance of {instance.key!r} cannot move from {old.key!r} to {new.key!r}"
        )
    if instance.status is not Status.ACTIVE:
        return [FINISHED]
    texts = _Texts(instance, old, new)
    problems: list[str] = []
    current = new.steps.get(instance.step)
    if current is None:
        problems.append(
            f"L’étape « {texts.step(instance.step)} » n’existe plus dans la nouvelle version."
        )
    else:
        problems += _current_step(instance, old, current, texts)
    problems += _history(instance, new, texts)
    problems += _skipped_fields(instance, old, new, texts)
    if current is not None and not current.final:
        problems += _guards(instance, new, current, registry, texts)
        problems += _field_names(instance, new, current, texts)
        problems += _later_steps(instance, new, current, registry, texts)
    problems += _given(instance, new)
    return list(dict.fromkeys(problems))  # one guard may sit on several transitions


def compatible(
    instance: Instance, old: Definition, new: Definition, registry: ActionRegistry
) -> bool:
    """Tell whether the instance may move from old to new."""
    return not move_problems(instance, old, new, registry)


def retired_steps(old: Definition, new: Definition) -> list[str]:
    """Return the names of old's steps that new no longer has, in old's order."""
    return [name for name in old.steps if name not in new.steps]


# -- rules ------------------------------------------------------------------------------


def _current_step(instance: Instance, old: Definition, current: Step, texts: _Texts) -> list[str]:
    """Check the step the instance waits on: still a step to act on, by the same actor."""
    title = texts.step(current.name)
    if current.final:
        return [
            f"L’étape « {title} » est devenue une étape de fin dans la nouvelle version : "
            "le dossier s’y arrêterait sans être terminé."
        ]
    problems: list[str] = []
    before = old.steps.get(instance.step)
    if before is not None and before.actor != current.actor:
        problems.append(
            f"Dans la nouvelle version, l’étape « {title} » revient {_actor(current.actor)} "
            f"et non plus {_actor(before.actor)}."
        )
    if current.timer is not None and (before is None or before.timer != current.timer):
        # Timers are armed when a step is entered: one the instance is already past, never.
        problems.append(
            f"Dans la nouvelle version, l’étape « {title} » a un délai (« {current.timer.event} ») "
            "qui ne se déclencherait jamais pour un dossier qui y est déjà."
        )
    if before is not None:
        # The host, the bank or an armed timer may still send what the old step waited for.
        waited = {name for name, event in before.events.items() if not event.button}
        if before.timer is not None:
            waited.add(before.timer.event)
        for name in sorted(waited - current.events.keys()):
            problems.append(
                f"Dans la nouvelle version, l’étape « {title} » n’attend plus l’évènement "
                f"« {name} », que ce dossier peut encore recevoir."
            )
    return problems


def _history(instance: Instance, new: Definition, texts: _Texts) -> list[str]:
    """Check that every step behind the instance exists, and that back still leads to it."""
    problems: list[str] = []
    for name in dict.fromkeys(instance.history):
        if name not in new.steps:
            problems.append(
                f"L’étape « {texts.step(name)} », par laquelle ce dossier est passé, "
                "n’existe plus dans la nouvelle version."
            )
    # Back from a step returns to the one before it only along a declared transition.
    chain = [*instance.history, instance.step]
    for previous, step_name in pairwise(chain):
        step, before = new.steps.get(step_name), new.steps.get(previous)
        if step is None or before is None or not step.back or _leads(before, step_name):
            continue
        problems.append(
            f"Dans la nouvelle version, le retour de l’étape « {texts.step(step_name)} » "
            f"à l’étape « {texts.step(previous)} » ne serait plus possible."
        )
    return problems


def _skipped_fields(
    instance: Instance, old: Definition, new: Definition, texts: _Texts
) -> list[str]:
    """Check that no field newly required on a step already passed was left empty."""
    problems: list[str] = []
    for name in dict.fromkeys(instance.history):
        step = new.steps.get(name)
        if step is None:
            continue
        before = old.steps.get(name)
        for field in step.fields:
            if not field.required or field.secret:
                continue  # a secret value is never stored: nothing to look for
            was = before.field(field.name) if before is not None else None
            if was is not None and was.required and was.repeat == field.repeat:
                continue  # required already: the instance went through the same rule
            if _filled(field, instance.data.get(field.name)):
                continue
            problems.append(
                f"Le champ « {texts.label(field)} » de l’étape « {texts.step(name)} » est "
                "désormais obligatoire et ce dossier ne l’a pas rempli."
            )
    return problems


def _guards(
    instance: Instance, new: Definition, step: Step, registry: ActionRegistry, texts: _Texts
) -> list[str]:
    """Check that every guard of the current step reads only names the instance will have."""
    known = set(instance.data) | new.given
    # A submit stores the step's fields (secret ones stay in the submitted values) and runs
    # the step's actions before any guard; a transition's own actions run only once taken.
    on_submit = known | {f.name for f in step.fields} | _writes(step.actions, new, registry)
    guards: list[tuple[Guard, bool]] = [(t.when, False) for t in step.next if t.when]
    # An event runs no step action and carries no form values: its guard sees data and payload.
    guards += [(e.when, True) for e in step.events.values() if e.when]
    problems: list[str] = []
    title = texts.step(step.name)
    for guard, event in guards:
        available = known if event else on_submit
        for name in _missing(guard.names, available, new.settings, payload=event):
            problems.append(
                f"La règle « {guard.source} » de l’étape « {title} » lit « {name} », "
                "que ce dossier n’a pas."
            )
    return problems


def _field_names(instance: Instance, new: Definition, step: Step, texts: _Texts) -> list[str]:
    """Check what the current step's page reads to show its fields: bounds, choices, repeat."""
    known = set(instance.data) | new.given
    problems: list[str] = []
    for field in step.fields:
        names: list[str] = []
        local: set[str] = set()
        if field.repeat is not None:
            names.append(field.repeat.over)
            local.add(field.repeat.as_)
        names += [n for b in (field.min, field.max) if isinstance(b, Guard) for n in b.names]
        choices = field.options.get("choices")
        if isinstance(choices, str):
            names.append(choices.strip())
        for name in _missing(names, known | local, new.settings, payload=False):
            problems.append(
                f"Le champ « {texts.label(field)} » de l’étape « {texts.step(step.name)} » "
                f"lit « {name} », que ce dossier n’a pas."
            )
    return problems


def _later_steps(
    instance: Instance, new: Definition, current: Step, registry: ActionRegistry, texts: _Texts
) -> list[str]:
    """Check the steps the instance may still reach: their rules and pages read only names
    it has, or that a step on its way will ask for or write."""
    ahead = _reachable(new, current.name)
    coming: set[str] = set()
    for name in {current.name, *ahead}:
        step = new.steps[name]
        coming |= {f.name for f in step.fields} | _writes(step.actions, new, registry)
        for call in (*step.next, *step.events.values()):
            coming |= _writes(call.actions, new, registry)
    known = set(instance.data) | new.given | coming
    problems: list[str] = []
    for name in (n for n in new.steps if n in ahead):
        step = new.steps[name]
        reads: list[tuple[str, bool]] = [
            (n, False) for t in step.next if t.when for n in t.when.names
        ]
        reads += [(n, True) for e in step.events.values() if e.when for n in e.when.names]
        for field in step.fields:
            local = {field.repeat.as_} if field.repeat is not None else set()
            names = [field.repeat.over] if field.repeat is not None else []
            names += [n for b in (field.min, field.max) if isinstance(b, Guard) for n in b.names]
            reads += [(n, False) for n in names if n.split(".")[0] not in local]
        for read, event in dict.fromkeys(reads):
            if _missing([read], known, new.settings, payload=event):
                problems.append(
                    f"L’étape « {texts.step(name)} », que ce dossier peut encore atteindre, "
                    f"lit « {read} », qu’il n’a pas et qu’aucune étape à venir ne demande."
                )
    return problems


def _reachable(definition: Definition, start: str) -> set[str]:
    """Return the steps reachable from start along transitions and events (not back)."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        step = definition.steps.get(todo.pop())
        if step is None:
            continue
        for target in (*(t.to for t in step.next), *(e.to for e in step.events.values())):
            if target not in seen and target != start:
                seen.add(target)
                todo.append(target)
    return seen


def _given(instance: Instance, new: Definition) -> list[str]:
    """Check that the instance holds every key the new version expects from the host."""
    return [
        f"La nouvelle version attend la donnée « {key} », fournie au démarrage, "
        "que ce dossier n’a pas."
        for key in sorted(new.given - instance.data.keys())
    ]


# -- helpers ----------------------------------------------------------------------------


def _missing(
    names: Iterable[str], available: set[str], settings: Mapping[str, Any], *, payload: bool
) -> list[str]:
    """Return the dotted names whose root the instance will not have, in order."""
    missing: list[str] = []
    for name in dict.fromkeys(names):
        path = name.split(".")
        root = path[0]
        # Same order as engine.guards.Scope.root: settings and payload before data.
        if root == SETTINGS:
            ok = len(path) == 1 or path[1] in settings
        elif root == PAYLOAD:
            ok = payload
        else:
            ok = root in available
        if not ok:
            missing.append(name)
    return missing


def _writes(calls: Iterable[ActionCall], new: Definition, registry: ActionRegistry) -> set[str]:
    """Return the data keys the calls may write, with parameters bound as the compiler does."""
    keys: set[str] = set()
    for call in calls:
        if call.name not in registry:
            continue  # the definition would not compile: its validation reports it
        spec = registry.get(call.name)
        params = {name: p.default for name, p in spec.params.items() if not p.required}
        params.update({k: resolve_param(v, new.settings) for k, v in call.params.items()})
        keys |= spec.written_keys(params)
    return keys


def _leads(step: Step, target: str) -> bool:
    return any(t.to == target for t in step.next) or any(
        e.to == target for e in step.events.values()
    )


def _filled(field: Field, value: Any) -> bool:
    """Tell whether a stored value satisfies a required field, as the runtime checks it."""
    if field.repeat is not None:
        return isinstance(value, list) and not any(_empty(v) for v in value)
    return not _empty(value)


def _empty(value: Any) -> bool:
    # Same notion as the runtime's: an unticked required checkbox is empty.
    return value is None or value == "" or value == [] or value is False


def _actor(actor: str) -> str:
    """Name who acts on a step, after 'au' / 'à'."""
    if actor == APPLICANT:
        return "au demandeur"
    return f"au rôle « {actor.removeprefix('role:')} »"


class _Texts:
    """Render step titles and field labels for messages, from the instance's own data."""

    def __init__(self, instance: Instance, old: Definition, new: Definition) -> None:
        self.old, self.new = old, new
        self.data = mask(instance.data, old.secret_keys | new.secret_keys)

    def step(self, name: str) -> str:
        """Return the step's title in the new version, else in the old one, else its name."""
        step = self.new.steps.get(name) or self.old.steps.get(name)
        if step is None:
            return name
        settings = self.new.settings if name in self.new.steps else self.old.settings
        return self._plain(step.title, settings) or name

    def label(self, field: Field) -> str:
        """Return a field's label as a person reads it."""
        return self._plain(field.label, self.new.settings) or field.name

    def _plain(self, text: str, settings: Mapping[str, Any]) -> str:
        try:
            rendered = render(text, self.data, settings).unescape()
        except Exception:
            # A label reading a repeat item or a missing name: show it without expressions.
            rendered = _EXPRESSION.sub("", text)
        return " ".join(rendered.split())
