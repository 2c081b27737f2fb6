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


def bindings(tree: ast.Module, name: str) -> list[ast.AST]:
    """Every statement that binds ``name`` at module level, in source order.

    Module level includes the bodies of module-level ``if``/``for``/``try``/``with``
    and any function that declares the name ``global``.
    """
    found: list[ast.AST] = []

    def binds(node: ast.AST) -> bool:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return node.name == name
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            return any((a.asname or a.name.split(".")[0]) == name for a in node.names)
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor)):
            targets = [node.target]
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            targets = [i.optional_vars for i in node.items if i.optional_vars is not None]
        elif isinstance(node, ast.Delete):
            targets = list(node.targets)
        elif isinstance(node, ast.Expr):
            targets = [n.target for n in ast.walk(node) if isinstance(n, ast.NamedExpr)]
        return any(isinstance(n, ast.Name) and n.id == name for t in targets for n in ast.walk(t))

    def visit(body: list[ast.stmt], in_global: bool) -> None:
        for stmt in body:
            if binds(stmt) and in_global:
                found.append(stmt)
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                declared = any(isinstance(n, ast.Global) and name in n.names for n in ast.walk(stmt))
                if declared:
                    visit(stmt.body, True)
                continue
            if isinstance(stmt, ast.ClassDef):
                continue
            for field in ("body", "orelse", "finalbody"):
                visit(getattr(stmt, field, []) or [], in_global)
            for handler in getattr(stmt, "handlers", []) or []:
                visit(handler.body, in_global)

    visit(tree.body, True)
    return found


def reachable(tree: ast.Module, entry: ast.AST) -> list[ast.AST]:
    """The code ``entry`` can run in this file: itself, the module-level statements
    (they run at import), and every module-level function, class or assigned
    value they name, transitively (a class brings all its methods)."""
    definitions: dict[str, list[ast.AST]] = {}
    top: list[ast.AST] = [entry]
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            definitions.setdefault(stmt.name, []).append(stmt)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            continue
        else:
            top.append(stmt)
            for target in ast.walk(stmt):
                if isinstance(target, ast.Name) and isinstance(target.ctx, ast.Store):
                    definitions.setdefault(target.id, []).append(stmt)
    reached: list[ast.AST] = []
    seen: set[int] = set()
    pending = list(top)
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        reached.append(node)
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
                pending.extend(definitions.get(sub.id, []))
    return sorted(reached, key=lambda n: getattr(n, "lineno", 0))
