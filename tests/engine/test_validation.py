"""Validation: one broken file per error class, with the exact line and column."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine import ActionRegistry, DefinitionError, check, parse_definition
from engine.validation import errors_only

BROKEN = Path(__file__).resolve().parent / "broken"
MINI = Path(__file__).resolve().parent / "mini.yaml"

# file -> (code, line, column, words the message must contain)
EXPECTED = {
    "yaml_syntax": ("yaml-syntax", 11, 4, "indentation"),
    "duplicate_key": ("duplicate-key", 22, 5, "« title » apparaît deux fois"),
    "schema_unknown_key": ("schema", 15, 5, "vouliez-vous dire « next »"),
    "schema_missing_required": ("schema", 12, 9, "« label » manque"),
    "schema_wrong_type": ("schema", 20, 12, "true ou false"),
    "bad_duration": ("schema", 15, 20, "10m, 48h ou 2d"),
    "initial_missing": ("initial-missing", 5, 10, "vouliez-vous dire « ask »"),
    "unknown_step": ("unknown-step", 16, 13, "vouliez-vous dire « done »"),
    "unknown_field_type": ("unknown-field-type", 13, 15, "vouliez-vous dire « integer »"),
    "duplicate_field": ("duplicate-field", 15, 15, "deux fois dans cette étape"),
    "duplicate_field_across": ("duplicate-field", 20, 16, "aussi déclaré avec le type « integer »"),
    "field_option": ("field-option-not-applicable", 15, 9, "« min_length »"),
    "bad_pattern": ("bad-pattern", 18, 18, "expression régulière"),
    "date_bound_number": ("bad-bound", 15, 14, "date('2025-09-01')"),
    "repeat_over_unknown": ("unknown-name", 15, 24, "« kids »"),
    "guard_syntax": ("guard-syntax", 17, 28, "il manque une valeur"),
    "guard_unknown_name": ("unknown-name", 17, 15, "vouliez-vous dire « age »"),
    "guard_unknown_setting": ("unknown-name", 17, 22, "réglage « max_age », qui n'existe pas"),
    "payload_in_next": ("unknown-name", 17, 15, "que dans les conditions et les actions des"),
    "secret_field_elsewhere": ("unknown-name", 19, 22, "conservé que pendant l'envoi"),
    "template_syntax": ("template-syntax", 10, 12, "n'est pas fermée"),
    "template_unknown_name": ("unknown-name", 22, 14, "« prenom »"),
    "unknown_action": ("unknown-action", 16, 17, "vouliez-vous dire « send_code »"),
    "unknown_action_param": ("unknown-action-param", 17, 28, "pas de paramètre « step »"),
    "missing_action_param": ("missing-action-param", 16, 9, "besoin du paramètre « key »"),
    "bad_action_param": ("bad-action-param", 17, 32, "doit être un nombre entier"),
    "unknown_setting_param": ("unknown-setting", 17, 32, "déclarez « step » sous « settings »"),
    "reserved_event": ("reserved-name", 16, 7, "réservé"),
    "unknown_timer_event": ("unknown-timer-event", 15, 32, "vouliez-vous dire « expirer »"),
    "unreachable_step": ("unreachable-step", 19, 3, "« orphan » ne peut être atteinte"),
    "dead_end": ("dead-end", 17, 3, "« wait » n'a aucune sortie"),
    "final_with_exits": ("final-with-exits", 23, 5, "ne peut pas avoir « next »"),
    "cannot_finish": ("cannot-finish", 9, 3, "aucun chemin ne mène"),
}
# Words that betray an English message: every message must be French for school staff.
ENGLISH = re.compile(
    r"\b(is|are|not|must|should|cannot|unknown|did you mean|expected|found|missing|"
    r"required|allowed|invalid|error|the|of|which|does|has|no|add|remove|rename|"
    r"property|type of|unexpected|wrong|please|available|instead)\b",
    re.IGNORECASE,
)


def test_every_fixture_is_covered() -> None:
    assert {p.stem for p in BROKEN.glob("*.yaml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_file_is_reported_where_it_breaks(name: str, registry: ActionRegistry) -> None:
    code, line, column, words = EXPECTED[name]
    text = (BROKEN / f"{name}.yaml").read_text(encoding="utf-8")
    problems = errors_only(check(text, f"{name}.yaml", registry))
    assert problems, "the broken file was accepted"
    first = problems[0] if problems[0].code == code else next(p for p in problems if p.code == code)
    assert (first.line, first.column) == (line, column), str(first)
    assert words in first.message
    assert str(first).startswith(f"{name}.yaml:{line}:{column}: ")
    with pytest.raises(DefinitionError) as caught:
        parse_definition(text, f"{name}.yaml", registry)
    assert first in caught.value.problems


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_message_is_french(name: str, registry: ActionRegistry) -> None:
    text = (BROKEN / f"{name}.yaml").read_text(encoding="utf-8")
    problems = check(text, f"{name}.yaml", registry)
    assert problems
    for problem in problems:
        assert_french(problem.message)


def assert_french(message: str) -> None:
    """Fail on a message that reads as English (quoted identifiers aside)."""
    # Quoted identifiers (« next », « when »…) are technical and stay as written.
    prose = re.sub(r"« [^»]* »", "", message)
    assert not ENGLISH.search(prose), f"English in: {message}"
    assert re.search(r"\b(le|la|l'|les|de|du|des|un|une|pas|ou|ne|aucun|aucune|est)\b", prose), (
        message
    )


@pytest.mark.parametrize(
    "text",
    [
        "a: b: c\n",
        "a:\n  - x\n - y\n",
        "a: 'x\n",
        "a: [1, 2\n",
        "a: {b: 1\n",
        "a:\n\tb: 1\n",  # a tab as indentation
        "a: *x\n",
        'a: "\\q"\n',
        "a: 1\n---\nb: 2\n",
        "a: b\nc\n",
        "a: @x\n",
        "a: [1, 2]]\n",
        "- a\n",
        "a: \x00\n",
    ],
)
def test_yaml_errors_are_worded_in_french(text: str, registry: ActionRegistry) -> None:
    [problem] = check(text, "x.yaml", registry)
    assert problem.code in ("yaml-syntax", "schema")
    assert_french(problem.message)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("title: Question", "title: '{{ x'"),
        ("title: Question", "title: '{{ x }'"),
        ("title: Question", "title: '{{ }}'"),
        ("title: Question", "title: '{% if x %}'"),
        ("title: Question", "title: '{% foo %}'"),
        ("title: Question", "title: '{{ x y }}'"),
        ("title: Question", "title: '{{ x ! }}'"),
        ("title: Question", "title: '{{ x | nofilter }}'"),
        ("when: age >= 18", "when: age = 18"),
        ("when: age >= 18", "when: 'foo(age)'"),
        ("when: age >= 18", "when: 'len(age, 2)'"),
        ("when: age >= 18", "when: '[1, 2'"),
        ("when: age >= 18", "when: 'age 18'"),
        ("when: age >= 18", "when: 1 < age < 3"),
        ("label: Âge", "label: Âge\n        max_length: 3\n        min_length: 5"),
        ("label: Âge", "label: Âge\n        widget: big"),
        ("label: Âge", "label: Âge\n        length: 2"),
        ("label: Âge", "label: Âge\n        accept: []"),
        ("label: Âge", "label: Âge\n        choices: 3"),
        ("label: Âge", "label: Âge\n        pattern: '(a'"),
        ("title: Fini", "title: Fini\n    tone: pink"),
        ("start: anyone", "start: everyone"),
        ("key: mini", "key: Mini"),
        ("key: mini", "key: 3"),
        ("key: mini\n", ""),
        ("key: mini", "key: mini\nsecrets: [a, a]"),
        ("key: mini", "key: mini\ngiven: [payload, b, b]"),
        ("  ask:\n", "  Ask:\n"),
        ("      - to: done\n", "      - to: done\n      - to: done\n"),
        ("    final: true\n", ""),
    ],
)
def test_other_problems_are_worded_in_french(old: str, new: str, registry: ActionRegistry) -> None:
    text = MINI.read_text(encoding="utf-8")
    assert old in text
    problems = check(text.replace(old, new, 1), "mini.yaml", registry)
    assert problems
    for problem in problems:
        assert_french(problem.message)


def test_minimal_and_demo_definitions_are_clean(registry: ActionRegistry, demo_text: str) -> None:
    assert check(MINI.read_text(encoding="utf-8"), "mini.yaml", registry) == []
    assert check(demo_text, "demo.yaml", registry) == []


def test_demo_needs_its_actions() -> None:
    problems = check(
        (Path(__file__).resolve().parents[2] / "workflows" / "demo.yaml").read_text("utf-8"),
        "demo.yaml",
        ActionRegistry(),
    )
    unknown = {
        p.message.split("« ")[1].split(" »")[0] for p in problems if p.code == "unknown-action"
    }
    assert unknown == {
        "find_children",
        "send_code",
        "check_code",
        "check_birth_dates",
        "set_password",
        "verify_password",
        "notify",
    }


def test_unconditional_transition_before_others_is_a_warning(registry: ActionRegistry) -> None:
    text = MINI.read_text(encoding="utf-8").replace(
        "      - to: done\n        when: age >= 18\n",
        "      - to: done\n      - to: done\n        when: age >= 18\n",
    )
    problems = check(text, "mini.yaml", registry)
    assert [(p.code, p.severity, p.line) for p in problems] == [
        ("shadowed-transition", "warning", 15)
    ]
    parse_definition(text, "mini.yaml", registry)  # warnings do not block loading


def test_python_tags_are_refused(registry: ActionRegistry) -> None:
    text = "key: !!python/object/apply:os.system ['true']\n"
    problems = check(text, "evil.yaml", registry)
    assert [p.code for p in problems] == ["yaml-syntax"]


def test_yaml_dates_stay_text_so_the_schema_sees_json(registry: ActionRegistry) -> None:
    text = MINI.read_text(encoding="utf-8").replace(
        "  max_attempts: 3\n", "  rentree: 2025-09-01\n"
    )
    assert check(text, "mini.yaml", registry) == []
    assert parse_definition(text, "mini.yaml", registry).settings["rentree"] == "2025-09-01"


def test_several_documents_are_refused(registry: ActionRegistry) -> None:
    text = MINI.read_text(encoding="utf-8") + "---\nkey: other\n"
    assert [p.code for p in check(text, "mini.yaml", registry)] == ["yaml-syntax"]


def test_non_mapping_document_is_a_schema_problem(registry: ActionRegistry) -> None:
    problems = check("- just\n- a list\n", "list.yaml", registry)
    assert [(p.code, p.line, p.column) for p in problems] == [("schema", 1, 1)]
