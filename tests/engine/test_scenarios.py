"""Scenario tests carried by a definition: running them, failing them, checking them."""

from __future__ import annotations

from engine import ActionRegistry, FromParam, Param
from engine.actions import Sends
from engine.scenarios import check_scenarios, run_scenarios
from engine.validation import check

# A small definition with two app actions: one sends an SMS, one an email chosen by a param.
BASE = """\
key: mini
title: Mini
start: anyone
initial: identite
steps:
  identite:
    title: Identité
    fields:
      - {name: nom, type: text, label: Nom}
    actions:
      - action: lookup
    next:
      - to: code
        when: found
        message: Personne introuvable.
        actions:
          - action: text_code
  code:
    title: Code
    back: true
    fields:
      - {name: code, type: otp, label: Code}
    actions:
      - action: mail
        with: {template: tentative}
      - action: verify
    next:
      - to: fin
        when: code_ok
        message: Le code est incorrect.
  fin:
    final: true
    title: Fin
    message: Fini.
"""

PASSING = """\
scenarios:
  - name: Le code est bon
    steps:
      - at: identite
        submit: {nom: Martin}
        results:
          lookup: {found: true}
      - submit: {code: "123456"}
        results:
          verify: {code_ok: true}
    expect:
      path: [identite, code, fin]
      step: fin
      status: completed
      sent: [sms, "email:tentative"]
"""


def registry() -> ActionRegistry:
    reg = ActionRegistry()

    def fail(ctx):  # the real actions must never run in a scenario
        raise AssertionError("real action ran")

    reg.action("lookup", produces=["found"])(fail)
    reg.action("text_code", produces=["code_sent"], sends=["sms"])(fail)
    reg.action(
        "mail",
        params={"template": Param(str, required=True)},
        sends=[Sends("email", FromParam("template"))],
    )(fail)
    reg.action("verify", produces=["code_ok"])(fail)
    return reg


def run(scenarios: str):
    return run_scenarios(BASE + scenarios, "mini.yaml", registry())


def line_of(text: str, needle: str) -> int:
    full = BASE + text
    return full[: full.index(needle)].count("\n") + 1


def test_a_passing_scenario_reports_its_path_and_messages():
    [result] = run(PASSING)
    assert result.passed, result.failures
    assert result.name == "Le code est bon"
    assert result.path == ["identite", "code", "fin"]
    assert result.sent == ["sms", "email:tentative"]
    assert result.status == "completed"
    assert result.line == line_of(PASSING, "- name: Le code est bon")


def test_the_definition_with_scenarios_still_checks_clean():
    assert check(BASE + PASSING, "mini.yaml", registry()) == []
    assert check_scenarios(BASE + PASSING, "mini.yaml", registry()) == []


def test_a_wrong_expected_path_fails_with_its_line():
    text = PASSING.replace("path: [identite, code, fin]", "path: [identite, fin]")
    [result] = run(text)
    assert not result.passed
    [failure] = result.failures
    assert failure.line == line_of(text, "path: [identite, fin]")
    assert failure.message == "parcours attendu [identite, fin], obtenu [identite, code, fin]"
    assert str(failure).startswith(f"mini.yaml:{failure.line}: parcours attendu")


def test_a_wrong_at_stops_the_scenario_there():
    text = PASSING.replace(
        '      - submit: {code: "123456"}', "      - at: identite\n        submit: {}"
    )
    [result] = run(text)
    assert not result.passed
    assert result.failures[0].line == line_of(text, "- at: identite\n        submit: {}")
    assert result.failures[0].message == (
        "étape attendue « identite », mais le parcours est à « code » (parcours : [identite, code])"
    )


def test_results_writing_an_undeclared_key_fail_clearly():
    text = PASSING.replace("lookup: {found: true}", "lookup: {found: true, secret_key: 1}")
    message = (
        "l’action « lookup » ne déclare pas « secret_key » dans produces : elle ne peut pas "
        "l’écrire (clés permises : found)"
    )
    [problem] = check_scenarios(BASE + text, "mini.yaml", registry())
    assert (problem.code, problem.message) == ("bad-scenario", message)
    assert problem.line == line_of(text, "lookup: {found: true, secret_key: 1}")
    [result] = run(text)
    assert not result.passed
    assert [f.message for f in result.failures] == [message]


