"""Every scenario of every shipped workflow runs in CI (the same as `flask workflows test`)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from engine.scenarios import run_scenarios
from engine.yamlsource import load
from services.workflow_actions import action_registry

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
SHIPPED = sorted(WORKFLOWS.glob("*.yaml"))


def _cases() -> list[pytest.param]:
    cases = []
    for path in SHIPPED:
        data, _ = load(path.read_text(encoding="utf-8"))
        for index, scenario in enumerate(data.get("scenarios") or ()):
            cases.append(pytest.param(path, index, id=f"{path.stem}: {scenario['name']}"))
    return cases


CASES = _cases()


def test_every_main_workflow_carries_scenarios():
    carried = {path.stem for path, _ in (case.values for case in CASES)}
    assert carried == {path.stem for path in SHIPPED}


@cache
def _results(path: Path) -> list:
    """Run a file's scenarios once for all its cases."""
    text = path.read_text(encoding="utf-8")
    return run_scenarios(text, f"workflows/{path.name}", action_registry())


@pytest.mark.parametrize(("path", "index"), CASES)
def test_shipped_scenario(path: Path, index: int):
    result = _results(path)[index]
    assert result.passed, "\n".join(str(f) for f in result.failures)
