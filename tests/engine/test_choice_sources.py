"""Choices read from a setting or from given data: validation and rendered step views."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine import ActionRegistry, Actor, Definition, Engine, Problem, check

VISITOR = Actor.parent(None)

QUESTION = """\
key: question
title: Question
start: anyone
given: [dossiers]
initial: poser
settings:
  sujets:
    - {value: paiement, label: Un paiement}
    - {value: compte, label: Mon compte}
steps:
  poser:
    title: Votre question
    fields:
      - name: sujet
        type: choice
        label: Sujet
        choices: settings.sujets
      - name: dossier
        type: choice
        widget: select
        label: Dossier concerné
        required: false
        choices: dossiers
    next: [{to: fin}]
  fin:
    final: true
    title: Merci
"""


def problems(text: str, registry: ActionRegistry) -> list[Problem]:
    return check(text, "question.yaml", registry)


def replace(old: str, new: str) -> str:
    assert old in QUESTION
    return QUESTION.replace(old, new)


def test_choices_may_name_a_setting_or_given_data(registry: ActionRegistry) -> None:
    assert problems(QUESTION, registry) == []


@pytest.mark.parametrize(
    ("old", "new", "code", "words"),
    [
        ("choices: settings.sujets", "choices: settings.sujet", "unknown-name", "« sujet »"),
        ("choices: dossiers", "choices: dossier_list", "unknown-name", "nom inconnu"),
        ("choices: dossiers", "choices: dossiers or settings.sujets", "bad-choices",
         "une seule liste"),
        ("    - {value: compte, label: Mon compte}\n", "    - compte\n", "bad-choices",
         "l'élément n° 2"),
        ("label: Mon compte}", "label: Mon compte}\n    - {value: compte, label: Bis}",
         "bad-choices", "même valeur"),
    ],
)  # fmt: skip
def test_bad_choice_sources_are_reported_at_their_line(
    registry: ActionRegistry, old: str, new: str, code: str, words: str
) -> None:
    text = replace(old, new)
    found = [p for p in problems(text, registry) if p.severity == "error"]
    assert [p.code for p in found] == [code]
    assert words in found[0].message
    assert "choices:" in text.splitlines()[found[0].line - 1]  # pointed at the field


def test_a_setting_that_is_not_a_list_is_refused(registry: ActionRegistry) -> None:
    text = replace(
        "  sujets:\n    - {value: paiement, label: Un paiement}\n"
        "    - {value: compte, label: Mon compte}\n",
        "  sujets: 3\n",
    )
    [problem] = [p for p in problems(text, registry) if p.code == "bad-choices"]
    assert "liste non vide" in problem.message


@pytest.fixture
def published(publish: Callable[[str], Definition]) -> Definition:
    return publish(QUESTION)


def test_the_step_view_lists_the_choices_of_this_instance(
    engine: Engine, published: Definition
) -> None:
    dossiers = [{"value": 12, "label": "F-0012 Cantine"}, {"value": 13, "label": "F-0013"}]
    instance = engine.start("question", applicant=VISITOR, data={"dossiers": dossiers})
    sujet, dossier = engine.current_step(instance).fields
    assert [c["value"] for c in sujet.options["choices"]] == ["paiement", "compte"]
    assert dossier.options["choices"] == dossiers
    other = engine.start("question", applicant=VISITOR, data={"dossiers": []})
    assert engine.current_step(other).fields[1].options["choices"] == []
