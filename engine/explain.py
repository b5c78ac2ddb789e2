"""Put a blocking guard into French words, for the people who meet it.

The words are drawn from the guard itself and from the definition (field labels, choice
labels, settings): never from an instance's data, so they cannot show a secret. The values
a guard read come from `Guard.explain`, where secrets are already masked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from engine.definition import Definition, Field, Step
from engine.guards import MASK, Guard
from engine.guards.nodes import (
    Binary,
    Call,
    ListExpr,
    Literal,
    Logical,
    Name,
    Negate,
    Node,
    Not,
)
from engine.templates import euros, french_date, render

__all__ = [
    "BlockedReason",
    "blocked_reasons",
    "describe",
    "describe_value",
    "summary",
]

MISSING_VALUE = "non renseigné"
MAX_SHOWN = 200  # characters of a value shown to staff

_TEMPLATE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
# Words left dangling once a label's template part is cut: "Date de naissance de {{ x }}".
_CONTRACTIONS = (("à le ", "au "), ("à les ", "aux "), ("de le ", "du "), ("de les ", "des "))
_DANGLING = frozenset({"de", "du", "des", "d’", "d'", "à", "au", "aux", "pour", "le", "la", "les"})

_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">=", "in", "not in"})
_NEGATED = {
    "==": "!=",
    "!=": "==",
    "<": ">=",
    ">=": "<",
    ">": "<=",
    "<=": ">",
    "in": "not in",
    "not in": "in",
}
_FLIPPED = {"==": "==", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}
_NUMBER_ORDER = {
    "<": "doit être inférieur à",
    "<=": "doit être inférieur ou égal à",
    ">": "doit être supérieur à",
    ">=": "doit être supérieur ou égal à",
}
_DATE_ORDER = {
    "<": "doit être avant",
    "<=": "doit être au plus tard",
    ">": "doit être après",
    ">=": "doit être au plus tôt",
}
_TEXT_TYPES = frozenset({"text", "textarea", "email", "mobile", "password", "new_password", "otp"})
_ARITHMETIC = {"+": "+", "-": "−", "*": "×", "/": "÷"}
_TRUE = "doit être vrai"
_NOT_TRUE = "ne doit pas être vrai"
# "« a » doit être vrai et « b » ne doit pas l'être": a yes/no clause after another.
_SHORTENED = {
    (_TRUE, _TRUE): "aussi",
    (_TRUE, _NOT_TRUE): "ne doit pas l'être",
    (_NOT_TRUE, _NOT_TRUE): "non plus",
    (_NOT_TRUE, _TRUE): "doit l'être",
}


@dataclass(frozen=True, slots=True)
class BlockedReason:
    """Say why one transition or event did not let an instance through."""

    message: str  # the YAML message when there is one, else the words
    rule: str  # the guard's source text
    words: str  # the guard in French words
    values: Mapping[str, Any]  # what the guard read, secrets already masked
    to: str  # name of the step the transition leads to
    to_title: str = ""  # title of that step
    shown: tuple[tuple[str, str], ...] = field(default=())  # (label, value) read from data
    error: str = ""  # the engine's note when the guard could not be evaluated (English)


def describe(guard: Guard | str, definition: Definition, step: str | None = None) -> str:
    """Return a guard in French words, labelled from the definition; never raises."""
    source = guard.source if isinstance(guard, Guard) else str(guard)
    try:
        tree = guard.tree if isinstance(guard, Guard) else Guard.parse(source).tree
        words = _Describer(definition, step).sentence(tree)
    except Exception:  # words are a courtesy: quoting the rule always works
        words = _quoted_rule(source)
    return _capitalised(words)


def describe_value(
    definition: Definition, name: str, value: Any, step: str | None = None
) -> tuple[str, str]:
    """Return (label, value in words) for a value a guard read; masks stay masked."""
    describer = _Describer(definition, step)
    target = describer.field_named(name)
    label = describer.label_of(name, target) if target else name
    if isinstance(value, str) and value == MASK:
        return label, MASK
    if target is not None and target.secret:
        return label, MASK  # belt and braces: a secret field's value is never shown
    return label, _clip(describer.data_value(value, target))


def blocked_reasons(
    definition: Definition,
    step_name: str,
    explanations: Iterable[Mapping[str, Any]],
    data: Mapping[str, Any] | None = None,
    secret: Iterable[str] = (),
) -> list[BlockedReason]:
    """Turn the engine's explanations of blocking guards into reasons people can read.

    With `data`, the YAML messages and step titles (templates) are rendered with it;
    without, titles and messages are given as written in the definition. Values are masked
    again for the definition's secret keys and for `secret` (keys actions declare secret).
    """
    hidden = definition.secret_keys | frozenset(secret)
    reasons = []
    for explanation in explanations:
        rule = str(explanation.get("guard", ""))
        words = describe(rule, definition, step_name)
        to = str(explanation.get("to", ""))
        target = definition.steps.get(to)
        title = target.title if target is not None else to
        message = str(explanation.get("message") or "")
        if data is not None:
            title = _render(title, data, definition) or to
            message = _render(message, data, definition)
        values = {
            name: MASK if name in hidden or name.split(".", 1)[0] in hidden else value
            for name, value in (explanation.get("values") or {}).items()
        }
        shown = tuple(  # settings are left out: the words give them, in the right unit
            describe_value(definition, name, value, step_name)
            for name, value in values.items()
            if not name.startswith("settings.")
        )
        reasons.append(
            BlockedReason(
                message=message or words,
                rule=rule,
                words=words,
                values=values,
                to=to,
                to_title=title,
                shown=shown,
                error=str(explanation.get("error") or ""),
            )
        )
    return reasons


def summary(reasons: Sequence[BlockedReason]) -> str:
    """Join the words of several blocked ways on into one sentence (any one would do)."""
    distinct = list(dict.fromkeys(r.words for r in reasons if r.words))
    if not distinct:
        return ""
    rest = [_uncapitalised(words) for words in distinct[1:]]
    return " ; ou bien ".join([distinct[0], *rest])


# -- the describer --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Clause:
    """One 'subject verb' part of a sentence, kept apart so that clauses can be merged."""

    subject: str
    verb: str
    base: str = ""  # the verb before merging shortened it ("doit être vrai" for "aussi")

    @property
    def text(self) -> str:
        return f"{self.subject} {self.verb}".strip()

    @property
    def meaning(self) -> str:
        return self.base or self.verb


class _Describer:
    """Describe guard nodes against one definition, looking labels up from one step."""

    def __init__(self, definition: Definition, step: str | None) -> None:
        self.definition = definition
        current: Step | None = definition.steps.get(step or "")
        ordered = [current] if current is not None else []
        ordered += [s for s in definition.steps.values() if s is not current]
        self.fields: dict[str, Field] = {}
        for each in ordered:
            for declared in each.fields:
                self.fields.setdefault(declared.name, declared)

    # -- names and values -------------------------------------------------------------------

    def field_named(self, dotted: str) -> Field | None:
        """Return the field a plain (undotted) name stands for."""
        return self.fields.get(dotted) if "." not in dotted else None

    def label_of(self, name: str, target: Field | None) -> str:
        """Return a field's label without its template parts, or the name itself."""
        if target is None or not target.label:
            return name
        label = _TEMPLATE.sub(" ", target.label).split()
        while label and label[-1].lower() in _DANGLING:
            label.pop()
        cleaned = " ".join(label).strip(" :,;.")
        return cleaned or name

    def setting(self, path: tuple[str, ...]) -> tuple[bool, Any]:
        """Return (found, value) for settings.x.y."""
        value: Any = self.definition.settings
        for key in path[1:]:
            if not isinstance(value, Mapping) or key not in value:
                return False, None
            value = value[key]
        return len(path) > 1, value

    def choices(self, target: Field | None) -> dict[str, str]:
        """Return {value: label} of a choice field whose choices the definition holds."""
        if target is None or target.type != "choice":
            return {}
        raw = target.options.get("choices")
        if isinstance(raw, str) and raw.startswith("settings."):
            _, raw = self.setting(tuple(raw.split(".")))
        if not isinstance(raw, list | tuple):
            return {}
        found = {}
        for item in raw:
            if isinstance(item, Mapping) and "value" in item:
                found[str(item["value"])] = str(item.get("label", item["value"]))
        return found

    def constant(self, value: Any, target: Field | None) -> str:
        """Say a value written in the definition, in the words of the field it meets."""
        if value is None:
            return "vide"
        if isinstance(value, bool):
            return "vrai" if value else "faux"
        if isinstance(value, int | float):
            if target is not None and target.type == "money" and isinstance(value, int):
                return euros(value)
            return _number(value)
        if isinstance(value, str):
            return f"« {self.choices(target).get(value, value)} »"
        if isinstance(value, datetime | date):
            return french_date(value)
        if isinstance(value, list | tuple):
            return ", ".join(self.constant(item, target) for item in value) or "une liste vide"
        return "une table de valeurs"

    def data_value(self, value: Any, target: Field | None) -> str:
        """Say a value read from an instance's data, as staff read answers."""
        if value is None or value == "" or value == []:
            return MISSING_VALUE
        kind = target.type if target is not None else ""
        if isinstance(value, bool):
            return "Oui" if value else "Non"
        if kind == "money" and isinstance(value, int):
            return euros(value)
        if kind == "date" or isinstance(value, date):
            return french_date(value) or str(value)
        if kind == "choice":
            labels = self.choices(target)
            items = value if isinstance(value, list) else [value]
            return ", ".join(labels.get(str(v), str(v)) for v in items)
        if isinstance(value, int | float):
            return _number(value)
        if isinstance(value, list):
            return ", ".join(self.data_value(v, target) for v in value)
        if isinstance(value, Mapping):
            return "(fiche)"
        return str(value)

    def target_of(self, node: Node) -> Field | None:
        """Return the field whose words fit a node's value (money, choice, date…)."""
        if isinstance(node, Name):
            return self.field_named(node.dotted)
        if isinstance(node, Negate):
            return self.target_of(node.operand)
        if isinstance(node, Binary) and node.op in _ARITHMETIC:
            return self.target_of(node.left) or self.target_of(node.right)
        if isinstance(node, Call) and node.func in ("min", "max", "abs", "round"):
            return next((t for t in map(self.target_of, node.args) if t is not None), None)
        return None

    def is_date(self, node: Node) -> bool:
        """Tell whether a node stands for a date (a date field, today(), date('…'))."""
        if isinstance(node, Call):
            if node.func in ("today", "now", "date"):
                return True
            return node.func in ("min", "max") and any(self.is_date(a) for a in node.args)
        if isinstance(node, Literal):
            return isinstance(node.value, date)
        if isinstance(node, Binary) and node.op in ("+", "-"):
            return self.is_date(node.left)
        target = self.target_of(node)
        return target is not None and target.type == "date"

    def is_constant(self, node: Node) -> bool:
        """Tell written values (literals, settings, lists of them) from what the data holds."""
        if isinstance(node, Literal):
            return True
        if isinstance(node, Name):
            return node.path[0] == "settings"
        if isinstance(node, ListExpr | Negate):
            return all(self.is_constant(child) for child in node.children())
        return False

    # -- nouns ------------------------------------------------------------------------------

    def noun(self, node: Node, target: Field | None = None) -> str:
        """Say what a node stands for; `target` is the field on the other side, if any."""
        if isinstance(node, Literal):
            return self.constant(node.value, target)
        if isinstance(node, Name):
            if node.path[0] == "settings":
                found, value = self.setting(node.path)
                if found and _plain(value):
                    return self.constant(value, target)
                return f"« {node.dotted} »"
            own = self.field_named(node.dotted)
            return f"« {self.label_of(node.dotted, own)} »"
        if isinstance(node, Call):
            return self.call(node, target)
        if isinstance(node, Negate):
            return f"−{self.operand(node.operand, target)}"
        if isinstance(node, Binary) and node.op in _ARITHMETIC:
            left = self.operand(node.left, target)
            right = self.operand(node.right, target)
            return f"{left} {_ARITHMETIC[node.op]} {right}"
        if isinstance(node, ListExpr):
            return f"[{', '.join(self.noun(item, target) for item in node.items)}]"
        return f"« {unparse(node)} »"

    def operand(self, node: Node, target: Field | None) -> str:
        """Say a node inside arithmetic, bracketed when it is itself arithmetic."""
        text = self.noun(node, target)
        if isinstance(node, Binary) and node.op in _ARITHMETIC:
            return f"({text})"
        return text

    def call(self, node: Call, target: Field | None) -> str:
        """Say a whitelisted function call."""
        args = node.args
        if node.func == "today":
            return "la date du jour"
        if node.func == "now":
            return "l'heure actuelle"
        if node.func == "date" and args and isinstance(args[0], Literal):
            try:
                return "le " + french_date(date.fromisoformat(str(args[0].value)))
            except ValueError:
                pass
        if node.func == "len" and args:
            counted = self.target_of(args[0])
            text = counted is not None and counted.type in _TEXT_TYPES
            what = "de caractères" if text or isinstance(args[0], Literal) else "d'éléments"
            return f"le nombre {what} de {self.noun(args[0])}"
        if node.func in ("min", "max") and args:
            items = args[0].items if len(args) == 1 and isinstance(args[0], ListExpr) else args
            which = "le plus petit" if node.func == "min" else "le plus grand"
            if len(items) == 1 and not isinstance(args[0], ListExpr):
                return f"{which} élément de {self.noun(items[0], target)}"
            return f"{which} de {_joined([self.noun(i, target) for i in items], 'et')}"
        if node.func == "abs" and args:
            return f"la valeur absolue de {self.noun(args[0], target)}"
        if node.func == "round" and args:
            return f"{self.noun(args[0], target)} arrondi"
        if node.func == "days_between" and len(args) == 2:
            first, second = (self.noun(a) for a in args)
            return f"le nombre de jours entre {first} et {second}"
        return f"« {unparse(node)} »"

    # -- sentences --------------------------------------------------------------------------

    def sentence(self, node: Node) -> str:
        """Say what must hold for the guard to let through."""
        return self.statement(node, negated=False, nested=False)

    def statement(self, node: Node, *, negated: bool, nested: bool) -> str:
        """Say a node as a condition; `negated` asks for the condition not to hold."""
        if isinstance(node, Not):
            return self.statement(node.operand, negated=not negated, nested=nested)
        if isinstance(node, Logical):
            # De Morgan: "not (a and b)" is "not a or not b".
            op = node.op if not negated else ("or" if node.op == "and" else "and")
            parts = _flatten(node, node.op)
            if op == "or":
                return self.alternatives(parts, negated=negated, nested=nested)
            return self.conjunction(parts, negated=negated)
        return self.clause(node, negated=negated).text

    def conjunction(self, parts: list[Node], *, negated: bool) -> str:
        """Say conditions that must all hold."""
        clauses: list[_Clause | str] = []
        for part in parts:
            inner, flip = _unwrapped(part)
            if isinstance(inner, Logical):
                clauses.append(self.statement(inner, negated=negated != flip, nested=True))
            else:
                clauses.append(self.clause(inner, negated=negated != flip))
        return _joined([c if isinstance(c, str) else c.text for c in _merged(clauses)], "et")

    def alternatives(self, parts: list[Node], *, negated: bool, nested: bool) -> str:
        """Say conditions of which one must hold."""
        choice = self.one_of(parts, negated=negated)
        if choice is not None:
            return choice
        texts = [self.statement(part, negated=negated, nested=True) for part in parts]
        if nested:
            return "soit " + ", soit ".join(texts)
        joiner = ", ou " if any(" et " in t for t in texts) else " ou "
        return joiner.join(texts)

    def one_of(self, parts: list[Node], *, negated: bool) -> str | None:
        """Say 'x == a or x == b' as « x » doit valoir a ou b, when it has that shape."""
        subject: Node | None = None
        values: list[Node] = []
        for part in parts:
            if not (isinstance(part, Binary) and part.op == "=="):
                return None
            left, right = part.left, part.right
            if self.is_constant(left) and not self.is_constant(right):
                left, right = right, left
            if not isinstance(left, Name) or not self.is_constant(right):
                return None
            if subject is not None and left != subject:
                return None
            subject = left
            values.append(right)
        if subject is None or len(values) < 2:
            return None
        return self.membership(subject, values, negated=negated).text

    def membership(self, subject: Node, items: Sequence[Node], *, negated: bool) -> _Clause:
        """Say that a value must (not) be one of written values."""
        target = self.target_of(subject)
        nouns = [self.noun(item, target) for item in items]
        who = self.noun(subject)
        if not nouns:
            return _Clause(who, "peut valoir n'importe quoi" if negated else "ne peut rien valoir")
        if negated and len(nouns) == 1:
            return _Clause(who, f"ne doit pas valoir {nouns[0]}")
        if negated:
            return _Clause(who, "ne doit valoir ni " + " ni ".join(nouns))
        return _Clause(who, "doit valoir " + _joined(nouns, "ou"))

    def clause(self, node: Node, *, negated: bool) -> _Clause:
        """Say one comparison or one yes/no value."""
        if isinstance(node, Binary) and node.op in _COMPARISONS:
            op = _NEGATED[node.op] if negated else node.op
            return self.comparison(op, node.left, node.right)
        if isinstance(node, Name):
            return self.truth(node, negated=negated)
        if isinstance(node, Call) and node.func == "len" and node.args:
            subject = self.noun(node.args[0])
            return _Clause(subject, "doit être vide" if negated else "ne doit pas être vide")
        if isinstance(node, Literal):
            holds = bool(node.value) != negated
            verb = "est toujours remplie" if holds else "n'est jamais remplie"
            return _Clause("cette condition", verb)
        return _Clause("", _quoted_rule(unparse(node), negated=negated))

    def truth(self, node: Name, *, negated: bool) -> _Clause:
        """Say that a yes/no name must (not) be true; a checkbox must (not) be ticked."""
        if node.path[0] == "settings":
            return _Clause(f"« {node.dotted} »", _NOT_TRUE if negated else _TRUE)
        target = self.field_named(node.dotted)
        if target is not None and target.type == "checkbox":
            return _Clause(
                self.noun(node), "ne doit pas être coché" if negated else "doit être coché"
            )
        return _Clause(self.noun(node), _NOT_TRUE if negated else _TRUE)

    def comparison(self, op: str, left: Node, right: Node) -> _Clause:
        """Say one comparison, with what the data holds as its subject."""
        if op in _FLIPPED and self.is_constant(left) and not self.is_constant(right):
            op, left, right = _FLIPPED[op], right, left
        if op in ("in", "not in"):
            return self.inclusion(op, left, right)
        target = self.target_of(left) or self.target_of(right)
        subject = self.noun(left, self.target_of(right))
        if op in ("==", "!="):
            return _Clause(subject, self.equality(op == "!=", right, target))
        words = _DATE_ORDER if self.is_date(left) or self.is_date(right) else _NUMBER_ORDER
        return _Clause(subject, _contracted(f"{words[op]} {self.noun(right, target)}"))

    def equality(self, negated: bool, right: Node, target: Field | None) -> str:
        """Say the verb of `== value` or `!= value`."""
        if isinstance(right, Literal):
            value = right.value
            if value is None or value == "":
                return "doit être renseigné" if negated else "doit être vide"
            if isinstance(value, bool):
                checkbox = target is not None and target.type == "checkbox"
                wanted = value != negated
                if checkbox:
                    return "doit être coché" if wanted else "ne doit pas être coché"
                return _TRUE if wanted else "doit être faux"
        verb = "ne doit pas valoir" if negated else "doit valoir"
        return _contracted(f"{verb} {self.noun(right, target)}")

    def inclusion(self, op: str, left: Node, right: Node) -> _Clause:
        """Say `x in [..]`, `x in list` or `'a' in list` and their negations."""
        negated = op == "not in"
        if isinstance(right, ListExpr):
            return self.membership(left, right.items, negated=negated)
        if self.is_constant(left) and not self.is_constant(right):
            verb = "ne doit pas contenir" if negated else "doit contenir"
            return _Clause(self.noun(right), f"{verb} {self.noun(left)}")
        verb = "ne doit pas figurer dans" if negated else "doit figurer dans"
        return _Clause(self.noun(left), f"{verb} {self.noun(right)}")


