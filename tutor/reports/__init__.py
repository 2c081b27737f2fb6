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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tutor.verdict import WorkspaceResult

Renderer = Callable[["list[WorkspaceResult]"], str]

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


def render(fmt: str, results: list[WorkspaceResult]) -> str:
    """``results`` in format ``fmt``; ValueError for an unknown format (or, for a
    one-submission format, several workspaces)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    return FORMATS[fmt](list(results))


__all__ = ["FORMATS", "SINGLE_WORKSPACE", "render"]
