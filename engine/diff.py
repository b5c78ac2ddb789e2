"""What changes between two versions of a workflow definition: French words and a line diff."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from engine.definition import (
    APPLICANT,
    ActionCall,
    Definition,
    Event,
    Field,
    Step,
    Timer,
    Transition,
)
from engine.guards import Guard

Severity = Literal["info", "warning"]
LineKind = Literal["same", "added", "removed", "hunk"]

INFO: Severity = "info"
WARNING: Severity = "warning"

# Field types as an administrator reads them.
TYPE_WORDS = {
    "text": "texte",
    "textarea": "texte long",
    "email": "adresse électronique",
    "mobile": "téléphone portable",
    "otp": "code reçu",
    "date": "date",
    "money": "montant",
    "integer": "nombre entier",
    "choice": "choix",
    "checkbox": "case à cocher",
    "password": "mot de passe",
    "new_password": "nouveau mot de passe",
    "file": "fichier",
}

# Step texts compared one by one: attribute -> what it is called.
STEP_TEXTS = {
    "title": "titre",
    "intro": "texte d’introduction",
    "message": "message",
    "submit": "libellé du bouton de validation",
}

# Field options that are not compared one by one elsewhere.
FIELD_OPTION_KEYS = ("default", "min", "max", "repeat")

# How close two steps must be (0..1) to count as one renamed step.
RENAME_THRESHOLD = 0.75
# Longest value quoted in words before it is cut.
MAX_QUOTE = 80


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between two versions, with a French sentence for administrators."""

    kind: str
    step: str | None
    field: str | None
    words: str
    severity: Severity = INFO


@dataclass(frozen=True, slots=True)
class DiffLine:
    """One line of a text diff: kept, added, removed, or the header of a hunk."""

    kind: LineKind
    old_line: int | None
    new_line: int | None
    text: str


# ---------------------------------------------------------------------------
# Formatting helpers


def _q(text: str) -> str:
    """Quote a text the French way, collapsing whitespace and cutting long texts."""
    flat = " ".join(str(text).split())
    if len(flat) > MAX_QUOTE:
        flat = flat[: MAX_QUOTE - 1].rstrip() + "…"
    return f"« {flat} »"


def _value(value: Any) -> str:
    """Show a setting or option value compactly."""
    if value is None:
        return "aucune valeur"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return _q(value)
    if isinstance(value, Guard):
        return _q(value.source)
    if isinstance(value, timedelta):
        return _duration(value)
    if isinstance(value, Mapping):
        value = dict(value)
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_QUOTE else text[: MAX_QUOTE - 1] + "…"


def _duration(delay: timedelta) -> str:
    """Say a timer delay in French."""
    minutes = int(delay.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return f"{days} jour{'s' if days > 1 else ''}"
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} heure{'s' if hours > 1 else ''}"
    return f"{minutes} minute{'s' if minutes > 1 else ''}"


def _step_ref(step: Step) -> str:
    """Name a step as a person recognises it: its title, then its identifier."""
    return f"« {' '.join(step.title.split())} » ({step.name})"


def _field_ref(field: Field) -> str:
    """Name a field by its label, then its identifier."""
    return f"« {' '.join(field.label.split())} » ({field.name})"


def _actor(actor: str) -> str:
    """Say who handles a step."""
    if actor == APPLICANT:
        return "la personne qui fait la démarche"
    if actor.startswith("role:"):
        return f"le rôle {actor.removeprefix('role:')}"
    return actor


def _start(start: str) -> str:
    """Say who may start the workflow."""
    if start == "anyone":
        return "tout le monde"
    if start == "parent":
        return "les responsables légaux connectés"
    if start.startswith("role:"):
        return f"le rôle {start.removeprefix('role:')}"
    return start


def _same_guard(old: Guard | None, new: Guard | None) -> bool:
    """Tell whether two guards mean the same, whatever their spacing."""
    if old is None or new is None:
        return old is new
    return old.source == new.source or old.tree == new.tree


