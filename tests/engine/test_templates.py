"""Texts are rendered in a sandbox that sees only the instance's data and settings."""

from __future__ import annotations

import pytest
from jinja2.exceptions import SecurityError, UndefinedError

from engine.templates import euros, render


def test_renders_data_settings_and_locals() -> None:
    text = "{{ child.prenom }} – {{ settings.etab }} – {{ montant | euros }}"
    out = render(text, {"montant": 123456}, {"etab": "Lycée"}, {"child": {"prenom": "Léa"}})
    assert out == "Léa – Lycée – 1\u202f234,56\u00a0€"


def test_autoescape_is_on() -> None:
    assert render("{{ nom }}", {"nom": "<b>x</b>"}, {}) == "&lt;b&gt;x&lt;/b&gt;"
    assert render("a < b", {}, {}) == "a &lt; b"


def test_no_globals() -> None:
    with pytest.raises(UndefinedError):
        render("{{ range(10) | list }}", {}, {})
    assert render("{{ lipsum }}", {}, {}) == ""


def test_sandbox_blocks_internals_and_mutation() -> None:
    assert render("{{ x.__class__ }}", {"x": "s"}, {}) == ""
    with pytest.raises(SecurityError):
        render("{{ items.append(1) }}", {"items": []}, {})


def test_euros() -> None:
    assert euros(5) == "0,05\u00a0€"
    assert euros(-1250) == "-12,50\u00a0€"
    assert euros("12") == ""


def test_markup_written_in_a_text_is_shown_not_obeyed() -> None:
    # An administrator's text, with a value: neither its own tags nor the value's are HTML.
    text = 'Bonjour {{ nom }} <a href="https://ailleurs.example">cliquez</a>'
    rendered = render(text, {"nom": "<b>Anne</b>"}, {})
    assert rendered == (
        "Bonjour &lt;b&gt;Anne&lt;/b&gt; "
        "&lt;a href=&#34;https://ailleurs.example&#34;&gt;cliquez&lt;/a&gt;"
    )
    assert render("L’élève n’a pas {{ n }} ans", {"n": 12}, {}).unescape() == (
        "L’élève n’a pas 12 ans"
    )
