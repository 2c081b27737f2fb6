"""The grader's side of efficiency checks: reading the child's figures, the verdict's rows, the credit.

The child measures (``tutor.jail.efficiency``) and sends its figures in the
case frame's header; like everything from that process they are read with
strict caps here, and anything out of shape makes the run inconsistent. The
check itself (``tutor.checks.efficiency``) judges one case; this module turns
the cases into the verdict's ``efficiency`` rows and says what a correct but
wasteful answer is worth.
"""

from __future__ import annotations

from typing import Any

from tutor.checks import CaseContext, Run
from tutor.checks import efficiency as check
from tutor.jail.frames import WireError
from tutor.pack.models import Task

MAX_COUNT = 2**63 - 1
MAX_SHAPE = 16
MAX_NAME = 80


def _count(value: Any) -> int:
    if type(value) is not int or not 0 <= value <= MAX_COUNT:
        raise WireError("bad efficiency figure")
    return value


def _shape(value: Any) -> list[int]:
    if not isinstance(value, list) or len(value) > MAX_SHAPE:
        raise WireError("bad efficiency shape")
    return [_count(d) for d in value]


def _name(value: Any) -> str:
    if not isinstance(value, str):
        raise WireError("bad efficiency name")
    return value[:MAX_NAME]


def read_figures(raw: Any) -> dict[str, Any] | None:
    """The ``efficiency`` of a case frame's header, validated, or None when the run measured nothing."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != {"flops", "alloc_bytes", "largest", "heaviest"}:
        raise WireError("bad efficiency figures")
    largest, heaviest = raw["largest"], raw["heaviest"]
    if largest is not None:
        if not isinstance(largest, dict) or set(largest) != {"bytes", "op", "shape", "dtype"}:
            raise WireError("bad efficiency figures")
        largest = {"bytes": _count(largest["bytes"]), "op": _name(largest["op"]), "shape": _shape(largest["shape"]),
                   "dtype": _name(largest["dtype"])}
    if heaviest is not None:
        if not isinstance(heaviest, dict) or set(heaviest) != {"flops", "op", "shape"}:
            raise WireError("bad efficiency figures")
        heaviest = {"flops": _count(heaviest["flops"]), "op": _name(heaviest["op"]), "shape": _shape(heaviest["shape"])}
    return {"flops": _count(raw["flops"]), "alloc_bytes": _count(raw["alloc_bytes"]), "largest": largest,
            "heaviest": heaviest}


def row(ctx: CaseContext, options: Any) -> dict[str, Any] | None:
    """One case's figures for the verdict: the learner's, the reference's and the limits applied."""
    got = ctx.learner.efficiency
    if got is None:
        return None
    reference: Run = ctx.reference
    bounds = check.limits(ctx, options)
    return {
        "case": ctx.case,
        "flops": got["flops"],
        "alloc_bytes": got["alloc_bytes"],
        "reference_flops": reference.efficiency["flops"] if reference.efficiency else None,
        "reference_alloc_bytes": reference.efficiency["alloc_bytes"] if reference.efficiency else None,
        "max_flops": bounds["flops"],
        "max_alloc_bytes": bounds["alloc"],
        "largest": got["largest"],
    }


def credit(task: Task) -> float:
    """The share of the points a correct answer earns when only efficiency fails (0 without the check)."""
    spec = task.check("efficiency")
    return float(spec.options.credit) if spec is not None else 0.0

