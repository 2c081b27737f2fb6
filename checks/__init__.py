"""Check kinds, and the one contract every check (built-in or a pack's own) implements.

A check compares the learner's run with the reference's run on the same
inputs. It runs in the grader's process, never beside learner code, and sees
only decoded, validated data: tensors rebuilt from the sandbox's payload, not
objects the learner's code made.

The contract
------------
A check is a function::

    def check(ctx: CaseContext, options) -> Finding | None

``None`` means the check holds on that case. A ``Finding`` says why it does
not, in words a learner can act on (``ctx.lang`` is their language). A custom
check named ``{custom: checks.mine:close_enough}`` in a pack is the function
``close_enough`` in the pack's ``checks/mine.py``, with the same signature;
it may also return ``True``/``False`` or a message string (a failure).

Built-in kinds are the modules of this package, each exposing ``check`` and a
``SCOPE``: ``"case"`` (run on every case) or ``"task"`` (run once, on the
learner's source; ``ctx.case`` is then the first case).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Run:
    """One side's run of one case (the learner's or the reference's)."""

    result: Any = None  # the returned value
    inputs: dict[str, Any] = field(default_factory=dict)  # the arguments, after the call
    grads: dict[str, Any] = field(default_factory=dict)  # .grad of each tensor argument after the call
    backward_grads: dict[str, Any] = field(default_factory=dict)  # .grad after the grader's backward
    backward_error: str | None = None  # why the grader's backward could not run
    calls: list[str] = field(default_factory=list)  # torch functions and methods called, qualified
    ops: list[str] = field(default_factory=list)  # aten operators dispatched
    grad_fns: list[str] = field(default_factory=list)  # autograd nodes behind the result
    # Storage identity: for each tensor path ("result", "result[0]", "input:x"), a storage key.
    storages: dict[str, int] = field(default_factory=dict)


@dataclass
class CaseContext:
    task_id: str
    case: int
    hidden: bool  # a random case: never show its values
    args: dict[str, Any]  # pristine inputs, as the grader made them
    learner: Run
    reference: Run
    tolerance: tuple[float, float] | None  # (rtol, atol) from the task, None: by dtype
    device: str
    lang: str
    source: str  # the learner's file
    entry: str


@dataclass
class Finding:
    message: str
    details: dict[str, Any] = field(default_factory=dict)


CheckFunction = Any  # Callable[[CaseContext, Any], Finding | bool | str | None]
