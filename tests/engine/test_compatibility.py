"""Moving running instances to a new version: which may move, and why the others may not."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from engine import ActionRegistry, Definition, Instance, Status, parse_definition
from engine.compatibility import compatible, move_problems, retired_steps
from services.workflow_actions import action_registry

ROOT = Path(__file__).resolve().parents[2]
# The definition only: its scenario tests would fail the variants that remove steps.
TEXT = re.split(
    r"(?m)^(?:# .*\n)*scenarios:",
    (ROOT / "workflows" / "activation.yaml").read_text(encoding="utf-8"),
)[0]

# What an instance holds once it passed profil and identite (find_guardian, send_security_code).
AFTER_IDENTITE: dict[str, Any] = {
    "profil": "responsable",
    "nom": "Martin",
    "prenom": "Anne",
    "portable": "+33612345678",
    "match": "found",
    "guardian_ids": [7],
    "children": [{"prenom": "Léa"}],
    "person": {"prenom": "Anne", "nom": "Martin"},
    "masked_mobile": "06 ** ** ** 78",
    "code_hash": "0" * 64,
    "code_expires_at": "2025-03-01T10:10:00+01:00",
    "code_attempts": 0,
    "code_notice": "",
}
CODE_GUARD = "when: code_ok and match == 'found'\n"
CONSENT = """\
      - name: consentement
        type: checkbox
        label: J’accepte d’être contacté par SMS
