"""Where a command stands: which workspace, which pack, which language.

One place answers these for every command, so `--pack`, the workspace's own
record and the built-in course are resolved the same way everywhere. Nothing
here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from tutor.errors import UserError
from tutor.i18n import Message, resolve_lang
from tutor.pack.builtin import builtin_course
from tutor.workspace import Workspace

BUILTIN = "builtin"

M_NO_WORKSPACE = Message(
    en="no tutor workspace here or above {path}: run `tutor start` (or `tutor init`) first",
    zh="{path} 及其上级目录中没有 tutor 工作区：请先运行 `tutor start`（或 `tutor init`）",
)
M_NO_TASK = Message(
    en="no task {task!r} in the pack (task ids look like lesson-id/task-id; `tutor list` shows them)",
    zh="课程中没有任务 {task!r}（任务编号形如 lesson-id/task-id；`tutor list` 可以列出它们）",
)


@dataclass
class Context:
    lang: str
    pack: Any  # a loaded Pack, or a PackIndex when only the table of contents is needed
    pack_source: str  # what a new workspace records: "builtin" or the path given
    workspace: Workspace | None

    def require_workspace(self) -> Workspace:
        if self.workspace is None:
            raise UserError(M_NO_WORKSPACE(self.lang, path=Path.cwd()))
        return self.workspace

    def task(self, task_id: str) -> tuple[object, object]:
        found = self.pack.find(task_id)
        if found is None:
            raise UserError(M_NO_TASK(self.lang, task=task_id))
        return found


def resolve(pack: Path | None = None, lang: str | None = None, workspace: Path | None = None, *,
            index_only: bool = False) -> Context:
    """``--pack`` wins; else the pack the workspace was made from; else the built-in course.

    ``index_only``: a cached table of contents is enough (``tutor list``).
    """
    load: Callable[[Path], Any]
    if index_only:
        from tutor.pack.index import load_index as load
    else:
        from tutor.pack.loader import load_pack as load
    language = resolve_lang(lang)
    ws = Workspace.find(workspace or Path.cwd())
    if pack is not None:
        source = str(Path(pack).resolve())
        return Context(language, load(Path(pack)), source, ws)
    if ws is not None:
        record = ws.pack_record()
        path = record.pack_path(ws.root)
        if path is not None:
            return Context(language, load(path), record.source, ws)
    return Context(language, load(builtin_course()), BUILTIN, ws)
