"""Masking of secrets in diffs."""

from __future__ import annotations

from engine.masking import MASK, changes, mask


def test_changes_lists_only_changed_keys_and_masks_secrets() -> None:
    before = {"a": 1, "same": "x", "code_hash": "old", "gone": 2, "flag": 1}
    after = {"a": 2, "same": "x", "code_hash": "new", "added": [1], "flag": True}
    assert changes(before, after, frozenset({"code_hash"})) == {
        "a": {"old": 1, "new": 2},
        "added": {"old": None, "new": [1]},
        "code_hash": {"old": MASK, "new": MASK},
        "flag": {"old": 1, "new": True},  # 1 == True in Python, but it did change
        "gone": {"old": 2, "new": None},
    }


def test_mask_hides_secret_values_only() -> None:
    assert mask({"pin": "1234", "nom": "Martin"}, frozenset({"pin"})) == {
        "pin": MASK,
        "nom": "Martin",
    }
