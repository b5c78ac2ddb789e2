"""What a page needs to show the current step: rendered texts, fields, buttons."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from markupsafe import Markup

from engine.definition import Bound, Field, Step
from engine.errors import GuardError
from engine.guards import Clock, Guard, Scope
from engine.templates import render

log = logging.getLogger("guichet.engine")

MAX_PATH_LENGTH = 2000
# Backslashes, whitespace and control characters: browsers drop or rewrite some of them,
# so that "/\evil.example" or "/<tab>/evil.example" would lead to another host.
UNSAFE_PATH_CHARS = re.compile(r"[\\\s\x00-\x1f\x7f]")


def safe_path(value: str) -> bool:
    """Tell whether value is a path on this site: one leading '/', no host, no scheme."""
    return (
        value.startswith("/")
        and not value.startswith("//")
        and len(value) <= MAX_PATH_LENGTH
        and UNSAFE_PATH_CHARS.search(value) is None
    )


DEFAULT_SUBMIT = Markup("Valider")


@dataclass(frozen=True, slots=True)
class FieldItem:
    """One input of a repeated field, for one item of the collection."""

    index: int
    label: Markup
    hint: Markup
    min: Any
    max: Any
    default: Any


@dataclass(frozen=True, slots=True)
class FieldView:
    """A field ready for the form layer: texts rendered, bounds computed."""

    name: str
    type: str
    label: Markup
    hint: Markup
    required: bool
    default: Any
    min: Any
    max: Any
    options: Mapping[str, Any]
    secret: bool
    items: tuple[FieldItem, ...] | None = None  # set for repeated fields


@dataclass(frozen=True, slots=True)
class Button:
    """An event the actor may fire from the page."""

    event: str
    label: Markup


@dataclass(frozen=True, slots=True)
class LinkView:
    """A link of the step, rendered; href is plain text for the page to escape."""

    label: Markup
    href: str


@dataclass(frozen=True, slots=True)
class StepView:
    """The current step of an instance, ready to render."""

    name: str
    title: Markup
    intro: Markup
    message: Markup
    final: bool
    actor: str
    fields: tuple[FieldView, ...]
    buttons: tuple[Button, ...]
    can_go_back: bool
    has_form: bool
    redirect: str | None = None  # a safe relative path, set only while the step is active
    refresh: int | None = None  # seconds, set only while the step is active
    links: tuple[LinkView, ...] = ()
    submit: Markup = DEFAULT_SUBMIT  # the label of the form's button
    tone: str = "success"  # success, info, warning or error: the colour of a final message


def _bound(bound: Bound | None, scope: Scope) -> Any:
    if isinstance(bound, Guard):
        return bound.evaluate(scope)
    return bound


@lru_cache(maxsize=256)
def _choice_source(text: str) -> Guard:
    return Guard.parse(text)


def _options(field: Field, scope: Scope) -> Mapping[str, Any]:
    """Return the field's options, with choices read from a name resolved to their list."""
    source = field.options.get("choices")
    if not isinstance(source, str):
        return field.options
    try:
        value = _choice_source(source).evaluate(scope)
    except GuardError:
        log.warning("choices %r could not be read: showing none", source)
        value = None
    choices = [
        {"value": item["value"], "label": item["label"]}
        for item in value or ()
        if isinstance(item, Mapping) and "value" in item and "label" in item
    ]
    return {**field.options, "choices": choices}


def field_view(
    field: Field,
    data: Mapping[str, Any],
    settings: Mapping[str, Any],
    clock: Clock,
) -> FieldView:
    """Render a field's texts and compute its bounds (per item when repeated)."""
    items = None
    scope = Scope(data, clock, settings)
    if field.repeat is not None:
        collection = data.get(field.repeat.over) or []
        defaults = data.get(field.name) if isinstance(data.get(field.name), list) else []
        rendered = []
        for index, item in enumerate(collection):
            local = {field.repeat.as_: item}
            item_scope = Scope(data, clock, settings, local=local)
            rendered.append(
                FieldItem(
                    index=index,
                    label=render(field.label, data, settings, local),
                    hint=render(field.hint, data, settings, local),
                    min=_bound(field.min, item_scope),
                    max=_bound(field.max, item_scope),
                    default=defaults[index] if index < len(defaults) else field.default,
                )
            )
        items = tuple(rendered)
        lo = hi = None
    else:
        lo, hi = _bound(field.min, scope), _bound(field.max, scope)
    return FieldView(
        name=field.name,
        type=field.type,
        label=render(field.label, data, settings) if items is None else Markup(""),
        hint=render(field.hint, data, settings) if items is None else Markup(""),
        required=field.required,
        default=None if field.secret else data.get(field.name, field.default),
        min=lo,
        max=hi,
        options=_options(field, scope),
        secret=field.secret,
        items=items,
    )


def step_view(
    step: Step,
    data: Mapping[str, Any],
    settings: Mapping[str, Any],
    clock: Clock,
    *,
    buttons: tuple[Button, ...],
    can_go_back: bool,
    active: bool = True,
) -> StepView:
    """Assemble the view of a step; redirect and refresh apply only while it is active."""
    live = active and not step.final
    return StepView(
        name=step.name,
        title=render(step.title, data, settings),
        intro=render(step.intro, data, settings),
        message=render(step.message, data, settings),
        final=step.final,
        actor=step.actor,
        fields=tuple(field_view(f, data, settings, clock) for f in step.fields),
        buttons=buttons,
        can_go_back=can_go_back,
        has_form=bool(step.next),
        redirect=render_path(step.redirect, data, settings, step.name) if live else None,
        refresh=step.refresh if live else None,
        submit=render(step.submit, data, settings) if step.submit else DEFAULT_SUBMIT,
        tone=step.tone,
        links=tuple(
            LinkView(render(link.label, data, settings), href)
            for link in step.links
            if (href := render_path(link.href, data, settings, step.name)) is not None
        ),
    )


def render_path(
    template: str, data: Mapping[str, Any], settings: Mapping[str, Any], step: str
) -> str | None:
    """Render a path template; None (and a warning in the log) unless it is a safe path."""
    if not template:
        return None
    # Autoescape made the values HTML-safe; a URL wants the plain text back.
    value = render(template, data, settings).unescape()
    if safe_path(value):
        return value
    log.warning("step %s: refused path %r, not a relative path on this site", step, value[:200])
    return None
