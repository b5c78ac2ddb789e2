"""Render every step of a definition as its person will see it, with sample data."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import yaml

from engine import Button, Definition, FixedClock, StepView
from engine.definition import APPLICANT, Field
from engine.templates import render
from engine.views import step_view
from forms.workflow import StepForm, step_form_class

# A fixed moment, so that a preview does not change from one reload to the next.
PREVIEW_CLOCK = FixedClock(datetime(2026, 9, 14, 9, 30))
SAMPLES: dict[str, Any] = {
    "text": "Martin",
    "textarea": "Texte d'exemple",
    "email": "parent@example.org",
    "mobile": "+33612345678",
    "date": "2014-05-12",
    "money": 4500,
    "integer": 1,
    "checkbox": True,
}


@dataclass(frozen=True)
class StepPreview:
    """One step as rendered for its audience, with its form when it has one."""

    name: str
    actor: str
    view: StepView
    form: StepForm | None

    @property
    def for_staff(self) -> bool:
        """Tell whether staff, not the family, fill this step."""
        return self.actor != APPLICANT


def sample_data(definition: Definition, source: str) -> dict[str, Any]:
    """Build data to fill the texts: the scenarios' answers first, then a value per field."""
    data: dict[str, Any] = {}
    for step in definition.steps.values():
        for item in step.fields:
            if item.repeat is None and not item.secret:
                data.setdefault(item.name, _sample(item))
    for name, value in _scenario_data(source).items():
        data[name] = value
    return data


def preview(definition: Definition, source: str) -> list[StepPreview]:
    """Return every step's view and form, as the applicant or staff will see it."""
    data = sample_data(definition, source)
    settings = definition.settings
    form_key = "apercu-" + hashlib.sha256(source.encode()).hexdigest()[:16]
    previews = []
    for step in definition.steps.values():
        buttons = tuple(
            Button(event.name, render(event.label or event.name, data, settings))
            for event in step.events.values()
            if event.button
        )
        view = step_view(
            step, data, settings, PREVIEW_CLOCK, buttons=buttons, can_go_back=step.back
        )
        form = None
        if view.has_form:
            # Prefixed: several steps on one page must not share input ids.
            form = step_form_class(form_key, 0, view)(
                formdata=None, prefix=f"{step.name}-", meta={"csrf": False}
            )
        previews.append(StepPreview(step.name, step.actor, view, form))
    return previews


def _sample(item: Field) -> Any:
    choices = item.options.get("choices")
    if item.type == "choice" and isinstance(choices, list) and choices:
        first = choices[0]
        return first.get("value") if isinstance(first, Mapping) else None
    if item.type == "date":
        return date(2014, 5, 12).isoformat()
    return SAMPLES.get(item.type)


def _scenario_data(source: str) -> dict[str, Any]:
    # The scenarios' answers and action results are realistic data written by the
    # procedure's own authors: the best sample there is (read, never run, here).
    try:
        raw = yaml.safe_load(source)
    except yaml.YAMLError:
        return {}
    scenarios = raw.get("scenarios") if isinstance(raw, dict) else None
    data: dict[str, Any] = {}
    for scenario in scenarios if isinstance(scenarios, list) else []:
        if not isinstance(scenario, dict):
            continue
        if isinstance(scenario.get("given"), dict):
            data.update(scenario["given"])
        for entry in scenario.get("steps") or []:
            if not isinstance(entry, dict):
                continue
            if isinstance(entry.get("submit"), dict):
                data.update(entry["submit"])
            for written in (entry.get("results") or {}).values():
                if isinstance(written, dict):
                    data.update(written)
        break  # the first scenario is the main path
    return data
