"""``{source: {max_lines, no_loops, forbid_names}}``: rules on the entry function's source, read not run."""

from __future__ import annotations

import ast
from typing import Any

from tutor.checks import SOURCE_ENTRY, CaseContext, Finding
from tutor import pycode
from tutor.i18n import Message

SCOPE = "task"

M_NO_ENTRY = Message(en="No function `{entry}` found in your file.", zh="你的文件中没有找到函数 `{entry}`。")
M_LINES = Message(
    en="`{entry}` has {got} lines of code in its body; this task asks for at most {limit}.",
    zh="`{entry}` 的函数体有 {got} 行代码；本题要求最多 {limit} 行。",
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


def check(ctx: CaseContext, options: Any) -> Finding | None:
    tree = pycode.parse(ctx.source)
    func = None if isinstance(tree, pycode.SyntaxProblem) else pycode.find_function(tree, ctx.entry)
    if func is None:
        return Finding(M_NO_ENTRY(ctx.lang, entry=ctx.entry), aspect=SOURCE_ENTRY)
    body = func.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]  # the docstring is not code
    if options.max_lines is not None:
        lines = {n.lineno for stmt in body for n in ast.walk(stmt) if hasattr(n, "lineno")}
        if len(lines) > options.max_lines:
            return Finding(M_LINES(ctx.lang, entry=ctx.entry, got=len(lines), limit=options.max_lines), aspect="max_lines")
    for node in ast.walk(func):
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