"""


@pytest.fixture(scope="module")
def registry() -> ActionRegistry:
    return action_registry()


@pytest.fixture(scope="module")
def old(registry: ActionRegistry) -> Definition:
    return parse_definition(TEXT, "activation.yaml", registry)


def variant(registry: ActionRegistry, *edits: tuple[str, str]) -> Definition:
    """Return activation.yaml with each (old, new) text replaced once, parsed and checked."""
    text = TEXT
    for before, after in edits:
        assert text.count(before) == 1, before
        text = text.replace(before, after)
    return parse_definition(text, "activation-v2.yaml", registry)


def at_code(**data: Any) -> Instance:
    return Instance(
        key="activation",
        version=1,
        step="code",
        data={**AFTER_IDENTITE, **data},
        applicant=None,
        revision=3,
        history=["profil", "identite"],
        moves=2,
        id="i-1",
    )


def at_profil() -> Instance:
    return Instance(key="activation", version=1, step="profil", revision=1, id="i-2")


def at_confirmation() -> Instance:
    data = {
        **AFTER_IDENTITE,
        "code_ok": True,
        "identifiant": "amartin",
        "naissances": ["2014-05-02"],
        "dates_ok": True,
        "dates_attempts": 1,
        "account_id": 12,
        "identifiant_note": True,
        "courriel": "anne@example.fr",
        "email_notice": "",
    }
    history = ["profil", "identite", "code", "enfants", "mot_de_passe", "identifiant", "courriel"]
    return Instance("activation", 1, "confirmation", data, history=history, id="i-3")


def add_consent(registry: ActionRegistry, *, required: bool = True) -> Definition:
    field = CONSENT if required else CONSENT + "        required: false\n"
    return variant(
        registry,
        (
            "    actions:\n      - action: find_guardian\n",
            field + "    actions:\n      - action: find_guardian\n",
        ),
    )


def test_the_same_version_accepts_every_running_instance(
    old: Definition, registry: ActionRegistry
) -> None:
    for instance in (at_profil(), at_code(), at_confirmation()):
        assert move_problems(instance, old, old, registry) == []
        assert compatible(instance, old, old, registry)
    assert retired_steps(old, old) == []


def test_a_finished_instance_stays_where_it_is(old: Definition, registry: ActionRegistry) -> None:
    for status in (Status.COMPLETED, Status.CANCELLED):
        instance = Instance("activation", 1, "active", status=status, history=["profil"])
        assert move_problems(instance, old, old, registry) == ["Le dossier est terminé."]
        assert not compatible(instance, old, old, registry)


def test_a_new_required_field_on_a_step_passed_blocks_the_move(
    old: Definition, registry: ActionRegistry
) -> None:
    new = add_consent(registry)
    assert move_problems(at_code(), old, new, registry) == [
        "Le champ « J’accepte d’être contacté par SMS » de l’étape « Je n’ai pas de compte » "
        "est désormais obligatoire et ce dossier ne l’a pas rempli."
    ]
    # Not there yet: the applicant will meet the field.
    assert move_problems(at_profil(), old, new, registry) == []
    # Ticked already (an earlier optional version asked for it), or optional: nothing missing.
    assert compatible(at_code(consentement=True), old, new, registry)
    assert compatible(at_code(), old, add_consent(registry, required=False), registry)
    # An unticked required checkbox is empty, as the runtime sees it.
    assert not compatible(at_code(consentement=False), old, new, registry)


def test_a_field_required_in_both_versions_is_not_a_new_requirement(
    old: Definition, registry: ActionRegistry
) -> None:
    instance = at_code()
    del instance.data["nom"]  # e.g. left by an event: the old version allowed it as well
    assert move_problems(instance, old, old, registry) == []


def test_a_removed_step_blocks_instances_on_it_or_past_it(
    old: Definition, registry: ActionRegistry
) -> None:
    start = TEXT.index("  code:\n")
    end = TEXT.index("  compte_existant:\n")
    new = variant(
        registry,
        (TEXT[start:end], ""),
        (
            "      - to: code\n        when: match == 'found' or match == 'has_account'\n",
            "      - to: enfants\n        when: match == 'found'\n"
            "      - to: compte_existant\n        when: match == 'has_account'\n",
        ),
    )
    assert retired_steps(old, new) == ["code"]
    assert move_problems(at_code(), old, new, registry) == [
        "L’étape « Code de sécurité » n’existe plus dans la nouvelle version."
    ]
    past = Instance("activation", 1, "enfants", dict(AFTER_IDENTITE, code_ok=True))
    past.history = ["profil", "identite", "code"]
    assert move_problems(past, old, new, registry) == [
        "L’étape « Code de sécurité », par laquelle ce dossier est passé, "
        "n’existe plus dans la nouvelle version."
    ]
    assert compatible(at_profil(), old, new, registry)


def test_a_guard_reading_a_name_the_instance_lacks_blocks_the_move(
    old: Definition, registry: ActionRegistry
) -> None:
    new = variant(
        registry,
        (CODE_GUARD, "when: code_ok and match == 'found' and rappel\n"),
        # A later step asks for it, so the definition itself is valid.
        (
            '        hint: "Format attendu : nom@domaine.fr"\n        max_length: 254\n',
            '        hint: "Format attendu : nom@domaine.fr"\n        max_length: 254\n'
            "      - {name: rappel, type: checkbox, label: Me rappeler, required: false}\n",
        ),
    )
    assert move_problems(at_code(), old, new, registry) == [
        "La règle « code_ok and match == 'found' and rappel » de l’étape « Code de sécurité » "
        "lit « rappel », que ce dossier n’a pas."
    ]
    assert compatible(at_code(rappel=False), old, new, registry)
    assert compatible(at_profil(), old, new, registry)


def test_a_guard_may_read_the_form_step_actions_and_data(
    old: Definition, registry: ActionRegistry
) -> None:
    # code: the secret field of the step; code_ok: written by the step's action on submit.
    new = variant(registry, (CODE_GUARD, "when: code_ok and code != '' and match == 'found'\n"))
    assert move_problems(at_code(), old, new, registry) == []


def test_a_transition_s_own_actions_run_too_late_for_its_guard(
    old: Definition, registry: ActionRegistry
) -> None:
    # identifiant is written by propose_identifiant, which runs only once the guard let through.
    new = variant(registry, (CODE_GUARD, "when: code_ok and identifiant != null\n"))
    assert move_problems(at_code(), old, new, registry) == [
        "La règle « code_ok and identifiant != null » de l’étape « Code de sécurité » "
        "lit « identifiant », que ce dossier n’a pas."
    ]


def test_event_guards_read_data_and_payload_but_no_form(
    old: Definition, registry: ActionRegistry
) -> None:
    fine = variant(
        registry,
        (
            "      email_confirme:\n",
            "      email_confirme:\n        when: payload.ok and courriel\n",
        ),
    )
    assert move_problems(at_confirmation(), old, fine, registry) == []
    broken = variant(
        registry,
        (
            "      email_confirme:\n",
            "      email_confirme:\n        when: payload.ok and code_ok\n",
        ),
    )
    instance = at_confirmation()
    del instance.data["code_ok"]
    assert move_problems(instance, old, broken, registry) == [
        "La règle « payload.ok and code_ok » de l’étape « Confirmez votre adresse électronique » "
        "lit « code_ok », que ce dossier n’a pas."
    ]


def test_a_changed_label_is_compatible(old: Definition, registry: ActionRegistry) -> None:
    new = variant(
        registry,
        ("        label: Code reçu par SMS\n", "        label: Code à 6 chiffres reçu par SMS\n"),
        ("    title: Code de sécurité\n", "    title: Votre code de sécurité\n"),
    )
    for instance in (at_profil(), at_code(), at_confirmation()):
        assert move_problems(instance, old, new, registry) == []


def test_a_step_handed_to_staff_blocks_instances_waiting_on_it(
    old: Definition, registry: ActionRegistry
) -> None:
    new = variant(
        registry,
        ("    title: Code de sécurité\n", "    title: Code de sécurité\n    actor: role:admin\n"),
    )
    assert move_problems(at_code(), old, new, registry) == [
        "Dans la nouvelle version, l’étape « Code de sécurité » revient au rôle « admin » "
        "et non plus au demandeur."
    ]
    assert compatible(at_profil(), old, new, registry)  # it will wait in the queue, as planned


def test_an_event_the_step_waits_for_must_remain(old: Definition, registry: ActionRegistry) -> None:
    new = variant(registry, ("      email_confirme:\n", "      adresse_confirmee:\n"))
    assert move_problems(at_confirmation(), old, new, registry) == [
        "Dans la nouvelle version, l’étape « Confirmez votre adresse électronique » "
        "n’attend plus l’évènement « email_confirme », que ce dossier peut encore recevoir."
    ]


def test_back_must_still_lead_to_the_previous_step(
    old: Definition, registry: ActionRegistry
) -> None:
    new = variant(
        registry,
        (
            "      - to: code\n        when: match == 'found' or match == 'has_account'\n",
            "      - to: attente\n        when: match == 'found' or match == 'has_account'\n",
        ),
        (
            "  code:\n",
            "  attente:\n    title: Patientez\n    next:\n      - to: code\n\n  code:\n",
        ),
    )
    assert move_problems(at_code(), old, new, registry) == [
        "Dans la nouvelle version, le retour de l’étape « Code de sécurité » à l’étape "
        "« Je n’ai pas de compte » ne serait plus possible."
    ]


def test_new_given_data_must_be_there(old: Definition, registry: ActionRegistry) -> None:
    new = variant(registry, ("initial: profil\n", "initial: profil\ngiven: [etablissement]\n"))
    assert move_problems(at_code(), old, new, registry) == [
        "La nouvelle version attend la donnée « etablissement », fournie au démarrage, "
        "que ce dossier n’a pas."
    ]
    assert compatible(at_code(etablissement={"uai": "0750001A"}), old, new, registry)


def test_current_step_fields_must_find_what_they_read(
    old: Definition, registry: ActionRegistry
) -> None:
    new = variant(
        registry,
        (
            "        length: 6\n",
            "        length: 6\n"
            "      - name: essais\n        type: integer\n        label: Essais\n"
            "        required: false\n        max: settings.max_code_attempts + dates_attempts\n",
        ),
    )
    assert move_problems(at_code(), old, new, registry) == [
        "Le champ « Essais » de l’étape « Code de sécurité » lit « dates_attempts », "
        "que ce dossier n’a pas."
    ]


def test_another_workflow_is_refused(old: Definition, registry: ActionRegistry) -> None:
    other = Instance("paiement", 1, "montant")
    with pytest.raises(ValueError, match="paiement"):
        move_problems(other, old, old, registry)


def test_a_later_rule_reading_a_field_the_case_skipped_blocks_it(
    registry: ActionRegistry, old: Definition
) -> None:
    # A new optional field on the identity step, read later by the children's step: a case
    # already past identity would fail that rule whatever the dates it gives.
    optional = CONSENT.replace("consentement", "fixe") + "        required: false\n"
    new = variant(
        registry,
        (
            "    actions:\n      - action: find_guardian\n",
            optional + "    actions:\n      - action: find_guardian\n",
        ),
        ("      - to: mot_de_passe\n        when: dates_ok\n",
         "      - to: mot_de_passe\n        when: dates_ok and fixe == ''\n"),
    )  # fmt: skip
    problems = move_problems(at_code(), old, new, registry)
    assert any("« fixe »" in p and "peut encore atteindre" in p for p in problems), problems
    # A case that has not reached identity yet will be asked for it: it may move.
    assert move_problems(at_profil(), old, new, registry) == []


def test_a_timer_added_to_the_current_step_blocks_the_move(
    registry: ActionRegistry, old: Definition
) -> None:
    new = variant(
        registry,
        ("  code:\n    title: Code de sécurité\n",
         "  code:\n    title: Code de sécurité\n    timer: {after: 10m, event: expirer}\n"),
        ("    events:\n      renvoyer:\n        label: Renvoyer le code\n",
         "    events:\n      expirer:\n        to: identite\n"
         "      renvoyer:\n        label: Renvoyer le code\n"),
    )  # fmt: skip
    problems = move_problems(at_code(), old, new, registry)
    assert any("délai (« expirer »)" in p for p in problems), problems
