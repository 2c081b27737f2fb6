"""``{source: {max_lines, max_columns, no_loops, forbid_names, scope}}``: rules on the learner's source, read not run.

The rules cover what the entry function can run, not only its own ``def``: the
helpers, lambdas and classes it names, and the module-level code (it runs at
import), transitively (``scope: entry``, the default); ``scope: file`` covers
every line. The entry name must be bound once, by its ``def``: rebinding it
after a clean ``def`` would grade other code than the one read here.
"""

from __future__ import annotations

import ast
from typing import Any

from tutor.checks import SOURCE_ENTRY, CaseContext, Finding
from tutor import pycode
from tutor.i18n import Message

SCOPE = "task"

M_NO_ENTRY = Message(en="No function `{entry}` found in your file.", zh="你的文件中没有找到函数 `{entry}`。")
M_REBOUND = Message(
    en="Line {line}: `{entry}` is bound again here; define it once, with `def {entry}(...)`, and nothing else of that name.",
    zh="第 {line} 行：这里再次绑定了 `{entry}`；请只用 `def {entry}(...)` 定义一次，不要有其他同名的绑定。",
)
M_LINES = Message(
    en="`{entry}` has {got} lines of code in its body; this task asks for at most {limit} per function.",
    zh="`{entry}` 的函数体有 {got} 行代码；本题要求每个函数最多 {limit} 行。",
)
M_LINES_FILE = Message(
    en="Your file has {got} lines of code; this task asks for at most {limit}.",
    zh="你的文件共有 {got} 行代码；本题要求最多 {limit} 行。",
)
M_COLUMNS = Message(
    en="Line {line} is {got} characters wide; this task asks for at most {limit}.",
    zh="第 {line} 行有 {got} 个字符宽；本题要求每行最多 {limit} 个字符。",
)
M_LOOP = Message(
    en="Line {line}: this task asks for no Python loops (`for`, `while`, comprehensions): let tensor operations do the work.",
    zh="第 {line} 行：本题要求不使用 Python 循环（`for`、`while`、推导式）：让张量运算来完成。",
)
M_NAME = Message(
    en="Line {line}: `{name}` is not allowed in this task.",
    zh="第 {line} 行：本题不允许使用 `{name}`。",
)
LOOPS = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_NOT_CODE = (ast.Import, ast.ImportFrom)


def check(ctx: CaseContext, options: Any) -> Finding | None:
    tree = pycode.parse(ctx.source)
    if isinstance(tree, pycode.SyntaxProblem):
        return Finding(M_NO_ENTRY(ctx.lang, entry=ctx.entry), aspect=SOURCE_ENTRY)
    bound = pycode.bindings(tree, ctx.entry)
    defs = [b for b in bound if isinstance(b, ast.FunctionDef)]
    if not defs:
        return Finding(M_NO_ENTRY(ctx.lang, entry=ctx.entry), aspect=SOURCE_ENTRY)
    if len(bound) > 1:
        extra = next(b for b in bound if b is not defs[0])
        return Finding(M_REBOUND(ctx.lang, line=extra.lineno, entry=ctx.entry), aspect=SOURCE_ENTRY)
    whole_file = getattr(options, "scope", "entry") == "file"
    scope = list(tree.body) if whole_file else pycode.reachable(tree, defs[0])
    nodes = [n for root in scope for n in ast.walk(root)]
    if options.max_lines is not None:
        # Per function: the entry and each function it reaches (a puzzle's one-liner may use the
        # one-liners before it); with ``scope: file``, the whole file.
        counted = [(None, scope)] if whole_file else [
            (f.name, [f]) for root in scope for f in ast.walk(root) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for name, roots in counted:
            got = len(_code_lines(roots, body_only=not whole_file))
            if got > options.max_lines:
                if name is None:
                    return Finding(M_LINES_FILE(ctx.lang, got=got, limit=options.max_lines), aspect="max_lines")
                return Finding(M_LINES(ctx.lang, entry=name, got=got, limit=options.max_lines), aspect="max_lines")
    if getattr(options, "max_columns", None) is not None:
        lines = ctx.source.splitlines()
        spans = range(1, len(lines) + 1) if whole_file else sorted(
            {n for root in scope for n in range(root.lineno, (root.end_lineno or root.lineno) + 1)})
        for number in spans:
            width = len(lines[number - 1]) if number <= len(lines) else 0
            if width > options.max_columns:
                return Finding(M_COLUMNS(ctx.lang, line=number, got=width, limit=options.max_columns), aspect="max_columns")
    for node in nodes:
        if options.no_loops and isinstance(node, LOOPS):
            return Finding(M_LOOP(ctx.lang, line=node.lineno), aspect="no_loops")
        if options.forbid_names:
            name = pycode.dotted_name(node)
            if name and any(name == f or name.startswith(f + ".") or name.endswith("." + f) for f in options.forbid_names):
                return Finding(M_NAME(ctx.lang, line=node.lineno, name=name), aspect="forbid_names")
    if options.forbid_names:
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
                for name in names:
                    if any(name == f or name.startswith(f + ".") for f in options.forbid_names):
                        return Finding(M_NAME(ctx.lang, line=node.lineno, name=name), aspect="forbid_names")
    return None


def _code_lines(scope: list[ast.AST], body_only: bool) -> set[int]:
    """Lines holding code: the bodies of functions and classes (not their ``def`` lines or
    docstrings) and, unless ``body_only``, module-level statements other than imports.
    With ``body_only`` a nested function counts in its own right, not in its parent's."""
    lines: set[int] = set()

    def visit(node: ast.AST, top: bool) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if body_only and not top and not isinstance(node, ast.ClassDef):
                return
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                body = body[1:]  # the docstring is not code
            for stmt in body:
                visit(stmt, False)
            return
        if isinstance(node, (ast.stmt, ast.expr)):
            lines.add(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child, False)

    for root in scope:
        if not isinstance(root, _NOT_CODE):
            visit(root, True)
    return lines
