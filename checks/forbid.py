"""``{forbid: [torch.sigmoid, Tensor.sigmoid]}``: the learner's code used none of those.

Judged on what the learner called (functions, methods, operators, aliases),
recorded at run time from module import through backward and encoding; an
aten operator counts only when no call explains it. What torch does inside a
permitted call (matmul's ``squeeze_``) is not the learner's. Code that reaches
torch's internals to hide a call is refused by the restricted dialect.
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
        uses = forbidden_uses(resolve(name), ctx.learner.calls, ctx.learner.ops)
        if uses:
            return Finding(M_FORBIDDEN(ctx.lang, name=name, seen=", ".join(sorted(set(uses))[:3])), aspect=name)
    return None
