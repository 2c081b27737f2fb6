"""``{gradcheck: {inputs: [x], eps: 1e-6, atol: 1e-5, rtol: 1e-3, skip_cases: [2]}}``: the learner's
custom ``torch.autograd.Function`` agrees with finite differences of its own forward.

Beside the reference comparison (``result``, ``backward``), which says whether
the answer is right, gradcheck says whether the learner's backward is the
derivative of the learner's forward, and where it is not. It needs the
learner's code, so ``torch.autograd.gradcheck`` runs in the sandbox child
(``tutor.jail.gradcheck``) on float64 copies of each case's inputs; the child
sends back plain data, decoded here strictly, and this module words it.

``skip_cases`` (numbered from 1, fixed cases first) leaves out cases where
finite differences mean nothing, such as a point on a kink: grade the
subgradient there by the reference's gradients (``backward``) instead.
With ``custom_function`` (the default), the result must come from a custom
``Function``'s node, or the task's point was skipped.
"""

from __future__ import annotations

import math
from typing import Any

from tutor.checks import CaseContext, Finding
from tutor.grading.runtime_errors import explain
from tutor.i18n import Message
from tutor.jail.frames import WireError

SCOPE = "case"

M_MISMATCH = Message(
    en="Your backward disagrees with finite differences at input `{at}`: d {out}/d {at} is {analytical:.6g} by your"
    " backward (analytical) but {numerical:.6g} by finite differences of your forward (numerical). {how}",
    zh="你的 backward 与有限差分在输入 `{at}` 处不一致：你的 backward 算出 d {out}/d {at} = {analytical:.6g}（解析值），"
    "而对你的 forward 做有限差分得到 {numerical:.6g}（数值）。{how}",
)
M_MISMATCH_HIDDEN = Message(
    en="Your backward disagrees with finite differences at input `{at}`: for d {out}/d {at}, your backward"
    " (analytical) and finite differences of your forward (numerical) differ by {diff:.3g}. {how}",
    zh="你的 backward 与有限差分在输入 `{at}` 处不一致：对 d {out}/d {at}，你的 backward（解析值）与对你的 forward"
    " 做有限差分（数值）相差 {diff:.3g}。{how}",
)
M_HOW = Message(
    en="(torch.autograd.gradcheck in float64, eps={eps:g}, atol={atol:g}, rtol={rtol:g}.) backward must return,"
    " for each input of forward, the incoming gradient times the derivative of what forward computed.",
    zh="（torch.autograd.gradcheck，float64，eps={eps:g}，atol={atol:g}，rtol={rtol:g}。）backward 必须为 forward"
    " 的每个输入返回：传入的梯度乘以 forward 所算函数的导数。",
)
M_RAISED = Message(
    en="gradcheck could not run your function on float64 copies of the inputs: it raised\n{detail}",
    zh="gradcheck 无法在输入的 float64 副本上运行你的函数：它抛出了错误\n{detail}",
)
M_NOT_TENSORS = Message(
    en="gradcheck needs your function to return a tensor (or a tuple of tensors), but it returned a {kind}.",
    zh="gradcheck 需要你的函数返回一个张量（或张量元组），但它返回的是 {kind}。",
)
M_REJECTED = Message(
    en="torch.autograd.gradcheck rejected your backward: {detail}",
    zh="torch.autograd.gradcheck 没有通过你的 backward：{detail}",
)
M_NO_FUNCTION = Message(
    en="Your result does not come from a custom `torch.autograd.Function`: this task grades your own backward, so"
    " subclass `torch.autograd.Function` with `forward(ctx, ...)` and `backward(ctx, grad_output)`, and return"
    " `YourFunction.apply(...)`.",
    zh="你的结果不是由自定义的 `torch.autograd.Function` 产生的：本题评判的是你自己写的 backward，所以请继承"
    " `torch.autograd.Function`，写出 `forward(ctx, ...)` 和 `backward(ctx, grad_output)`，并返回"
    " `YourFunction.apply(...)`。",
)
M_MISSING = Message(
    en="The gradcheck of this case did not come back; the run cannot be graded as passed.",
    zh="这个用例的 gradcheck 结果没有返回；这次运行不能算作通过。",
)