def _guard_words(guard: Guard | None) -> str:
    return _q(guard.source) if guard is not None else "toujours"


def _joined(items: Iterable[str]) -> str:
    return ", ".join(items)


# ---------------------------------------------------------------------------
# Public API


def describe_changes(old: Definition | None, new: Definition) -> list[Change]:
    """List, in French, what changes from the old definition to the new one."""
    if old is None:
        return [_first_version(new)]
    renames = _match_renames(old, new)
    changes = _definition_changes(old, new, renames)
    changes.extend(_step_changes(old, new, renames))
    return changes


def text_diff(old_source: str, new_source: str) -> list[DiffLine]:
    """Compare two sources line by line, with 3 lines of context around each change."""
    old_lines = old_source.splitlines()
    new_lines = new_source.splitlines()
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    result: list[DiffLine] = []
    for group in matcher.get_grouped_opcodes(3):
        first, last = group[0], group[-1]
        old_start, old_end = first[1], last[2]
        new_start, new_end = first[3], last[4]
        header = (
            f"@@ -{_range(old_start, old_end - old_start)} "
            f"+{_range(new_start, new_end - new_start)} @@"
        )
        result.append(DiffLine("hunk", old_start + 1, new_start + 1, header))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                result.extend(
                    DiffLine("same", i + 1, j + 1, old_lines[i])
                    for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
                )
                continue
            result.extend(DiffLine("removed", i + 1, None, old_lines[i]) for i in range(i1, i2))
            result.extend(DiffLine("added", None, j + 1, new_lines[j]) for j in range(j1, j2))
    return result


def _range(start: int, length: int) -> str:
    """Format a unified-diff range (1-based start, like `diff -u`)."""
    beginning = start + 1
    if length == 1:
        return str(beginning)
    if length == 0:
        beginning -= 1  # an empty range names the line before it
    return f"{beginning},{length}"


# ---------------------------------------------------------------------------
# Whole definition


def _first_version(new: Definition) -> Change:
    steps = _joined(_step_ref(step) for step in new.steps.values())
    count = len(new.steps)
    words = (
        f"Première version de la démarche {_q(new.title)} : "
        f"{count} étape{'s' if count > 1 else ''} — {steps}"
    )
    return Change("first-version", None, None, words)


def _definition_changes(
    old: Definition, new: Definition, renames: Mapping[str, str]
) -> list[Change]:
    changes: list[Change] = []
    if old.title != new.title:
        words = f"Titre de la démarche : {_q(old.title)} → {_q(new.title)}"
        changes.append(Change("title-changed", None, None, words))
    if " ".join(old.description.split()) != " ".join(new.description.split()):
        changes.append(Change("text-changed", None, None, "Description de la démarche modifiée"))
    if old.start != new.start:
        words = f"Qui peut commencer la démarche : {_start(old.start)} → {_start(new.start)}"
        changes.append(Change("start-changed", None, None, words))
    if renames.get(old.initial, old.initial) != new.initial:
        before = old.steps[old.initial]
        after = new.steps[new.initial]
        words = f"Première étape : {_step_ref(before)} → {_step_ref(after)}"
        changes.append(Change("initial-changed", None, None, words))
    changes.extend(_settings_changes(old.settings, new.settings))
    changes.extend(
        _key_set_changes("secrets-changed", "Données masquées", old.secrets, new.secrets)
    )
    changes.extend(
        _key_set_changes("given-changed", "Données fournies au départ", old.given, new.given)
    )
    return changes


def _settings_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    changes: list[Change] = []
    for name, value in new.items():
        if name not in old:
            words = f"Nouveau réglage {name} : {_value(value)}"
            changes.append(Change("setting-added", None, None, words))
        elif old[name] != value:
            words = f"Réglage {name} : {_value(old[name])} → {_value(value)}"
            changes.append(Change("setting-changed", None, None, words))
    for name in old:
        if name not in new:
            words = f"Réglage {name} supprimé (valait {_value(old[name])})"
            changes.append(Change("setting-removed", None, None, words))
    return changes


