"""The in-memory store keeps its own copy of what it saves; how instance data is copied."""

from __future__ import annotations

import copy
from dataclasses import fields
from datetime import date, datetime
from typing import Any

import pytest

from engine import ConflictError, MemoryStore
from engine.instance import Instance, copy_data


def every_field_set() -> Instance:
    """An instance whose every field holds a value of its own, none the default."""
    values: dict[str, Any] = {f.name: object() for f in fields(Instance)}
    values.update(data={"children": [{"name": "Léa"}]}, history=["a", "b"])
    return Instance(**values)


def test_get_returns_every_field_as_saved() -> None:
    store = MemoryStore()
    saved = store.save(every_field_set(), expected_revision=None)
    loaded = store.get(saved.id)  # type: ignore[arg-type]
    for f in fields(Instance):
        assert getattr(loaded, f.name) == getattr(saved, f.name), f.name


def test_the_stored_copy_shares_nothing_with_the_caller() -> None:
    store = MemoryStore()
    instance = Instance(key="k", version=1, step="a", data={"children": [{"name": "Léa"}]})
    saved = store.save(instance, expected_revision=None)
    saved.data["children"][0]["name"] = "Tom"
    saved.data["new"] = 1
    saved.history.append("a")
    loaded = store.get(saved.id or "")
    assert loaded.data == {"children": [{"name": "Léa"}]}
    assert loaded.history == []
    loaded.data["children"].clear()
    assert store.get(saved.id or "").data == {"children": [{"name": "Léa"}]}


def test_a_stale_revision_is_refused() -> None:
    store = MemoryStore()
    saved = store.save(Instance(key="k", version=1, step="a", revision=1), expected_revision=None)
    store.save(Instance(key="k", version=1, step="b", revision=2, id=saved.id), expected_revision=1)
    with pytest.raises(ConflictError):
        store.save(Instance(key="k", version=1, step="c", revision=2, id=saved.id), 1)
    assert store.get(saved.id or "").step == "b"


def test_copy_data_copies_containers_and_shares_scalars() -> None:
    data = {
        "name": "Léa",
        "born": date(2013, 4, 2),
        "at": datetime(2025, 3, 1, 10, 0),
        "cents": 12500,
        "rate": 0.5,
        "agreed": True,
        "note": None,
        "children": [{"name": "Tom", "documents": ["caf"]}],
    }
    copied = copy_data(data)
    assert copied == copy.deepcopy(data)
    assert copied is not data
    assert copied["children"] is not data["children"]
    assert copied["children"][0] is not data["children"][0]
    assert copied["children"][0]["documents"] is not data["children"][0]["documents"]


def test_copy_data_deep_copies_any_other_value() -> None:
    data = {"tags": {"a"}, "pair": ([1], 2)}
    copied = copy_data(data)
    assert copied == data
    assert copied["tags"] is not data["tags"]
    assert copied["pair"][0] is not data["pair"][0]
