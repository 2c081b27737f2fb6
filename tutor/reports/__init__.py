"""Output formats of ``tutor grade``: one module per format, each a pure function
from ``WorkspaceResult``s to text (no printing, no files, no torch).

``FORMATS`` maps a format name to its render function. It is lazy: listing the
names (for ``--format`` choices and ``--help``) imports nothing; a format's
module is imported the first time its function is looked up.

All formats take their numbers from ``tutor.reports.common`` (points rounded
once, written one way), so every format reports the same per-task points and
the same total.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tutor.verdict import WorkspaceResult

Renderer = Callable[..., str]

# name -> "module:function", relative to this package.
_SPECS: dict[str, str] = {
    "text": "text:render",
    "json": "json:render",
    "junit": "junit:render",
    "gradescope": "gradescope:render",
    "github": "github:render",
    "csv": "csv:render",
    "prairielearn": "prairielearn:render",
    "exercism": "exercism:render",
}

# Formats that describe one submission: given several workspaces they raise ValueError.
# Their consumer owns the verdict, so `tutor grade` exits 0 once their file is
# written, and when it cannot grade it writes one that says why
# (``render_not_gradable``): Gradescope, PrairieLearn and Exercism read a file,
# not an exit code (PrairieLearn and Exercism discard it on a non-zero exit).
SINGLE_WORKSPACE = frozenset({"gradescope", "prairielearn", "exercism"})


class _LazyFormats(Mapping[str, "Renderer"]):
    def __init__(self, specs: dict[str, str]) -> None:
        self._specs = specs
        self._loaded: dict[str, Renderer] = {}

    def __getitem__(self, name: str) -> Renderer:
        if name not in self._loaded:
            module, _, function = self._specs[name].partition(":")
            self._loaded[name] = getattr(importlib.import_module(f"{__name__}.{module}"), function)
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __repr__(self) -> str:
        return f"FORMATS({', '.join(self._specs)})"


FORMATS: Mapping[str, Renderer] = _LazyFormats(_SPECS)


def render(fmt: str, results: list[WorkspaceResult], **options: Any) -> str:
    """``results`` in format ``fmt``; ValueError for an unknown format (or, for a
    one-submission format, several workspaces). ``options`` go to the format
    (``csv``: ``id_from``, ``bom``)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    return FORMATS[fmt](list(results), **options)


def render_not_gradable(fmt: str, reason: str) -> str:
    """The results file of a one-submission format ``fmt`` for a submission that could not be graded."""
    if fmt not in SINGLE_WORKSPACE:
        raise ValueError(f"{fmt} has no not-gradable file; it reports through the exit code")
    module = importlib.import_module(f"{__name__}.{_SPECS[fmt].partition(':')[0]}")
    text: str = module.render_not_gradable(reason)
    return text


__all__ = ["FORMATS", "SINGLE_WORKSPACE", "render", "render_not_gradable"]
