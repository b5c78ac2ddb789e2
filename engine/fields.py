"""The field types a step may declare, and which options fit each."""

from __future__ import annotations

from dataclasses import dataclass

COMMON_OPTIONS = frozenset({"name", "type", "label", "hint", "required", "default", "repeat"})
TEXT_OPTIONS = frozenset({"min_length", "max_length", "pattern", "pattern_message"})
BOUND_OPTIONS = frozenset({"min", "max"})


@dataclass(frozen=True, slots=True)
class FieldType:
    """Describe one field type: the options it accepts and how its value is kept."""

    name: str
    options: frozenset[str]
    secret: bool = False  # never stored in instance data, masked everywhere
    value: str = "text"  # what the stored value is: text, date, cents, integer, boolean, list


FIELD_TYPES: dict[str, FieldType] = {
    ft.name: ft
    for ft in (
        FieldType("text", TEXT_OPTIONS),
        FieldType("textarea", TEXT_OPTIONS),
        FieldType("email", frozenset({"max_length"})),
        FieldType("mobile", frozenset()),  # E.164 text, normalised by the form layer
        FieldType("otp", frozenset({"length"}), secret=True),
        FieldType("date", BOUND_OPTIONS, value="date"),
        FieldType("money", BOUND_OPTIONS, value="cents"),
        FieldType("integer", BOUND_OPTIONS, value="integer"),
        FieldType("choice", frozenset({"widget", "choices"})),
        FieldType("checkbox", frozenset(), value="boolean"),
        FieldType("password", frozenset({"policy"}), secret=True),
        FieldType("new_password", frozenset({"policy"}), secret=True),
        FieldType("file", frozenset({"accept", "max_size_kb"}), value="file reference"),
    )
}
