"""Differences between two versions of a definition, in French words and as a line diff."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from engine import ActionRegistry, Definition, parse_definition
from engine.diff import Change, DiffLine, describe_changes, text_diff
from services.workflow_actions import action_registry

ROOT = Path(__file__).resolve().parents[2]
# The definition only: scenario tests appended to the file are not what these tests vary.
ACTIVATION = re.split(
    r"(?m)^(?:# .*\n)*scenarios:",
    (ROOT / "workflows" / "activation.yaml").read_text(encoding="utf-8"),
)[0]

CONSENT = """\
      - name: consentement
        type: checkbox
        label: J’accepte les conditions
"""

Parse = Callable[[str], Definition]


@pytest.fixture(scope="module")
def app_registry() -> ActionRegistry:
    return action_registry()


@pytest.fixture
def parse(app_registry: ActionRegistry) -> Parse:
    def parse(text: str) -> Definition:
        return parse_definition(text, "activation.yaml", app_registry)

    return parse


@pytest.fixture
def published(parse: Parse) -> Definition:
    return parse(ACTIVATION)


def edit(text: str, old: str, new: str, count: int = 1) -> str:
    """Replace old by new exactly count times, failing loudly when the source moved."""
    assert text.count(old) == count, f"{old!r} appears {text.count(old)} times"
    return text.replace(old, new)


def kinds(changes: list[Change]) -> list[str]:
    return [change.kind for change in changes]


def only(changes: list[Change], kind: str) -> Change:
    found = [change for change in changes if change.kind == kind]
    assert len(found) == 1, changes
    return found[0]


def test_identical_definitions_give_no_change(published: Definition, parse: Parse) -> None:
    assert describe_changes(published, parse(ACTIVATION)) == []
    # Layout and comments alone change nothing either.
    reflowed = edit(ACTIVATION, "      - to: enfants\n", "      # comment\n      - to: enfants\n")
    assert describe_changes(published, parse(reflowed)) == []


def test_first_version_lists_the_steps(published: Definition) -> None:
    (change,) = describe_changes(None, published)
    assert change.kind == "first-version"
    assert change.words.startswith("Première version de la démarche « Activer mon compte »")
    assert f"{len(published.steps)} étapes" in change.words
    assert "« Qui êtes-vous ? » (profil)" in change.words
    assert change.words.index("(profil)") < change.words.index("(active)")
    assert change.severity == "info"


def test_required_field_added(published: Definition, parse: Parse) -> None:
    text = edit(
        ACTIVATION,
        ' ou +32 470 12 34 56 pour un numéro étranger."\n',
        ' ou +32 470 12 34 56 pour un numéro étranger."\n' + CONSENT,
    )
    change = only(describe_changes(published, parse(text)), "field-added")
    assert change.step == "identite"
    assert change.field == "consentement"
    assert change.severity == "warning"
    assert change.words == (
        "Étape « Je n’ai pas de compte » (identite) : "
        "nouveau champ obligatoire « J’accepte les conditions » (consentement)"
    )
    assert len(describe_changes(published, parse(text))) == 1


def test_optional_field_added_is_info(published: Definition, parse: Parse) -> None:
    text = edit(
        ACTIVATION,
        "        length: 6\n",
        "        length: 6\n" + CONSENT + "        required: false\n",
    )
    (change,) = describe_changes(published, parse(text))
    assert change.kind == "field-added"
    assert change.severity == "info"
    assert "Étape « Code de sécurité » (code)" in change.words
    assert "nouveau champ facultatif « J’accepte les conditions » (consentement)" in change.words


def test_step_renamed_with_every_reference(published: Definition, parse: Parse) -> None:
    text = re.sub(r"\bidentite\b", "identification", ACTIVATION)
    changes = describe_changes(published, parse(text))
    assert kinds(changes) == ["step-renamed"]
    (change,) = changes
    assert change.step == "identification"
    assert change.words == "Étape « identite » renommée en « identification »"
    assert change.severity == "warning"


def test_step_renamed_and_retitled(published: Definition, parse: Parse) -> None:
    text = re.sub(
        r"\benfants:\n    title: Vos enfants",
        "naissances_enfants:\n    title: Dates de naissance",
        ACTIVATION,
    )
    text = edit(text, "      - to: enfants\n", "      - to: naissances_enfants\n")
    changes = describe_changes(published, parse(text))
    assert kinds(changes) == ["step-renamed", "text-changed"]
    assert changes[0].words == "Étape « enfants » renommée en « naissances_enfants »"
    assert changes[1].words == (
        "Étape « Dates de naissance » (naissances_enfants) : "
        "titre modifié (avant : « Vos enfants »)"
    )


def test_setting_changed_added_removed(published: Definition, parse: Parse) -> None:
    text = edit(ACTIVATION, "  code_validity_minutes: 10\n", "  code_validity_minutes: 15\n")
    text = edit(
        text, "  codes_per_hour: 5\n", "  codes_per_hour: 5\n  etablissement: Lycée Condorcet\n"
    )
    changes = describe_changes(published, parse(text))
    assert kinds(changes) == ["setting-changed", "setting-added"]
    assert changes[0].words == "Réglage code_validity_minutes : 10 → 15"
    assert changes[1].words == "Nouveau réglage etablissement : « Lycée Condorcet »"
    assert {c.severity for c in changes} == {"info"}


def test_guard_changed(published: Definition, parse: Parse) -> None:
    text = edit(
        ACTIVATION, "        when: code_ok and match == 'found'\n", "        when: code_ok\n"
    )
    (change,) = describe_changes(published, parse(text))
    assert change.kind == "guard-changed"
    assert change.step == "code"
    assert change.severity == "warning"
    assert change.words == (
        "Étape « Code de sécurité » (code) : la règle vers « enfants » devient « code_ok » "
        "(avant : « code_ok and match == 'found' »)"
    )


def test_guard_spacing_is_no_change(published: Definition, parse: Parse) -> None:
    text = edit(
        ACTIVATION, "when: code_ok and match == 'found'", "when: code_ok  and  match=='found'"
    )
    assert describe_changes(published, parse(text)) == []


def test_step_removed(published: Definition, parse: Parse) -> None:
    text = edit(ACTIVATION, "      - to: eleve\n        when: profil == 'eleve'\n", "")
    text = edit(
        text,
        "          - {value: eleve, label: Élève}\n",
        "",
    )
    start = text.index("  eleve:\n")
    text = text[:start] + text[text.index("  identite:\n") :]
    changes = describe_changes(published, parse(text))
    assert kinds(changes) == ["field-choices", "transition-removed", "step-removed"]
    removed = changes[-1]
    assert removed.step == "eleve"
    assert removed.severity == "warning"
    assert removed.words == "Étape « Vous êtes élève » (eleve) supprimée"
    assert changes[0].words == (
        "Étape « Qui êtes-vous ? » (profil) : choix du champ « Je suis » (profil) : "
        "retrait de « Élève »"
    )
    assert "plus de passage vers « eleve » (si « profil == 'eleve' »)" in changes[1].words


def test_field_made_optional_and_required(published: Definition, parse: Parse) -> None:
    optional = edit(
        ACTIVATION, "        label: Prénom\n", "        label: Prénom\n        required: false\n"
    )
    (change,) = describe_changes(published, parse(optional))
    assert (change.kind, change.step, change.field, change.severity) == (
        "field-optional",
        "identite",
        "prenom",
        "info",
    )
    assert change.words == (
        "Étape « Je n’ai pas de compte » (identite) : "
        "le champ « Prénom » (prenom) devient facultatif"
    )
    (back,) = describe_changes(parse(optional), published)
    assert back.kind == "field-required"
    assert back.severity == "warning"
    assert back.words.endswith("le champ « Prénom » (prenom) devient obligatoire")


def test_label_changed(published: Definition, parse: Parse) -> None:
    text = edit(
        ACTIVATION, "        label: Téléphone portable\n", "        label: Numéro de portable\n"
    )
    (change,) = describe_changes(published, parse(text))
    assert change.kind == "field-label"
    assert change.field == "portable"
    assert change.words == (
        "Étape « Je n’ai pas de compte » (identite) : "
        "le champ « Téléphone portable » (portable) s’intitule désormais « Numéro de portable »"
    )


def test_field_type_and_option(published: Definition, parse: Parse) -> None:
    text = edit(
        ACTIVATION,
        "        type: text\n        label: Prénom\n        max_length: 100\n",
        "        type: textarea\n        label: Prénom\n        max_length: 120\n",
    )
    changes = describe_changes(published, parse(text))
    assert kinds(changes) == ["field-type", "field-option"]
    assert changes[0].severity == "warning"
    assert "change de type : texte → texte long" in changes[0].words
    assert changes[1].words.endswith("le champ « Prénom » (prenom) : max_length 100 → 120")


def test_field_removed(published: Definition, parse: Parse) -> None:
    precision = (
        "      - name: precision\n        type: textarea\n"
        "        label: Précisions pour le secrétariat\n"
        "        hint: Par exemple le nom et la classe de votre enfant.\n"
        "        required: false\n        max_length: 1000\n"
    )
    text = edit(ACTIVATION, precision, "")
    text = edit(text, " Précisions : {{ precision }}.", "")
    changes = describe_changes(published, parse(text))
    assert kinds(changes) == ["field-removed", "text-changed"]
    assert changes[0].words == (
        "Étape « Nous n’avons pas pu vous identifier » (introuvable) : "
        "champ « Précisions pour le secrétariat » (precision) supprimé"
    )
    assert changes[1].step == "verification"
    assert changes[1].words.endswith("texte d’introduction modifié")


def test_actor_actions_events_timer(published: Definition, parse: Parse) -> None:
    text = edit(ACTIVATION, "    actor: role:admin\n", "    actor: role:secretariat\n")
    text = edit(
        text,
        "        with: {field: code, max_attempts: settings.max_code_attempts}\n",
        "        with: {field: code, max_attempts: 5}\n",
    )
    text = edit(
        text,
        "      email_confirme:\n        to: active\n",
        "      email_confirme:\n        to: active\n"
        "      expirer:\n        to: active\n"
        "    timer: {after: 2d, event: expirer}\n",
    )
    changes = describe_changes(published, parse(text))
    assert kinds(changes) == ["actor-changed", "actions-changed", "event-added", "timer-changed"]
    assert changes[0].words == (
        "Étape « Vérifier une identité — {{ prenom }} {{ nom }} » (verification) : "
        "traitée par le rôle secretariat (avant : le rôle admin)"
    )
    assert (
        "paramètres de check_security_code modifiés "
        "(max_attempts : « settings.max_code_attempts » → 5)" in changes[1].words
    )
    assert changes[2].words.endswith("nouvel événement expirer")
    assert changes[3].words.endswith("nouveau délai : expirer au bout de 2 jours")
    assert [c.step for c in changes] == ["verification", "code", "confirmation", "confirmation"]


def test_event_removed_and_transition_added(published: Definition, parse: Parse) -> None:
    text = edit(
        ACTIVATION,
        "    events:\n      renvoyer:\n        label: Renvoyer le code\n",
        "    events:\n      renvoi:\n        label: Renvoyer le code\n",
    )
    text = edit(
        text,
        "    next:\n      - to: courriel\n",
        "    next:\n      - to: courriel\n        when: identifiant_note\n"
        "      - to: identifiant\n",
    )
    changes = describe_changes(published, parse(text))
    assert kinds(changes) == ["event-added", "event-removed", "guard-changed", "transition-added"]
    assert changes[0].words.endswith("nouveau bouton « Renvoyer le code » (renvoi)")
    assert changes[1].words.endswith("le bouton « Renvoyer le code » (renvoyer) supprimé")
    assert changes[1].severity == "warning"
    assert changes[2].words.endswith(
        "la règle vers « courriel » devient « identifiant_note » (avant : toujours)"
    )
    assert changes[3].words.endswith("nouveau passage vers « identifiant » (sans condition)")


def test_definition_changes_come_first(published: Definition, parse: Parse) -> None:
    text = edit(ACTIVATION, "title: Activer mon compte\n", "title: Activer votre compte\n")
    text = edit(text, "  max_code_attempts: 3\n", "  max_code_attempts: 4\n")
    text = edit(text, "        label: Nom\n", "        label: Nom de famille\n")
    changes = describe_changes(published, parse(text))
    assert kinds(changes) == ["title-changed", "setting-changed", "field-label"]
    assert (
        changes[0].words
        == "Titre de la démarche : « Activer mon compte » → « Activer votre compte »"
    )
    assert [c.step for c in changes] == [None, None, "identite"]


def test_new_initial_step(published: Definition, parse: Parse) -> None:
    welcome = "  accueil:\n    title: Bienvenue\n    next:\n      - to: profil\n\n"
    text = edit(ACTIVATION, "initial: profil\n", "initial: accueil\n")
    text = edit(text, "steps:\n  profil:\n", "steps:\n" + welcome + "  profil:\n")
    changes = describe_changes(published, parse(text))
    assert kinds(changes) == ["initial-changed", "step-added"]
    assert (
        changes[0].words
        == "Première étape : « Qui êtes-vous ? » (profil) → « Bienvenue » (accueil)"
    )
    assert changes[1].words == "Nouvelle étape « Bienvenue » (accueil)"
    assert changes[1].step == "accueil"


def test_changes_follow_the_new_step_order(published: Definition, parse: Parse) -> None:
    text = edit(
        ACTIVATION,
        "        label: Adresse électronique\n",
        "        label: Votre adresse électronique\n",
    )
    text = edit(text, "        label: Je suis\n", "        label: Vous êtes\n")
    text = edit(text, "        label: Code reçu par SMS\n", "        label: Code de sécurité\n")
    changes = describe_changes(published, parse(text))
    assert [c.step for c in changes] == ["profil", "code", "courriel"]


def test_demo_definition_against_itself(
    demo: Definition, registry: ActionRegistry, demo_text: str
) -> None:
    again = parse_definition(demo_text, "demo.yaml", registry)
    assert describe_changes(demo, again) == []
    assert len(describe_changes(None, demo)) == 1


def test_text_diff_line_numbers() -> None:
    old = "\n".join(f"line {n}" for n in range(1, 21)) + "\n"
    lines = old.splitlines()
    lines[9] = "line 10 changed"  # line 10 replaced
    lines.insert(15, "inserted")  # becomes new line 16
    del lines[0]  # old line 1 removed
    new = "\n".join(lines) + "\n"
    diff = text_diff(old, new)
    assert [d.kind for d in diff if d.kind == "hunk"] == ["hunk", "hunk"]
    assert diff[0] == DiffLine("hunk", 1, 1, "@@ -1,4 +1,3 @@")
    assert diff[1] == DiffLine("removed", 1, None, "line 1")
    assert diff[2] == DiffLine("same", 2, 1, "line 2")
    assert DiffLine("removed", 10, None, "line 10") in diff
    assert DiffLine("added", None, 9, "line 10 changed") in diff
    assert DiffLine("same", 11, 10, "line 11") in diff
    assert DiffLine("added", None, 15, "inserted") in diff
    assert DiffLine("same", 16, 16, "line 16") in diff
    # Every "same" line carries the same text in both versions at its numbers.
    old_lines, new_lines = old.splitlines(), new.splitlines()
    for line in diff:
        if line.kind in ("same", "removed"):
            assert old_lines[line.old_line - 1] == line.text
        if line.kind in ("same", "added"):
            assert new_lines[line.new_line - 1] == line.text
    # Context is 3 lines around each change.
    after_change = diff[diff.index(DiffLine("added", None, 9, "line 10 changed")) + 1 :]
    assert [d.kind for d in after_change[:3]] == ["same", "same", "same"]


def test_text_diff_of_identical_and_real_sources(published: Definition) -> None:
    assert text_diff(ACTIVATION, ACTIVATION) == []
    new = edit(ACTIVATION, "  code_validity_minutes: 10\n", "  code_validity_minutes: 15\n")
    diff = text_diff(ACTIVATION, new)
    number = ACTIVATION.splitlines().index("  code_validity_minutes: 10") + 1
    assert DiffLine("removed", number, None, "  code_validity_minutes: 10") in diff
    assert DiffLine("added", None, number, "  code_validity_minutes: 15") in diff
    assert diff[0].kind == "hunk"
    assert diff[0].text == f"@@ -{number - 3},7 +{number - 3},7 @@"
    assert len(diff) == 9


def test_shipped_workflows_first_versions(app_registry: ActionRegistry) -> None:
    for path in sorted((ROOT / "workflows").glob("*.yaml")):
        if path.name == "demo.yaml":
            continue
        definition = parse_definition(path.read_text(encoding="utf-8"), path.name, app_registry)
        assert describe_changes(definition, definition) == []
        (first,) = describe_changes(None, definition)
        assert all(f"({name})" in first.words for name in definition.steps)


def test_unrelated_steps_are_not_a_rename(published: Definition, parse: Parse) -> None:
    text = edit(
        ACTIVATION,
        "  eleve:\n    final: true\n    title: Vous êtes élève\n",
        "  personnel:\n    final: true\n    title: Vous faites partie du personnel\n",
    )
    text = edit(text, "      - to: eleve\n", "      - to: personnel\n")
    text = edit(
        text,
        "      Les élèves n’activent pas de compte sur Guichet : utilisez l’identifiant"
        " et le mot de\n      passe que votre établissement vous a remis. En cas d’oubli,"
        " adressez-vous au\n      secrétariat ou à votre professeur principal.\n",
        "      Connectez-vous avec votre compte académique.\n",
    )
    changes = describe_changes(published, parse(text))
    assert "step-renamed" not in kinds(changes)
    assert kinds(changes) == [
        "transition-added",
        "transition-removed",
        "step-removed",
        "step-added",
    ]
    assert changes[2].words == "Étape « Vous êtes élève » (eleve) supprimée"
    assert changes[3].words == (
        "Nouvelle étape « Vous faites partie du personnel » (personnel) (étape finale)"
    )


def test_field_renamed(published: Definition, parse: Parse) -> None:
    text = edit(ACTIVATION, "      - name: precision\n", "      - name: precisions\n")
    text = edit(text, "{{ precision }}", "{{ precisions }}")
    changes = describe_changes(published, parse(text))
    assert kinds(changes) == ["field-renamed", "text-changed"]
    assert changes[0].severity == "warning"
    assert changes[0].field == "precisions"
    assert "« Précisions pour le secrétariat » change d’identifiant : precision → precisions" in (
        changes[0].words
    )
