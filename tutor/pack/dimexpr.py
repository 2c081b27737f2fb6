"""Small integer expressions over symbolic dims (``n + 1``, ``2 * m``) and predicates (``n < m``).

Authors write them as YAML strings: ``high: n + 1``, ``where: n != m``. They are
parsed with Python's own parser (``ast.parse(mode="eval")``) and then only a
handful of node kinds are accepted: integer literals, dim names, ``+ - * //
%``, unary minus, ``min``/``max`` of expressions, and for predicates the six
comparisons joined by ``and``/``or``/``not``. Nothing is ever evaluated by
Python: :func:`value` walks the tree itself, so a pack cannot run code here.
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass
from typing import Any, Callable

_ARITH: dict[type, Callable[[int, int], int]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_COMPARE: dict[type, Callable[[int, int], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_FUNCS = {"min": min, "max": max}
MAX_LENGTH = 200

ARITH_HELP = "an integer or an expression of the task's dims such as `n`, `n + 1` or `2 * m` (+ - * // %, min, max)"
PREDICATE_HELP = "a comparison of dims such as `n != m` or `n <= 2 * m` (< <= > >= == !=, and, or, not)"


class ExprError(ValueError):
    """The text is not an expression this module accepts; the message says why."""


@dataclass(frozen=True)
class Expr:
    """A parsed expression; ``text`` is what the author wrote."""

    text: str
    tree: ast.expr
    predicate: bool

    def symbols(self) -> set[str]:
        return {n.id for n in ast.walk(self.tree) if isinstance(n, ast.Name) and n.id not in _FUNCS}

    def value(self, dims: dict[str, int]) -> int | bool:
        """The expression's value for these dims (every symbol must be in ``dims``)."""
        return _eval(self.tree, dims)

    def __str__(self) -> str:
        return self.text


def parse(text: str, *, predicate: bool = False) -> Expr:
    """Parse an arithmetic expression (or, with ``predicate``, a condition) over dims."""
    if not isinstance(text, str) or not text.strip():
        raise ExprError("an expression must be a non-empty string")
    if len(text) > MAX_LENGTH:
        raise ExprError(f"an expression is at most {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        raise ExprError(f"{text!r} is not {PREDICATE_HELP if predicate else ARITH_HELP}") from None
    if predicate:
        _check_predicate(tree, text)
    else:
        _check_arith(tree, text)
    return Expr(text.strip(), tree, predicate)


def _refuse(node: ast.AST, text: str, help_text: str) -> ExprError:
    part = ast.unparse(node) if isinstance(node, ast.AST) else str(node)
    return ExprError(f"{text!r}: `{part}` is not allowed here; write {help_text}")


def _check_arith(node: ast.expr, text: str) -> None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return
    if isinstance(node, ast.Name) and node.id not in _FUNCS:
        return
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
        _check_arith(node.left, text)
        _check_arith(node.right, text)
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        _check_arith(node.operand, text)
        return
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCS
        and len(node.args) >= 2
        and not node.keywords
    ):
        for arg in node.args:
            _check_arith(arg, text)
        return
    raise _refuse(node, text, ARITH_HELP)


def _check_predicate(node: ast.expr, text: str) -> None:
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            _check_predicate(value, text)
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        _check_predicate(node.operand, text)
        return
    if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
        for part in (node.left, *node.comparators):
            _check_arith(part, text)
        return
    raise _refuse(node, text, PREDICATE_HELP)


def _eval(node: ast.expr, dims: dict[str, int]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return dims[node.id]
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, dims), _eval(node.right, dims)
        if isinstance(node.op, (ast.FloorDiv, ast.Mod)) and right == 0:
            raise ExprError(f"`{ast.unparse(node)}` divides by zero for dims {dims}")
        return _ARITH[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, dims)
        if isinstance(node.op, ast.Not):
            return not operand
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        return _FUNCS[node.func.id](*(_eval(a, dims) for a in node.args))
    if isinstance(node, ast.BoolOp):
        values = (_eval(v, dims) for v in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.Compare):
        left = _eval(node.left, dims)
        for op, right_node in zip(node.ops, node.comparators):
            right = _eval(right_node, dims)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    raise ExprError(f"cannot evaluate `{ast.unparse(node)}`")  # pragma: no cover - refused at parse


__all__ = ["ARITH_HELP", "PREDICATE_HELP", "Expr", "ExprError", "parse"]
