"""Blocking guards in French words: drawn from the guard, labelled from the definition."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import Actor, Definition, Engine, Guard, GuardSyntaxError
from engine.definition import build
from engine.explain import BlockedReason, blocked_reasons, describe, describe_value, summary
from engine.guards import MASK
from engine.yamlsource import load

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "workflows").glob("*.yaml"))
PARENT = Actor("parent:1", frozenset({"parent"}))

# The payment definition with the example's setting name and a shorter label.
PAYMENT = """\
key: essai_paiement
title: Essai
start: anyone
initial: montant
settings:
  montant_minimum: 100
  max_code_attempts: 3
  categories:
    - {value: paiement, label: Un paiement}
    - {value: autre, label: Autre question}
steps:
  montant:
    title: Montant
    fields:
      - {name: montant, type: money, label: Montant à payer}
      - name: profil
        type: choice
        label: Je suis
        choices:
          - {value: responsable, label: Responsable légal}
          - {value: eleve, label: Élève}
      - {name: categorie, type: choice, label: Votre demande concerne, choices: settings.categories}
      - {name: accord, type: checkbox, label: "J’accepte les conditions."}
      - {name: naissance, type: date, label: "Date de naissance de {{ child.prenom }}"}
      - {name: nom, type: text, label: Nom}
      - {name: code, type: otp, label: Code reçu par SMS, length: 6}
    next:
      - to: fin
        when: montant >= settings.montant_minimum
  fin:
    final: true
    title: Paiement accepté
    message: Merci.
