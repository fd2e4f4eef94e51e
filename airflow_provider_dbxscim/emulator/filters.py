"""
SCIM filter subset the Databricks account API accepts (RFC 7644 section 3.4.2.2).

Grammar: ``expr := term (("and" | "or") term)*`` with ``and`` binding tighter, ``term := "(" expr ")" |
attrPath op value``, ``op`` one of ``eq ne co sw``, ``value`` a JSON string, ``true``, ``false`` or ``null``.
The vendor documents "simple expressions only"; parentheses are accepted because they cost nothing here.

Size: every comparison counts one node and every ``and``/``or`` keyword counts one node, so
``userName eq "a" or userName eq "b"`` has three. The vendor states a 200-node limit without saying how it
counts; this rule is the emulator's reading of it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airflow_provider_dbxscim.emulator.responses import USER_ATTRIBUTE_PREFIX

User = dict[str, Any]
Predicate = Callable[[User], bool]

SUPPORTED_OPERATORS = ("eq", "ne", "co", "sw")
# Other RFC 7644 operators are valid SCIM but refused by the service (doc: eq, ne, co, sw only).
KNOWN_UNSUPPORTED_OPERATORS = ("ew", "gt", "ge", "lt", "le", "pr")

# RFC 7643 section 4.1.1: userName and displayName are caseExact=false; id and externalId are caseExact=true.
_ATTRIBUTES = {
    "username": ("userName", False),
    "displayname": ("displayName", False),
    "id": ("id", True),
    "externalid": ("externalId", True),
    "active": ("active", True),
}
_TOKEN = re.compile(r'\s*(?:(\()|(\))|("(?:[^"\\]|\\.)*")|([^\s()"]+))')


class FilterError(ValueError):
    """
    A filter the service would refuse with 400.

    :param detail: what is wrong, for the SCIM error ``detail``.
    :param too_large: true when the filter is refused for its size alone.
    """

    def __init__(self, detail: str, *, too_large: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.too_large = too_large


@dataclass(frozen=True)
class ParsedFilter:
    """A compiled filter: the predicate, its node count, and the userNames or ids it can only match."""

    predicate: Predicate
    nodes: int
    user_names: frozenset[str] | None = None
    ids: frozenset[str] | None = None


def parse_filter(text: str, max_nodes: int = 200) -> ParsedFilter:
    """
    Parse and compile a filter.

    :param text: the ``filter`` query parameter.
    :param max_nodes: largest accepted node count.
    :raises FilterError: on bad syntax, an unsupported operator or attribute, or too many nodes.
    """
    parser = _Parser(_tokenize(text))
    tree = parser.expression()
    if parser.peek() is not None:
        raise FilterError(f"Unexpected token {parser.peek()!r} in filter")
    if parser.nodes > max_nodes:
        raise FilterError(
            f"INVALID_FILTER: filter has {parser.nodes} nodes, more than the limit of {max_nodes}",
            too_large=True,
        )
    return ParsedFilter(_compile(tree), parser.nodes, _equalities(tree, "userName"), _equalities(tree, "id"))


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise FilterError(f"Unterminated string in filter at position {position}")
        tokens.append(match.group(match.lastindex or 0))
        position = match.end()
    if not tokens:
        raise FilterError("Empty filter")
    return tokens


class _Parser:
    """Recursive descent over the token list, counting nodes as it goes."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.position = 0
        self.nodes = 0

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise FilterError("Filter ends too early")
        self.position += 1
        return token

    def expression(self) -> tuple:
        terms = [self.conjunction()]
        while (self.peek() or "").lower() == "or":
            self.take()
            self.nodes += 1
            terms.append(self.conjunction())
        return terms[0] if len(terms) == 1 else ("or", terms)

    def conjunction(self) -> tuple:
        terms = [self.term()]
        while (self.peek() or "").lower() == "and":
            self.take()
            self.nodes += 1
            terms.append(self.term())
        return terms[0] if len(terms) == 1 else ("and", terms)

    def term(self) -> tuple:
        token = self.take()
        if token == "(":
            inner = self.expression()
            if self.take() != ")":
                raise FilterError("Missing closing parenthesis in filter")
            return inner
        if token.lower() == "not":
            raise FilterError("The 'not' operator is not supported")
        return self.comparison(token)

    def comparison(self, path: str) -> tuple:
        lowered = path.lower().removeprefix(USER_ATTRIBUTE_PREFIX)
        if lowered not in _ATTRIBUTES:
            raise FilterError(f"Unsupported filter attribute {path!r}")
        operator = self.take().lower()
        if operator in KNOWN_UNSUPPORTED_OPERATORS:
            raise FilterError(f"Unsupported filter operator {operator!r}; use eq, ne, co or sw")
        if operator not in SUPPORTED_OPERATORS:
            raise FilterError(f"Unknown filter operator {operator!r}")
        self.nodes += 1
        attribute, case_exact = _ATTRIBUTES[lowered]
        return ("cmp", attribute, operator, _literal(self.take(), attribute, operator), case_exact)


def _literal(token: str, attribute: str, operator: str) -> Any:
    if token.startswith('"'):
        try:
            value: Any = json.loads(token)
        except json.JSONDecodeError as exc:
            raise FilterError(f"Bad string literal {token} in filter") from exc
    elif token.lower() in ("true", "false"):
        value = token.lower() == "true"
    elif token.lower() == "null":
        value = None
    elif token in ("(", ")"):
        raise FilterError("Missing value in filter")
    else:
        raise FilterError(f"Bad value {token!r} in filter; strings need double quotes")
    if attribute == "active" and not (isinstance(value, bool) and operator in ("eq", "ne")):
        raise FilterError("The active attribute takes eq or ne with true or false")
    if attribute != "active" and isinstance(value, bool):
        raise FilterError(f"The {attribute} attribute takes a string value")
    if value is None and operator not in ("eq", "ne"):
        raise FilterError("null is only comparable with eq or ne")
    return value


def _compile(node: tuple) -> Predicate:
    if node[0] == "or":
        parts = [_compile(child) for child in node[1]]
        return lambda user: any(part(user) for part in parts)
    if node[0] == "and":
        parts = [_compile(child) for child in node[1]]
        return lambda user: all(part(user) for part in parts)
    _, attribute, operator, value, case_exact = node
    return _comparison(attribute, operator, value, case_exact)


def _comparison(attribute: str, operator: str, value: Any, case_exact: bool) -> Predicate:
    if value is None or isinstance(value, bool):
        wanted = operator == "eq"
        return lambda user: (user.get(attribute) == value) is wanted
    target = value if case_exact else value.lower()

    def read(user: User) -> str | None:
        actual = user.get(attribute)
        if actual is None:
            return None
        return actual if case_exact else actual.lower()

    if operator == "eq":
        return lambda user: read(user) == target
    if operator == "ne":
        return lambda user: read(user) != target
    if operator == "co":
        return lambda user: (actual := read(user)) is not None and target in actual
    return lambda user: (actual := read(user)) is not None and actual.startswith(target)


def _equalities(node: tuple, attribute: str) -> frozenset[str] | None:
    """Return the values when the filter is ``attribute eq "x"`` or an ``or`` of those, for index lookups."""
    terms = node[1] if node[0] == "or" else [node]
    values = set()
    for term in terms:
        if term[0] != "cmp" or term[1] != attribute or term[2] != "eq" or not isinstance(term[3], str):
            return None
        values.add(term[3] if term[4] else term[3].lower())
    return frozenset(values)
