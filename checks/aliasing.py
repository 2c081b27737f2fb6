"""``aliasing``: each returned tensor shares storage with exactly what the reference's does.

Storage identity is read from the payload's structure (which storage each
tensor was sent on), so it is decided in the grader and cannot be faked by
patching ``data_ptr`` in the learner's process.
"""

from __future__ import annotations

from typing import Any

from tutor.checks import CaseContext, Finding, Run
from tutor.grading.compare import tensor_paths
from tutor.i18n import Message

SCOPE = "case"

M_COPY = Message(
    en="`{path}` should share storage with {expected} (be a view), but it is a copy."
    " Indexing, slicing, `view`, `t()` and `transpose` return views; `clone()`, `contiguous()` on a"
    " non-contiguous tensor, and `reshape` when it must, copy.",
    zh="`{path}` 应当与 {expected} 共享存储（是一个视图），但它是副本。"
    "索引、切片、`view`、`t()` 和 `transpose` 返回视图；`clone()`、对非连续张量调用 `contiguous()`，以及必要时的 `reshape` 会复制数据。",
)
M_VIEW = Message(
    en="`{path}` should be a new tensor with its own storage, but it shares storage with {got}:"
    " a later write to one would change the other. Use `clone()` to copy.",
    zh="`{path}` 应当是拥有独立存储的新张量，但它与 {got} 共享存储：以后修改其中一个会影响另一个。请用 `clone()` 复制。",
)
M_OTHER = Message(
    en="`{path}` shares storage with {got}, but it should share storage with {expected}.",
    zh="`{path}` 与 {got} 共享存储，但它应当与 {expected} 共享存储。",
)
M_MISSING = Message(
    en="`{path}` is not a tensor in your result, so its storage cannot be checked.",
    zh="你的结果中 `{path}` 不是张量，无法检查它的存储。",
)


#: Names listed per tensor in messages: enough to read, and it keeps a result
#: of thousands of references to one storage linear to check.
MAX_NAMES = 20


def storage_key(t: Any) -> tuple[str, int]:
    """Which storage a decoded tensor is on (the payload rebuilt sharing, so equal keys share)."""
    return (str(t.device), t.untyped_storage().data_ptr())


def storage_groups(run: Run) -> dict[str, frozenset[str]]:
    """For each returned tensor, every name on its storage (inputs, outputs, itself).

    One frozenset per storage, shared by all its tensors: linear in the
    number of tensors, however many refer to one storage.
    """
    outputs = tensor_paths(run.result)
    members: dict[tuple[str, int], list[str]] = {}
    for name, t in tensor_paths_of_inputs(run):
        members.setdefault(storage_key(t), []).append(f"`{name}`")
    for path, t in outputs:
        members.setdefault(storage_key(t), []).append(f"`{path}`")
    groups = {k: frozenset(v) for k, v in members.items()}
    return {path: groups[storage_key(t)] for path, t in outputs}


def sharing(run: Run) -> dict[str, list[str]]:
    """For each returned tensor, the inputs and other outputs on the same storage (at most MAX_NAMES)."""
    return {path: _others(group, path) for path, group in storage_groups(run).items()}


def _others(group: frozenset[str], path: str) -> list[str]:
    return sorted(n for n in group if n != f"`{path}`")[:MAX_NAMES]


def tensor_paths_of_inputs(run: Run) -> list[tuple[str, Any]]:
    return [(name, t) for name, value in run.inputs.items() for _, t in tensor_paths(value, name)]


def _names(names: list[str], lang: str) -> str:
    if not names:
        return "nothing" if lang != "zh" else "任何张量"
    return ", ".join(names)


def check(ctx: CaseContext, options: Any) -> Finding | None:
    expected = storage_groups(ctx.reference)
    got = storage_groups(ctx.learner)
    for path, want_group in expected.items():
        if path not in got:
            return Finding(M_MISSING(ctx.lang, path=path), {"path": path}, "structure")
        if got[path] == want_group:  # the same set: the same sharing, whatever the count
            continue
        want, have = _others(want_group, path), _others(got[path], path)
        details = {"kind": "aliasing", "path": path, "expected_shares": [n.strip("`") for n in want],
                   "got_shares": [n.strip("`") for n in have]}
        if want and not have:
            message, aspect = M_COPY(ctx.lang, path=path, expected=_names(want, ctx.lang)), "copy-where-view"
        elif have and not want:
            message, aspect = M_VIEW(ctx.lang, path=path, got=_names(have, ctx.lang)), "view-where-copy"
        else:
            message = M_OTHER(ctx.lang, path=path, got=_names(have, ctx.lang), expected=_names(want, ctx.lang))
            aspect = "wrong-source"
        return Finding(message, details, aspect)
    return None
