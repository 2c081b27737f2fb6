"""``{backward: [x, w]}``: gradients through the learner's result, with an upstream gradient the grader drew.

The grader draws the upstream gradient (a random tensor per output), so a
result that is right in value but wrong in its graph (detached, a constant, a
hand-made backward that lies) is caught.
"""

from __future__ import annotations

from tutor.checks import CaseContext, Finding
from tutor.checks.input_grads import compare_grads
from tutor.grading.runtime_errors import explain
from tutor.i18n import Message

SCOPE = "case"

M_FAILED = Message(
    en="The gradient could not be computed through your result: {reason}",
    zh="无法通过你的结果计算梯度：{reason}",
)


def check(ctx: CaseContext, options: list[str]) -> Finding | None:
    if ctx.learner.backward_error:
        message = M_FAILED(ctx.lang, reason=ctx.learner.backward_error)
        known = explain(ctx.learner.backward_error, ctx.args, ctx.lang)
        details = {} if known is None else {"error_kind": known[0]}
        return Finding(message if known is None else f"{message}\n{known[1]}", details, "missing-grad")
    return compare_grads(ctx, options, ctx.reference.backward_grads, ctx.learner.backward_grads)
