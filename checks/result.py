"""``result``: the returned value equals the reference's, structure and all."""

from __future__ import annotations

from typing import Any

from tutor.checks import CaseContext, Finding
from tutor.grading.compare import compare

SCOPE = "case"


def check(ctx: CaseContext, options: Any) -> Finding | None:
    return compare(
        ctx.reference.result,
        ctx.learner.result,
        "result",
        rtol_atol=ctx.tolerance,
        device=ctx.device,
        hidden=ctx.hidden,
        lang=ctx.lang,
        strides=bool(options and options.strides),
        scalars=bool(options and options.scalar_or_tensor),
    )
