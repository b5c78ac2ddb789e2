"""Turn YAML text into a checked Definition."""

from __future__ import annotations

from pathlib import Path

from engine.actions import ActionRegistry
from engine.definition import Definition, build
from engine.errors import DefinitionError
from engine.validation import check, errors_only
from engine.yamlsource import load


def parse_definition(text: str, filename: str, registry: ActionRegistry) -> Definition:
    """Check YAML text and build its Definition, raising DefinitionError on errors."""
    problems = errors_only(check(text, filename, registry))
    if problems:
        raise DefinitionError(problems)
    data, _ = load(text)
    return build(data)


def load_file(path: str | Path, registry: ActionRegistry) -> Definition:
    """Read, check and build the definition stored in a YAML file."""
    path = Path(path)
    return parse_definition(path.read_text(encoding="utf-8"), str(path), registry)
