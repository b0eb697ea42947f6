"""Label selectors: how a Service, a ReplicaSet or ``kubectl get -l`` picks its objects.

- :class:`Requirement` -- one condition on one label key: ``app=web``,
  ``tier!=db``, ``env in (a,b)``, ``env notin (c)``, ``key``, ``!legacy``,
  ``replicas>1``.
- :class:`LabelSelector` -- requirements ANDed together: :meth:`LabelSelector.parse`
  reads the string form (labels.Parse), :meth:`LabelSelector.from_dict` a
  ``matchLabels``/``matchExpressions`` dict (metav1.LabelSelectorAsSelector),
  :meth:`LabelSelector.from_set` a plain label map; then :meth:`~LabelSelector.matches`
  and ``str()`` (the canonical string, as String() prints it).
- :class:`SelectorError` -- a selector that does not parse; a :class:`BadRequest`
  whose message is upstream's.

A port of k8s.io/apimachinery/pkg/labels/selector.go (lexer, parser, Requirement)
and pkg/apis/meta/v1/helpers.go.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from kubelearn.api.errors import BadRequest, FieldError, GoValue, Path, aggregate, go_quote
from kubelearn.api.names import is_label_key, is_label_value
from kubelearn.api.schema import LABEL_SELECTOR, check_value

# selection.Operator values.
DOES_NOT_EXIST = "!"
EQUALS = "="
DOUBLE_EQUALS = "=="
IN = "in"
NOT_EQUALS = "!="
NOT_IN = "notin"
EXISTS = "exists"
GREATER_THAN = "gt"
LESS_THAN = "lt"

UNARY_OPERATORS = [EXISTS, DOES_NOT_EXIST]
BINARY_OPERATORS = [IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN]
VALID_OPERATORS = BINARY_OPERATORS + UNARY_OPERATORS

# metav1.LabelSelectorOperator -> selection.Operator
SELECTOR_OPERATORS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


class SelectorError(BadRequest, ValueError):
    """A selector that does not parse or is not valid."""


def _is_int64(text: str) -> bool:
    """True if strconv.ParseInt(text, 10, 64) would succeed."""
    return bool(re.fullmatch(r"[+-]?[0-9]+", text)) and -(2**63) <= int(text) < 2**63


def _child(path: Path | None, name: str) -> Path:
    """``path.Child(name)``, where a nil path makes ``name`` the root."""
    return Path(name) if path is None else path.child(name)


class Requirement:
    """One condition on one label key (labels.Requirement)."""

    __slots__ = ("key", "operator", "values")

    def __init__(self, key: str, operator: str, values: Iterable[str] = (),
                 path: Path | None = None) -> None:
        """Check and build a requirement (labels.NewRequirement); raise SelectorError if bad."""
        values = list(values)
        errs: list[FieldError] = []
        msgs = is_label_key(key)
        if msgs:
            errs.append(FieldError.invalid(_child(path, "key"), key, "; ".join(msgs)))
        value_path = _child(path, "values")
        shown = GoValue("[]string", values if values else None)  # LabelSelectorAsSelector: nil
        if operator in (IN, NOT_IN):
            if not values:
                errs.append(FieldError.invalid(
                    value_path, shown, "for 'in', 'notin' operators, values set can't be empty"))
        elif operator in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS):
            if len(values) != 1:
                errs.append(FieldError.invalid(
                    value_path, shown, "exact-match compatibility requires one single value"))
        elif operator in (EXISTS, DOES_NOT_EXIST):
            if values:
                errs.append(FieldError.invalid(
                    value_path, shown, "values set must be empty for exists and does not exist"))
        elif operator in (GREATER_THAN, LESS_THAN):
            if len(values) != 1:
                errs.append(FieldError.invalid(
                    value_path, shown, "for 'Gt', 'Lt' operators, exactly one value is required"))
            for i, v in enumerate(values):
                if not _is_int64(v):
                    errs.append(FieldError.invalid(
                        value_path.index(i), v,
                        "for 'Gt', 'Lt' operators, the value must be an integer"))
        else:
            errs.append(FieldError.not_supported(_child(path, "operator"), operator,
                                                 VALID_OPERATORS))
        for i, v in enumerate(values):
            msgs = is_label_value(v)
            if msgs:
                errs.append(FieldError.invalid(value_path.index(i).key(key), v, "; ".join(msgs)))
        if errs:
            raise SelectorError(aggregate(errs))
        self.key, self.operator, self.values = key, operator, tuple(values)

    def matches(self, labels: Mapping[str, Any]) -> bool:
        """True if ``labels`` satisfies this requirement (Requirement.Matches)."""
        op, present = self.operator, self.key in labels
        if op in (IN, EQUALS, DOUBLE_EQUALS):
            return present and labels[self.key] in self.values
        if op in (NOT_IN, NOT_EQUALS):
            return not present or labels[self.key] not in self.values
        if op == EXISTS:
            return present
        if op == DOES_NOT_EXIST:
            return not present
        value = labels.get(self.key)
        if not isinstance(value, str) or not _is_int64(value) or len(self.values) != 1:
            return False
        have, want = int(value), int(self.values[0])
        return have > want if op == GREATER_THAN else have < want

    def __str__(self) -> str:
        """The requirement as selector text, values sorted (Requirement.String)."""
        op = self.operator
        text = ("!" if op == DOES_NOT_EXIST else "") + self.key
        if op in (EXISTS, DOES_NOT_EXIST):
            return text
        values = self.values[0] if len(self.values) == 1 else ",".join(sorted(self.values))
        symbol = {EQUALS: "=", DOUBLE_EQUALS: "==", NOT_EQUALS: "!=", IN: " in ",
                  NOT_IN: " notin ", GREATER_THAN: ">", LESS_THAN: "<"}[op]
        if op in (IN, NOT_IN):
            values = f"({values})"
        return text + symbol + values

    def __repr__(self) -> str:
        return f"Requirement({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Requirement) and (self.key, self.operator, self.values) == (
            other.key, other.operator, other.values)

    def __hash__(self) -> int:
        return hash((self.key, self.operator, self.values))


class LabelSelector:
    """Requirements ANDed together; matches a set of labels or it does not."""

    __slots__ = ("requirements", "_nothing")

    def __init__(self, requirements: Iterable[Requirement] = (), *, nothing: bool = False) -> None:
        # Sorted by key, as Selector.Add and the parser leave them.
        self.requirements = tuple(sorted(requirements, key=lambda r: r.key))
        self._nothing = nothing

    @classmethod
    def everything(cls) -> LabelSelector:
        """The selector that matches every object (labels.Everything)."""
        return cls()

    @classmethod
    def nothing(cls) -> LabelSelector:
        """The selector that matches no object (labels.Nothing)."""
        return cls(nothing=True)

    @classmethod
    def parse(cls, text: str) -> LabelSelector:
        """Read the string form, e.g. ``app=web,tier!=db,env in (a,b),!legacy`` (labels.Parse)."""
        if not isinstance(text, str):
            raise SelectorError(f"a label selector is a string, not {text!r}")
        return cls(_Parser(text).parse())

    @classmethod
    def from_dict(cls, selector: Mapping[str, Any] | None) -> LabelSelector:
        """Build from ``{matchLabels: ..., matchExpressions: [...]}`` (LabelSelectorAsSelector).

        ``None`` selects nothing; an empty selector selects everything.
        """
        if selector is None:
            return cls.nothing()
        check_value(selector, LABEL_SELECTOR)
        labels = selector.get("matchLabels") or {}
        expressions = selector.get("matchExpressions") or []
        if not labels and not expressions:
            return cls.everything()
        reqs = [Requirement(k, EQUALS, [v if v is not None else ""]) for k, v in labels.items()]
        for expr in expressions:
            expr = expr or {}
            op = expr.get("operator") or ""
            if op not in SELECTOR_OPERATORS:
                raise SelectorError(f"{go_quote(op)} is not a valid label selector operator")
            values = [v if v is not None else "" for v in expr.get("values") or []]
            reqs.append(Requirement(expr.get("key") or "", SELECTOR_OPERATORS[op], values))
        return cls(reqs)

    @classmethod
    def from_set(cls, labels: Mapping[str, str] | None) -> LabelSelector:
        """Select exactly these labels, unchecked (labels.SelectorFromSet)."""
        reqs = []
        for key, value in (labels or {}).items():
            req = Requirement.__new__(Requirement)
            req.key, req.operator, req.values = key, EQUALS, (value,)
            reqs.append(req)
        return cls(reqs)

    def matches(self, labels: Mapping[str, Any] | None) -> bool:
        """True if every requirement holds for ``labels``."""
        if self._nothing:
            return False
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    def empty(self) -> bool:
        """True if this selector does not restrict anything (Selector.Empty)."""
        return not self._nothing and not self.requirements

    def requires_exact_match(self, key: str) -> str | None:
        """The one value ``key`` must have, if the selector pins it (RequiresExactMatch)."""
        for r in self.requirements:
            if r.key == key:
                if r.operator in (EQUALS, DOUBLE_EQUALS, IN) and len(r.values) == 1:
                    return r.values[0]
                return None
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    def __repr__(self) -> str:
        return "LabelSelector.nothing()" if self._nothing else f"LabelSelector({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LabelSelector) and (self.requirements, self._nothing) == (
            other.requirements, other._nothing)

    def __hash__(self) -> int:
        return hash((self.requirements, self._nothing))


def parse_selector(text: str) -> LabelSelector:
    """Parse a label selector string (labels.Parse)."""
    return LabelSelector.parse(text)


# -- the lexer and parser of labels.Parse ------------------------------------------

_END, _CLOSE, _COMMA, _NOT, _DEQ, _EQ, _GT, _ID, _IN, _LT, _NEQ, _NOTIN, _OPEN = range(1, 14)
_ERROR = 0
_TOKENS = {")": _CLOSE, ",": _COMMA, "!": _NOT, "==": _DEQ, "=": _EQ, ">": _GT, "in": _IN,
           "<": _LT, "!=": _NEQ, "notin": _NOTIN, "(": _OPEN}
_SPECIAL = "=!(),><"
_WHITESPACE = " \t\r\n"
_OPERATOR_OF = {_IN: IN, _EQ: EQUALS, _DEQ: DOUBLE_EQUALS, _GT: GREATER_THAN, _LT: LESS_THAN,
                _NOTIN: NOT_IN, _NEQ: NOT_EQUALS}


class _Lexer:
    """Splits selector text into tokens (labels.Lexer); NUL ends a token as in Go."""

    def __init__(self, text: str) -> None:
        self.s, self.pos = text, 0

    def read(self) -> str:
        if self.pos < len(self.s):
            self.pos += 1
            return self.s[self.pos - 1]
        return "\0"

    def unread(self) -> None:
        self.pos -= 1

    def lex(self) -> tuple[int, str]:
        ch = self.read()
        while ch in _WHITESPACE and ch != "\0":
            ch = self.read()
        if ch == "\0":
            return _END, ""
        self.unread()
        return self.special() if ch in _SPECIAL else self.identifier()

    def identifier(self) -> tuple[int, str]:
        buf = []
        while True:
            ch = self.read()
            if ch == "\0":
                break
            if ch in _SPECIAL or ch in _WHITESPACE:
                self.unread()
                break
            buf.append(ch)
        text = "".join(buf)
        return _TOKENS.get(text, _ID), text

    def special(self) -> tuple[int, str]:
        buf, last = "", (_ERROR, "")
        while True:
            ch = self.read()
            if ch == "\0":
                break
            if ch not in _SPECIAL:
                self.unread()
                break
            buf += ch
            if buf in _TOKENS:
                last = (_TOKENS[buf], buf)
            elif last[0] != _ERROR:
                self.unread()
                break
        if last[0] == _ERROR:
            return _ERROR, f"error expected: keyword found '{buf}'"
        return last


class _Parser:
    """A recursive-descent parser over the scanned tokens (labels.Parser)."""

    def __init__(self, text: str) -> None:
        lexer = _Lexer(text)
        self.items: list[tuple[int, str]] = []
        while True:
            tok = lexer.lex()
            self.items.append(tok)
            if tok[0] == _END:
                break
        self.position = 0

    def lookahead(self, values: bool) -> tuple[int, str]:
        tok, lit = self.items[self.position]
        return (_ID if values and tok in (_IN, _NOTIN) else tok), lit

    def consume(self, values: bool) -> tuple[int, str]:
        tok = self.lookahead(values)
        self.position += 1
        return tok

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            tok, lit = self.lookahead(True)
            if tok in (_ID, _NOT):
                try:
                    reqs.append(self.requirement())
                except SelectorError as err:
                    raise SelectorError(f"unable to parse requirement: {err}") from None
                tok, lit = self.consume(True)
                if tok == _END:
                    return reqs
                if tok == _COMMA:
                    tok2, lit2 = self.lookahead(True)
                    if tok2 not in (_ID, _NOT):
                        raise SelectorError(f"found '{lit2}', expected: identifier after ','")
                else:
                    raise SelectorError(f"found '{lit}', expected: ',' or 'end of string'")
            elif tok == _END:
                return reqs
            else:
                raise SelectorError(f"found '{lit}', expected: !, identifier, or 'end of string'")

    def requirement(self) -> Requirement:
        key, operator = self.key_and_operator()
        if operator in (EXISTS, DOES_NOT_EXIST):
            return Requirement(key, operator, [])
        tok, lit = self.consume(False)
        if tok not in _OPERATOR_OF:
            raise SelectorError(f"found '{lit}', expected: {', '.join(BINARY_OPERATORS)}")
        operator = _OPERATOR_OF[tok]
        values = self.value_set() if operator in (IN, NOT_IN) else self.exact_value()
        return Requirement(key, operator, sorted(values))

    def key_and_operator(self) -> tuple[str, str]:
        operator = ""
        tok, lit = self.consume(True)
        if tok == _NOT:
            operator = DOES_NOT_EXIST
            tok, lit = self.consume(True)
        if tok != _ID:
            raise SelectorError(f"found '{lit}', expected: identifier")
        msgs = is_label_key(lit)
        if msgs:  # the parser validates with a nil field path, which prints as <nil>
            body = FieldError.invalid("", lit, "; ".join(msgs)).error_body()
            raise SelectorError(f"<nil>: {body}")
        if self.lookahead(True)[0] in (_END, _COMMA) and operator != DOES_NOT_EXIST:
            operator = EXISTS
        return lit, operator

    def value_set(self) -> set[str]:
        tok, lit = self.consume(True)
        if tok != _OPEN:
            raise SelectorError(f"found '{lit}' expected: '('")
        tok, lit = self.lookahead(True)
        if tok in (_ID, _COMMA):
            values = self.identifiers()
            if self.consume(True)[0] != _CLOSE:
                raise SelectorError(f"found '{lit}', expected: ')'")
            return values
        if tok == _CLOSE:  # "()" is the set holding the empty string
            self.consume(True)
            return {""}
        raise SelectorError(f"found '{lit}', expected: ',', ')' or identifier")

    def identifiers(self) -> set[str]:
        values: set[str] = set()
        while True:
            tok, lit = self.consume(True)
            if tok == _ID:
                values.add(lit)
                tok2, lit2 = self.lookahead(True)
                if tok2 == _COMMA:
                    continue
                if tok2 == _CLOSE:
                    return values
                raise SelectorError(f"found '{lit2}', expected: ',' or ')'")
            if tok == _COMMA:  # "(,", ",)" and ",," stand for empty values
                if not values:
                    values.add("")
                tok2 = self.lookahead(True)[0]
                if tok2 == _CLOSE:
                    values.add("")
                    return values
                if tok2 == _COMMA:
                    values.add("")
            else:
                raise SelectorError(f"found '{lit}', expected: ',', or identifier")

    def exact_value(self) -> set[str]:
        tok = self.lookahead(True)[0]
        if tok in (_END, _COMMA):
            return {""}
        tok, lit = self.consume(True)
        if tok == _ID:
            return {lit}
        raise SelectorError(f"found '{lit}', expected: identifier")
