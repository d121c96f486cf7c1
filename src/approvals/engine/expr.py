"""The ruleset expression language: parse once, evaluate without `eval`.

A deliberately small syntax that a department's rule author can read aloud:

    age <= params.max_age
    person.hukou_city == "深圳市" or any(residence_permits, it.valid_to >= today)
    not any(records, it.category in ["吸毒", "暴力犯罪"])

Grammar (lowest precedence first)::

    expr       := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := sum (("=="|"!="|"<"|"<="|">"|">="|"in"|"not in") sum)?
    sum        := product (("+"|"-") product)*
    product    := unary (("*"|"/") unary)*
    unary      := "-" unary | postfix
    postfix    := primary ("." NAME | "[" expr "]")*
    primary    := NUMBER | STRING | true | false | null | NAME | NAME "(" args ")"
                | "[" items "]" | "(" expr ")"
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from approvals.errors import ExpressionError


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class Attr:
    target: Node
    name: str


@dataclass(frozen=True)
class Index:
    target: Node
    index: Node


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class ListLit:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Unary:
    op: str  # "-" or "not"
    operand: Node


@dataclass(frozen=True)
class Binary:
    op: str  # + - * / == != < <= > >= in "not in" and or
    left: Node
    right: Node


Node = Literal | Name | Attr | Index | Call | ListLit | Unary | Binary

COMPARISONS = ("==", "!=", "<=", ">=", "<", ">")
KEYWORDS = {"and", "or", "not", "in", "true", "false", "null"}

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|<|>|\+|-|\*|/|\(|\)|\[|\]|,|\.)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if match is None:
            raise ExpressionError(f"unexpected character {source[pos]!r}", source, pos)
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("end", "", len(source)))
    return tokens


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.i = 0

    def peek(self, offset: int = 0) -> Token:
        return self.tokens[min(self.i + offset, len(self.tokens) - 1)]

    def at(self, text: str) -> bool:
        tok = self.peek()
        return tok.kind in ("op", "name") and tok.text == text

    def take(self) -> Token:
        tok = self.peek()
        self.i += 1
        return tok

    def expect(self, text: str) -> Token:
        if not self.at(text):
            tok = self.peek()
            found = tok.text or "end of expression"
            raise ExpressionError(f"expected '{text}', found '{found}'", self.source, tok.pos)
        return self.take()

    def parse(self) -> Node:
        node = self.or_()
        tok = self.peek()
        if tok.kind != "end":
            raise ExpressionError(f"unexpected '{tok.text}'", self.source, tok.pos)
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.at("or"):
            self.take()
            node = Binary("or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.at("and"):
            self.take()
            node = Binary("and", node, self.not_())
        return node

    def not_(self) -> Node:
        if self.at("not"):
            self.take()
            return Unary("not", self.not_())
        return self.comparison()

    def comparison(self) -> Node:
        left = self.sum()
        tok = self.peek()
        if tok.kind == "op" and tok.text in COMPARISONS:
            self.take()
            return Binary(tok.text, left, self.sum())
        if self.at("in"):
            self.take()
            return Binary("in", left, self.sum())
        if self.at("not") and self.peek(1).text == "in":
            self.take()
            self.take()
            return Binary("not in", left, self.sum())
        return left

    def sum(self) -> Node:
        node = self.product()
        while self.peek().kind == "op" and self.peek().text in ("+", "-"):
            op = self.take().text
            node = Binary(op, node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while self.peek().kind == "op" and self.peek().text in ("*", "/"):
            op = self.take().text
            node = Binary(op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.peek().kind == "op" and self.peek().text == "-":
            self.take()
            operand = self.unary()
            if isinstance(operand, Literal) and isinstance(operand.value, int | float):
                return Literal(-operand.value)
            return Unary("-", operand)
        return self.postfix()

    def postfix(self) -> Node:
        node = self.primary()
        while True:
            if self.at("."):
                self.take()
                tok = self.take()
                if tok.kind != "name":
                    raise ExpressionError("expected a field name after '.'", self.source, tok.pos)
                node = Attr(node, tok.text)
            elif self.at("["):
                self.take()
                index = self.or_()
                self.expect("]")
                node = Index(node, index)
            else:
                return node

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "number":
            return Literal(float(tok.text) if "." in tok.text else int(tok.text))
        if tok.kind == "string":
            body = tok.text[1:-1]
            return Literal(re.sub(r"\\(.)", r"\1", body))
        if tok.kind == "name":
            if tok.text == "true":
                return Literal(True)
            if tok.text == "false":
                return Literal(False)
            if tok.text == "null":
                return Literal(None)
            if tok.text in KEYWORDS:
                raise ExpressionError(f"'{tok.text}' cannot start a value", self.source, tok.pos)
            if self.at("("):
                self.take()
                args: list[Node] = []
                if not self.at(")"):
                    args.append(self.or_())
                    while self.at(","):
                        self.take()
                        args.append(self.or_())
                self.expect(")")
                return Call(tok.text, tuple(args))
            return Name(tok.text)
        if tok.kind == "op" and tok.text == "(":
            node = self.or_()
            self.expect(")")
            return node
        if tok.kind == "op" and tok.text == "[":
            items: list[Node] = []
            if not self.at("]"):
                items.append(self.or_())
                while self.at(","):
                    self.take()
                    items.append(self.or_())
            self.expect("]")
            return ListLit(tuple(items))
        found = tok.text or "end of expression"
        raise ExpressionError(f"expected a value, found '{found}'", self.source, tok.pos)


_CACHE: dict[str, Node] = {}


def parse(source: str) -> Node:
    """Parse an expression; results are cached because rulesets reuse them per decision."""
    node = _CACHE.get(source)
    if node is None:
        node = _Parser(source).parse()
        _CACHE[source] = node
    return node


def children(node: Node) -> tuple[Node, ...]:
    """The sub-expressions of `node`, for the walkers below and in lint."""
    if isinstance(node, Attr):
        return (node.target,)
    if isinstance(node, Index):
        return (node.target, node.index)
    if isinstance(node, Call):
        return node.args
    if isinstance(node, ListLit):
        return node.items
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    return ()


def path_of(node: Node) -> tuple[str, ...] | None:
    """`person.birth_date` -> ("person", "birth_date"); None for anything but a dotted name."""
    if isinstance(node, Name):
        return (node.name,)
    if isinstance(node, Attr):
        base = path_of(node.target)
        return None if base is None else (*base, node.name)
    return None


def names_used(node: Node, bound: frozenset[str] = frozenset()) -> set[tuple[str, ...]]:
    """Dotted paths read by an expression (`person.birth_date` -> ("person", "birth_date")).

    Paths under a lambda variable (`it`) are not reported: they are fields of list items.
    """
    out: set[tuple[str, ...]] = set()

    def walk(n: Node) -> None:
        path = path_of(n)
        if path is not None:
            if path[0] not in bound:
                out.add(path)
            return
        for child in children(n):
            walk(child)

    walk(node)
    return {p for p in out if p[0] != "it"}


def functions_called(node: Node) -> set[str]:
    """Names of the functions an expression calls."""
    found = {node.func} if isinstance(node, Call) else set()
    for child in children(node):
        found |= functions_called(child)
    return found
