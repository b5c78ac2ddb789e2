"""Fixtures for engine tests: a frozen clock, the demo registry, a memory store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from engine import ActionRegistry, Definition, Engine, FixedClock, MemoryStore, parse_definition
from engine.demo import demo_registry

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2025, 3, 1, 10, 0))


@pytest.fixture
def registry() -> ActionRegistry:
    return demo_registry()


@pytest.fixture
def demo_text() -> str:
    return (ROOT / "workflows" / "demo.yaml").read_text(encoding="utf-8")


@pytest.fixture
def demo(demo_text: str, registry: ActionRegistry) -> Definition:
    return parse_definition(demo_text, "demo.yaml", registry)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def engine(store: MemoryStore, registry: ActionRegistry, clock: FixedClock) -> Engine:
    return Engine(store, registry, clock)


@pytest.fixture
def publish(store: MemoryStore, registry: ActionRegistry) -> Callable[[str], Definition]:
    """Return a function that checks, builds and publishes YAML text."""

    def publish(text: str) -> Definition:
        definition = parse_definition(text, "test.yaml", registry)
        store.publish(definition)
        return definition

    return publish
