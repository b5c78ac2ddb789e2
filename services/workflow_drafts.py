"""Drafts of workflow definitions: what an administrator edits before publishing it."""

from __future__ import annotations

import re

import yaml

from engine import Problem
from extensions import db
from models import Account, WorkflowDraft, WorkflowVersion
from models.base import utcnow
from services import audit
from services.workflow_store import published_version
from services.workflow_versions import check_source

MAX_SOURCE_BYTES = 256 * 1024  # activation.yaml, the largest, is 16 KB with its scenarios
KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class StudioError(Exception):
    """Refuse a studio operation, with a French message for the administrator."""


def read_key(source: str) -> str | None:
    """Return the `key:` a YAML text declares, or None when it cannot be read."""
    try:
        data = yaml.safe_load(source)
    except yaml.YAMLError:
        return None
    key = data.get("key") if isinstance(data, dict) else None
    return key if isinstance(key, str) and KEY.match(key) else None


def check_size(source: str) -> None:
    """Refuse a definition too large to be a real one (the editor and the checker stay fast)."""
    if len(source.encode("utf-8")) > MAX_SOURCE_BYTES:
        raise StudioError(
            f"La définition dépasse {MAX_SOURCE_BYTES // 1024} Ko : elle ne peut pas être "
            "enregistrée. Une démarche tient d'ordinaire en moins de 20 Ko."
        )


def problems_of(key: str, source: str) -> list[Problem]:
    """Validate a text for a workflow: the engine's checks plus "the key must not change"."""
    check_size(source)
    problems = list(check_source(source, f"{key}.yaml"))
    declared = read_key(source)
    if declared is not None and declared != key:
        message = (
            f"la clé « {declared} » ne correspond pas à la démarche « {key} » : gardez "
            f"« key: {key} », ou importez le fichier pour créer une nouvelle démarche"
        )
        problems.append(Problem(f"{key}.yaml", 1, 1, "key-changed", message))
    return sorted(problems)


def draft_of(key: str) -> WorkflowDraft | None:
    """Return the saved draft of a workflow, if any."""
    return db.session.scalars(db.select(WorkflowDraft).filter_by(key=key)).first()


def editable_source(key: str) -> tuple[str, int | None]:
    """Return the text to edit (the draft, else the published version) and its base version."""
    draft = draft_of(key)
    if draft is not None:
        return draft.source, draft.based_on
    current = published_version(key)
    if current is None:
        raise StudioError(f"Aucune démarche « {key} » n'est publiée.")
    return current.source, current.version


def save_draft(key: str, source: str, author: Account) -> WorkflowDraft:
    """Keep an administrator's text without publishing it (broken YAML included)."""
    check_size(source)
    declared = read_key(source)
    if declared is not None and declared != key:
        raise StudioError(
            f"Ce texte décrit la démarche « {declared} », pas « {key} » : remettez "
            f"« key: {key} » ou importez-le comme nouvelle démarche."
        )
    draft = draft_of(key)
    if draft is None:
        current = published_version(key)
        draft = WorkflowDraft(key=key, based_on=current.version if current else None)
        db.session.add(draft)
    changed = draft.source != source
    draft.source = source
    draft.author = author
    draft.updated_at = utcnow()
    db.session.flush()
    if changed:
        audit.record(
            "workflow.draft_saved",
            actor=author,
            target=draft,
            data={"key": key, "bytes": len(source)},
        )
    return draft


def discard_draft(key: str, author: Account) -> bool:
    """Throw a draft away; the published version is untouched."""
    draft = draft_of(key)
    if draft is None:
        return False
    audit.record("workflow.draft_discarded", actor=author, target=draft, data={"key": key})
    db.session.delete(draft)
    return True


def import_file(data: bytes, author: Account) -> WorkflowDraft:
    """Turn an uploaded YAML file into the draft of the workflow its `key:` names."""
    if len(data) > MAX_SOURCE_BYTES:
        raise StudioError(f"Le fichier dépasse {MAX_SOURCE_BYTES // 1024} Ko.")
    try:
        source = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StudioError(
            "Le fichier n'est pas un texte UTF-8 : enregistrez-le en UTF-8 depuis votre éditeur."
        ) from None
    source = source.replace("\r\n", "\n")
    key = read_key(source)
    if key is None:
        raise StudioError(
            "Le fichier ne déclare pas de clé lisible (« key: » en minuscules, chiffres et _) : "
            "ce n'est pas une définition de démarche, ou son YAML est cassé."
        )
    replaced = draft_of(key) is not None
    draft = save_draft(key, source, author)
    audit.record(
        "workflow.imported", actor=author, target=draft, data={"key": key, "replaced": replaced}
    )
    return draft


def export_name(version: WorkflowVersion | WorkflowDraft) -> str:
    """Name a downloaded definition after its workflow and version."""
    if isinstance(version, WorkflowDraft):
        return f"{version.key}-brouillon.yaml"
    return f"{version.key}-v{version.version}.yaml"
