"""Build the WTForms form of a workflow step from its fields, through a field-type registry."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.fields.core import UnboundField
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from engine import FIELD_TYPES, FieldView, StepView
from forms.fields import MobileField, MoneyField, MultiCheckboxField, format_euros
from services.passwords import policy_problems

REQUIRED = "Ce champ est obligatoire."
CONFIRM_SUFFIX = "__confirmation"


@dataclass(frozen=True, slots=True)
class Input:
    """One input to build: a plain field, or one item of a repeated field."""

    name: str
    label: str
    hint: str
    required: bool
    default: Any
    min: Any
    max: Any
    options: Any


def _presence(spec: Input) -> list[Any]:
    return [InputRequired(REQUIRED)] if spec.required else [Optional()]


def _text_validators(spec: Input) -> list[Any]:
    options = spec.options
    validators = _presence(spec)
    lo, hi = options.get("min_length"), options.get("max_length")
    if lo is not None or hi is not None:
        validators.append(
            Length(
                min=lo if lo is not None else -1,
                max=hi if hi is not None else -1,
                message=_length_message(lo, hi),
            )
        )
    if options.get("pattern"):
        message = options.get("pattern_message") or "Le format n'est pas celui attendu."
        validators.append(Regexp(options["pattern"], message=message))
    return validators


def _length_message(lo: int | None, hi: int | None) -> str:
    if lo and hi:
        return f"Saisissez entre {lo} et {hi} caractères."
    if hi:
        return f"Saisissez au plus {hi} caractères."
    return f"Saisissez au moins {lo} caractères."


class _Bounds:
    """Check a value against computed minimum and maximum, with a French message."""

    def __init__(self, lo: Any, hi: Any, show: Callable[[Any], str]) -> None:
        self.lo, self.hi, self.show = lo, hi, show

    def __call__(self, form: Any, field: Any) -> None:
        value = field.data
        if value is None:
            return
        if self.lo is not None and value < self.lo:
            raise ValidationError(f"La valeur doit être au moins {self.show(self.lo)}.")
        if self.hi is not None and value > self.hi:
            raise ValidationError(f"La valeur doit être au plus {self.show(self.hi)}.")


def _french_date(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def _euros(cents: int) -> str:
    return f"{format_euros(cents)} €"


class _PasswordPolicy:
    """Apply the password policy (length, character classes, common passwords)."""

    def __init__(self, policy: Any) -> None:
        self.min_length = (policy or {}).get("min_length", 12)

    def __call__(self, form: Any, field: Any) -> None:
        problems = policy_problems(field.data or "")
        if len(field.data or "") < self.min_length:
            problems.insert(
                0, f"Le mot de passe doit contenir au moins {self.min_length} caractères."
            )
        if problems:
            raise ValidationError(problems[0])


def _kw(spec: Input, **extra: Any) -> dict[str, Any]:
    return {"label": spec.label, "description": spec.hint, **extra}


def _choices(spec: Input) -> list[SelectChoice]:
    return [SelectChoice(str(c["value"]), str(c["label"])) for c in spec.options.get("choices", [])]


def _build_text(spec: Input) -> dict[str, UnboundField]:
    return {
        spec.name: StringField(**_kw(spec, validators=_text_validators(spec), default=spec.default))
    }


def _build_textarea(spec: Input) -> dict[str, UnboundField]:
    return {
        spec.name: TextAreaField(
            **_kw(spec, validators=_text_validators(spec), default=spec.default)
        )
    }


def _build_email(spec: Input) -> dict[str, UnboundField]:
    validators = [
        *_presence(spec),
        Email(
            "Saisissez une adresse électronique valide, par exemple nom@domaine.fr.",
            check_deliverability=False,
        ),
        Length(max=spec.options.get("max_length") or 254),
    ]
    render = {"autocomplete": "email", "spellcheck": "false"}
    return {
        spec.name: EmailField(
            **_kw(spec, validators=validators, default=spec.default, render_kw=render)
        )
    }


def _build_mobile(spec: Input) -> dict[str, UnboundField]:
    render = {"autocomplete": "tel", "type": "tel"}
    return {
        spec.name: MobileField(
            **_kw(spec, validators=_presence(spec), default=spec.default, render_kw=render)
        )
    }


def _build_otp(spec: Input) -> dict[str, UnboundField]:
    length = spec.options.get("length", 6)
    validators = [
        *_presence(spec),
        Regexp(rf"^\s*\d{{{length}}}\s*$", message=f"Le code comporte {length} chiffres."),
    ]
    render = {"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": str(length)}
    return {
        spec.name: StringField(
            **_kw(spec, validators=validators, render_kw=render, filters=[_strip])
        )
    }


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _build_date(spec: Input) -> dict[str, UnboundField]:
    validators = [*_presence(spec), _Bounds(spec.min, spec.max, _french_date)]
    render = {}
    if isinstance(spec.min, date):
        render["min"] = spec.min.isoformat()
    if isinstance(spec.max, date):
        render["max"] = spec.max.isoformat()
    default = date.fromisoformat(spec.default) if isinstance(spec.default, str) else spec.default
    field = DateField(
        **_kw(spec, validators=validators, default=default, render_kw=render),
        invalid_value_message="Saisissez une date valide, par exemple 31/01/2014.",
    )
    return {spec.name: field}


def _build_money(spec: Input) -> dict[str, UnboundField]:
    validators = [*_presence(spec), _Bounds(spec.min, spec.max, _euros)]
    render = {"inputmode": "decimal", "autocomplete": "off"}
    return {
        spec.name: MoneyField(
            **_kw(spec, validators=validators, default=spec.default, render_kw=render)
        )
    }


def _build_integer(spec: Input) -> dict[str, UnboundField]:
    validators = [*_presence(spec), NumberRange(spec.min, spec.max, message=_range_message(spec))]
    field = IntegerField(
        **_kw(spec, validators=validators, default=spec.default, render_kw={"inputmode": "numeric"})
    )
    return {spec.name: field}


def _range_message(spec: Input) -> str:
    if spec.min is not None and spec.max is not None:
        return f"Saisissez un nombre entre {spec.min} et {spec.max}."
    if spec.max is not None:
        return f"Saisissez un nombre au plus égal à {spec.max}."
    return f"Saisissez un nombre au moins égal à {spec.min}."


def _build_choice(spec: Input) -> dict[str, UnboundField]:
    widget = spec.options.get("widget", "radio")
    choices = _choices(spec)
    kw = _kw(spec, choices=choices, default=spec.default)
    if widget == "checkboxes":
        validators = [DataRequired("Cochez au moins une case.")] if spec.required else [Optional()]
        return {spec.name: MultiCheckboxField(validators=validators, **kw)}
    message = "Choisissez une réponse dans la liste."
    validators = [InputRequired(message)] if spec.required else [Optional()]
    if widget == "select":
        kw["choices"] = (
            [SelectChoice("", "Sélectionnez une option"), *choices]
            if not spec.required or spec.default is None
            else choices
        )
        return {
            spec.name: SelectField(
                validators=validators,
                validate_choice=True,
                invalid_choice_message=message,
                invalid_value_message=message,
                **kw,
            )
        }
    return {
        spec.name: RadioField(
            validators=validators,
            invalid_choice_message=message,
            invalid_value_message=message,
            **kw,
        )
    }


def _build_checkbox(spec: Input) -> dict[str, UnboundField]:
    validators = (
        [DataRequired("Cochez cette case pour continuer.")] if spec.required else [Optional()]
    )
    return {spec.name: BooleanField(**_kw(spec, validators=validators, default=bool(spec.default)))}


def _build_password(spec: Input) -> dict[str, UnboundField]:
    render = {"autocomplete": "current-password"}
    return {spec.name: PasswordField(**_kw(spec, validators=_presence(spec), render_kw=render))}


def _build_new_password(spec: Input) -> dict[str, UnboundField]:
    render = {"autocomplete": "new-password"}
    validators = [*_presence(spec), _PasswordPolicy(spec.options.get("policy"))]
    confirm = [
        *_presence(spec),
        EqualTo(spec.name, "Les deux mots de passe ne sont pas identiques."),
    ]
    return {
        spec.name: PasswordField(**_kw(spec, validators=validators, render_kw=render)),
        spec.name + CONFIRM_SUFFIX: PasswordField(
            "Confirmez le mot de passe", validators=confirm, render_kw=render
        ),
    }


class _MaxSize:
    """Refuse an upload larger than the field allows."""

    def __init__(self, kilobytes: int) -> None:
        self.limit = kilobytes * 1024

    def __call__(self, form: Any, field: Any) -> None:
        upload = field.data
        if upload and getattr(upload, "filename", ""):
            upload.stream.seek(0, 2)
            size = upload.stream.tell()
            upload.stream.seek(0)
            if size > self.limit:
                raise ValidationError(f"Le fichier dépasse {self.limit // 1024} Ko.")


def _build_file(spec: Input) -> dict[str, UnboundField]:
    accept = [a.lstrip(".").lower() for a in spec.options.get("accept", [])]
    validators = [DataRequired("Joignez un fichier.")] if spec.required else [Optional()]
    if accept:
        validators.append(FileAllowed(accept, f"Formats acceptés : {', '.join(accept)}."))
    validators.append(_MaxSize(spec.options.get("max_size_kb", 5000)))
    render = {"accept": ",".join("." + a for a in accept)} if accept else {}
    limits = f"Taille maximale : {spec.options.get('max_size_kb', 5000) // 1000} Mo."
    if accept:
        limits += f" Formats acceptés : {', '.join(accept)}."
    hint = f"{spec.hint} {limits}".strip()
    field = FileField(spec.label, description=hint, validators=validators, render_kw=render)
    return {spec.name: field}


# The field-type registry: each engine field type knows how to become WTForms fields.
BUILDERS: dict[str, Callable[[Input], dict[str, UnboundField]]] = {
    "text": _build_text,
    "textarea": _build_textarea,
    "email": _build_email,
    "mobile": _build_mobile,
    "otp": _build_otp,
    "date": _build_date,
    "money": _build_money,
    "integer": _build_integer,
    "choice": _build_choice,
    "checkbox": _build_checkbox,
    "password": _build_password,
    "new_password": _build_new_password,
    "file": _build_file,
}
assert set(BUILDERS) == set(FIELD_TYPES), "every engine field type needs a form builder"  # noqa: S101


def item_name(field: FieldView, index: int) -> str:
    """Name of the input for one item of a repeated field."""
    return f"{field.name}__{index}"


def _inputs(field: FieldView) -> list[Input]:
    if field.items is None:
        return [
            Input(field.name, str(field.label), str(field.hint), field.required, field.default,
                  field.min, field.max, field.options)
        ]  # fmt: skip
    return [
        Input(item_name(field, item.index), str(item.label), str(item.hint), field.required,
              item.default, item.min, item.max, field.options)
        for item in field.items
    ]  # fmt: skip


class StepForm(FlaskForm):
    """Base class of every generated step form: it carries the step position it was shown at."""

    shown_at = HiddenField()
    _has_file = False


_CACHE: OrderedDict[Hashable, type[StepForm]] = OrderedDict()
_CACHE_SIZE = 512
_LOCK = threading.Lock()


def _signature(view: StepView) -> Hashable:
    # Labels, bounds and item counts depend on instance data (a child's name, a balance),
    # so they are part of the key; a step without such data shares one class.
    return tuple(
        (f.name, str(f.label), f.required, repr(f.min), repr(f.max), repr(f.default),
         repr(f.options.get("choices")),
         tuple((str(i.label), repr(i.min), repr(i.max), repr(i.default)) for i in f.items or ()))
        for f in view.fields
    )  # fmt: skip


def step_form_class(key: str, version: int, view: StepView) -> type[StepForm]:
    """Return the form class for a step as rendered now (built once per key, version, shape)."""
    cache_key = (key, version, view.name, _signature(view))
    with _LOCK:
        cls = _CACHE.get(cache_key)
        if cls is not None:
            _CACHE.move_to_end(cache_key)
            return cls
    attrs: dict[str, Any] = {}
    for field in view.fields:
        for spec in _inputs(field):
            attrs.update(BUILDERS[field.type](spec))
    attrs["_has_file"] = any(f.type == "file" for f in view.fields)
    cls = type(f"{key}_{view.name}_form", (StepForm,), attrs)
    with _LOCK:
        _CACHE[cache_key] = cls
        if len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return cls


def submitted_values(
    form: StepForm, view: StepView, save_file: Callable[[Any], Any]
) -> dict[str, Any]:
    """Collect what the engine needs from a validated form (cents, dates, lists, E.164)."""
    values: dict[str, Any] = {}
    for field in view.fields:
        names = (
            [field.name]
            if field.items is None
            else [item_name(field, i.index) for i in field.items]
        )
        collected = [_value(field.type, form[name].data, save_file) for name in names]
        values[field.name] = collected[0] if field.items is None else collected
    return values


def _value(kind: str, data: Any, save_file: Callable[[Any], Any]) -> Any:
    if kind == "file":
        return save_file(data) if data and getattr(data, "filename", "") else None
    if kind == "checkbox":
        return bool(data)
    if isinstance(data, str):
        return data.strip()
    return data
