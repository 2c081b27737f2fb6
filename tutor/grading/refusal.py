"""Refusing code that reaches into torch's or the interpreter's internals, by reading it.

The op rules (``forbid``/``require``) are recorded inside the learner's own
process, so code that can reach torch's dispatch machinery, interpreter frames
or raw memory could hide a call or tamper with the recording. Such code has
no place in a fundamentals exercise: it is refused with a reason, unless the
task sets ``allow_internals``. This is the static half; the harness's audit
hook is the run-time half. Neither is a security boundary (the kernel layers
are); values, gradients and aliasing are judged in the grader regardless.
"""

from __future__ import annotations

import ast

from tutor import pycode
from tutor.i18n import Message

# Dotted names (and their prefixes) exercise code must not touch.
FORBIDDEN_PREFIXES = (
    "torch._C", "torch._dispatch", "torch.utils._python_dispatch", "torch.overrides",
    "torch._ops", "torch._subclasses", "torch._prims", "torch.library", "torch.ops",
    "sys._getframe", "sys._current_frames", "sys.settrace", "sys.setprofile", "sys.modules",
    "sys.addaudithook", "sys.audit", "gc", "ctypes", "_ctypes", "inspect", "importlib", "builtins",
    "tutor", "os.system", "os.popen", "os.exec", "os.spawn", "os.fork", "os.kill", "os.environ",
    "subprocess", "socket", "signal", "threading", "multiprocessing", "_thread", "mmap",
    "torch.from_file", "torch.UntypedStorage.from_file", "torch.load", "pickle", "marshal",
)  # fmt: skip
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__", "globals", "vars", "breakpoint", "open"}
FORBIDDEN_ATTRS = {
    "f_back", "f_globals", "f_locals", "f_builtins", "f_code", "tb_frame", "tb_next", "gi_frame",
    "cr_frame", "ag_frame", "__code__", "__globals__", "__builtins__", "__subclasses__", "__bases__",
    "__mro__", "__closure__", "__dict__", "__getattribute__", "__reduce__", "__reduce_ex__",
    "__torch_function__", "__torch_dispatch__", "_C",
}  # fmt: skip

M_REFUSED = Message(
    en="Line {line}: `{what}` reaches inside torch or the interpreter, which exercises don't allow here."
    " Solve the task with public tensor operations.",
    zh="第 {line} 行：`{what}` 会深入 torch 或解释器的内部，本练习不允许这样做。请用公开的张量运算完成任务。",
)



def _forbidden(name: str, aliases: dict[str, str]) -> bool:
    head, _, rest = name.partition(".")
    full = aliases.get(head, head) + (f".{rest}" if rest else "")
    return any(full == p or full.startswith(p + ".") for p in FORBIDDEN_PREFIXES)


def refusal(tree: ast.Module, lang: str) -> str | None:
    """The reason to refuse this source, or None."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
                if _forbidden(alias.name, {}):
                    return M_REFUSED(lang, line=node.lineno, what=f"import {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            for alias in node.names:
                full = f"{module}.{alias.name}" if module else alias.name
                aliases[alias.asname or alias.name] = full
                if node.level or _forbidden(module, {}) or _forbidden(full, {}):
                    return M_REFUSED(lang, line=node.lineno, what=f"from {module or '.'} import {alias.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            if node.attr in FORBIDDEN_ATTRS:
                return M_REFUSED(lang, line=node.lineno, what=f".{node.attr}")
            name = pycode.dotted_name(node)
            if name and _forbidden(name, aliases):
                return M_REFUSED(lang, line=node.lineno, what=name)
        elif isinstance(node, ast.Name):
            if node.id in FORBIDDEN_CALLS or node.id in FORBIDDEN_ATTRS:
                return M_REFUSED(lang, line=node.lineno, what=node.id)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "setattr", "delattr"):
            target = node.args[1] if len(node.args) > 1 else None
            if not (isinstance(target, ast.Constant) and isinstance(target.value, str)):
                return M_REFUSED(lang, line=node.lineno, what=f"{node.func.id} with a computed name")
            if target.value in FORBIDDEN_ATTRS or target.value.startswith("_"):
                return M_REFUSED(lang, line=node.lineno, what=f"{node.func.id}(..., {target.value!r})")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in FORBIDDEN_ATTRS:
            return M_REFUSED(lang, line=node.lineno, what=repr(node.value))
    return None
