"""Given data, redirect, refresh and links: validation codes and rendered step views."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from engine import (
    SYSTEM,
    ActionRegistry,
    Actor,
    Definition,
    Engine,
    InvalidTriggerError,
    Link,
    LinkView,
    Problem,
    check,
)
from engine.validation import errors_only
from engine.views import safe_path

VISITOR = Actor.parent(None)

WAITING = """\
key: attente
title: Attente
start: anyone
given: [dossier]
initial: aller
settings:
  delai: 5
steps:
  aller:
    title: Départ pour {{ dossier.nom }}
    redirect: /suivi/{{ dossier.ref }}?delai={{ settings.delai }}
    events:
      revenu: {to: attendre}
  attendre:
    title: Patientez
    intro: Nous attendons la réponse pour {{ dossier.nom }}.
    refresh: 5
    links:
      - label: Voir le dossier {{ dossier.ref }}
        href: /dossiers/{{ dossier.ref }}
      - label: Toujours là
        href: /aide
    events:
      fini:
        to: fin
        when: dossier.reste == 0
  fin:
    final: true
    title: Terminé
    message: Merci {{ dossier.nom }}.
    links:
      - {label: Télécharger le reçu, href: "/dossiers/{{ dossier.ref }}/recu.pdf"}
"""


def problems(text: str, registry: ActionRegistry) -> list[Problem]:
    return check(text, "test.yaml", registry)


def only(text: str, registry: ActionRegistry, code: str) -> Problem:
    [problem] = [p for p in problems(text, registry) if p.code == code]
    return problem


def replace(old: str, new: str) -> str:
    assert old in WAITING
    return WAITING.replace(old, new)


# -- validation ------------------------------------------------------------------------------


def test_the_example_is_clean_and_builds(
    registry: ActionRegistry, publish: Callable[[str], Definition]
) -> None:
    assert problems(WAITING, registry) == []
    definition: Definition = publish(WAITING)
    assert definition.given == frozenset({"dossier"})
    aller, attendre, fin = (definition.steps[n] for n in ("aller", "attendre", "fin"))
    assert aller.redirect == "/suivi/{{ dossier.ref }}?delai={{ settings.delai }}"
    assert (aller.refresh, attendre.refresh, attendre.redirect) == (None, 5, "")
    assert attendre.links[1] == Link("Toujours là", "/aide")
    assert fin.links == (Link("Télécharger le reçu", "/dossiers/{{ dossier.ref }}/recu.pdf"),)


def test_given_names_are_known_only_when_declared(registry: ActionRegistry) -> None:
    found = errors_only(problems(replace("given: [dossier]\n", ""), registry))
    assert {p.code for p in found} == {"unknown-name"}
    assert any("« dossier »" in p.message and "« given »" in p.message for p in found)


def test_given_duplicates_reserved_and_bad_names(registry: ActionRegistry) -> None:
    duplicate = only(replace("[dossier]", "[dossier, dossier]"), registry, "duplicate-given")
    assert (duplicate.line, duplicate.column) == (4, 18)
    assert "deux fois dans « given »" in duplicate.message
    reserved = only(replace("[dossier]", "[dossier, payload]"), registry, "reserved-name")
    assert (reserved.line, reserved.column, reserved.severity) == (4, 18, "error")
    bad = only(replace("[dossier]", "[dossier, Dossier-2]"), registry, "schema")
    assert (bad.line, bad.column) == (4, 18)
    assert "lettres minuscules" in bad.message


def test_a_repeat_variable_may_not_hide_a_given_name(registry: ActionRegistry) -> None:
    text = replace(
        "    events:\n      revenu",
        "    fields:\n"
        "      - {name: notes, type: text, label: Note, repeat: {over: liste, as: dossier}}\n"
        "    events:\n      revenu",
    ).replace("given: [dossier]", "given: [dossier, liste]")
    assert "cache une donnée" in only(text, registry, "reserved-name").message


@pytest.mark.parametrize(
    ("redirect", "words"),
    [
        ("https://ailleurs.example/x", "commençant par « / »"),
        ('"{{ dossier.ref }}"', "commençant par « / »"),
        ("//ailleurs.example/x", "un seul « / »"),
        ('"/\\\\ailleurs.example"', "barres obliques inverses"),
        ('"/suivi/{{ dossier.ref }} x"', "espaces"),
        ("javascript:alert(1)", "commençant par « / »"),
    ],
)
def test_redirect_must_be_a_relative_path(
    registry: ActionRegistry, redirect: str, words: str
) -> None:
    text = replace("/suivi/{{ dossier.ref }}?delai={{ settings.delai }}", redirect)
    problem = only(text, registry, "unsafe-path")
    assert (problem.line, problem.column) == (11, 15)
    assert words in problem.message


def test_redirect_and_link_templates_name_known_data(registry: ActionRegistry) -> None:
    redirect = only(
        replace("?delai={{ settings.delai }}", "?n={{ numero }}"), registry, "unknown-name"
    )
    assert redirect.line == 11 and "nom inconnu « numero »" in redirect.message
    label = only(
        replace("Voir le dossier {{ dossier.ref }}", "Voir {{ ref }}"), registry, "unknown-name"
    )
    assert (label.line, label.column) == (19, 16)
    broken = only(replace("href: /aide", "href: /aide/{{ x"), registry, "template-syntax")
    assert broken.line == 22
    # A template that does not parse is reported once, not also as an unsafe path.
    assert not [p for p in problems(replace("href: /aide", "href: '{{ x'"), registry)
                if p.code == "unsafe-path"]  # fmt: skip


def test_link_hrefs_are_checked_like_redirects(registry: ActionRegistry) -> None:
    problem = only(replace("href: /aide", "href: http://ailleurs.example"), registry, "unsafe-path")
    assert (problem.line, problem.column) == (22, 15)
    assert problem.message.startswith("« href » doit être un chemin")
    missing = only(replace("        href: /aide\n", ""), registry, "schema")
    assert "« href » manque" in missing.message


@pytest.mark.parametrize(("value", "line"), [("1", 17), ("121", 17), ("'5'", 17), ("true", 17)])
def test_refresh_is_a_number_of_seconds(registry: ActionRegistry, value: str, line: int) -> None:
    problem = only(replace("refresh: 5", f"refresh: {value}"), registry, "schema")
    assert (problem.line, problem.message) == (
        line,
        "« refresh » doit être un nombre entier de secondes, de 2 à 120",
    )


def test_final_steps_may_not_redirect_or_refresh(registry: ActionRegistry) -> None:
    text = replace("    final: true\n", "    final: true\n    refresh: 10\n    redirect: /fin\n")
    found = [p for p in problems(text, registry) if p.code == "final-with-exits"]
    assert sorted((p.line, p.message) for p in found) == [
        (
            29,
            "l'étape finale « fin » ne peut pas avoir « refresh » ; supprimez « refresh » "
            "ou retirez « final: true »",
        ),
        (
            30,
            "l'étape finale « fin » ne peut pas avoir « redirect » ; supprimez « redirect » "
            "ou retirez « final: true »",
        ),
    ]


def test_warnings_for_pages_the_applicant_cannot_use(registry: ActionRegistry) -> None:
    hidden = replace(
        "    events:\n      revenu",
        "    fields:\n      - {name: note, type: text, label: Note}\n"
        "    next: [{to: attendre}]\n    events:\n      revenu",
    )
    warning = only(hidden, registry, "redirect-hides-page")
    assert (warning.severity, warning.line, warning.column) == ("warning", 11, 5)
    assert "« fields », « next » ne serviront donc jamais" in warning.message
    reloads = replace(
        "    refresh: 5\n",
        "    refresh: 5\n    fields:\n      - {name: note, type: text, label: N}\n",
    )
    warning = only(reloads, registry, "refresh-with-fields")
    assert (warning.severity, warning.line) == ("warning", 17)
    assert errors_only(problems(hidden, registry)) == []
    assert errors_only(problems(reloads, registry)) == []


def test_a_staff_step_may_redirect_and_refresh_the_waiting_applicant(
    registry: ActionRegistry,
) -> None:
    text = replace(
        "    events:\n      revenu",
        "    actor: role:accountant\n    refresh: 10\n"
        "    fields:\n      - {name: avis, type: text, label: Avis}\n"
        "    next: [{to: attendre}]\n    events:\n      revenu",
    )
    assert problems(text, registry) == []


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("/", True),
        ("/a/b?c=d&e=f#g", True),
        ("", False),
        ("a/b", False),
        ("//evil.example", False),
        ("/\\evil.example", False),
        ("/\t/evil.example", False),
        ("/a\nLocation: x", False),
        ("/a b", False),
        ("https://evil.example", False),
        ("/" + "a" * 2000, False),
    ],
)
def test_safe_path(value: str, safe: bool) -> None:
    assert safe_path(value) is safe


# -- runtime -----------------------------------------------------------------------------------


@pytest.fixture
def published(publish: Callable[[str], Definition]) -> Definition:
    return publish(WAITING)


DOSSIER = {"ref": "AB12", "nom": "Martin & fils", "reste": 0}


def test_starting_needs_the_given_data(engine: Engine, published: Definition) -> None:
    with pytest.raises(InvalidTriggerError, match="missing dossier"):
        engine.start("attente", applicant=VISITOR)
    with pytest.raises(InvalidTriggerError, match="missing dossier"):
        engine.start("attente", applicant=VISITOR, data={"autre": 1})
    instance = engine.start("attente", applicant=VISITOR, data={"dossier": DOSSIER})
    assert instance.data["dossier"] == DOSSIER


def test_views_render_redirect_refresh_and_links(engine: Engine, published: Definition) -> None:
    instance = engine.start("attente", applicant=VISITOR, data={"dossier": DOSSIER})
    view = engine.current_step(instance)
    assert view.title == "Départ pour Martin &amp; fils"  # texts stay escaped markup
    assert (view.redirect, view.refresh, view.links) == ("/suivi/AB12?delai=5", None, ())

    instance = engine.fire(instance, "revenu").instance
    view = engine.current_step(instance)
    assert (view.redirect, view.refresh, view.has_form, view.buttons) == (None, 5, False, ())
    assert view.links == (
        LinkView("Voir le dossier AB12", "/dossiers/AB12"),
        LinkView("Toujours là", "/aide"),
    )

    done = engine.fire(instance, "fini", actor=SYSTEM).instance
    view = engine.current_step(done)
    assert (view.final, view.redirect, view.refresh) == (True, None, None)
    assert view.message == "Merci Martin &amp; fils."
    assert [(str(link.label), link.href) for link in view.links] == [
        ("Télécharger le reçu", "/dossiers/AB12/recu.pdf")
    ]


def test_rendered_paths_are_plain_text(engine: Engine, published: Definition) -> None:
    dossier = {**DOSSIER, "ref": "a&b=\"c'"}
    instance = engine.start("attente", applicant=VISITOR, data={"dossier": dossier})
    assert engine.current_step(instance).redirect == "/suivi/a&b=\"c'?delai=5"


@pytest.mark.parametrize("ref", ["/evil.example", "\\evil.example", "x y", "x\r\nSet-Cookie: a"])
def test_unsafe_rendered_paths_are_refused_and_logged(
    engine: Engine,
    publish: Callable[[str], Definition],
    caplog: pytest.LogCaptureFixture,
    ref: str,
) -> None:
    text = WAITING.replace("/suivi/{{ dossier.ref }}", "/{{ dossier.ref }}")
    publish(text.replace("href: /dossiers/{{ dossier.ref }}", "href: /{{ dossier.ref }}"))
    instance = engine.start("attente", applicant=VISITOR, data={"dossier": {**DOSSIER, "ref": ref}})
    with caplog.at_level(logging.WARNING, logger="guichet.engine"):
        assert engine.current_step(instance).redirect is None
    assert "refused path" in caplog.text
    waiting = engine.fire(instance, "revenu").instance
    assert [link.href for link in engine.current_step(waiting).links] == ["/aide"]


def test_cancelled_instances_neither_redirect_nor_refresh(
    engine: Engine, published: Definition
) -> None:
    instance = engine.start("attente", applicant=VISITOR, data={"dossier": DOSSIER})
    cancelled = engine.cancel(instance, VISITOR)
    assert engine.current_step(cancelled).redirect is None
    waiting = engine.fire(
        engine.start("attente", applicant=VISITOR, data={"dossier": DOSSIER}), "revenu"
    )
    assert engine.current_step(engine.cancel(waiting.instance, VISITOR)).refresh is None


def test_the_submit_label_is_a_template_checked_like_the_other_texts():
    from engine import check
    from engine.demo import demo_registry

    good = """
key: label
title: Label
start: anyone
initial: montant
steps:
  montant:
    title: Montant
    fields: [{name: montant, type: money, label: Montant}]
    submit: Payer {{ montant | euros }}
    next: [{to: fin}]
  fin: {final: true, title: Fin, message: Merci.}
"""
    assert [p for p in check(good, "label.yaml", demo_registry()) if p.severity == "error"] == []
    bad = good.replace("{{ montant | euros }}", "{{ montnat }}")
    problems = check(bad, "label.yaml", demo_registry())
    assert any(p.code == "unknown-name" and "montnat" in p.message for p in problems)


def test_tone_colours_final_steps_only():
    from engine import check
    from engine.demo import demo_registry

    text = """
key: tone
title: Tone
start: anyone
initial: debut
steps:
  debut:
    title: Début
    tone: warning
    next: [{to: fin}]
  fin: {final: true, title: Fin, message: Refusé., tone: warning}
"""
    problems = check(text, "tone.yaml", demo_registry())
    assert [p.code for p in problems if p.severity == "error"] == ["tone-not-final"]
    assert (problems[0].line, problems[0].column) == (9, 5)  # the 'tone' key of debut