# -- helpers ---------------------------------------------------------------------------------


def unparse(node: Node) -> str:
    """Write a node back in guard syntax (for rules too unusual to put in words)."""
    if isinstance(node, Literal):
        value = node.value
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return str(value)
    if isinstance(node, Name):
        return node.dotted
    if isinstance(node, ListExpr):
        return "[" + ", ".join(unparse(i) for i in node.items) + "]"
    if isinstance(node, Call):
        return f"{node.func}(" + ", ".join(unparse(a) for a in node.args) + ")"
    if isinstance(node, Not):
        return f"not {_bracketed(node.operand)}"
    if isinstance(node, Negate):
        return f"-{_bracketed(node.operand)}"
    if isinstance(node, Logical | Binary):
        return f"{_bracketed(node.left)} {node.op} {_bracketed(node.right)}"
    return "…"


def _bracketed(node: Node) -> str:
    text = unparse(node)
    return f"({text})" if isinstance(node, Logical | Binary | Not) else text


def _unwrapped(node: Node) -> tuple[Node, bool]:
    """Strip `not`s off a node: (the node below them, whether their count is odd)."""
    flip = False
    while isinstance(node, Not):
        node, flip = node.operand, not flip
    return node, flip


def _flatten(node: Node, op: str) -> list[Node]:
    if isinstance(node, Logical) and node.op == op:
        return [*_flatten(node.left, op), *_flatten(node.right, op)]
    return [node]


