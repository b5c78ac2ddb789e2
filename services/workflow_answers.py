"""What an applicant answered, as staff read it: labels, values in words, attachments."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.templates import euros, french_date
from engine.views import field_view
from extensions import db
from models import UploadedFile, WorkflowInstance
from services.workflows import workflow_engine


@dataclass(frozen=True)
class Answer:
    """One answer of the applicant, ready to show: its label and its value in words."""

    label: str
    value: str
    file: dict[str, Any] | None = None


def answers(row: WorkflowInstance) -> list[Answer]:
    """Return the applicant's answers on the steps behind the instance, as a person reads them."""
    compiled = workflow_engine().compiled(row.key, row.version)
    steps, data = compiled.definition.steps, row.data or {}
    settings, clock = compiled.definition.settings, workflow_engine().clock
    shown: list[Answer] = []
    seen: set[str] = set()
    for name in [*(row.history or []), row.step]:
        for field in steps[name].fields if name in steps else ():
            if field.secret or field.name in seen or field.name not in data:
                continue
            seen.add(field.name)
            view = field_view(field, data, settings, clock)
            value = data[field.name]
            if view.items is None:
                shown.append(_answer(str(view.label), field.type, view.options, value))
            else:
                for item, item_value in zip(view.items, value or [], strict=False):
                    shown.append(_answer(str(item.label), field.type, view.options, item_value))
    return shown


def _answer(label: str, kind: str, options: Mapping[str, Any], value: Any) -> Answer:
    if value is None or value == "" or value == []:
        return Answer(label, "—")
    if kind == "file" and isinstance(value, dict):
        return Answer(label, str(value.get("name", "fichier")), file=value)
    if kind == "choice":
        labels = {str(c["value"]): str(c["label"]) for c in options.get("choices", [])}
        values = value if isinstance(value, list) else [value]
        return Answer(label, ", ".join(labels.get(str(v), str(v)) for v in values))
    if kind == "money":
        return Answer(label, euros(value))
    if kind == "checkbox":
        return Answer(label, "Oui" if value else "Non")
    if kind == "date":
        return Answer(label, french_date(value))
    return Answer(label, str(value))


def uploaded_file(row: WorkflowInstance, file_id: str) -> UploadedFile | None:
    """Return a file attached to this instance (None for a file of another case)."""
    referenced = _file_ids(row.data or {})
    if file_id not in referenced:
        return None
    return db.session.scalars(db.select(UploadedFile).filter_by(public_id=file_id)).first()


def _file_ids(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {value["file"]} if isinstance(value.get("file"), str) else set()
        for item in value.values():
            found |= _file_ids(item)
        return found
    if isinstance(value, list):
        return set().union(*(_file_ids(item) for item in value)) if value else set()
    return set()