def _key_set_changes(
    kind: str, label: str, old: frozenset[str], new: frozenset[str]
) -> list[Change]:
    if old == new:
        return []
    parts = []
    if added := sorted(new - old):
        parts.append(f"ajout de {_joined(added)}")
    if removed := sorted(old - new):
        parts.append(f"retrait de {_joined(removed)}")
    return [Change(kind, None, None, f"{label} : {' ; '.join(parts)}")]


# ---------------------------------------------------------------------------
# Renamed steps


def _match_renames(old: Definition, new: Definition) -> dict[str, str]:
    """Pair removed steps with added steps that look like the same step renamed."""
    removed = [name for name in old.steps if name not in new.steps]
    added = [name for name in new.steps if name not in old.steps]
    if not removed or not added:
        return {}
    scored = sorted(
        (
            (
                _similarity(old.steps[before], new.steps[after], {before: after}),
                index,
                before,
                after,
            )
            for index, (before, after) in enumerate((a, b) for a in removed for b in added)
        ),
        key=lambda item: (-item[0], item[1]),
    )
    renames: dict[str, str] = {}
    taken: set[str] = set()
    for score, _index, before, after in scored:
        if score < RENAME_THRESHOLD or before in renames or after in taken:
            continue
        renames[before] = after
        taken.add(after)
    return renames


def _similarity(old: Step, new: Step, renames: Mapping[str, str]) -> float:
    """Score how much two steps look alike, 1.0 when only the name differs."""
    if _comparable(old, renames) == _comparable(new, {}):
        return 1.0
    if old.title.strip() and " ".join(old.title.split()) == " ".join(new.title.split()):
        return 0.95
    old_fields = tuple(f.name for f in old.fields)
    if old_fields and old_fields == tuple(f.name for f in new.fields):
        return 0.9
    return difflib.SequenceMatcher(None, _signature(old), _signature(new)).ratio() * 0.9


def _comparable(step: Step, renames: Mapping[str, str]) -> tuple[Any, ...]:
    """Reduce a step to what it does, with step references renamed and the name left out."""
    events = tuple(
        (name, renames.get(e.to, e.to), e.label, e.when, e.message, e.actions, e.button)
        for name, e in sorted(step.events.items())
    )
    transitions = tuple((renames.get(t.to, t.to), t.when, t.message, t.actions) for t in step.next)
    return (
        step.title,
        step.intro,
        step.message,
        step.final,
        step.back,
        step.actor,
        step.fields,
        step.actions,
        transitions,
        events,
        step.timer,
        step.redirect,
        step.refresh,
        step.submit,
        step.tone,
        step.links,
    )


def _signature(step: Step) -> str:
    """Gather a step's texts, to compare steps that changed in more than their name."""
    labels = " ".join(f"{f.name} {f.label}" for f in step.fields)
    return " ".join((step.title, step.intro, step.message, labels)).strip()


# ---------------------------------------------------------------------------
# Step by step


def _step_changes(old: Definition, new: Definition, renames: Mapping[str, str]) -> list[Change]:
    """Compare the steps in the new definition's order, removed steps where they stood."""
    old_name_of = {after: before for before, after in renames.items()}
    removed = [name for name in old.steps if name not in new.steps and name not in renames]
    # Each removed step is reported after the step that preceded it in the old definition.
    after_step: dict[str | None, list[str]] = {}
    for name in removed:
        order = list(old.steps)
        anchor: str | None = None
        for earlier in reversed(order[: order.index(name)]):
            mapped = renames.get(earlier, earlier)
            if mapped in new.steps:
                anchor = mapped
                break
        after_step.setdefault(anchor, []).append(name)

    changes: list[Change] = []
    for name in after_step.get(None, []):
        changes.append(_removed_step(old.steps[name]))
    for name, step in new.steps.items():
        before_name = old_name_of.get(name, name)
        if before_name not in old.steps:
            changes.append(_added_step(step))
        else:
            before = old.steps[before_name]
            if before_name != name:
                words = f"Étape « {before_name} » renommée en « {name} »"
                changes.append(Change("step-renamed", name, None, words, WARNING))
            changes.extend(_compare_step(before, step, renames))
        for gone in after_step.get(name, []):
            changes.append(_removed_step(old.steps[gone]))
    return changes