"""


def _definition(text: str) -> Definition:
    data, _ = load(text)
    return build(data)


@pytest.fixture
def payment() -> Definition:
    return _definition(PAYMENT)


def _words(definition: Definition, source: str, step: str = "montant") -> str:
    return describe(source, definition, step)


@pytest.mark.parametrize(
    ("source", "words"),
    [
        (
            "montant >= settings.montant_minimum",
            "« Montant à payer » doit être supérieur ou égal à 1,00\u00a0€",
        ),
        (
            "code_ok and not code_expired",
            "« code_ok » doit être vrai et « code_expired » ne doit pas l'être",
        ),
        ("profil == 'responsable'", "« Je suis » doit valoir « Responsable légal »"),
        ("profil == 'inconnu'", "« Je suis » doit valoir « inconnu »"),
        ("categorie == 'autre'", "« Votre demande concerne » doit valoir « Autre question »"),
        ("code_attempts < settings.max_code_attempts", "« code_attempts » doit être inférieur à 3"),
        (
            "settings.max_code_attempts > code_attempts",
            "« code_attempts » doit être inférieur à 3",
        ),
        (
            "profil in ['responsable', 'eleve']",
            "« Je suis » doit valoir « Responsable légal » ou « Élève »",
        ),
        ("profil not in ['eleve']", "« Je suis » ne doit pas valoir « Élève »"),
        (
            "profil == 'responsable' or profil == 'eleve'",
            "« Je suis » doit valoir « Responsable légal » ou « Élève »",
        ),
        ("accord", "« J’accepte les conditions » doit être coché"),
        ("not accord", "« J’accepte les conditions » ne doit pas être coché"),
        ("account_id != null", "« account_id » doit être renseigné"),
        ("reference != ''", "« reference » doit être renseigné"),
        ("password_changed == true", "« password_changed » doit être vrai"),
        ("naissance <= today()", "« Date de naissance » doit être au plus tard la date du jour"),
        ("naissance > date('2000-01-01')", "« Date de naissance » doit être après le 01/01/2000"),
        ("len(nom) >= 2", "Le nombre de caractères de « Nom » doit être supérieur ou égal à 2"),
        ("len(children) > 0", "Le nombre d'éléments de « children » doit être supérieur à 0"),
        ("len(children)", "« children » ne doit pas être vide"),
        ("'caf' in pieces", "« pieces » doit contenir « caf »"),
        (
            "montant_du - montant > 0",
            "« montant_du » − « Montant à payer » doit être supérieur à 0,00\u00a0€",
        ),
        (
            "montant != null and montant > 0",
            "« Montant à payer » doit être renseigné et supérieur à 0,00\u00a0€",
        ),
        ("not (a or b)", "« a » ne doit pas être vrai et « b » non plus"),
        ("a and b and not c", "« a » doit être vrai, « b » aussi et « c » ne doit pas l'être"),
        ("settings.ouvert", "« settings.ouvert » doit être vrai"),
        (
            "not (a == 1 and b < 2)",
            "« a » ne doit pas valoir 1 ou « b » doit être supérieur ou égal à 2",
        ),
        ("settings.inconnu > 3", "« settings.inconnu » doit être supérieur à 3"),
        ("facture.reste > 0", "« facture.reste » doit être supérieur à 0"),
        ("false", "Cette condition n'est jamais remplie"),
        (
            "days_between(today(), echeance) >= 7",
            "Le nombre de jours entre la date du jour et « echeance » "
            "doit être supérieur ou égal à 7",
        ),
        (
            "montant <= max(settings.montant_minimum, reste)",
            "« Montant à payer » doit être inférieur ou égal "
            "au plus grand de 1,00\u00a0€ et « reste »",
        ),
    ],
)
def test_guards_in_words(payment: Definition, source: str, words: str) -> None:
    assert _words(payment, source) == words


def test_an_unusual_rule_is_quoted(payment: Definition) -> None:
    assert _words(payment, "abs(x) * 2") == "La condition « abs(x) * 2 » doit être remplie"
    assert _words(payment, "not 'texte'") == "Cette condition n'est jamais remplie"


def test_a_guard_object_and_its_source_read_the_same(payment: Definition) -> None:
    guard = Guard.parse("profil == 'eleve'")
    assert describe(guard, payment) == describe(guard.source, payment, "montant")


def test_text_that_does_not_parse_is_quoted_not_raised(payment: Definition) -> None:
    assert describe("montant >=", payment) == "La condition « montant >= » doit être remplie"


def _guards(definition: Definition) -> Iterator[tuple[str, Guard]]:
    for step in definition.steps.values():
        for transition in step.next:
            if transition.when is not None:
                yield step.name, transition.when
        for event in step.events.values():
            if event.when is not None:
                yield step.name, event.when


def _bounds(definition: Definition) -> Iterator[tuple[str, Guard]]:
    for step in definition.steps.values():
        for field in step.fields:
            for bound in (field.min, field.max):
                if isinstance(bound, Guard):
                    yield step.name, bound


def _field_names(definition: Definition) -> set[str]:
    return {f.name for step in definition.steps.values() for f in step.fields}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_guard_of_the_shipped_workflows_reads_as_french(path: Path) -> None:
    definition = _definition(path.read_text(encoding="utf-8"))
    fields = _field_names(definition)
    for step, guard in _guards(definition):
        words = describe(guard, definition, step)
        assert words[:1].isupper() or words.startswith("«"), (guard.source, words)
        assert "condition «" not in words, (guard.source, words)  # no shipped rule is quoted
        for name in guard.names:  # each name appears by its label, its value or as itself
            if name.startswith("settings."):
                assert f"« {name} »" not in words, (guard.source, words)
            elif name not in fields:
                assert f"« {name} »" in words, (guard.source, words)
    for step, bound in _bounds(definition):  # not blocking rules, but they must not crash
        assert describe(bound, definition, step)


NAMES = ["montant", "profil", "accord", "naissance", "nom", "code", "x",
         "settings.max_code_attempts", "settings.categories", "settings.nope", "facture.reste",
         "payload.commentaire"]  # fmt: skip
FUNCTIONS = ["today()", "now()", "len({})", "min({}, {})", "max([{}, {}])", "abs({})",
             "round({}, 2)", "date('2025-09-01')", "date({})", "days_between({}, {})"]  # fmt: skip
atoms = st.one_of(
    st.sampled_from(NAMES),
    st.integers(min_value=-(10**6), max_value=10**6).map(str),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(repr),
    st.sampled_from(["true", "false", "null", "''", "'responsable'", "'eleve'", "'a\\'b'"]),
)


def _combine(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    operators = ["+", "-", "*", "/", "==", "!=", "<", "<=", ">", ">=", "and", "or", "in", "not in"]
    binary = st.tuples(inner, st.sampled_from(operators), inner).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})"
    )
    unary = st.tuples(st.sampled_from(["-", "not "]), inner).map("".join)
    lists = st.lists(inner, max_size=3).map(lambda items: "[" + ", ".join(items) + "]")
    calls = st.tuples(st.sampled_from(FUNCTIONS), inner, inner).map(
        lambda t: t[0].format(t[1], t[2]) if "{}" in t[0] else t[0]
    )
    return st.one_of(binary, unary, lists, calls)


guards = st.recursive(atoms, _combine, max_leaves=10)


@settings(
    max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(source=guards)
def test_any_parseable_guard_gets_words(source: str) -> None:
    definition = _definition(PAYMENT)
    try:
        guard = Guard.parse(source)
    except GuardSyntaxError:  # text that does not parse is not this test's business
        return
    words = describe(guard, definition, "montant")
    assert isinstance(words, str) and words.strip()


@pytest.mark.parametrize(
    "source",
    [
        "not not not (a and (b or not c))",
        "-(-(-x)) > -3",
        "[[1, 2], [3]] == [x]",
        "min([]) > 0",
        "x in []",
        "x not in [1, 'a', null, true, date('2020-02-29')]",
        "(a or b) and (c or d) and not (e or f)",
        "round(1.23456, 2) == 1.23",
        " and ".join(f"n{i} > {i}" for i in range(40)),
        "((((((((((x))))))))))",
    ],
)
def test_synthetic_guards_never_crash(payment: Definition, source: str) -> None:
    assert describe(source, payment, "montant")


def test_blocked_reasons_keep_the_yaml_message_and_mask_secrets(payment: Definition) -> None:
    explanations = [
        {
            "guard": "montant >= settings.montant_minimum and code == '123456'",
            "values": {"montant": 50, "code": MASK, "settings.montant_minimum": 100},
            "result": False,
            "to": "fin",
            "message": "",
        },
        {
            "guard": "profil == 'responsable'",
            "values": {"profil": None},
            "result": False,
            "to": "fin",
            "message": "Choisissez votre profil.",
            "error": "unknown name 'profil'",
        },
    ]
    first, second = blocked_reasons(payment, "montant", explanations)
    assert isinstance(first, BlockedReason)
    assert first.message == first.words
    assert first.words.startswith("« Montant à payer » doit être supérieur ou égal à 1,00")
    assert first.rule == explanations[0]["guard"] and first.to == "fin"
    assert first.to_title == "Paiement accepté"
    assert first.values["code"] == MASK
    assert dict(first.shown) == {
        "Montant à payer": "0,50\u00a0€",
        "Code reçu par SMS": MASK,
    }
    assert first.values["settings.montant_minimum"] == 100
    assert second.message == "Choisissez votre profil."
    assert second.words == "« Je suis » doit valoir « Responsable légal »"
    assert dict(second.shown) == {"Je suis": "non renseigné"}
    assert second.error == "unknown name 'profil'"
    assert summary([first, second]).count(" ; ou bien ") == 1


def test_a_secret_field_value_is_never_shown_even_unmasked(payment: Definition) -> None:
    assert describe_value(payment, "code", "654321", "montant") == ("Code reçu par SMS", MASK)
    assert describe_value(payment, "profil", "eleve") == ("Je suis", "Élève")
    assert describe_value(payment, "accord", True) == ("J’accepte les conditions", "Oui")


def test_templates_are_rendered_with_the_data_when_given() -> None:
    definition = _definition(
        PAYMENT.replace("title: Paiement accepté", "title: Paiement de {{ nom }}")
    )
    explanation = {"guard": "nom != ''", "values": {"nom": ""}, "to": "fin",
                   "message": "Il manque le nom de {{ prenom }}."}  # fmt: skip
    [raw] = blocked_reasons(definition, "montant", [explanation])
    assert raw.to_title == "Paiement de {{ nom }}"
    data = {"nom": "Robin", "prenom": "Hélène"}
    [reason] = blocked_reasons(definition, "montant", [explanation], data=data)
    assert reason.to_title == "Paiement de Robin"
    assert reason.message == "Il manque le nom de Hélène."


def test_the_engine_s_explanations_read_as_words(
    engine: Engine, publish: Callable[[str], Definition], demo: Definition
) -> None:
    publish((ROOT / "workflows" / "demo.yaml").read_text(encoding="utf-8"))
    instance = engine.start("demo", applicant=PARENT)
    moved = engine.submit(
        instance,
        {"nom": "Robin", "prenom": "Hélène", "portable": "+33639980110", "courriel": "a@b.fr"},
        PARENT,
    )
    outcome = engine.submit(moved.instance, {"code": "000000"}, PARENT)
    assert not outcome.moved
    reasons = blocked_reasons(demo, outcome.from_step, outcome.blocked)
    assert [r.to for r in reasons] == ["enfants", "bloque"]
    assert reasons[0].message == "Le code est incorrect ou a expiré."
    assert reasons[0].words == "« code_ok » doit être vrai et « code_expired » ne doit pas l'être"
    assert reasons[1].message == "« code_attempts » doit être supérieur ou égal à 3"
    assert dict(reasons[1].shown)["code_attempts"] == "1"
    assert "000000" not in repr(reasons)
    why = engine.why_blocked(outcome.instance)
    assert [r.words for r in blocked_reasons(demo, outcome.instance.step, why)] == [
        r.words for r in reasons
    ]
