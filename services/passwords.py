"""Password hashing (argon2) and the password policy shown to every user."""

from __future__ import annotations

import string
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

MIN_LENGTH = 12
# The most common choices, in French and English; a full list can replace this file later.
COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "azertyuiop12",
        "motdepasse123",
        "motdepasse1234",
        "password1234",
        "password123!",
        "azertyuiop123",
        "qwertyuiop12",
        "soleil123456",
        "bonjour12345",
        "marseille1234",
        "doudou123456",
        "chouchou1234",
        "loulou123456",
        "jetaime12345",
        "123456789abc",
        "azerty123456",
        "administrateur",
        "0123456789ab",
        "iloveyou1234",
    }
)
POLICY_TEXT = (
    "Au moins 12 caractères, dont au moins trois types parmi : minuscules, majuscules, "
    "chiffres et caractères spéciaux. Le mot de passe ne doit contenir ni votre nom ni "
    "votre identifiant, et ne doit pas être un mot de passe courant."
)


def hash_password(password: str) -> str:
    """Return the argon2 hash of a password."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Tell whether a password matches its stored hash (False for a missing hash)."""
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if c.isalnum())


def policy_problems(password: str, forbidden: tuple[str, ...] = ()) -> list[str]:
    """Return what is wrong with a new password, in French (empty when it is acceptable)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Le mot de passe doit contenir au moins {MIN_LENGTH} caractères.")
    kinds = sum(
        [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() or c in string.punctuation for c in password),
        ]
    )
    if kinds < 3:
        problems.append(
            "Le mot de passe doit mélanger au moins trois types de caractères : "
            "minuscules, majuscules, chiffres, caractères spéciaux."
        )
    folded = _fold(password)
    for word in forbidden:
        for part in word.replace("-", " ").replace(".", " ").split():
            if len(part) >= 3 and _fold(part) in folded:
                problems.append(
                    "Ce mot de passe contient votre nom ou votre identifiant : "
                    "choisissez-en un autre."
                )
                break
        else:
            continue
        break
    if password.lower() in COMMON_PASSWORDS:
        problems.append("Ce mot de passe est trop courant : choisissez-en un autre.")
    return problems
