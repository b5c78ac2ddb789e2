"""Parse guard text into a syntax tree (recursive descent, no Python eval)."""

from __future__ import annotations

from engine.errors import GuardSyntaxError
from engine.guards.functions import FUNCTIONS
from engine.guards.lexer import Kind, Token, tokenize
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
from engine.guards.values import MAX_NUMBER

MAX_LENGTH = 500
MAX_DEPTH = 30
MAX_LIST_ITEMS = 50
COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
CONSTANTS = {"true": True, "false": False, "null": None}


def parse(source: str) -> Node:
    """Parse a guard expression, raising GuardSyntaxError on any problem."""
    if not isinstance(source, str):
        raise GuardSyntaxError("une expression doit être du texte", 0)
    if len(source) > MAX_LENGTH:
        raise GuardSyntaxError(
            f"l'expression dépasse {MAX_LENGTH} caractères ; raccourcissez-la", MAX_LENGTH
        )
    if not source.strip():
        raise GuardSyntaxError("l'expression est vide", 0)
    return _Parser(tokenize(source)).parse()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.pos]

    def parse(self) -> Node:
        node = self.expression()
        if self.current.kind is not Kind.END:
            raise self.error(f"{self.describe(self.current)} en trop à cet endroit")
        return node

    def error(self, message: str, token: Token | None = None) -> GuardSyntaxError:
        return GuardSyntaxError(message, (token or self.current).position)

    @staticmethod
    def describe(token: Token) -> str:
        return "la fin de l'expression" if token.kind is Kind.END else f"« {token.text} »"

    def advance(self) -> Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def at(self, text: str) -> bool:
        token = self.current
        return token.kind in (Kind.OP, Kind.KEYWORD) and token.text == text

    def expect(self, text: str) -> Token:
        if not self.at(text):
            raise self.error(f"il manque « {text} » avant {self.describe(self.current)}")
        return self.advance()

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(
                f"l'expression a plus de {MAX_DEPTH} niveaux d'imbrication "
                "(parenthèses ou « not ») ; simplifiez-la"
            )

    def expression(self) -> Node:
        self.nested()
        try:
            return self.disjunction()
        finally:
            self.depth -= 1

    def disjunction(self) -> Node:
        node = self.conjunction()
        while self.at("or"):
            self.advance()
            node = Logical("or", node, self.conjunction())
        return node

    def conjunction(self) -> Node:
        node = self.negation()
        while self.at("and"):
            self.advance()
            node = Logical("and", node, self.negation())
        return node

    def negation(self) -> Node:
        if self.at("not"):
            self.advance()
            self.nested()
            try:
                return Not(self.negation())
            finally:
                self.depth -= 1
        return self.comparison()

    def comparison(self) -> Node:
        left = self.additive()
        op = self.comparison_operator()
        if op is None:
            return left
        node = Binary(op, left, self.additive())
        chained = self.current
        if self.comparison_operator() is not None:
            raise self.error(
                "les comparaisons ne s'enchaînent pas : reliez-les avec « and », par exemple "
                "« a < b and b < c »",
                chained,
            )
        return node

    def comparison_operator(self) -> str | None:
        token = self.current
        if token.kind is Kind.OP and token.text in COMPARISONS:
            self.advance()
            return token.text
        if self.at("in"):
            self.advance()
            return "in"
        if self.at("not") and self.tokens[self.pos + 1].text == "in":
            self.pos += 2
            return "not in"
        return None

    def additive(self) -> Node:
        node = self.term()
        while self.at("+") or self.at("-"):
            op = self.advance().text
            node = Binary(op, node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.at("*") or self.at("/"):
            op = self.advance().text
            node = Binary(op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.at("-"):
            self.advance()
            self.nested()
            try:
                operand = self.unary()
            finally:
                self.depth -= 1
            if isinstance(operand, Literal) and isinstance(operand.value, int | float):
                return Literal(-operand.value)
            return Negate(operand)
        return self.primary()

    def primary(self) -> Node:
        token = self.current
        if token.kind is Kind.NUMBER:
            self.advance()
            if abs(token.value) > MAX_NUMBER:  # type: ignore[arg-type]
                raise self.error("nombre trop grand", token)
            return Literal(token.value)
        if token.kind is Kind.STRING:
            self.advance()
            return Literal(token.value)
        if token.kind is Kind.KEYWORD and token.text in CONSTANTS:
            self.advance()
            return Literal(CONSTANTS[token.text])
        if token.kind is Kind.NAME:
            return self.name_or_call()
        if self.at("("):
            self.advance()
            node = self.expression()
            self.expect(")")
            return node
        if self.at("["):
            return self.list_literal()
        raise self.error(f"il manque une valeur avant {self.describe(token)}")

    def name_or_call(self) -> Node:
        first = self.advance()
        if self.at("("):
            return self.call(first)
        path = [first.text]
        while self.at("."):
            self.advance()
            part = self.current
            if part.kind not in (Kind.NAME, Kind.KEYWORD):
                raise self.error(f"il manque un nom après « . », avant {self.describe(part)}")
            path.append(self.advance().text)
        return Name(tuple(path))

    def call(self, name: Token) -> Node:
        func = FUNCTIONS.get(name.text)
        if func is None:
            known = ", ".join(f"« {f} »" for f in sorted(FUNCTIONS))
            raise self.error(
                f"la fonction « {name.text} » n'existe pas ; fonctions disponibles : {known}", name
            )
        self.expect("(")
        args = self.items(")")
        if not func.min_args <= len(args) <= func.max_args:
            if func.max_args == 0:
                raise self.error(f"« {name.text}() » ne prend pas d'argument", name)
            if func.min_args == func.max_args:
                expected = f"{func.min_args} argument{'s' if func.min_args > 1 else ''}"
            else:
                expected = f"de {func.min_args} à {func.max_args} arguments"
            raise self.error(f"« {name.text}() » attend {expected}, pas {len(args)}", name)
        return Call(name.text, tuple(args))

    def list_literal(self) -> Node:
        self.expect("[")
        return ListExpr(tuple(self.items("]")))

    def items(self, closing: str) -> list[Node]:
        items: list[Node] = []
        while not self.at(closing):
            if len(items) >= MAX_LIST_ITEMS:
                raise self.error(f"une liste ne peut pas avoir plus de {MAX_LIST_ITEMS} éléments")
            items.append(self.expression())
            if not self.at(closing):
                self.expect(closing if self.current.kind is Kind.END else ",")
        self.expect(closing)
        return items
