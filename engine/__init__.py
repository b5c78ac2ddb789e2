"""Guichet's workflow engine: load, check, compile and run YAML workflows (no Flask)."""

from engine.actions import ActionContext, ActionRegistry, ActionSpec, FromParam, Param
from engine.clock import FixedClock, SystemClock
from engine.compiler import CompiledWorkflow, WorkflowCache, compile_definition, machine_spec
from engine.definition import Definition, Field, Link, Step
from engine.errors import (
    ActionError,
    ConflictError,
    DefinitionError,
    EngineError,
    GuardError,
    GuardSyntaxError,
    InvalidTriggerError,
    NotAllowedError,
    SubmissionError,
)
from engine.fields import FIELD_TYPES
from engine.guards import Guard, Scope
from engine.instance import SYSTEM, Actor, AuditRecord, Instance, Status
from engine.loader import load_file, parse_definition
from engine.masking import MASK
from engine.memory import MemoryStore
from engine.mermaid import to_mermaid
from engine.runtime import Engine, Outcome
from engine.store import Store
from engine.validation import Problem, check
from engine.views import Button, FieldItem, FieldView, LinkView, StepView

__all__ = [
    "FIELD_TYPES",
    "MASK",
    "SYSTEM",
    "ActionContext",
    "ActionError",
    "ActionRegistry",
    "ActionSpec",
    "Actor",
    "AuditRecord",
    "Button",
    "CompiledWorkflow",
    "ConflictError",
    "Definition",
    "DefinitionError",
    "Engine",
    "EngineError",
    "Field",
    "FieldItem",
    "FieldView",
    "FixedClock",
    "FromParam",
    "Guard",
    "GuardError",
    "GuardSyntaxError",
    "Instance",
    "InvalidTriggerError",
    "Link",
    "LinkView",
    "MemoryStore",
    "NotAllowedError",
    "Outcome",
    "Param",
    "Problem",
    "Scope",
    "Status",
    "Step",
    "StepView",
    "Store",
    "SubmissionError",
    "SystemClock",
    "WorkflowCache",
    "check",
    "compile_definition",
    "load_file",
    "machine_spec",
    "parse_definition",
    "to_mermaid",
]
