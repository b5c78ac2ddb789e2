"""Check a workflow definition and report problems with file, line and column."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jinja2 import TemplateSyntaxError

from engine import templates
from engine.actions import ActionRegistry
from engine.definition import APPLICANT, SETTINGS_REF
from engine.errors import GuardSyntaxError
from engine.fields import BOUND_OPTIONS, COMMON_OPTIONS, FIELD_TYPES
from engine.guards import Guard
from engine.views import UNSAFE_PATH_CHARS, safe_path
from engine.yamlsource import PathPart, Position, duplicate_keys, load, locate, position, scalar_at

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "workflows" / "schema.json"
RESERVED_NAMES = frozenset({"settings", "payload"})
# Triggers the engine itself uses, and prefixes transitions gives model methods.
RESERVED_EVENTS = frozenset(
    {"submit", "back", "start", "cancel", "trigger", "run", "state", "machine"}
)
RESERVED_EVENT_PREFIXES = ("may_", "is_", "to_")
TEXT_KEYS = ("title", "intro", "message", "submit")
# What a final step may not have: it ends the instance and only shows its message (and links).
FINAL_FORBIDS = (
    "fields", "next", "events", "actions", "timer", "back", "redirect", "refresh", "submit"
)  # fmt: skip


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One thing wrong with a definition, where it is, and how to fix it."""

    file: str
    line: int
    column: int
    code: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message} [{self.code}]"


