"""``{forbid: [torch.sigmoid, Tensor.sigmoid]}``: none of those was used during the learner's call.

Recorded at run time in the learner's process (function calls, aten
operators and autograd nodes), so methods, aliases and operators are caught.
Code that reaches torch's internals to hide a call is refused by the sandbox.
"""

from __future__ import annotations

from tutor.checks import CaseContext, Finding
from tutor.grading.ops import forbidden_uses, resolve
from tutor.i18n import Message

SCOPE = "case"

M_FORBIDDEN = Message(
    en="This task asks you to do it without `{name}`, but your code used it ({seen}). Build it from simpler operations.",
    zh="本题要求不使用 `{name}`，但你的代码用到了它（{seen}）。请用更基本的运算来实现。",
)


def check(ctx: CaseContext, options: list[str]) -> Finding | None:
    for name in options:
        uses = forbidden_uses(resolve(name), ctx.learner.calls, ctx.learner.ops, ctx.learner.grad_fns)
        if uses:
            return Finding(M_FORBIDDEN(ctx.lang, name=name, seen=", ".join(sorted(set(uses))[:3])), aspect=name)
    return None
