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
it may also return ``True``/``False`` or a message string (a failure). Written
``{custom: {check: checks.mine:fn, options: ..., scope: task, rule: true}}``,
it receives ``options`` as its second argument and, with ``scope: task``, runs
once per task on the learner's source (like ``source``), reported once.

Built-in kinds are the modules of this package, each exposing ``check`` and a
``SCOPE``: ``"case"`` (run on every case) or ``"task"`` (run once, on the
learner's source; ``ctx.case`` is then the first case). A kind may also
expose ``applies(ctx, options) -> bool``: False leaves that case out of the
check, and no result is listed for it (``gradcheck``'s ``skip_cases``), so a
verdict never shows as held a check that did not run.

Aspects
-------
A ``Finding`` names the aspect of the check that failed, so feedback can be
keyed by the mistake rather than by the check (``feedback: {result.shape:
...}``) and reports can count mistakes. The vocabulary is ``ASPECTS``; for
``forbid`` and ``require`` the aspect is the listed name that was broken, for
``source`` the rule (``max_lines``, ``no_loops``, ...), for ``custom`` whatever
the pack's check says.
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
    gradcheck: dict[str, Any] | None = None  # the child's gradcheck report (``checks/gradcheck.py``)
    # Storage identity: for each tensor path ("result", "result[0]", "input:x"), a storage key.
    storages: dict[str, int] = field(default_factory=dict)
    # What the entry call cost, when the task measures it (``tutor.jail.efficiency``):
    # {"flops": int, "alloc_bytes": int, "largest": {"bytes", "op", "shape", "dtype"} | None}.
    efficiency: dict[str, Any] | None = None


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
    dims: dict[str, int] = field(default_factory=dict)  # the case's dims (none for a case of plain values)


# The aspects each built-in check can fail on, most fundamental first within a check.
ASPECTS: dict[str, tuple[str, ...]] = {
    # structure: None, a wrong number of items or keys, another container; type: another kind of value.
    "result": ("structure", "type", "shape", "dtype", "device", "requires_grad", "values", "strides"),
    # structure: the path the reference returns a tensor at holds none in the learner's result.
    "aliasing": ("structure", "copy-where-view", "view-where-copy", "wrong-source"),
    # wrong-change: written in place, as the reference does, but with other values.
    "mutation": ("changed-input", "unchanged-input", "wrong-change"),
    "input_grads": ("missing-grad", "wrong-grad", "grad-on-wrong-input"),
    "backward": ("missing-grad", "wrong-grad", "grad-on-wrong-input"),
    # cannot-run: the function or its backward raised, or returned no tensor; no-function: no custom
    # autograd.Function made the result; rejected: gradcheck's other rules (a backward that is not reentrant...).
    "gradcheck": ("cannot-run", "no-function", "mismatch", "rejected"),
    # A predict task: the field predicted wrong, or ``unanswered`` (a ``...`` left in the file).
    "predict": ("unanswered", "shape", "dtype", "is_view", "shares_storage_with", "grad", "value"),
    # flops: more work than the limit; alloc: more fresh tensor memory than the limit.
    "efficiency": ("flops", "alloc"),
}
SOURCE_ENTRY = "entry"  # the `source` aspect when the entry function is not in the file


def possible_aspects(kind: str, options: Any) -> set[str] | None:
    """The aspects a check as configured can fail on (None: any, as for a custom check).

    Rule checks fail on their own rules: the names a ``forbid``/``require``
    lists, the ``source`` rules that are switched on.
    """
    if kind in ("forbid", "require"):
        return set(options or ())
    if kind == "source":
        rules = options.model_dump() if hasattr(options, "model_dump") else dict(options or {})
        rules.pop("scope", None)  # where the rules read, not a rule of its own
        return {name for name, value in rules.items() if value not in (None, False, [], {}, "")} | {SOURCE_ENTRY}
    if kind == "result":
        aspects = set(ASPECTS["result"])
        if not getattr(options, "strides", False):
            aspects.discard("strides")
        return aspects
    if kind == "efficiency":
        relative = getattr(options, "relative_to_reference", None) is not None
        return {aspect for aspect, limit in (("flops", "max_flops"), ("alloc", "max_alloc_bytes"))
                if relative or getattr(options, limit, None) is not None}
    return set(ASPECTS[kind]) if kind in ASPECTS else None


@dataclass
class Finding:
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    aspect: str | None = None  # which part of the check failed (see ASPECTS)
    # The two values that differ (reference's, learner's), for the misconception
    # detectors; never serialised into a verdict.
    expected: Any = field(default=None, repr=False, compare=False)
    got: Any = field(default=None, repr=False, compare=False)


CheckFunction = Any  # Callable[[CaseContext, Any], Finding | bool | str | None]
