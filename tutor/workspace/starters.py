"""The starter a learner gets, in their language, and whether a file is still it.

A pack has one starter per task, its docstring written in English; a Chinese
workspace should not greet the learner with English in their own file, so the
entry function's docstring is replaced by the task's prompt in the
workspace's language (nothing else in the starter changes). A file that is
still a starter, in any language, has not been started: saying so beats
showing the starter's ``NotImplementedError`` as if it were the learner's
error. Stdlib only.
"""

from __future__ import annotations

import ast
from typing import Any

from tutor.i18n import LANGUAGES
from tutor.source_text import SourceDecodeError, decode_source

__all__ = ["starter_text", "starter_state"]

def starter_text(task: Any, lang: str) -> str:
    """``task.starter`` with the entry's docstring in ``lang`` (from the prompt), when it has one.

    A predict task without a starter of its own gets one made in ``lang`` (``tutor.pack.prediction``).
    """
    starter = task.starter
    if getattr(task, "predict", None) is not None and not starter:
        from tutor.pack import prediction  # here: `tutor list` imports this module, and needs no prediction

        return prediction.starter(task, lang)
    prompt = _plain(task.prompt.get(lang)) if lang != "en" and _has(task.prompt, lang) else ""
    if not prompt:
        return starter
    try:
        tree = ast.parse(starter)
    except SyntaxError:
        return starter
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == task.entry:
            first = node.body[0] if node.body else None
            if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)) or first.end_lineno is None:
                return starter
            lines = starter.splitlines(keepends=True)
            indent = lines[first.lineno - 1][: first.col_offset]
            body = prompt.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
            doc_lines = body.splitlines() or [""]
            if len(doc_lines) == 1:
                doc = f'{indent}"""{doc_lines[0]}"""\n'
            else:
                rest = "".join(f"{indent}{line}\n" if line else "\n" for line in doc_lines[1:])
                doc = f'{indent}"""{doc_lines[0]}\n{rest}{indent}"""\n'
            return "".join(lines[: first.lineno - 1]) + doc + "".join(lines[first.end_lineno :])
    return starter


def starter_state(task: Any, content: bytes) -> tuple[str, SourceDecodeError | None]:
    """``"code"`` for a file to grade; else ``"starter"``, ``"empty"`` or ``"undecodable"`` (with why)."""
    try:
        text = decode_source(content)
    except SourceDecodeError as exc:
        return "undecodable", exc
    if not text.strip():
        return "empty", None
    normal = _normal(text)
    if any(normal == _normal(starter_text(task, lang)) for lang in LANGUAGES):
        return "starter", None
    return "code", None


def _normal(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _has(text: Any, lang: str) -> bool:
    """Whether the pack wrote ``text`` in ``lang`` itself (not the English fallback)."""
    return lang in text.languages()


def _plain(markdown: str) -> str:
    """The prompt as a docstring: backticks read well in code; bold markers do not."""
    return "\n".join(line.rstrip() for line in markdown.replace("**", "").strip().splitlines())
