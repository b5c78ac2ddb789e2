"""Guard language: parsing, evaluation, limits and explanations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from engine import FixedClock, Guard, GuardError, GuardSyntaxError, Scope
from engine.guards import MAX_DEPTH, MAX_LENGTH, MAX_LIST_ITEMS

CLOCK = FixedClock(datetime(2025, 3, 1, 10, 0))
DATA: dict[str, Any] = {
    "attempts": 3,
    "amount": 1250,
    "name": "Léa",
    "ok": True,
    "nothing": None,
    "child": {"prenom": "Hugo", "naissance": "2013-11-02"},
    "children": [{"prenom": "Léa"}, {"prenom": "Hugo"}],
    "tags": ["a", "b"],
    "born": date(2013, 11, 2),
}
SETTINGS = {"max_attempts": 3, "ceiling": 50000}


def evaluate(text: str, **payload: Any) -> Any:
    return Guard.parse(text).evaluate(Scope(DATA, CLOCK, SETTINGS, payload))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("-amount + 50", -1200),
        ("- -3", 3),
        ("7 / 2", 3.5),
        ("attempts < settings.max_attempts", False),
        ("attempts <= settings.max_attempts", True),
        ("amount >= 1000 and ok", True),
        ("not ok or attempts == 3", True),
        ("not (ok and nothing)", True),
        ("name == 'Léa'", True),
        ('name != "Léa"', False),
        ("'é' in name", True),
        ("'c' not in tags", True),
        ("attempts in [1, 2, 3]", True),
        ("child.prenom", "Hugo"),
        ("len(children)", 2),
        ("len(name)", 3),
        ("min(4, 2, 9)", 2),
        ("max([4, 2, 9])", 9),
        ("abs(-4)", 4),
        ("round(2.567, 1)", 2.6),
        ("round(2.5)", 2),
        ("today()", date(2025, 3, 1)),
        ("today() + 30", date(2025, 3, 31)),
        ("today() - born", 4137),
        ("date('2025-09-01') > today()", True),
        ("days_between(born, today())", 4137),
        ("now() > now()", False),
        ("nothing == null", True),
        ("true == 1", False),  # booleans are not numbers
        ("'a' + 'b'", "ab"),
        ("[1, 2] + [3]", [1, 2, 3]),
        ("payload.status == 'paid'", True),
        ("settings.ceiling", 50000),
    ],
)
def test_evaluates(text: str, expected: Any) -> None:
    assert evaluate(text, status="paid") == expected


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("'ab' * 3", "cannot apply *"),
        ("1 / 0", "division by zero"),
        ("missing > 1", "unknown name 'missing'"),
        ("child.age", "unknown name 'child.age'"),
        ("name.length", "'name' is not a record"),
        ("name < 3", "cannot apply <"),
        ("-name", "cannot negate"),
        ("len(3)", "len() needs"),
        ("date('01/09/2025')", "YYYY-MM-DD"),
        ("child", "record"),
        ("child and ok", "neither true nor false"),
        ("999999999999999 * 999999999999999", "out of range"),
        ("round(1.5, 99)", "digits"),
        ("min([])", "empty list"),
        ("min(1, 'a')", "one kind"),
        ("now() > today()", "cannot apply >"),
        ("1 in 5", "'in' needs a list"),
        ("today() + true", "cannot apply +"),
    ],
)
def test_evaluation_errors_are_guard_errors(text: str, error: str) -> None:
    with pytest.raises(GuardError, match=None) as caught:
        evaluate(text)
    assert error in str(caught.value)


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("1 +", 3),
        ("a < b < c", 6),
        ("foo(1)", 0),
        ("len(1, 2)", 0),
        ("today(1)", 0),
        ("'open", 0),
        ("a $ b", 2),
        ("a.", 2),
        ("(1", 2),
        ("[1, 2", 5),
        ("2abc", 1),
        ("a = 1", 2),
        ("", 0),
        ("x.__class__ or 1e5", 16),
    ],
)
def test_syntax_errors_carry_a_position(text: str, position: int) -> None:
    with pytest.raises(GuardSyntaxError) as caught:
        Guard.parse(text)
    assert caught.value.position == position


def test_python_syntax_is_not_accepted() -> None:
    for text in ["__import__('os')", "lambda: 1", "a if b else c", "x[0]", "a ** 2", "a % 2"]:
        with pytest.raises(GuardSyntaxError):
            Guard.parse(text)


def test_dunder_names_are_plain_dict_keys() -> None:
    guard = Guard.parse("x.__class__")
    with pytest.raises(GuardError, match="unknown name"):
        guard.evaluate(Scope({"x": {}}, CLOCK))
    assert guard.evaluate(Scope({"x": {"__class__": 1}}, CLOCK)) == 1


def test_dotted_lookup_never_uses_getattr() -> None:
    class Sneaky(dict):
        prenom = "attribute"

    with pytest.raises(GuardError, match="unknown name"):
        Guard.parse("child.prenom").evaluate(Scope({"child": Sneaky()}, CLOCK))


def test_foreign_objects_in_data_are_refused() -> None:
    with pytest.raises(GuardError, match="unsupported value"):
        Guard.parse("thing").evaluate(Scope({"thing": object()}, CLOCK))


def test_limits() -> None:
    with pytest.raises(GuardSyntaxError, match="dépasse"):
        Guard.parse("1 + " * (MAX_LENGTH // 4) + "1")
    with pytest.raises(GuardSyntaxError, match="niveaux d'imbrication"):
        Guard.parse("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1))
    with pytest.raises(GuardSyntaxError, match="niveaux d'imbrication"):
        Guard.parse("not " * (MAX_DEPTH + 1) + "a")
    with pytest.raises(GuardSyntaxError, match="éléments"):
        Guard.parse("[" + ", ".join(["1"] * (MAX_LIST_ITEMS + 1)) + "]")
    with pytest.raises(GuardSyntaxError, match="trop grand"):
        Guard.parse("10000000000000000")
    with pytest.raises(GuardError, match="too long"):
        Guard.parse("t + t + t").evaluate(Scope({"t": "x" * 400}, CLOCK))


def test_and_or_short_circuit() -> None:
    assert evaluate("ok or missing") is True
    assert evaluate("nothing and missing") is False


def test_names_lists_each_dotted_name_once_in_order() -> None:
    guard = Guard.parse("a.b > 1 and c or a.b == settings.x and len(d) > 0")
    assert guard.names == ("a.b", "c", "settings.x", "d")


def test_explain_reports_values_and_outcome() -> None:
    guard = Guard.parse("attempts < settings.max_attempts")
    explanation = guard.explain(Scope(DATA, CLOCK, SETTINGS))
    assert explanation == {
        "guard": "attempts < settings.max_attempts",
        "values": {"attempts": 3, "settings.max_attempts": 3},
        "result": False,
    }


def test_explain_reports_errors_and_masks_secrets() -> None:
    guard = Guard.parse("code == secret_code and missing")
    explanation = guard.explain(
        Scope({"code": "123456", "secret_code": "123456"}, CLOCK),
        secret=frozenset({"code", "secret_code"}),
    )
    assert explanation["values"] == {"code": "***", "secret_code": "***", "missing": None}
    assert explanation["result"] is False
    assert "unknown name 'missing'" in explanation["error"]