@cache
def schema() -> dict[str, Any]:
    """Return the JSON Schema of workflow definitions."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@cache
def _validator() -> jsonschema.Draft202012Validator:
    # Built once: it resolves the schema's $refs as it goes and keeps them.
    return jsonschema.Draft202012Validator(schema())


def check(source_text: str, filename: str, registry: ActionRegistry) -> list[Problem]:
    """Return every problem of a YAML definition, sorted by position."""
    try:
        data, root = load(source_text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = f"erreur de syntaxe YAML : {_yaml_problem(err)}"
        return [Problem(filename, line, column, "yaml-syntax", message)]
    except yaml.reader.ReaderError as err:
        char = err.character if isinstance(err.character, int) else ord(err.character)
        message = (
            f"le fichier contient un caractère interdit (code {char:#x}, caractère n° "
            f"{err.position + 1}) ; supprimez-le et enregistrez le fichier en UTF-8"
        )
        return [Problem(filename, 1, 1, "yaml-syntax", message)]
    except yaml.YAMLError as err:
        message = f"le fichier n'est pas du YAML lisible ({err}) ; enregistrez-le en UTF-8"
        return [Problem(filename, 1, 1, "yaml-syntax", message)]
    checker = _Checker(filename, root, registry)
    for key_node in duplicate_keys(root):
        checker.report_at(
            position(key_node),
            "duplicate-key",
            f"la clé {_q(key_node.value)} apparaît deux fois au même niveau ; YAML ne "
            "garderait que la dernière sans prévenir : supprimez ou renommez l'une des deux",
        )
    if not checker.schema(data):
        checker.semantics(data)
        # Scenario tests are checked like the rest (run separately, by engine.scenarios).
        from engine.scenarios import scenario_problems  # it imports this module

        checker.problems.extend(scenario_problems(data, root, filename, registry))
    return sorted(checker.problems)


def errors_only(problems: Iterable[Problem]) -> list[Problem]:
    """Keep the problems that make a definition unusable."""
    return [p for p in problems if p.severity == "error"]


def _q(value: object) -> str:
    """Quote a technical identifier or value inside a French sentence."""
    return f"« {value} »"


def _q_all(values: Iterable[object], empty: str = "aucun") -> str:
    """Quote each value and join them with commas."""
    quoted = ", ".join(_q(v) for v in values)
    return quoted or empty


def _suggest(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f" ; vouliez-vous dire {_q(close[0])} ?" if close else ""


# -- French wording of third-party error texts -------------------------------

IDENTIFIER_RULE = (
    "lettres minuscules sans accents, chiffres et tirets bas (_), en commençant par une lettre"
)
# JSON types named by the schema, and Python types of action parameters.
JSON_TYPES = {
    "string": "du texte",
    "integer": "un nombre entier",
    "number": "un nombre",
    "boolean": "true ou false (oui ou non)",
    "array": "une liste",
    "object": "un ensemble de clés",
    "null": "vide",
}
PYTHON_TYPES: dict[type, str] = {
    bool: JSON_TYPES["boolean"],
    int: JSON_TYPES["integer"],
    float: JSON_TYPES["number"],
    str: JSON_TYPES["string"],
    list: JSON_TYPES["array"],
    dict: JSON_TYPES["object"],
}
# Lists of a step whose items a message names: key -> (the item, of the item).
ITEM_NAMES = {
    "fields": ("le champ", "du champ"),
    "next": ("la transition", "de la transition"),
    "links": ("le lien", "du lien"),
    "actions": ("l'action", "de l'action"),
}
# (pattern of PyYAML's problem text, French explanation with the fix)
YAML_PROBLEMS: tuple[tuple[str, str], ...] = (
    (
        r"mapping values are not allowed",
        "deux-points « : » inattendu ; une valeur qui contient « : » doit être entre "
        "guillemets, et une clé doit être au début de sa ligne, bien alignée",
    ),
    (
        r"expected <block end>, but found '([\]}])'",
        "« \\1 » en trop : il ne ferme aucun crochet ni aucune accolade ; supprimez-le",
    ),
    (
        r"expected <block end>|expected '<document start>'",
        "l'indentation de cette ligne ne correspond pas à celle des lignes précédentes ; "
        "alignez-la avec les clés du même niveau",
    ),
    (r"could not find expected ':'", "deux-points « : » manquant après une clé ; ajoutez-le"),
    (
        r"found character '\\t'",
        "caractère de tabulation interdit ; indentez uniquement avec des espaces",
    ),
    (
        r"found character '(.)' that cannot start",
        "une valeur ne peut pas commencer par « \\1 » ; mettez-la entre guillemets",
    ),
    (
        r"found unexpected end of stream",
        "guillemet non fermé ; ajoutez le guillemet de fin",
    ),
    (r"expected ',' or '\]'", "liste entre crochets non fermée ; ajoutez « ] » ou une virgule"),
    (
        r"expected ',' or '\}'",
        "ensemble entre accolades non fermé ; ajoutez « } » ou une virgule",
    ),
    (
        r"found unknown escape character '(.)'",
        "caractère d'échappement « \\\\\\1 » inconnu entre guillemets doubles ; utilisez "
        "des guillemets simples ou doublez la barre oblique inverse",
    ),
    (
        r"found undefined alias '(.*)'",
        "l'alias « *\\1 » ne correspond à aucune ancre ; corrigez-le",
    ),
    (r"found duplicate anchor", "la même ancre « & » est définie deux fois ; renommez-en une"),
    (
        r"could not determine a constructor for the tag '(.*)'",
        "l'étiquette « \\1 » n'est pas autorisée ; supprimez-la",
    ),
    (
        r"but found another document",
        "le fichier contient plusieurs documents séparés par « --- » ; gardez-en un seul",
    ),
)
# (pattern of a Jinja syntax error, French explanation)
TEMPLATE_PROBLEMS: tuple[tuple[str, str], ...] = (
    (
        r"innermost block that needs to be closed is '(\w+)'",
        "le bloc « \\1 » n'est pas fermé ; ajoutez « {% end\\1 %} »",
    ),
    (r"^unexpected end of template", "une balise n'est pas fermée ; ajoutez « }} » ou « %} »"),
    (r"^Encountered unknown tag '(\w+)'", "balise inconnue « \\1 »"),
    (r"^unexpected '(.*)', expected '(.*)'", "il fallait « \\2 » à la place de « \\1 »"),
    (r"^unexpected '(.*)'", "« \\1 » inattendu à cet endroit"),
    (r"^unexpected char ['\"](.)['\"] at", "caractère « \\1 » inattendu"),
    (r"^expected token '(.*)', got '(.*)'", "il fallait « \\1 » à la place de « \\2 »"),
    (r"^Expected an expression, got '(.*)'", "il fallait une expression à la place de « \\1 »"),
    (r"^Missing end of comment tag", "commentaire non fermé ; ajoutez « #} »"),
    (r"^No filter named '(.*)'", "filtre inconnu « \\1 »"),
)
# Jinja names some tokens in words: say which characters they are.
TEMPLATE_TOKENS = {
    "« end of print statement »": "« }} »",
    "« end of statement block »": "« %} »",
    "« begin of print statement »": "« {{ »",
    "« begin of statement block »": "« {% »",
    "« end of template »": "la fin du texte",
    "« name »": "un nom",
}
REGEX_PROBLEMS: tuple[tuple[str, str], ...] = (
    (r"^missing \), unterminated subpattern", "parenthèse « ( » non fermée"),
    (r"^unbalanced parenthesis", "parenthèse « ) » sans « ( » correspondante"),
    (r"^unterminated character set", "crochet « [ » non fermé"),
    (r"^nothing to repeat", "« * », « + » ou « ? » sans rien à répéter devant"),
    (r"^multiple repeat", "deux répétitions à la suite (« * », « + », « ? » ou « {} »)"),
    (r"^bad escape (\S+)", "séquence d'échappement « \\1 » inconnue"),
    (r"^bad character range (\S+)", "intervalle de caractères « \\1 » à l'envers"),
    (r"^unknown extension (\S+)", "construction « \\1 » non reconnue"),
    (r"^missing (\S+), unterminated name", "nom de groupe non fermé : « \\1 » manquant"),
    (r"^redefinition of group name '(.*)'", "le nom de groupe « \\1 » est utilisé deux fois"),
)


def _translate(text: str, table: Sequence[tuple[str, str]]) -> str | None:
    """Return the French wording of the first rule matching text, or None."""
    for pattern, french in table:
        match = re.search(pattern, text)
        if match:
            return match.expand(french)
    return None


def _yaml_problem(err: yaml.MarkedYAMLError) -> str:
    """Explain a PyYAML error in French, with what to check."""
    what = " ".join(filter(None, (err.context, err.problem))) or "YAML illisible"
    french = _translate(what, YAML_PROBLEMS)
    if french:
        return french
    return f"{what} ; vérifiez l'indentation, les deux-points et les guillemets"


def _template_problem(message: str) -> str:
    """Explain a Jinja syntax error in French."""
    french = _translate(message, TEMPLATE_PROBLEMS) or f"erreur ({message.rstrip('.')})"
    for words, french_words in TEMPLATE_TOKENS.items():
        french = french.replace(words, french_words)
    if ";" not in french:
        french += " ; vérifiez les accolades « {{ }} » et « {% %} »"
    return french


def _regex_problem(err: re.error) -> str:
    """Explain why a regular expression does not compile, in French."""
    french = _translate(err.msg, REGEX_PROBLEMS) or err.msg
    return f"{french}, au caractère {err.pos + 1}" if err.pos is not None else french


def _where(path: Sequence[PathPart]) -> str:
    """Name a place of the definition for a sentence: 'l'étape « x »', '« a/b »'."""
    if not path:
        return "le fichier"
    if len(path) < 2 or path[0] != "steps":
        return _q("/".join(str(p) for p in path))
    step = f"l'étape {_q(path[1])}"
    rest = path[2:]
    if len(rest) >= 2 and rest[0] in ITEM_NAMES and isinstance(rest[1], int):
        nominal, genitive = ITEM_NAMES[str(rest[0])]
        item, rest = f"n° {rest[1] + 1} de {step}", rest[2:]
        if not rest:
            return f"{nominal} {item}"
        return f"{_q('/'.join(str(p) for p in rest))} {genitive} {item}"
    return f"{_q('/'.join(str(p) for p in rest))} de {step}" if rest else step


