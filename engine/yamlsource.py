"""Load YAML safely while keeping every node's position for error messages."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import yaml


def _keep_dates_as_text(loader: type[yaml.SafeLoader]) -> None:
    loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


class Loader(yaml.SafeLoader):
    """Safe loader that keeps dates as text, so JSON Schema sees JSON types only."""


class FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The same on libyaml's parser, when PyYAML has it (its wheels do): ten times faster,
    which the studio's check-as-you-type needs."""


_keep_dates_as_text(Loader)
_keep_dates_as_text(FastLoader)

PathPart = str | int


@dataclass(frozen=True, slots=True)
class Position:
    """Point at a line and column, both 1-based."""

    line: int
    column: int


def position(node: yaml.Node) -> Position:
    """Return where a node starts."""
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def load(text: str) -> tuple[Any, yaml.Node | None]:
    """Parse one YAML document into (data, root node); raise yaml.YAMLError."""
    try:
        return _load(FastLoader, text)
    except yaml.YAMLError:
        # Broken text: the pure-Python parser's error messages are the ones the validator
        # knows how to explain (libyaml words them differently).
        return _load(Loader, text)


def _load(loader_class: type[yaml.SafeLoader], text: str) -> tuple[Any, yaml.Node | None]:
    loader = loader_class(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None
        return loader.construct_document(root), root
    finally:
        loader.dispose()


def mapping_items(node: yaml.Node) -> Iterator[tuple[yaml.ScalarNode, yaml.Node]]:
    """Yield (key node, value node) pairs of a mapping node."""
    if isinstance(node, yaml.MappingNode):
        yield from node.value


def duplicate_keys(node: yaml.Node | None) -> Iterator[yaml.ScalarNode]:
    """Yield key nodes that repeat an earlier key of the same mapping (YAML keeps the last)."""
    if node is None:
        return
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    yield key
                seen.add(key.value)
            yield from duplicate_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from duplicate_keys(item)


def locate(root: yaml.Node | None, path: Sequence[PathPart], *, key: bool = False) -> Position:
    """Return the position of the node at path (or of its key), or of the deepest ancestor."""
    if root is None:
        return Position(1, 1)
    node, key_node = root, None
    for part in path:
        child = _child(node, part)
        if child is None:
            break
        key_node, node = child
    if key and key_node is not None:
        return position(key_node)
    return position(node)


def _child(node: yaml.Node, part: PathPart) -> tuple[yaml.Node | None, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return key, value
    elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return None, node.value[part]
    return None


def scalar_at(root: yaml.Node | None, path: Sequence[PathPart]) -> yaml.ScalarNode | None:
    """Return the scalar node at path, if the path leads exactly to one."""
    node = root
    for part in path:
        if node is None:
            return None
        child = _child(node, part)
        if child is None:
            return None
        node = child[1]
    return node if isinstance(node, yaml.ScalarNode) else None
