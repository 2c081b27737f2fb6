"""Reading Python source without running it.

Used on instructors' starters and solutions (to validate a pack) and on
learners' files (for the ``source`` check and the refusal of code that reaches
torch's internals). Nothing here imports or executes the code it reads.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass


@dataclass(frozen=True)
class SyntaxProblem:
    line: int
    column: int
    message: str


def parse(source: str, filename: str = "<source>") -> ast.Module | SyntaxProblem:
    try:
        return ast.parse(source, filename=filename)
    except SyntaxError as exc:
        return SyntaxProblem(exc.lineno or 1, exc.offset or 1, exc.msg)
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, absurd nesting
        return SyntaxProblem(1, 1, str(exc) or type(exc).__name__)


def find_function(tree: ast.Module, name: str) -> ast.FunctionDef | None:
    """The module-level ``def name``, the last one if redefined (as Python would bind it)."""
    found = None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            found = node
    return found


def parameters(func: ast.FunctionDef) -> tuple[list[str], set[str]]:
    """All parameter names in order, and the set of those that must be given."""
    args = func.args
    positional = [a.arg for a in args.posonlyargs + args.args]
    required = set(positional[: len(positional) - len(args.defaults)])
    kwonly = [a.arg for a in args.kwonlyargs]
    required |= {a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is None}
    return positional + kwonly, required


def dotted_name(node: ast.AST) -> str | None:
    """``torch.nn.functional.relu`` for that attribute chain; None for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted_name(node.value)
        return f"{base}.{node.attr}" if base else None
    return None