def _added_step(step: Step) -> Change:
    details = []
    if step.final:
        details.append("étape finale")
    if step.actor != APPLICANT:
        details.append(f"traitée par {_actor(step.actor)}")
    if step.fields:
        details.append(f"champs : {_joined(_field_ref(f) for f in step.fields)}")
    suffix = f" ({' ; '.join(details)})" if details else ""
    return Change("step-added", step.name, None, f"Nouvelle étape {_step_ref(step)}{suffix}")


def _removed_step(step: Step) -> Change:
    words = f"Étape {_step_ref(step)} supprimée"
    return Change("step-removed", step.name, None, words, WARNING)


def _compare_step(old: Step, new: Step, renames: Mapping[str, str]) -> list[Change]:
    """Compare two versions of one step (possibly renamed)."""
    prefix = f"Étape {_step_ref(new)} : "
    changes: list[Change] = []

    def add(kind: str, words: str, severity: Severity = INFO, field: str | None = None) -> None:
        changes.append(Change(kind, new.name, field, prefix + words, severity))

    for attribute, label in STEP_TEXTS.items():
        before, after = getattr(old, attribute), getattr(new, attribute)
        if " ".join(before.split()) == " ".join(after.split()):
            continue
        if attribute == "title":
            add("text-changed", f"titre modifié (avant : {_q(before)})")
        elif not before:
            add("text-changed", f"{label} ajouté")
        elif not after:
            add("text-changed", f"{label} retiré")
        else:
            add("text-changed", f"{label} modifié")
    if old.actor != new.actor:
        add("actor-changed", f"traitée par {_actor(new.actor)} (avant : {_actor(old.actor)})")
    if old.final != new.final:
        add("final-changed", "devient une étape finale" if new.final else "n’est plus finale")
    if old.back != new.back:
        words = "bouton « Étape précédente » " + ("ajouté" if new.back else "retiré")
        add("back-changed", words)
    for words in _page_words(old, new):
        add("page-changed", words)

    for change in _field_changes(old, new):
        add(*change)
    if words := _actions_words(old.actions, new.actions):
        add("actions-changed", f"actions à chaque validation : {words}")
    changes.extend(
        Change(kind, new.name, None, prefix + words, severity)
        for kind, words, severity in _transition_changes(old, new, renames)
    )
    changes.extend(
        Change(kind, new.name, None, prefix + words, severity)
        for kind, words, severity in _event_changes(old, new, renames)
    )
    if words := _timer_words(old.timer, new.timer):
        add("timer-changed", words)
    return changes


def _page_words(old: Step, new: Step) -> list[str]:
    words = []
    if old.redirect != new.redirect:
        words.append(
            f"redirection : {_value(old.redirect or None)} → {_value(new.redirect or None)}"
        )
    if old.refresh != new.refresh:
        before = f"{old.refresh} s" if old.refresh else "jamais"
        after = f"{new.refresh} s" if new.refresh else "jamais"
        words.append(f"rechargement automatique de la page : {before} → {after}")
    if old.tone != new.tone:
        words.append(f"ton du message final : {old.tone} → {new.tone}")
    if old.links != new.links:
        before = _joined(_q(link.label) for link in old.links) or "aucun"
        after = _joined(_q(link.label) for link in new.links) or "aucun"
        words.append(f"liens : {before} → {after}")
    return words


# ---------------------------------------------------------------------------
# Fields


FieldChange = tuple[str, str, Severity, str | None]  # kind, words, severity, field name


