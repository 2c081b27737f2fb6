"""``{custom: checks.mine:check_name}``: the pack's own check, trusted code run in the grader.

It implements the same contract as the built-in kinds (see ``checks/__init__``)
and may return a Finding, None, a bool or a message string. Its options, its
scope (``case`` or ``task``; ``SCOPE`` below is the default) and whether it is
a how-rule come from the lesson (``tutor.pack.models.CustomOptions``).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any, Callable

from tutor.checks import CaseContext, Finding
from tutor.i18n import Message

SCOPE = "case"

M_FAILED = Message(en="The check `{name}` did not hold.", zh="检查 `{name}` 未通过。")

_loaded: dict[tuple[Path, str], Callable[..., Any]] = {}


def load(pack_root: Path, target: str) -> Callable[..., Any]:
    """Import ``checks.module:function`` from a pack's folder (once per grader)."""
    module_name, func_name = target.split(":")
    file = pack_root.joinpath(*module_name.split(".")).with_suffix(".py")
    key = (file.resolve(), func_name)
    if key not in _loaded:
        unique = f"tutor_pack_checks_{abs(hash(str(file.resolve())))}_{file.stem}"
        spec = importlib.util.spec_from_file_location(unique, file)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {file}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[unique] = module
        spec.loader.exec_module(module)
        _loaded[key] = getattr(module, func_name)
    return _loaded[key]


def run(func: Callable[..., Any], ctx: CaseContext, options: Any, name: str) -> Finding | None:
    outcome = func(ctx, options)
    if outcome is None or outcome is True:
        return None
    if outcome is False:
        return Finding(M_FAILED(ctx.lang, name=name))
    if isinstance(outcome, str):
        return Finding(outcome)
    if isinstance(outcome, Finding):
        return outcome
    raise TypeError(f"custom check {name} returned {type(outcome).__name__}; expected Finding, None, bool or str")