def test_sent_counts_only_the_effects_the_engine_commits():
    # A blocked submit that still saves data commits its effects (the mail of the code step);
    # a refused submit keeps nothing, so the same mail queued before the refusal is not sent.
    text = """\
scenarios:
  - name: Des envois selon ce qui est gardé
    steps:
      - submit: {nom: Martin}
        results: {lookup: {found: false}}
        blocked: Personne introuvable
      - submit: {nom: Martin}
        results: {lookup: {found: true}}
      - submit: {code: "000000"}
        results: {verify: {code_ok: false}}
        blocked: Le code est incorrect
      - submit: {code: "111111"}
        refuse: {verify: {code: Trop d’essais.}}
        blocked: Trop d’essais
      - submit: {code: "222222"}
        results: {verify: {code_ok: true}}
        quiet: [mail]
    expect:
      path: [identite, code, fin]
      sent: [sms, "email:tentative"]
      blocked: Trop d’essais
"""
    [result] = run(text)
    assert result.passed, result.failures
    assert result.sent == ["sms", "email:tentative"]


def test_an_action_that_did_not_run_and_an_unmet_block_are_reported():
    text = PASSING.replace(
        "        results:\n          verify: {code_ok: true}",
        "        results:\n          verify: {code_ok: true}\n          lookup: {found: true}\n"
        "        blocked: true",
    )
    [result] = run(text)
    messages = [f.message for f in result.failures]
    assert messages == [
        "l’action « lookup » ne s’est pas exécutée à cette entrée : ses résultats ne servent pas",
        "cette entrée devait être bloquée, elle a avancé",
    ]


def test_malformed_scenarios_give_problems_and_fail_without_raising():
    text = """\
scenarios:
  - name: Plein d’erreurs
    given: {facture: 1}
    steps:
      - at: identiter
        submit: {nom: Martin, prenom: Anne}
        results:
          lookup_guardian: {found: true}
          set: {key: 1}
      - event: renvoyer
      - back: true
        quiet: [text_code]
    expect:
      path: [identite, cod]
      step: fini
      sent: [sms, "email:inconnu"]
"""
    problems = check_scenarios(BASE + text, "mini.yaml", registry())
    found = {(p.line - len(BASE.splitlines()), p.message) for p in problems}
    assert {p.code for p in problems} == {"bad-scenario"}
    assert found == {
        (3, "« facture » n’est pas une donnée given de la définition (aucune)"),
        (5, "étape inconnue « identiter » ; vouliez-vous dire « identite » ?"),
        (6, "champ inconnu « prenom » : aucune étape ne l’a ; vouliez-vous dire « nom » ?"),
        (8, "action inconnue « lookup_guardian »"),
        (9, "« set » est une action intégrée : elle s’exécute vraiment, sans script"),
        (10, "événement inconnu « renvoyer » : aucune étape ne le déclare"),
        (14, "étape inconnue « cod » ; vouliez-vous dire « code » ?"),
        (15, "étape inconnue « fini » ; vouliez-vous dire « fin » ?"),
        (
            16,
            "aucune action de cette définition n’envoie « email:inconnu » "
            "(possibles : email:tentative, sms)",
        ),
    }
    [result] = run(text)
    assert not result.passed
    assert len(result.failures) == len(problems)


def test_a_schema_mistake_in_a_scenario_fails_only_that_scenario():
    text = (
        PASSING
        + """\
  - name: Mal formé
    steps:
      - submit: {nom: Martin}
        event: renvoyer
    expect: {}
"""
    )
    good, bad = run(text)
    assert good.passed
    assert bad.name == "Mal formé"
    assert not bad.passed
    entry = line_of(text, "- submit: {nom: Martin}\n        event")
    assert [f.line for f in bad.failures] == [entry, entry, entry + 1]
    assert bad.failures[1].message == (
        "une entrée fait une seule chose parmi submit, event, back et wait (ici : submit, event)"
    )


def test_a_broken_definition_fails_every_scenario_without_raising():
    broken = BASE.replace("to: fin", "to: nulle_part") + PASSING
    [result] = run_scenarios(broken, "m.yaml", registry())
    assert not result.passed
    assert "scénario non joué ; ligne 28 :" in result.failures[0].message
    [unreadable] = run_scenarios("key: [", "m.yaml", registry())
    assert not unreadable.passed
    assert unreadable.failures[0].message.startswith("YAML illisible")
    assert run_scenarios(BASE, "m.yaml", registry()) == []
