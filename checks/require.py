"""``{require: [Tensor.view]}``: each was called at least once by the learner's code.

Matched on the functions and methods the learner called (with their aliases),
not on the operators torch dispatches internally: ``reshape`` does not count
as calling ``view`` even when it dispatches one.
"""

from __future__ import annotations

from tutor.checks import CaseContext, Finding
from tutor.grading.ops import calls_matching, resolve
from tutor.i18n import Message

SCOPE = "case"

M_REQUIRED = Message(
    en="This task asks you to use `{name}`, but your code never called it.",
    zh="本题要求使用 `{name}`，但你的代码没有调用它。",
)


def check(ctx: CaseContext, options: list[str]) -> Finding | None:
    for name in options:
        if not calls_matching(resolve(name), ctx.learner.calls):
            return Finding(M_REQUIRED(ctx.lang, name=name), aspect=name)
    return None