def _field_changes(old: Step, new: Step) -> list[FieldChange]:
    old_fields = {f.name: f for f in old.fields}
    new_fields = {f.name: f for f in new.fields}
    # A field removed and one added with the same type and label: one field renamed.
    renamed: dict[str, str] = {}
    for after in new.fields:
        if after.name in old_fields:
            continue
        for before in old.fields:
            if (
                before.name not in new_fields
                and before.name not in renamed
                and (before.type, before.label) == (after.type, after.label)
            ):
                renamed[before.name] = after.name
                break
    renamed_from = {after: before for before, after in renamed.items()}

    changes: list[FieldChange] = []
    for field in new.fields:
        before_name = renamed_from.get(field.name, field.name)
        before = old_fields.get(before_name)
        if before is None:
            need = "obligatoire" if field.required else "facultatif"
            severity = WARNING if field.required else INFO
            words = f"nouveau champ {need} {_field_ref(field)}"
            changes.append(("field-added", words, severity, field.name))
            continue
        if before.name != field.name:
            words = (
                f"le champ {_q(field.label)} change d’identifiant : {before.name} → {field.name}"
            )
            changes.append(("field-renamed", words, WARNING, field.name))
        changes.extend(_compare_field(before, field))
    for field in old.fields:
        if field.name not in new_fields and field.name not in renamed:
            changes.append(
                ("field-removed", f"champ {_field_ref(field)} supprimé", INFO, field.name)
            )

    kept_old = [
        renamed.get(f.name, f.name) for f in old.fields if renamed.get(f.name, f.name) in new_fields
    ]
    kept_new = [f.name for f in new.fields if f.name in set(kept_old)]
    if kept_old != kept_new:
        words = f"champs dans un autre ordre : {_joined(kept_new)}"
        changes.append(("fields-reordered", words, INFO, None))
    return changes


def _compare_field(old: Field, new: Field) -> list[FieldChange]:
    ref = _field_ref(new)
    name = new.name
    changes: list[FieldChange] = []
    if old.type != new.type:
        before = TYPE_WORDS.get(old.type, old.type)
        after = TYPE_WORDS.get(new.type, new.type)
        changes.append(
            ("field-type", f"le champ {ref} change de type : {before} → {after}", WARNING, name)
        )
    if old.required != new.required:
        if new.required:
            changes.append(("field-required", f"le champ {ref} devient obligatoire", WARNING, name))
        else:
            changes.append(("field-optional", f"le champ {ref} devient facultatif", INFO, name))
    if " ".join(old.label.split()) != " ".join(new.label.split()):
        words = f"le champ {_q(old.label)} ({name}) s’intitule désormais {_q(new.label)}"
        changes.append(("field-label", words, INFO, name))
    if " ".join(old.hint.split()) != " ".join(new.hint.split()):
        if not old.hint:
            words = f"aide ajoutée au champ {ref} : {_q(new.hint)}"
        elif not new.hint:
            words = f"aide du champ {ref} retirée"
        else:
            words = f"aide du champ {ref} modifiée : {_q(new.hint)}"
        changes.append(("field-hint", words, INFO, name))
    old_choices, new_choices = old.options.get("choices"), new.options.get("choices")
    if old_choices != new_choices:
        words = f"choix du champ {ref} : {_choices_words(old_choices, new_choices)}"
        changes.append(("field-choices", words, INFO, name))
    option_changes = []
    for key in FIELD_OPTION_KEYS:
        before_value, after_value = getattr(old, key), getattr(new, key)
        if key in ("min", "max"):
            same = (
                _same_guard(before_value, after_value)
                if isinstance(before_value, Guard) and isinstance(after_value, Guard)
                else before_value == after_value
            )
        else:
            same = before_value == after_value
        if not same:
            option_changes.append(f"{key} {_option(before_value)} → {_option(after_value)}")
    for key in sorted((set(old.options) | set(new.options)) - {"choices"}):
        before_value, after_value = old.options.get(key), new.options.get(key)
        if before_value != after_value:
            option_changes.append(f"{key} {_option(before_value)} → {_option(after_value)}")
    if option_changes:
        words = f"le champ {ref} : {' ; '.join(option_changes)}"
        changes.append(("field-option", words, INFO, name))
    return changes


