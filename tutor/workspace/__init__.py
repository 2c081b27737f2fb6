"""The learner's workspace: its layout, its progress, and writes that survive crashes.

Stdlib only (``tutor list`` imports this and must stay fast). The pieces:
``atomic`` (whole-or-nothing writes, the lock), ``layout`` (paths, the pack
record, starters, reset) and ``progress`` (per-task records).
"""

from tutor.workspace.atomic import atomic_write, locked
from tutor.workspace.layout import PackRecord, Workspace, WorkspaceError, is_workspace
from tutor.workspace.progress import Progress, ProgressError, TaskProgress

__all__ = [
    "PackRecord",
    "Progress",
    "ProgressError",
    "TaskProgress",
    "Workspace",
    "WorkspaceError",
    "atomic_write",
    "is_workspace",
    "locked",
]
