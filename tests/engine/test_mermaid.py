"""Mermaid diagrams of definitions."""

from __future__ import annotations

import re

from engine import Definition, to_mermaid


def test_demo_diagram(demo: Definition) -> None:
    text = to_mermaid(demo)
    lines = text.splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert "    [*] --> identite" in lines
    assert "    identite --> code : [guardian_found]" in lines
    assert "    code --> code : renvoyer [renvois #lt; settings.max_resends]" in lines
    assert "    code --> identite : back" in lines
    assert "    mot_de_passe --> signature" in lines
    assert {"    accordee --> [*]", "    refusee --> [*]", "    bloque --> [*]"} <= set(lines)
    assert "    class instruction staff" in lines
    assert "    complement : Complément d’information" in lines


def test_labels_cannot_break_the_syntax(demo: Definition) -> None:
    text = to_mermaid(demo)
    for line in text.splitlines()[1:]:
        label = line.split(" : ", 1)[1] if " : " in line else ""
        assert not set(re.sub(r"#\w+;", "", label)) & set('"<>{};:')
        assert "\n" not in label


def test_titles_show_an_ellipsis_for_their_data(demo: Definition) -> None:
    # "Instruction de la demande de {{ prenom }} {{ nom }}": no data in a diagram.
    lines = to_mermaid(demo).splitlines()
    assert "    instruction : Instruction de la demande de … …" in lines
