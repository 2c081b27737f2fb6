"""``mutation``: every input ends the call as the reference left it.

Unchanged where the reference does not write in place, changed alike where it
does. Compared against the reference's inputs after its own call, so the rule
needs no annotation in the pack.
"""

from __future__ import annotations

from typing import Any

import torch

from tutor.checks import CaseContext, Finding
from tutor.grading.compare import compare
from tutor.i18n import Message

SCOPE = "case"

M_CHANGED = Message(
    en="Your function changed the input `{name}` in place, but it should leave it as it was"
    " (an in-place method such as `add_` or an assignment like `x[...] = ...` writes into the input). {detail}",
    zh="你的函数原地修改了输入 `{name}`，但它应当保持不变（`add_` 这类原地方法，或 `x[...] = ...` 这样的赋值，都会写入输入）。{detail}",
)
M_UNCHANGED = Message(
    en="The input `{name}` should be changed in place, but your function left it as it was:"
    " use an in-place operation (a method ending in `_`, or assignment into `{name}`).",
    zh="输入 `{name}` 应当被原地修改，但你的函数没有改动它：请使用原地操作（以 `_` 结尾的方法，或对 `{name}` 的下标赋值）。",
)
M_WRONG = Message(
    en="The input `{name}` was changed in place, but not as expected. {detail}",
    zh="输入 `{name}` 被原地修改了，但结果不对。{detail}",
)


def check(ctx: CaseContext, options: Any) -> Finding | None:
    for name, pristine in ctx.args.items():
        if not isinstance(pristine, torch.Tensor):
            continue
        expected = ctx.reference.inputs.get(name)
        got = ctx.learner.inputs.get(name)
        found = compare(expected, got, name, rtol_atol=ctx.tolerance, device=ctx.device, hidden=ctx.hidden,
                        lang=ctx.lang, strides=True)
        if found is None:
            continue
        reference_wrote = compare(pristine, expected, name, rtol_atol=None, device=ctx.device, hidden=True,
                                  lang=ctx.lang, strides=True) is not None
        learner_wrote = compare(pristine, got, name, rtol_atol=None, device=ctx.device, hidden=True,
                                lang=ctx.lang, strides=True) is not None
        if not reference_wrote:
            message, aspect = M_CHANGED(ctx.lang, name=name, detail=found.message), "changed-input"
        elif not learner_wrote:
            message, aspect = M_UNCHANGED(ctx.lang, name=name), "unchanged-input"
        else:
            message, aspect = M_WRONG(ctx.lang, name=name, detail=found.message), "wrong-change"
        return Finding(message, {**found.details, "path": f"input:{name}"}, aspect, found.expected, found.got)
    return None
