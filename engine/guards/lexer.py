"""Split a guard expression into tokens."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from engine.errors import GuardSyntaxError

KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "null"})
# Two-character operators first so that "<=" is not read as "<" then "=".
OPERATORS = ("==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "(", ")", "[", "]", ",", ".")
ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "'": "'", '"': '"'}


class Kind(Enum):
    """Classify a token."""

    NUMBER = "number"
    STRING = "string"
    NAME = "name"
    KEYWORD = "keyword"
    OP = "operator"
    END = "end"


@dataclass(frozen=True, slots=True)
class Token:
    """Hold one token and where it starts in the source text."""

    kind: Kind
    text: str
    value: object
    position: int


def tokenize(source: str) -> list[Token]:
    """Turn source text into tokens, ending with an END token."""
    tokens: list[Token] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch in " \t\r\n":
            i += 1
        elif ch.isascii() and ch.isdigit():
            i = _number(source, i, tokens)
        elif ch in "'\"":
            i = _string(source, i, tokens)
        elif ch.isascii() and (ch.isalpha() or ch == "_"):
            start = i
            while i < n and source[i].isascii() and (source[i].isalnum() or source[i] == "_"):
                i += 1
            word = source[start:i]
            kind = Kind.KEYWORD if word in KEYWORDS else Kind.NAME
            tokens.append(Token(kind, word, word, start))
        else:
            for op in OPERATORS:
                if source.startswith(op, i):
                    tokens.append(Token(Kind.OP, op, op, i))
                    i += len(op)
                    break
            else:
                hint = " ; pour comparer, écrivez « == »" if ch == "=" else ""
                raise GuardSyntaxError(f"caractère « {ch} » inattendu{hint}", i)
    tokens.append(Token(Kind.END, "", None, n))
    return tokens


def _number(source: str, i: int, tokens: list[Token]) -> int:
    start, n = i, len(source)
    while i < n and source[i].isascii() and source[i].isdigit():
        i += 1
    is_float = False
    if i + 1 < n and source[i] == "." and source[i + 1].isascii() and source[i + 1].isdigit():
        is_float = True
        i += 1
        while i < n and source[i].isascii() and source[i].isdigit():
            i += 1
    if i < n and source[i].isascii() and (source[i].isalpha() or source[i] == "_"):
        raise GuardSyntaxError("un nombre ne peut pas être suivi de lettres", i)
    text = source[start:i]
    value: object = float(text) if is_float else int(text)
    tokens.append(Token(Kind.NUMBER, text, value, start))
    return i


def _string(source: str, i: int, tokens: list[Token]) -> int:
    quote, start, n = source[i], i, len(source)
    i += 1
    chars: list[str] = []
    while i < n and source[i] != quote:
        if source[i] == "\\":
            if i + 1 >= n or source[i + 1] not in ESCAPES:
                raise GuardSyntaxError(
                    "échappement « \\ » inconnu dans un texte entre guillemets", i
                )
            chars.append(ESCAPES[source[i + 1]])
            i += 2
        else:
            chars.append(source[i])
            i += 1
    if i >= n:
        raise GuardSyntaxError(
            "texte entre guillemets non fermé ; ajoutez le guillemet de fin", start
        )
    tokens.append(Token(Kind.STRING, source[start : i + 1], "".join(chars), start))
    return i + 1