def _q_or(values: Iterable[object]) -> str:
    """Quote values and join them as alternatives: « a », « b » ou « c »."""
    quoted = [_q(v) for v in values]
    return " ou ".join([", ".join(quoted[:-1]), quoted[-1]] if len(quoted) > 1 else quoted)


def _in(path: Sequence[PathPart]) -> str:
    """Say 'in' a place of the definition."""
    return f"dans {_where(path)}" if path else "au premier niveau du fichier"


def _describe(value: Any) -> str:
    """Name the kind of a value read from YAML."""
    if value is None:
        return "vide"
    if isinstance(value, bool):
        return f"{_q(str(value).lower())}"
    for kind, words in PYTHON_TYPES.items():
        if isinstance(value, kind):
            return "un nombre" if kind in (int, float) else words
    return f"une valeur de type {type(value).__name__}"


@dataclass
class _Checker:
    filename: str
    root: yaml.Node | None
    registry: ActionRegistry
    problems: list[Problem] = field(default_factory=list)
    secret_fields: dict[str, str] = field(default_factory=dict)

    def report_at(self, pos: Position, code: str, message: str, severity: str = "error") -> None:
        self.problems.append(Problem(self.filename, pos.line, pos.column, code, message, severity))

    def report(
        self,
        path: Sequence[PathPart],
        code: str,
        message: str,
        *,
        key: bool = False,
        severity: str = "error",
    ) -> None:
        self.report_at(locate(self.root, path, key=key), code, message, severity)

    # -- schema -------------------------------------------------------------

    def schema(self, data: Any) -> bool:
        """Report schema violations; return True if there were any."""
        validator = _validator()
        found = False
        seen: set[tuple[tuple[PathPart, ...], str]] = set()
        for error in validator.iter_errors(data):
            path = tuple(error.absolute_path)
            message, at_key, path = self._schema_message(error, path)
            if (path, message) in seen:
                continue
            seen.add((path, message))
            found = True
            self.report(path, "schema", message, key=at_key)
        return found

    def _schema_message(
        self, error: jsonschema.ValidationError, path: tuple[PathPart, ...]
    ) -> tuple[str, bool, tuple[PathPart, ...]]:
        if error.validator == "additionalProperties":
            allowed = sorted(error.schema.get("properties", {}))
            extra = sorted(set(error.instance) - set(allowed))
            name = extra[0] if extra else "?"
            hint = _suggest(name, allowed) or f" ; clés possibles : {_q_all(allowed)}"
            return f"clé inconnue {_q(name)} {_in(path)}{hint}", True, (*path, name)
        if error.validator == "required":
            missing = error.message.removesuffix(" is a required property").strip("'\"")
            return (
                f"la clé obligatoire {_q(missing)} manque {_in(path)} ; ajoutez-la",
                False,
                path,
            )
        if "propertyNames" in error.schema_path:
            return (
                f"le nom {_q(error.instance)} {_in(path)} ne convient pas : utilisez des "
                f"{IDENTIFIER_RULE}",
                True,
                (*path, str(error.instance)),
            )
        if error.validator == "pattern" and path and path[-1] == "start":
            return (
                "« start » doit valoir « anyone », « parent » ou « role:<nom> »",
                False,
                path,
            )
        if error.validator == "pattern" and path and path[-1] == "actor":
            return "« actor » doit valoir « applicant » ou « role:<nom> »", False, path
        if error.validator == "pattern" and "after" in path:
            return (
                "le délai « after » du minuteur doit s'écrire comme 10m, 48h ou 2d "
                "(minutes, heures ou jours)",
                False,
                path,
            )
        if error.validator == "pattern" and path[:1] == ("given",):
            return (
                f"le nom {_q(error.instance)} de « given » ne convient pas : utilisez des "
                f"{IDENTIFIER_RULE}",
                False,
                path,
            )
        if len(path) == 3 and path[0] == "steps" and path[2] == "refresh":
            return (
                "« refresh » doit être un nombre entier de secondes, de 2 à 120",
                False,
                path,
            )
        return _schema_text(error, path), False, path

    # -- semantics ----------------------------------------------------------

    def semantics(self, data: Mapping[str, Any]) -> None:
        steps: Mapping[str, Any] = data["steps"]
        settings: Mapping[str, Any] = data.get("settings") or {}
        if data["initial"] not in steps:
            self.report(
                ["initial"],
                "initial-missing",
                f"l'étape initiale {_q(data['initial'])} n'existe pas sous « steps »"
                + (
                    _suggest(data["initial"], steps)
                    or " ; ajoutez-la sous « steps » ou corrigez « initial »"
                ),
            )
        given = self._given(data.get("given") or [])
        names = self._data_names(steps)
        for key in given:
            names.setdefault(key, "given")
        self.secret_fields = {
            spec["name"]: spec["type"]
            for step in steps.values()
            for spec in step.get("fields", ())
            if spec["type"] in FIELD_TYPES and FIELD_TYPES[spec["type"]].secret
        }
        for step_name, step in steps.items():
            self._step(step_name, step, steps, settings, names)
        if data["initial"] in steps:  # otherwise every step would be reported unreachable
            self._graph(data, steps)

    def _given(self, given: Sequence[str]) -> list[str]:
        """Check the data keys the host provides at start; return the usable ones."""
        seen: list[str] = []
        for index, key in enumerate(given):
            if key in RESERVED_NAMES:
                self.report(
                    ["given", index],
                    "reserved-name",
                    f"{_q(key)} est un nom réservé et ne peut pas figurer dans « given » ; "
                    "renommez-le",
                )
            elif key in seen:
                self.report(
                    ["given", index],
                    "duplicate-given",
                    f"{_q(key)} figure deux fois dans « given » ; supprimez l'une des deux",
                )
            else:
                seen.append(key)
        return seen

    def _data_names(self, steps: Mapping[str, Any]) -> dict[str, str]:
        """Collect persistent data names: field name -> type, action writes -> 'action'."""
        names: dict[str, str] = {}
        for step in steps.values():
            for spec in step.get("fields", ()):
                field_type = FIELD_TYPES.get(spec["type"])
                if field_type is None or not field_type.secret:
                    names.setdefault(spec["name"], spec["type"])
            for call in _all_actions(step):
                if call["action"] in self.registry:
                    action = self.registry.get(call["action"])
                    for key in action.written_keys(call.get("with") or {}):
                        names.setdefault(key, "action")
        return names

    def _step(
        self,
        name: str,
        step: Mapping[str, Any],
        steps: Mapping[str, Any],
        settings: Mapping[str, Any],
        names: Mapping[str, str],
    ) -> None:
        base: list[PathPart] = ["steps", name]
        secret_here = {
            f["name"]
            for f in step.get("fields", ())
            if f["type"] in FIELD_TYPES and FIELD_TYPES[f["type"]].secret
        }
        scope = _Scope(names, settings, self.secret_fields, secret_here=frozenset(), payload=False)
        if step.get("final"):
            for key in FINAL_FORBIDS:
                if step.get(key):
                    self.report(
                        [*base, key],
                        "final-with-exits",
                        f"l'étape finale {_q(name)} ne peut pas avoir {_q(key)} ; supprimez "
                        f"{_q(key)} ou retirez « final: true »",
                        key=True,
                    )
        elif "tone" in step:
            self.report(
                [*base, "tone"],
                "tone-not-final",
                f"l'étape {_q(name)} n'est pas finale, or « tone » ne sert qu'à colorer le "
                "message d'une étape finale ; supprimez « tone »",
                key=True,
            )
        for key in TEXT_KEYS:
            if key in step:
                self._template([*base, key], step[key], scope)
        self._page(name, base, step, scope)
        self._fields(base, step, steps, settings, names)
        for index, call in enumerate(step.get("actions", ())):
            self._action([*base, "actions", index], call, settings)
        next_scope = _Scope(
            names, settings, self.secret_fields, secret_here=frozenset(secret_here), payload=False
        )
        transitions = step.get("next", ())
        for index, transition in enumerate(transitions):
            path = [*base, "next", index]
            self._target([*path, "to"], transition["to"], steps)
            if "when" in transition:
                self._guard([*path, "when"], transition["when"], next_scope)
            elif index < len(transitions) - 1:
                self.report(
                    path,
                    "shadowed-transition",
                    f"la transition n° {index + 1} de l'étape {_q(name)} n'a pas de « when », "
                    "donc les suivantes ne seront jamais prises ; ajoutez-lui une condition "
                    "« when » ou placez-la en dernier",
                    severity="warning",
                )
            if "message" in transition:
                self._template([*path, "message"], transition["message"], next_scope)
            for a_index, call in enumerate(transition.get("actions", ())):
                self._action([*path, "actions", a_index], call, settings)
        event_scope = _Scope(
            names, settings, self.secret_fields, secret_here=frozenset(), payload=True
        )
        for event_name, event in (step.get("events") or {}).items():
            path = [*base, "events", event_name]
            if event_name in RESERVED_EVENTS or event_name.startswith(RESERVED_EVENT_PREFIXES):
                self.report(
                    path,
                    "reserved-name",
                    f"le nom d'événement {_q(event_name)} est réservé par le moteur ; "
                    "choisissez un autre nom",
                    key=True,
                )
            if "to" in event:
                self._target([*path, "to"], event["to"], steps)
            if "when" in event:
                self._guard([*path, "when"], event["when"], event_scope)
            for key in ("label", "message"):
                if key in event:
                    self._template([*path, key], event[key], event_scope)
            for a_index, call in enumerate(event.get("actions", ())):
                self._action([*path, "actions", a_index], call, settings)
        timer = step.get("timer")
        if timer and timer["event"] not in (step.get("events") or {}):
            self.report(
                [*base, "timer", "event"],
                "unknown-timer-event",
                f"le minuteur déclenche l'événement {_q(timer['event'])}, que l'étape "
                f"{_q(name)} ne déclare pas"
                + (
                    _suggest(timer["event"], step.get("events") or {})
                    or " ; ajoutez-le sous « events »"
                ),
            )

    def _page(
        self, name: str, base: list[PathPart], step: Mapping[str, Any], scope: _Scope
    ) -> None:
        """Check what the step's page does besides its form: redirect, refresh, links."""
        # Staff pages never redirect nor reload: only an applicant step can hide its form.
        applicant_page = step.get("actor", APPLICANT) == APPLICANT and not step.get("final")
        if "redirect" in step:
            self._path([*base, "redirect"], step["redirect"], scope, "redirect")
            buttons = any(e.get("button") for e in (step.get("events") or {}).values())
            hidden = [_q(k) for k in ("fields", "next", "back") if step.get(k)]
            hidden += ["ses événements à bouton (« button »)"] if buttons else []
            if hidden and applicant_page:
                self.report(
                    [*base, "redirect"],
                    "redirect-hides-page",
                    f"le demandeur est toujours redirigé hors de l'étape {_q(name)} : "
                    f"{', '.join(hidden)} ne serviront donc jamais ; déplacez-les vers une "
                    "autre étape ou supprimez « redirect »",
                    key=True,
                    severity="warning",
                )
        if step.get("refresh") and step.get("fields") and applicant_page:
            self.report(
                [*base, "refresh"],
                "refresh-with-fields",
                f"la page de l'étape {_q(name)} se recharge toutes les {step['refresh']} "
                "secondes et effacerait ce que le demandeur est en train de saisir ; placez "
                "les champs (« fields ») dans une autre étape",
                key=True,
                severity="warning",
            )
        for index, link in enumerate(step.get("links", ())):
            path = [*base, "links", index]
            self._template([*path, "label"], link["label"], scope)
            self._path([*path, "href"], link["href"], scope, "href")

    def _path(self, path: list[PathPart], text: str, scope: _Scope, what: str) -> None:
        """Check a template that must render a relative path on this site."""
        if not self._template(path, text, scope):
            return
        prefix, parts = templates.literal_parts(text)
        if not prefix.startswith("/"):
            problem = (
                f"{_q(what)} doit être un chemin de ce site commençant par « / », par exemple "
                "« /demarches/{{ ref }} » : les adresses complètes et les autres sites sont "
                "refusés"
            )
        elif prefix.startswith("//"):
            problem = f"{_q(what)} doit commencer par un seul « / » : « // » mène à un autre site"
        elif not safe_path(prefix) or any(UNSAFE_PATH_CHARS.search(p) for p in parts):
            problem = (
                f"{_q(what)} ne doit contenir ni espaces, ni barres obliques inverses (\\), ni "
                "caractères de contrôle ; faites passer le texte libre par « | urlencode »"
            )
        else:
            return
        self.report(path, "unsafe-path", problem)

    def _fields(
        self,
        base: list[PathPart],
        step: Mapping[str, Any],
        steps: Mapping[str, Any],
        settings: Mapping[str, Any],
        names: Mapping[str, str],
    ) -> None:
        seen: set[str] = set()
        for index, spec in enumerate(step.get("fields", ())):
            path = [*base, "fields", index]
            fname, ftype = spec["name"], spec["type"]
            if fname in seen:
                self.report(
                    [*path, "name"],
                    "duplicate-field",
                    f"le champ {_q(fname)} est déclaré deux fois dans cette étape ; "
                    "renommez l'un des deux",
                )
            seen.add(fname)
            if fname in RESERVED_NAMES:
                self.report(
                    [*path, "name"],
                    "reserved-name",
                    f"{_q(fname)} est un nom réservé ; renommez le champ",
                )
            if ftype not in FIELD_TYPES:
                self.report(
                    [*path, "type"],
                    "unknown-field-type",
                    f"le type de champ {_q(ftype)} n'existe pas"
                    + (
                        _suggest(ftype, FIELD_TYPES)
                        or f" ; types possibles : {_q_all(FIELD_TYPES)}"
                    ),
                )
                continue
            field_type = FIELD_TYPES[ftype]
            other = names.get(fname)
            if other not in (None, ftype, "action") and not field_type.secret:
                self.report(
                    [*path, "name"],
                    "duplicate-field",
                    f"le champ {_q(fname)} est aussi déclaré avec le type {_q(other)} dans une "
                    "autre étape, et les deux écriraient la même donnée ; renommez l'un des deux",
                )
            for option in spec:
                if option not in COMMON_OPTIONS and option not in field_type.options:
                    fits = _q_all(sorted(field_type.options), empty="aucune")
                    self.report(
                        [*path, option],
                        "field-option-not-applicable",
                        f"l'option {_q(option)} ne s'applique pas aux champs de type {_q(ftype)} "
                        f"(options possibles : {fits}) ; supprimez-la",
                        key=True,
                    )
            local: dict[str, str] = {}
            repeat = spec.get("repeat")
            if repeat:
                if repeat["over"] not in names:
                    self.report(
                        [*path, "repeat", "over"],
                        "unknown-name",
                        f"« repeat » parcourt {_q(repeat['over'])}, qu'aucun champ ni aucune "
                        "action ne fournit"
                        + (_suggest(repeat["over"], names) or " ; corrigez le nom dans « over »"),
                    )
                if repeat["as"] in names or repeat["as"] in RESERVED_NAMES:
                    self.report(
                        [*path, "repeat", "as"],
                        "reserved-name",
                        f"la variable de répétition {_q(repeat['as'])} cache une donnée du même "
                        "nom ; choisissez un autre nom dans « as »",
                    )
                local[repeat["as"]] = "repeat"
            scope = _Scope(
                names, settings, self.secret_fields, frozenset(), payload=False, local=local
            )
            for key in ("label", "hint", "pattern_message"):
                if key in spec:
                    self._template([*path, key], spec[key], scope)
            for bound in sorted(BOUND_OPTIONS & spec.keys()):
                self._bound([*path, bound], spec[bound], ftype, scope)
            if spec.get("min_length", 0) > spec.get("max_length", float("inf")):
                self.report(
                    [*path, "min_length"],
                    "bad-bound",
                    "« min_length » est plus grand que « max_length » ; inversez-les",
                )
            if "pattern" in spec:
                try:
                    re.compile(spec["pattern"])
                except re.error as err:
                    self.report(
                        [*path, "pattern"],
                        "bad-pattern",
                        "« pattern » n'est pas une expression régulière valide "
                        f"({_regex_problem(err)}) ; corrigez-la",
                    )
            if ftype == "choice" and isinstance(spec["choices"], str):
                self._choice_source([*path, "choices"], spec["choices"], settings, scope)
            elif ftype == "choice":
                values = [c["value"] for c in spec["choices"]]
                if len(values) != len(set(map(repr, values))):
                    self.report(
                        [*path, "choices"],
                        "duplicate-choice",
                        "deux choix ont la même valeur (« value ») ; donnez-leur des valeurs "
                        "différentes",
                    )

    def _choice_source(
        self, path: list[PathPart], text: str, settings: Mapping[str, Any], scope: _Scope
    ) -> None:
        """Check choices read from a name: known, and a list of {value, label} if a setting."""
        guard = self._guard(path, text, scope)
        if guard is None or len(guard.name_paths) != 1 or guard.names[0] != text.strip():
            if guard is not None:
                self.report(
                    path,
                    "bad-choices",
                    "« choices » doit nommer une seule liste, par exemple « settings.categories »",
                )
            return
        name_path = guard.name_paths[0]
        if name_path[0] != "settings" or len(name_path) != 2 or name_path[1] not in settings:
            return  # given or computed data: its shape is known only at run time
        problem = choice_list_problem(settings[name_path[1]])
        if problem:
            self.report(path, "bad-choices", f"le réglage {_q(name_path[1])} {problem}")

    def _bound(self, path: list[PathPart], value: Any, ftype: str, scope: _Scope) -> None:
        if isinstance(value, int | float) and not isinstance(value, bool):
            if ftype == "date":
                self.report(
                    path,
                    "bad-bound",
                    "une borne de date doit être une expression comme « date('2010-01-01') » "
                    "ou « today() », pas un nombre",
                )
            return
        guard = self._guard(path, value, scope)
        if guard is not None and ftype == "date" and not guard.names and "(" not in value:
            self.report(
                path,
                "bad-bound",
                f"{_q(value)} est un calcul, pas une date ; écrivez « date('{value}') »",
            )

    def _template(self, path: list[PathPart], text: str, scope: _Scope) -> bool:
        """Check a template's syntax and names; return False if it does not parse."""
        try:
            used = templates.parse_names(text)
        except TemplateSyntaxError as err:
            self.report(
                path,
                "template-syntax",
                f"ce texte est mal formé : {_template_problem(err.message or '')}",
            )
            return False
        for name in sorted(used):
            problem = scope.problem((name,))
            if problem:
                self.report(path, "unknown-name", f"le texte utilise {problem}")
        return True

    def _guard(self, path: list[PathPart], text: str, scope: _Scope) -> Guard | None:
        try:
            guard = Guard.parse(text)
        except GuardSyntaxError as err:
            self.report_at(
                self._inside(path, err.position),
                "guard-syntax",
                f"l'expression {_q(text)} est mal formée : {err.reason}",
            )
            return None
        for name_path in guard.name_paths:
            problem = scope.problem(name_path)
            if problem:
                offset = _find_name(text, ".".join(name_path))
                self.report_at(
                    self._inside(path, offset), "unknown-name", f"l'expression utilise {problem}"
                )
        return guard

    def _inside(self, path: Sequence[PathPart], offset: int) -> Position:
        """Point inside a one-line scalar, or at its start otherwise."""
        node = scalar_at(self.root, path)
        pos = locate(self.root, path)
        if node is None or node.start_mark.line != node.end_mark.line:
            return pos
        quote = 1 if node.style in ("'", '"') else 0
        return Position(pos.line, pos.column + quote + offset)

    def _target(self, path: list[PathPart], target: str, steps: Mapping[str, Any]) -> None:
        if target not in steps:
            self.report(
                path,
                "unknown-step",
                f"l'étape {_q(target)} n'existe pas"
                + (_suggest(target, steps) or " ; ajoutez-la sous « steps » ou corrigez le nom"),
            )

    def _action(
        self, path: list[PathPart], call: Mapping[str, Any], settings: Mapping[str, Any]
    ) -> None:
        name = call["action"]
        if name not in self.registry:
            self.report(
                [*path, "action"],
                "unknown-action",
                f"l'action {_q(name)} n'existe pas"
                + (
                    _suggest(name, self.registry.names())
                    or " ; vérifiez son nom, ou demandez à l'équipe technique de la créer"
                ),
            )
            return
        spec = self.registry.get(name)
        given = call.get("with") or {}
        for param, value in given.items():
            if param not in spec.params:
                allowed = _q_all(sorted(spec.params))
                self.report(
                    [*path, "with", param],
                    "unknown-action-param",
                    f"l'action {_q(name)} n'a pas de paramètre {_q(param)} (paramètres "
                    f"possibles : {allowed})" + (_suggest(param, spec.params) or " ; supprimez-le"),
                    key=True,
                )
                continue
            ref = SETTINGS_REF.match(value) if isinstance(value, str) else None
            if ref and ref.group(1) not in settings:
                self.report(
                    [*path, "with", param],
                    "unknown-setting",
                    f"{_q(value)} ne désigne aucun réglage ; déclarez {_q(ref.group(1))} "
                    "sous « settings »",
                )
                continue
            resolved = settings[ref.group(1)] if ref else value
            if not spec.params[param].accepts(resolved):
                self.report(
                    [*path, "with", param],
                    "bad-action-param",
                    f"le paramètre {_q(param)} de l'action {_q(name)} doit être "
                    f"{_param_type(spec.params[param].type)}, pas {_describe(resolved)}",
                )
        for param, declared in spec.params.items():
            if declared.required and param not in given:
                self.report(
                    path,
                    "missing-action-param",
                    f"l'action {_q(name)} a besoin du paramètre {_q(param)} ; ajoutez-le "
                    "sous « with »",
                )

    # -- graph --------------------------------------------------------------

    def _graph(self, data: Mapping[str, Any], steps: Mapping[str, Any]) -> None:
        declared = {name: _targets(name, step) for name, step in steps.items()}
        edges = {name: targets & steps.keys() for name, targets in declared.items()}
        reachable = _closure({data["initial"]} & steps.keys(), edges)
        reverse: dict[str, set[str]] = {name: set() for name in steps}
        for source, targets in edges.items():
            for target in targets:
                reverse[target].add(source)
        finals = {name for name, step in steps.items() if step.get("final")}
        can_finish = _closure(finals, reverse)
        # Dead ends and unknown targets are reported already; do not pile on.
        dangling = any(targets - steps.keys() for targets in declared.values())
        dead_ends = {
            name
            for name, step in steps.items()
            if not step.get("final") and not declared[name] - {name}
        }
        if not finals:
            self.report(
                ["steps"],
                "no-final-step",
                "aucune étape n'est finale ; ajoutez une étape avec « final: true »",
            )
        for name, step in steps.items():
            path = ["steps", name]
            if name not in reachable:
                self.report(
                    path,
                    "unreachable-step",
                    f"l'étape {_q(name)} ne peut être atteinte depuis l'étape initiale ; "
                    "ajoutez une transition qui y mène, ou supprimez-la",
                    key=True,
                )
            elif step.get("final"):
                continue
            elif name in dead_ends:
                self.report(
                    path,
                    "dead-end",
                    f"l'étape {_q(name)} n'a aucune sortie et n'est pas finale ; ajoutez "
                    "« next » ou un événement qui mène ailleurs, ou marquez-la « final: true »",
                    key=True,
                )
            elif finals and not dead_ends and not dangling and name not in can_finish:
                self.report(
                    path,
                    "cannot-finish",
                    f"aucun chemin ne mène de l'étape {_q(name)} à une étape finale ; "
                    "ajoutez-en un",
                    key=True,
                )
            if step.get("back") and not reverse[name] - {name}:
                self.report(
                    [*path, "back"],
                    "back-without-previous",
                    f"l'étape {_q(name)} autorise le retour (« back ») mais aucune étape n'y "
                    "mène ; supprimez « back »",
                    key=True,
                    severity="warning",
                )