KINDS = ("mismatch", "raised", "not-tensors", "rejected")
_ASPECT = {"mismatch": "mismatch", "raised": "cannot-run", "not-tensors": "cannot-run", "rejected": "rejected"}
MAX_TEXT = 4000


def request(options: Any, case: int) -> dict[str, Any] | None:
    """What the child is asked to run on case ``case`` (0-based), as plain data; None: not this case."""
    if case + 1 in options.skip_cases:
        return None
    return {"inputs": options.inputs, "eps": options.eps, "atol": options.atol, "rtol": options.rtol}


def decode(raw: Any) -> dict[str, Any] | None:
    """The child's report, checked field by field; anything else raises (the run is then inconsistent)."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or type(raw.get("ok")) is not bool:
        raise WireError("a malformed gradcheck report")
    if raw["ok"]:
        if set(raw) != {"ok", "custom_function"} or type(raw["custom_function"]) is not bool:
            raise WireError("a malformed gradcheck report")
        return {"ok": True, "custom_function": raw["custom_function"]}
    kind = raw.get("kind")
    if kind not in KINDS:
        raise WireError("a malformed gradcheck report")
    if kind != "mismatch":
        if set(raw) != {"ok", "kind", "detail"} or not isinstance(raw["detail"], str):
            raise WireError("a malformed gradcheck report")
        return {"ok": False, "kind": kind, "detail": raw["detail"][:MAX_TEXT]}
    fields = {"ok", "kind", "input", "input_index", "output", "outputs", "output_index", "analytical", "numerical"}
    if set(raw) != fields or not isinstance(raw["input"], str) or not all(
        _count(raw[k]) for k in ("output", "outputs")) or not all(
        _index(raw[k]) for k in ("input_index", "output_index")) or not all(
        _number(raw[k]) for k in ("analytical", "numerical")):
        raise WireError("a malformed gradcheck report")
    return {**raw, "input": raw["input"][:100], "analytical": float(raw["analytical"]),
            "numerical": float(raw["numerical"])}


def _count(v: Any) -> bool:
    return type(v) is int and 0 <= v < 1 << 16


def _index(v: Any) -> bool:
    return type(v) is list and len(v) <= 64 and all(type(i) is int and 0 <= i < 1 << 48 for i in v)


def _number(v: Any) -> bool:
    return type(v) in (int, float)


def _element(name: str, index: list[int]) -> str:
    return f"{name}[{', '.join(map(str, index))}]" if index else name


def applies(ctx: CaseContext, options: Any) -> bool:
    """A case in ``skip_cases`` is not gradchecked, so it lists no gradcheck result."""
    return request(options, ctx.case) is not None


def check(ctx: CaseContext, options: Any) -> Finding | None:
    report = ctx.learner.gradcheck
    lang = ctx.lang
    if report is None:
        return Finding(M_MISSING(lang), {}, "cannot-run")
    if report["ok"]:
        if options.custom_function and not report["custom_function"]:
            return Finding(M_NO_FUNCTION(lang), {}, "no-function")
        return None
    kind = report["kind"]
    details: dict[str, Any] = {"gradcheck": kind}
    if kind == "mismatch":
        at = _element(report["input"], report["input_index"])
        out = _element("result" if report["outputs"] == 1 else f"result[{report['output']}]", report["output_index"])
        how = M_HOW(lang, eps=options.eps, atol=options.atol, rtol=options.rtol)
        a, n = report["analytical"], report["numerical"]
        details.update(input=at, output=out)
        if ctx.hidden:
            diff = abs(a - n) if math.isfinite(a - n) else math.inf
            message = M_MISMATCH_HIDDEN(lang, at=at, out=out, diff=diff, how=how)
        else:
            details.update(analytical=a, numerical=n)
            message = M_MISMATCH(lang, at=at, out=out, analytical=a, numerical=n, how=how)
        return Finding(message, details, "mismatch")
    if kind == "raised":
        message = M_RAISED(lang, detail=report["detail"])
        known = explain(report["detail"], ctx.args, lang)
        if known is not None:
            details["error_kind"] = known[0]
            message = f"{message}\n{known[1]}"
    elif kind == "not-tensors":
        message = M_NOT_TENSORS(lang, kind=report["detail"])
    else:
        message = M_REJECTED(lang, detail=report["detail"])
    return Finding(message, details, _ASPECT[kind])
