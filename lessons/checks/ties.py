"""The built-in course's own checks: grading where the prompt allows more than one answer."""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from tutor.checks import CaseContext, Finding
from tutor.checks import result as result_check


def any_mode(ctx: CaseContext, options: Any) -> Finding | None:
    """`(medians, modes)` per row, where any of a row's equally frequent values is a right mode.

    `torch.mode` does not document which of several tied values it returns, so the
    reference's pick is replaced by the learner's wherever the learner's value is
    also a most frequent one, and the `result` check then judges everything else
    (structure, dtype, device, the medians) as it does for every task.
    """
    x, reference, learner = ctx.args["x"], ctx.reference.result, ctx.learner.result
    if _comparable(learner, reference):
        got = learner[1].to(x.device)
        counts = (x.unsqueeze(-1) == x.unsqueeze(-2)).sum(dim=-1)  # how often each element occurs in its row
        top = counts.max(dim=-1).values
        tied = (x == got.unsqueeze(-1)).sum(dim=-1) == top
        modes = torch.where(tied, got, reference[1].to(x.device)).to(reference[1].device)
        reference = (reference[0], modes)
    judged = dataclasses.replace(ctx, reference=dataclasses.replace(ctx.reference, result=reference))
    return result_check.check(judged, None)


def _comparable(learner: Any, reference: Any) -> bool:
    """Only a well-formed pair is worth adjusting; anything else goes to `result` as it came."""
    return (
        isinstance(learner, tuple)
        and len(learner) == 2
        and isinstance(learner[1], torch.Tensor)
        and learner[1].shape == reference[1].shape
        and learner[1].dtype == reference[1].dtype
    )