def _merged(clauses: list[_Clause | str]) -> list[_Clause | str]:
    """Merge neighbouring clauses: « a » doit être vrai et « b » ne doit pas l'être."""
    merged: list[_Clause | str] = []
    for clause in clauses:
        previous = merged[-1] if merged else None
        if isinstance(clause, _Clause) and isinstance(previous, _Clause) and clause.subject:
            pair = (previous.meaning, clause.verb)
            if pair in _SHORTENED and clause.subject != previous.subject:
                clause = _Clause(clause.subject, _SHORTENED[pair], clause.verb)
            elif (
                clause.subject == previous.subject
                and previous.verb.startswith("doit être ")
                and clause.verb.startswith("doit être ")
            ):
                extra = clause.verb.removeprefix("doit être ")
                merged[-1] = _Clause(previous.subject, f"{previous.verb} et {extra}")
                continue
        merged.append(clause)
    return merged


def _plain(value: Any) -> bool:
    """Tell a setting worth saying (a value or a list of values) from a table."""
    if isinstance(value, list | tuple):
        return all(not isinstance(item, Mapping | list | tuple) for item in value)
    return not isinstance(value, Mapping)


def _contracted(text: str) -> str:
    """Contract French articles after à and de: "à le plus grand" -> "au plus grand"."""
    for loose, tight in _CONTRACTIONS:
        text = text.replace(loose, tight)
    return text


def _joined(items: list[str], last: str) -> str:
    items = [item for item in items if item]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {last} " + items[-1]


def _number(value: float) -> str:
    if isinstance(value, int):
        return f"{value:,}".replace(",", "\u202f")
    text = f"{value:,.6f}".rstrip("0").rstrip(".")
    return text.replace(",", "\u202f").replace(".", ",")


def _quoted_rule(source: str, *, negated: bool = False) -> str:
    verb = "ne doit pas être remplie" if negated else "doit être remplie"
    return f"la condition « {source.strip()} » {verb}"


def _render(text: str, data: Mapping[str, Any], definition: Definition) -> str:
    if not text:
        return ""
    try:
        return render(text, data, definition.settings).strip()
    except Exception:  # a broken text must not hide why the case is stuck
        return _TEMPLATE.sub("", text).strip()


def _clip(text: str) -> str:
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _uncapitalised(text: str) -> str:
    # Only the articles this module itself capitalised: labels keep their capitals.
    for article in ("La ", "Le ", "L'", "Soit ", "Cette "):
        if text.startswith(article):
            return article.lower() + text[len(article) :]
    return text
