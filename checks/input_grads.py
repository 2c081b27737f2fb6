"""``{input_grads: [x, w]}``: after the call, the ``.grad`` the learner's own backward left on those inputs."""

from __future__ import annotations

from typing import Any

from tutor.checks import CaseContext, Finding
from tutor.grading.compare import compare
from tutor.i18n import Message

SCOPE = "case"

M_NO_GRAD = Message(
    en="`{name}.grad` is None after your function ran: call `.backward()` on the result, and make sure"
    " `{name}` is part of the computation (no `detach()`, `.item()` or `torch.no_grad()` on the way).",
    zh="你的函数运行后 `{name}.grad` 是 None：请对结果调用 `.backward()`，并确保 `{name}` 参与了计算"
    "（途中没有 `detach()`、`.item()` 或 `torch.no_grad()`）。",
)
M_UNEXPECTED = Message(
    en="`{name}.grad` should be None, but your function left a gradient in it.",
    zh="`{name}.grad` 应当是 None，但你的函数在其中留下了梯度。",
)


def compare_grads(ctx: CaseContext, names: list[str], expected: dict[str, Any], got: dict[str, Any]) -> Finding | None:
    """Shared with ``backward``: the same gradient rules, whoever ran backward."""
    for name in names:
        want, have = expected.get(name), got.get(name)
        if want is None and have is None:
            continue
        path = f"{name}.grad"
        if have is None:
            return Finding(M_NO_GRAD(ctx.lang, name=name), {"path": path}, "missing-grad", want, have)
        if want is None:
            return Finding(M_UNEXPECTED(ctx.lang, name=name), {"path": path}, "grad-on-wrong-input", want, have)
        found = compare(want, have, path, rtol_atol=ctx.tolerance, device=ctx.device,
                        hidden=ctx.hidden, lang=ctx.lang)
        if found:
            found.details.setdefault("compared", found.aspect)  # which property of the gradient differs
            found.aspect = "wrong-grad"
            return found
    return None


def check(ctx: CaseContext, options: list[str]) -> Finding | None:
    return compare_grads(ctx, options, ctx.reference.grads, ctx.learner.grads)
