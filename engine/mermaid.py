"""Draw a definition as a Mermaid stateDiagram-v2."""

from __future__ import annotations

import re

from engine.compiler import BACK, SUBMIT, edges
from engine.definition import APPLICANT, Definition

_TEMPLATE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
# Mermaid entity codes keep guards like "a < b" and French texts from breaking the syntax.
_ENTITIES = {
    "#": "#35;",
    "<": "#lt;",
    ">": "#gt;",
    '"': "#quot;",
    ":": "#58;",
    ";": "#59;",
    "{": "#123;",
    "}": "#125;",
}


def _escape(text: str) -> str:
    # A title's template parts name data the diagram does not have: show an ellipsis.
    text = " ".join(_TEMPLATE.sub("…", text).split())
    return "".join(_ENTITIES.get(ch, ch) for ch in text)


def to_mermaid(definition: Definition) -> str:
    """Return Mermaid text: steps, transitions labelled with events and guards."""
    lines = ["stateDiagram-v2"]
    for name, step in definition.steps.items():
        lines.append(f"    {name} : {_escape(step.title)}")
    lines.append(f"    [*] --> {definition.initial}")
    for edge in edges(definition):
        if edge.trigger == BACK:
            label = "back"
        else:
            label = "" if edge.trigger == SUBMIT else edge.trigger
            if edge.guard is not None:
                label = f"{label} [{edge.guard.source}]".strip()
        suffix = f" : {_escape(label)}" if label else ""
        lines.append(f"    {edge.source} --> {edge.dest}{suffix}")
    for name, step in definition.steps.items():
        if step.final:
            lines.append(f"    {name} --> [*]")
    staff = [name for name, step in definition.steps.items() if step.actor != APPLICANT]
    if staff:
        lines.append("    classDef staff fill:#fde2c8,stroke:#b34000")
        lines.append(f"    class {','.join(staff)} staff")
    return "\n".join(lines) + "\n"