def _option(value: Any) -> str:
    if value is not None and hasattr(value, "over") and hasattr(value, "as_"):
        return f"répété pour chaque {value.as_} de {value.over}"
    return _value(value)


def _choices_words(old: Any, new: Any) -> str:
    """Say how a list of {value, label} choices changed."""
    if not (isinstance(old, list) and isinstance(new, list)):
        return f"{_value(old)} → {_value(new)}"

    def labels(choices: Sequence[Any]) -> dict[Any, str]:
        return {
            c.get("value"): str(c.get("label", c.get("value")))
            for c in choices
            if isinstance(c, Mapping)
        }

    before, after = labels(old), labels(new)
    parts = []
    if added := [after[v] for v in after if v not in before]:
        parts.append(f"ajout de {_joined(_q(label) for label in added)}")
    if removed := [before[v] for v in before if v not in after]:
        parts.append(f"retrait de {_joined(_q(label) for label in removed)}")
    relabelled = [
        f"{_q(before[v])} devient {_q(after[v])}"
        for v in after
        if v in before and before[v] != after[v]
    ]
    parts.extend(relabelled)
    if not parts:
        parts.append("nouvel ordre")
    return " ; ".join(parts)


# ---------------------------------------------------------------------------
# Actions, transitions, events, timers


def _actions_words(old: Sequence[ActionCall], new: Sequence[ActionCall]) -> str:
    """Say how a list of action calls changed; empty when it did not."""
    if tuple(old) == tuple(new):
        return ""
    old_names = [a.name for a in old]
    new_names = [a.name for a in new]
    parts = []
    if added := [n for n in new_names if n not in old_names]:
        parts.append(f"ajout de {_joined(added)}")
    if removed := [n for n in old_names if n not in new_names]:
        parts.append(f"retrait de {_joined(removed)}")
    before_by_name = {a.name: a for a in old}
    for call in new:
        before = before_by_name.get(call.name)
        if before is not None and dict(before.params) != dict(call.params):
            params = _param_changes(before.params, call.params)
            parts.append(f"paramètres de {call.name} modifiés ({params})")
    if not parts:
        parts.append(f"nouvel ordre : {_joined(new_names)}")
    return " ; ".join(parts)


def _param_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    parts = []
    for key in list(new) + [k for k in old if k not in new]:
        if old.get(key) != new.get(key):
            parts.append(f"{key} : {_value(old.get(key))} → {_value(new.get(key))}")
    return ", ".join(parts)


Words = tuple[str, str, Severity]  # kind, words, severity


