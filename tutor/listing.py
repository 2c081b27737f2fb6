"""``tutor list``: the one function behind the command, fast enough to need no torch or pydantic."""

from __future__ import annotations

import sys
from pathlib import Path


def show_list(pack: Path | None = None, lang: str | None = None) -> int:
    from rich.console import Console

    from tutor import context
    from tutor.ui.list_view import ListView
    from tutor.workspace import Progress

    ctx = context.resolve(pack, lang, index_only=True)
    progress = Progress.load(ctx.workspace, ctx.lang) if ctx.workspace else None
    for warning in progress.warnings if progress else []:
        print(warning, file=sys.stderr)
    current = progress.current_task(ctx.pack.task_ids()) if progress else None
    Console(highlight=False).print(ListView(ctx.pack, progress, ctx.lang, current=current))
    return 0
