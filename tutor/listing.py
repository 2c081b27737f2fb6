"""``tutor list``: the one function behind the command, fast enough to need no torch or pydantic."""

from __future__ import annotations

import sys
from pathlib import Path

from tutor.i18n import Message


PIPED_WIDTH = 160

M_REBUILDING = Message(
    en="Rebuilding progress: after damage, `tutor start` re-grades your files, and done tasks show again once it has.",
    zh="正在重建进度：进度文件损坏后，`tutor start` 会重新检查你的文件，完成后已通过的练习会重新显示。",
)


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
    # Piped, there is no terminal to fit: whole titles beat rich's default 80 columns.
    width = None if sys.stdout.isatty() else PIPED_WIDTH
    if progress is not None and progress.needs_rebuild:
        print(M_REBUILDING(ctx.lang), file=sys.stderr)
    Console(highlight=False, width=width).print(ListView(ctx.pack, progress, ctx.lang, current=current))
    return 0