def _transition_changes(old: Step, new: Step, renames: Mapping[str, str]) -> list[Words]:
    """Compare the ordered `next` lists, pairing the n-th transition to each step."""

    def keyed(
        transitions: Sequence[Transition], rename: Mapping[str, str]
    ) -> list[tuple[str, int]]:
        seen: dict[str, int] = {}
        keys = []
        for transition in transitions:
            to = rename.get(transition.to, transition.to)
            keys.append((to, seen.get(to, 0)))
            seen[to] = seen.get(to, 0) + 1
        return keys

    old_keys = keyed(old.next, renames)
    new_keys = keyed(new.next, {})
    old_by_key = dict(zip(old_keys, old.next, strict=True))
    new_by_key = dict(zip(new_keys, new.next, strict=True))
    changes: list[Words] = []
    for key, transition in new_by_key.items():
        target = f"« {key[0]} »"
        before = old_by_key.get(key)
        if before is None:
            condition = f"si {_q(transition.when.source)}" if transition.when else "sans condition"
            changes.append(
                ("transition-added", f"nouveau passage vers {target} ({condition})", INFO)
            )
            continue
        if not _same_guard(before.when, transition.when):
            if transition.when is None:
                before_guard = _guard_words(before.when)
                words = f"la règle vers {target} n’a plus de condition (avant : {before_guard})"
            else:
                words = (
                    f"la règle vers {target} devient {_q(transition.when.source)} "
                    f"(avant : {_guard_words(before.when)})"
                )
            changes.append(("guard-changed", words, WARNING))
        if " ".join(before.message.split()) != " ".join(transition.message.split()):
            changes.append(("text-changed", f"message de la règle vers {target} modifié", INFO))
        if words := _actions_words(before.actions, transition.actions):
            changes.append(("actions-changed", f"actions du passage vers {target} : {words}", INFO))
    for key, transition in old_by_key.items():
        if key not in new_by_key:
            condition = f"si {_q(transition.when.source)}" if transition.when else "sans condition"
            changes.append(
                ("transition-removed", f"plus de passage vers « {key[0]} » ({condition})", WARNING)
            )
    kept_old = [k for k in old_keys if k in new_by_key]
    kept_new = [k for k in new_keys if k in old_by_key]
    if kept_old != kept_new:
        order = _joined(f"« {k[0]} »" for k in kept_new)
        words = f"les règles de passage sont examinées dans un autre ordre : {order}"
        changes.append(("transitions-reordered", words, WARNING))
    return changes


def _event_ref(event: Event) -> str:
    if event.button:
        return f"le bouton {_q(event.label or event.name)} ({event.name})"
    return f"l’événement {event.name}"


def _event_changes(old: Step, new: Step, renames: Mapping[str, str]) -> list[Words]:
    changes: list[Words] = []
    for name, event in new.events.items():
        before = old.events.get(name)
        ref = _event_ref(event)
        if before is None:
            what = (
                f"nouveau bouton {_q(event.label or name)} ({name})"
                if event.button
                else f"nouvel événement {name}"
            )
            changes.append(("event-added", what, INFO))
            continue
        before_to = renames.get(before.to, before.to)
        if before_to != event.to:
            changes.append(
                (
                    "event-changed",
                    f"{ref} mène désormais à « {event.to} » (avant : « {before_to} »)",
                    INFO,
                )
            )
        if before.button != event.button:
            words = f"{ref} devient un bouton" if event.button else f"{ref} n’est plus un bouton"
            changes.append(("event-changed", words, INFO))
        if " ".join(before.label.split()) != " ".join(event.label.split()) and before.label:
            changes.append(("event-changed", f"{ref} s’intitulait {_q(before.label)}", INFO))
        if not _same_guard(before.when, event.when):
            if event.when is None:
                words = f"{ref} n’a plus de condition (avant : {_guard_words(before.when)})"
            else:
                words = (
                    f"la condition de {ref} devient {_q(event.when.source)} "
                    f"(avant : {_guard_words(before.when)})"
                )
            changes.append(("guard-changed", words, WARNING))
        if " ".join(before.message.split()) != " ".join(event.message.split()):
            changes.append(("text-changed", f"message de {ref} modifié", INFO))
        if words := _actions_words(before.actions, event.actions):
            changes.append(("actions-changed", f"actions de {ref} : {words}", INFO))
    for name, event in old.events.items():
        if name not in new.events:
            changes.append(("event-removed", f"{_event_ref(event)} supprimé", WARNING))
    return changes


def _timer_words(old: Timer | None, new: Timer | None) -> str:
    """Say how a step's timer changed; empty when it did not."""
    if old == new:
        return ""
    if old is None:
        return f"nouveau délai : {_timer(new)}"
    if new is None:
        return f"délai supprimé (avant : {_timer(old)})"
    return f"délai : {_timer(old)} → {_timer(new)}"


def _timer(timer: Timer | None) -> str:
    if timer is None:
        return "aucun"
    return f"{timer.event} au bout de {_duration(timer.after)}"
