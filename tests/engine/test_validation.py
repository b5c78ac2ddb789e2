"""Validation: one broken file per error class, with the exact line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import ActionRegistry, DefinitionError, check, parse_definition
from engine.validation import errors_only

BROKEN = Path(__file__).resolve().parent / "broken"
MINI = Path(__file__).resolve().parent / "mini.yaml"

# file -> (code, line, column, words the message must contain)
EXPECTED = {
    "yaml_syntax": ("yaml-syntax", 11, 4, "indentation"),
    "duplicate_key": ("duplicate-key", 22, 5, "'title' appears twice"),
    "schema_unknown_key": ("schema", 15, 5, "did you mean 'next'"),
    "schema_missing_required": ("schema", 12, 9, "missing 'label'"),
    "schema_wrong_type": ("schema", 20, 12, "'boolean'"),
    "bad_duration": ("schema", 15, 20, "10m, 48h or 2d"),
    "initial_missing": ("initial-missing", 5, 10, "did you mean 'ask'"),
    "unknown_step": ("unknown-step", 16, 13, "did you mean 'done'"),
    "unknown_field_type": ("unknown-field-type", 13, 15, "did you mean 'integer'"),
    "duplicate_field": ("duplicate-field", 15, 15, "declared twice in this step"),
    "duplicate_field_across": ("duplicate-field", 20, 16, "also declared with type 'integer'"),
    "field_option": ("field-option-not-applicable", 15, 9, "'min_length'"),
    "bad_pattern": ("bad-pattern", 18, 18, "regular expression"),
    "date_bound_number": ("bad-bound", 15, 14, "date('2025-09-01')"),
    "repeat_over_unknown": ("unknown-name", 15, 24, "'kids'"),
    "guard_syntax": ("guard-syntax", 17, 28, "expected a value"),
    "guard_unknown_name": ("unknown-name", 17, 15, "did you mean 'age'"),
    "guard_unknown_setting": ("unknown-name", 17, 22, "unknown setting 'max_age'"),
    "payload_in_next": ("unknown-name", 17, 15, "only in event guards"),
    "secret_field_elsewhere": ("unknown-name", 19, 22, "kept only while its own step"),
    "template_syntax": ("template-syntax", 10, 12, "fix the braces"),
    "template_unknown_name": ("unknown-name", 22, 14, "'prenom'"),
    "unknown_action": ("unknown-action", 16, 17, "did you mean 'send_code'"),
    "unknown_action_param": ("unknown-action-param", 17, 28, "no parameter 'step'"),
    "missing_action_param": ("missing-action-param", 16, 9, "needs parameter 'key'"),
    "bad_action_param": ("bad-action-param", 17, 32, "must be of type int"),
    "unknown_setting_param": ("unknown-setting", 17, 32, "declare 'step' under settings"),
    "reserved_event": ("reserved-name", 16, 7, "reserved"),
    "unknown_timer_event": ("unknown-timer-event", 15, 32, "did you mean 'expirer'"),
    "unreachable_step": ("unreachable-step", 19, 3, "'orphan' cannot be reached"),
    "dead_end": ("dead-end", 17, 3, "'wait' has no way out"),
    "final_with_exits": ("final-with-exits", 23, 5, "cannot have next"),
    "cannot_finish": ("cannot-finish", 9, 3, "no path leads"),
}


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


def test_minimal_and_demo_definitions_are_clean(registry: ActionRegistry, demo_text: str) -> None:
    assert check(MINI.read_text(encoding="utf-8"), "mini.yaml", registry) == []
    assert check(demo_text, "demo.yaml", registry) == []


def test_demo_needs_its_actions() -> None:
    problems = check(
        (Path(__file__).resolve().parents[2] / "workflows" / "demo.yaml").read_text("utf-8"),
        "demo.yaml",
        ActionRegistry(),
    )
    unknown = {p.message.split("'")[1] for p in problems if p.code == "unknown-action"}
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