@dataclass(frozen=True)
class _Scope:
    """Tell which names a guard or template may read at a given place."""

    names: Mapping[str, str]
    settings: Mapping[str, Any]
    secret_fields: Mapping[str, str]
    secret_here: frozenset[str]
    payload: bool
    local: Mapping[str, str] = field(default_factory=dict)

    def problem(self, path: tuple[str, ...]) -> str | None:
        """Explain what is wrong with a name, or return None if it is fine."""
        root = path[0]
        if root in self.local or root in self.names or root in self.secret_here:
            return None
        if root == "settings":
            if len(path) == 1:
                return None
            if path[1] not in self.settings:
                return f"le réglage {_q(path[1])}, qui n'existe pas" + (
                    _suggest(path[1], self.settings) or " ; déclarez-le sous « settings »"
                )
            return None
        if root in self.secret_fields:
            return (
                f"{_q(root)}, un champ de type {_q(self.secret_fields[root])} qui n'est conservé "
                "que pendant l'envoi de sa propre étape ; lisez-le dans les conditions « next » "
                "de cette étape, ou faites enregistrer par une action ce dont les étapes "
                "suivantes ont besoin"
            )
        if root == "payload":
            if self.payload:
                return None
            return (
                "« payload », qui n'existe que dans les conditions et les actions des "
                "événements (« events »)"
            )
        hint = _suggest(root, [*self.names, *self.local])
        return f"le nom inconnu {_q(root)}" + (
            hint
            or " ; les noms disponibles viennent des champs, des résultats d'actions, "
            "de « given » et de « settings »"
        )


