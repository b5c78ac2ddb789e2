"""Fuzz the guard language: whatever the input, only guard errors or plain data come out."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import FixedClock, Guard, GuardError, GuardSyntaxError, Scope

CLOCK = FixedClock(datetime(2025, 3, 1, 10, 0))
NAMES = ["a", "b", "count", "child", "items", "settings", "payload", "missing"]
FUNCTIONS = ["today", "now", "len", "min", "max", "abs", "round", "date", "days_between", "nope"]
PLAIN = (type(None), bool, int, float, str, date, list)
# No example database: the suite must not write files into the repository.
FUZZ = settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**18), max_value=10**18),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.dates(),
    st.datetimes(),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(NAMES), inner),
    max_leaves=12,
)
data = st.dictionaries(st.sampled_from(NAMES), values, max_size=6)


def _quoted(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


atoms = st.one_of(
    st.integers(min_value=-(10**6), max_value=10**6).map(str),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(repr),
    st.text(max_size=8).map(_quoted),
    st.sampled_from(["true", "false", "null", "'2025-09-01'"]),
    st.lists(st.sampled_from(NAMES), min_size=1, max_size=3).map(".".join),
)


def _combine(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(
        inner,
        st.sampled_from(
            ["+", "-", "*", "/", "==", "!=", "<", "<=", ">", ">=", "and", "or", "in", "not in"]
        ),
        inner,
    ).map(lambda t: f"({t[0]} {t[1]} {t[2]})")
    unary = st.tuples(st.sampled_from(["-", "not "]), inner).map("".join)
    calls = st.tuples(st.sampled_from(FUNCTIONS), st.lists(inner, max_size=3)).map(
        lambda t: f"{t[0]}({', '.join(t[1])})"
    )
    lists = st.lists(inner, max_size=4).map(lambda items: "[" + ", ".join(items) + "]")
    return binary | unary | calls | lists


expressions = st.recursive(atoms, _combine, max_leaves=15)
guard_alphabet = st.text(
    alphabet="abcdinotr_.0123456789 '\"()[],+-*/<>=!\\\n\t$é",
    max_size=80,
)


def _plain(value: Any) -> bool:
    if isinstance(value, list):
        return all(_plain(v) or isinstance(v, dict) for v in value)
    return isinstance(value, PLAIN)


def _run(text: str, names: dict[str, Any]) -> None:
    try:
        guard = Guard.parse(text)
    except GuardSyntaxError:
        return
    settings_ = names.get("settings")
    if not isinstance(settings_, dict):
        settings_ = {"count": 3}
    scope = Scope(names, CLOCK, settings=settings_, payload={"a": 1})
    try:
        result = guard.evaluate(scope)
    except GuardError:
        return
    assert _plain(result), (text, result)
    assert not isinstance(result, dict)
    explanation = guard.explain(scope)
    assert set(explanation["values"]) == set(guard.names)


@FUZZ
@given(st.text(max_size=600))
def test_arbitrary_text_only_raises_syntax_errors(text: str) -> None:
    _run(text, {})


@FUZZ
@given(guard_alphabet, data)
def test_guard_shaped_text_with_arbitrary_data(text: str, names: dict[str, Any]) -> None:
    _run(text, names)


@FUZZ
@given(expressions, data)
def test_generated_expressions_with_arbitrary_data(text: str, names: dict[str, Any]) -> None:
    _run(text, names)
