"""TaskRouter's expression language, as far as our workflow and queues use it.

Filters (`stage == 'owner'`: bare names are task attributes), target expressions
(`task.owner_agent_id == worker.agent_id`), `skip_if` (`workers.available == 0`, `1==1`) and
queue expressions (`1==1`, `team == "a"`). Missing attributes compare false, as in TaskRouter.
https://www.twilio.com/docs/taskrouter/expression-syntax

skip_if's `workers.available`, `workers.unavailable` and `workers.<ActivitySid>` are counts of
the workers of the target's TaskQueue (https://www.twilio.com/docs/taskrouter/worker-presence):
the caller (ops/standin/taskrouter.py) counts them per queue and passes them in `workers`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

Resolver = Callable[[str], Any]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'[^']*'|"[^"]*")
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op>==|!=|>=|<=|>|<|\(|\)|\[|\]|,)
      | (?P<word>[A-Za-z_][A-Za-z0-9_.\-]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"AND", "OR", "NOT", "HAS", "IN", "CONTAINS", "TRUE", "FALSE", "NULL"}


class ExpressionError(ValueError):
    """An expression TaskRouter would reject (or this subset does not support)."""


@dataclass(frozen=True)
class _Tok:
    kind: str
    value: Any


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ExpressionError(f"cannot parse {text!r} at {pos}")
        pos = match.end()
        if match.group("string") is not None:
            out.append(_Tok("lit", match.group("string")[1:-1]))
        elif match.group("number") is not None:
            number = match.group("number")
            out.append(_Tok("lit", float(number) if "." in number else int(number)))
        elif match.group("op") is not None:
            out.append(_Tok("op", match.group("op")))
        else:
            word = match.group("word")
            upper = word.upper()
            if upper in {"TRUE", "FALSE"}:
                out.append(_Tok("lit", upper == "TRUE"))
            elif upper == "NULL":
                out.append(_Tok("lit", None))
            elif upper in _KEYWORDS:
                out.append(_Tok("kw", upper))
            else:
                out.append(_Tok("name", word))
    return out


Node = tuple[Any, ...]


class _Parser:
    def __init__(self, tokens: list[_Tok]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> _Tok | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise ExpressionError("unexpected end of expression")
        self.pos += 1
        return tok

    def accept(self, kind: str, value: Any) -> bool:
        tok = self.peek()
        if tok is not None and tok.kind == kind and tok.value == value:
            self.pos += 1
            return True
        return False

    def parse(self) -> Node:
        node = self.or_()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()}")
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.accept("kw", "OR"):
            node = ("or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.accept("kw", "AND"):
            node = ("and", node, self.not_())
        return node

    def not_(self) -> Node:
        if self.accept("kw", "NOT"):
            return ("not", self.not_())
        return self.comparison()

    def comparison(self) -> Node:
        left = self.operand()
        tok = self.peek()
        if tok is None:
            return ("truthy", left)
        if tok.kind == "op" and tok.value in {"==", "!=", ">=", "<=", ">", "<"}:
            self.pos += 1
            return ("cmp", tok.value, left, self.operand())
        if tok.kind == "kw" and tok.value in {"HAS", "IN", "CONTAINS"}:
            self.pos += 1
            return ("cmp", tok.value, left, self.operand())
        if tok.kind == "kw" and tok.value == "NOT":
            nxt = self.tokens[self.pos + 1] if self.pos + 1 < len(self.tokens) else None
            if nxt is not None and nxt.kind == "kw" and nxt.value in {"IN", "HAS"}:
                self.pos += 2
                return ("not", ("cmp", nxt.value, left, self.operand()))
        return ("truthy", left)

    def operand(self) -> Node:
        tok = self.take()
        if tok.kind == "op" and tok.value == "(":
            node = self.or_()
            if not self.accept("op", ")"):
                raise ExpressionError("missing )")
            return node
        if tok.kind == "op" and tok.value == "[":
            items: list[Any] = []
            while not self.accept("op", "]"):
                item = self.take()
                if item.kind != "lit":
                    raise ExpressionError("lists hold literals only")
                items.append(item.value)
                self.accept("op", ",")
            return ("lit", items)
        if tok.kind == "lit":
            return ("lit", tok.value)
        if tok.kind == "name":
            return ("name", tok.value)
        raise ExpressionError(f"unexpected {tok.value!r}")


@lru_cache(maxsize=512)
def compile_expression(text: str) -> Node:
    return _Parser(_tokens(text)).parse()


def _value(node: Node, resolve: Resolver) -> Any:
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "name":
        return resolve(node[1])
    return _evaluate(node, resolve)


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "HAS":
        return isinstance(left, list) and right in left
    if op == "CONTAINS":
        return isinstance(left, str) and isinstance(right, str) and right in left
    if op == "IN":
        return isinstance(right, list) and left in right
    if left is None or right is None:
        # TaskRouter: a comparison with a missing attribute is false (even !=).
        return False
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    try:
        return bool(
            {">": left > right, "<": left < right, ">=": left >= right, "<=": left <= right}[op]
        )
    except TypeError:
        return False


def _evaluate(node: Node, resolve: Resolver) -> bool:
    kind = node[0]
    if kind == "or":
        return _evaluate(node[1], resolve) or _evaluate(node[2], resolve)
    if kind == "and":
        return _evaluate(node[1], resolve) and _evaluate(node[2], resolve)
    if kind == "not":
        return not _evaluate(node[1], resolve)
    if kind == "cmp":
        return _compare(node[1], _value(node[2], resolve), _value(node[3], resolve))
    if kind == "truthy":
        return bool(_value(node[1], resolve))
    return bool(_value(node, resolve))


def lookup(data: dict[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def evaluate(
    text: str,
    task: dict[str, Any],
    worker: dict[str, Any] | None = None,
    workers_available: int | None = None,
    bare: str = "task",
    workers: Mapping[str, int] | None = None,
) -> bool:
    """Evaluate `text`; bare names read the task (filters) or the worker (queue expressions).

    `workers` holds the queue's counts for skip_if (`available`, `unavailable`, an activity
    sid); `workers_available` alone is the older way to give `workers.available`."""

    def resolve(name: str) -> Any:
        if name.startswith("task."):
            return lookup(task, name[5:])
        if name.startswith("worker."):
            return lookup(worker or {}, name[7:])
        if name.startswith("workers.") and workers is not None:
            return workers.get(name[8:], 0)
        if name == "workers.available":
            return workers_available
        return lookup(task if bare == "task" else (worker or {}), name)

    return _evaluate(compile_expression(text), resolve)