def _schema_text(error: jsonschema.ValidationError, path: Sequence[PathPart]) -> str:
    """Word the less specific schema errors in French."""
    where, value, limit = _where(path), error.instance, error.validator_value
    if error.validator == "type":
        types = [limit] if isinstance(limit, str) else list(limit)
        expected = " ou ".join(JSON_TYPES.get(t, t) for t in types)
        if not path:
            return (
                "le fichier doit être un ensemble de clés (key, title, start, initial, steps…), "
                f"pas {_describe(value)}"
            )
        return f"{where} doit être {expected}, pas {_describe(value)}"
    if error.validator == "enum":
        return f"{where} doit valoir {_q_or(limit)}, pas {_q(value)}"
    if error.validator == "pattern":
        if limit == schema()["$defs"]["identifier"]["pattern"]:
            return (
                f"{where} ne convient pas : utilisez des {IDENTIFIER_RULE}, 63 caractères au plus"
            )
        return f"{where} n'a pas la forme attendue (modèle : {_q(limit)})"
    if error.validator == "minLength":
        if limit == 1:
            return f"{where} ne doit pas être vide ; écrivez un texte"
        return f"{where} doit compter au moins {limit} caractères"
    if error.validator == "maxLength":
        return f"{where} est trop long : {limit} caractères au plus ; raccourcissez-le"
    if error.validator in ("minItems", "minProperties"):
        return f"{where} doit contenir au moins {limit} élément{'s' if limit > 1 else ''}"
    if error.validator == "minimum":
        return f"{where} doit valoir au moins {limit}, pas {value}"
    if error.validator == "maximum":
        return f"{where} doit valoir au plus {limit}, pas {value}"
    if error.validator == "uniqueItems":
        return f"{where} contient deux fois la même valeur ; supprimez le doublon"
    if error.validator == "oneOf" and path and path[-1] == "choices":
        return (
            f"{where} doit être soit une liste de choix, chacun avec « value » et « label », "
            "soit le nom d'une liste, par exemple « settings.categories »"
        )
    return f"{where} a une forme incorrecte ({error.message})"


