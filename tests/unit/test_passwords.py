"""The password policy every account follows, and argon2 hashing."""

from __future__ import annotations

import pytest

from services.passwords import hash_password, policy_problems, verify_password


def test_a_long_mixed_password_is_accepted():
    assert policy_problems("Tilleuls-en-fleur-2026") == []


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Court-1", "au moins 12 caractères"),
        ("toutenminusculessansrien", "trois types de caractères"),
        ("azertyuiop123", "trop courant"),
    ],
)
def test_weak_passwords_are_explained_in_french(password, problem):
    assert any(problem in text for text in policy_problems(password))


def test_password_must_not_contain_the_name_or_identifiant():
    problems = policy_problems(
        "LeGall-Nguyen-2026!", forbidden=("p.legall-nguyen3", "Linh LE GALL")
    )
    assert any("contient votre nom ou votre identifiant" in p for p in problems)


def test_hashes_are_argon2_and_verify():
    digest = hash_password("Tilleuls-en-fleur-2026")
    assert digest.startswith("$argon2id$")
    assert "Tilleuls" not in digest
    assert verify_password(digest, "Tilleuls-en-fleur-2026")
    assert not verify_password(digest, "tilleuls-en-fleur-2026")
    assert not verify_password(None, "anything")
    assert not verify_password("not-a-hash", "anything")
