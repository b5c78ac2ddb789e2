"""Render the texts of a definition in a sandbox that sees only instance data."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any

from jinja2 import Template, TemplateSyntaxError, meta, nodes
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from engine.clock import PARIS


def euros(cents: Any) -> str:
    """Format integer cents the French way: 1234 -> '12,34 €'."""
    if not isinstance(cents, int) or isinstance(cents, bool):
        return ""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{whole:,}".replace(",", "\u202f") + f",{rest:02d}\u00a0€"


def french_date(value: Any) -> str:
    """Format a date or an ISO timestamp the French way, in Paris time: '29/11/2026 à 14:05'."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        local = value.astimezone(PARIS) if value.tzinfo else value
        return local.strftime("%d/%m/%Y à %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return ""


class EscapeLiterals(Extension):
    """Escape a template's own text as autoescape escapes its values: a definition's texts
    are written by administrators, and no markup of theirs reaches a family's page."""

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        """Replace every literal part of the template by its escaped form."""
        for token in stream:
            if token.type == "data":
                yield Token(token.lineno, "data", str(Markup.escape(token.value)))
            else:
                yield token


def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(autoescape=True, extensions=[EscapeLiterals])
    # No globals at all (range, lipsum, namespace…): a text sees its data, nothing else.
    env.globals.clear()
    env.filters["euros"] = euros
    env.filters["date"] = french_date
    return env


_ENV = _environment()
_CACHE: dict[str, Template] = {}
_LOCK = threading.Lock()


def parse_names(text: str) -> set[str]:
    """Return the top-level names a template reads, raising TemplateSyntaxError."""
    tree: nodes.Template = _ENV.parse(text)
    return set(meta.find_undeclared_variables(tree))


def literal_parts(text: str) -> tuple[str, list[str]]:
    """Return a template's leading literal text ('' after a tag) and all its literal parts."""
    tokens = [(kind, value) for _, kind, value in _ENV.lex(text)]
    prefix = tokens[0][1] if tokens and tokens[0][0] == "data" else ""
    return prefix, [value for kind, value in tokens if kind == "data"]


def render(
    text: str,
    data: Mapping[str, Any],
    settings: Mapping[str, Any],
    local: Mapping[str, Any] | None = None,
) -> Markup:
    """Render text with data, settings and local names; plain text passes through."""
    if "{" not in text:
        return Markup.escape(text)
    template = _CACHE.get(text)
    if template is None:
        with _LOCK:
            template = _CACHE.get(text) or _ENV.from_string(text)
            if len(_CACHE) < 10_000:  # definitions are few; never grow without bound
                _CACHE[text] = template
    context = {**data, "settings": dict(settings), **(local or {})}
    # Autoescape escaped every value and EscapeLiterals the text around them: safe markup.
    return Markup(template.render(context))  # noqa: S704


__all__ = [
    "TemplateSyntaxError",
    "euros",
    "french_date",
    "literal_parts",
    "parse_names",
    "render",
]