def _all_actions(step: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    yield from step.get("actions", ())
    for transition in step.get("next", ()):
        yield from transition.get("actions", ())
    for event in (step.get("events") or {}).values():
        yield from event.get("actions", ())


def _targets(name: str, step: Mapping[str, Any]) -> set[str]:
    targets = {t["to"] for t in step.get("next", ())}
    return targets | {e.get("to", name) for e in (step.get("events") or {}).values()}


def _closure(start: set[str], edges: Mapping[str, set[str]]) -> set[str]:
    seen, todo = set(start), list(start)
    while todo:
        for target in edges.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _param_type(declared: type | tuple[type, ...]) -> str:
    """Name the type(s) an action parameter accepts, in French."""
    types = declared if isinstance(declared, tuple) else (declared,)
    return " ou ".join(PYTHON_TYPES.get(t, t.__name__) for t in types)


def _find_name(text: str, name: str) -> int:
    match = re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", text)
    return match.start() if match else 0


def choice_list_problem(value: Any) -> str | None:
    """Explain why a value is not a list of choices ({value, label} items), or return None."""
    if not isinstance(value, list) or not value:
        return "doit être une liste non vide de choix, chacun avec « value » et « label »"
    values = []
    for number, item in enumerate(value, start=1):
        if not isinstance(item, Mapping) or set(item) != {"value", "label"}:
            return (
                "ne doit contenir que des choix avec « value » et « label », or l'élément "
                f"n° {number} n'en est pas un (mettez entre guillemets un libellé qui contient "
                "une virgule)"
            )
        values.append(repr(item["value"]))
    if len(values) != len(set(values)):
        return "contient deux choix de même valeur ; donnez-leur des valeurs différentes"
    return None
