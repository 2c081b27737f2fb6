"""``{efficiency: {max_flops, max_alloc_bytes, relative_to_reference, credit}}``: right, and not wasteful.

The entry call's FLOPs and fresh allocation are measured on each case, the
learner's in the sandbox and the reference's in the grader, by the same
counter (``tutor.jail.efficiency``). A case fails when either figure is over
its limit: the tighter of the absolute limit (a number, or an expression of
the case's dims) and ``relative_to_reference`` times the reference's figure.
A limit that names dims is not judged on a case written as plain values (it
has no dims); a relative limit is not judged where the reference's figures
are unknown (a student pack). ``credit`` is for the engine: the share of the
points a correct but wasteful answer keeps.
"""

from __future__ import annotations

from typing import Any

from tutor.checks import CaseContext, Finding
from tutor.i18n import Message
from tutor.measures import fmt_bytes, fmt_flops, fmt_shape
from tutor.pack import dimexpr

SCOPE = "case"

# (aspect, option with the absolute limit, key of the measured figure)
MEASURES = (("flops", "max_flops", "flops"), ("alloc", "max_alloc_bytes", "alloc_bytes"))

M_ALLOC = Message(
    en="Your answer allocates {got} of new tensor memory on this case, over the limit of {limit}{ref}.",
    zh="你的答案在这个用例上新分配了 {got} 的张量内存，超过了上限 {limit}{ref}。",
)
M_FLOPS = Message(
    en="Your answer takes {got} FLOPs on this case, over the limit of {limit}{ref}.",
    zh="你的答案在这个用例上用了 {got} 次浮点运算（FLOPs），超过了上限 {limit}{ref}。",
)
M_REF_ALLOC = Message(en="; the reference allocates {ref}", zh="；参考答案只分配 {ref}")
M_REF_FLOPS = Message(en="; the reference takes {ref}", zh="；参考答案只用 {ref}")
M_LARGEST = Message(
    en="Its largest tensor is a {shape} {dtype} tensor of {size}, made by `{op}`.",
    zh="其中最大的是一个 {shape} 的 {dtype} 张量，占 {size}，由 `{op}` 生成。",
)
M_HEAVIEST = Message(
    en="Its costliest step is `{op}` ({flops} FLOPs), making a {shape} tensor.",
    zh="其中开销最大的一步是 `{op}`（{flops} 次浮点运算），生成一个 {shape} 的张量。",
)
M_TRY_ALLOC = Message(
    en="Try a way that never builds such an intermediate: a matrix product (`@`, `torch.einsum`) or a"
    " reduction that combines as it goes, instead of broadcasting everything first and reducing afterwards.",
    zh="试试不构造这种中间张量的写法：用矩阵乘法（`@`、`torch.einsum`）或边算边归约，"
    "而不是先把一切广播出来再归约。",
)
M_TRY_FLOPS = Message(
    en="Compute only what the result needs: a whole matrix product of which only the diagonal is kept does"
    " far more work than multiplying element-wise and summing.",
    zh="只计算结果需要的部分：算出整个矩阵乘积却只保留对角线，比逐元素相乘再求和多做了大量运算。",
)


def limits(ctx: CaseContext, options: Any) -> dict[str, int | None]:
    """This case's limit per aspect (None: not judged here), the tighter of absolute and relative."""
    reference = ctx.reference.efficiency
    out: dict[str, int | None] = {}
    for aspect, option, key in MEASURES:
        bounds = []
        limit = getattr(options, option)
        if isinstance(limit, int):
            bounds.append(limit)
        elif isinstance(limit, str):
            expr = dimexpr.parse(limit)
            if ctx.dims and expr.symbols() <= set(ctx.dims):
                bounds.append(max(0, int(expr.value(ctx.dims))))
        if options.relative_to_reference is not None and reference is not None:
            bounds.append(int(options.relative_to_reference * reference[key]))
        out[aspect] = min(bounds) if bounds else None
    return out


def check(ctx: CaseContext, options: Any) -> Finding | None:
    got = ctx.learner.efficiency
    if got is None:
        return None
    bounds = limits(ctx, options)
    reference = ctx.reference.efficiency
    lang = ctx.lang
    for aspect, _, key in MEASURES:
        limit = bounds[aspect]
        if limit is None or got[key] <= limit:
            continue
        fmt = fmt_flops if aspect == "flops" else fmt_bytes
        ref = "" if reference is None else (M_REF_FLOPS if aspect == "flops" else M_REF_ALLOC)(lang, ref=fmt(reference[key]))
        details: dict[str, Any] = {"kind": "efficiency", "measure": key, "got": got[key], "limit": limit,
                                   "reference": None if reference is None else reference[key]}
        if aspect == "alloc":
            parts = [M_ALLOC(lang, got=fmt(got[key]), limit=fmt(limit), ref=ref)]
            largest = got.get("largest")
            if largest:
                details["largest"] = largest
                parts.append(M_LARGEST(lang, shape=fmt_shape(largest["shape"], ctx.dims), dtype=largest["dtype"],
                                       size=fmt_bytes(largest["bytes"]), op=largest["op"]))
            parts.append(M_TRY_ALLOC(lang))
        else:
            parts = [M_FLOPS(lang, got=fmt(got[key]), limit=fmt(limit), ref=ref)]
            heaviest = got.get("heaviest")
            if heaviest:
                details["heaviest"] = heaviest
                parts.append(M_HEAVIEST(lang, op=heaviest["op"], flops=fmt_flops(heaviest["flops"]),
                                        shape=fmt_shape(heaviest["shape"], ctx.dims)))
            parts.append(M_TRY_FLOPS(lang))
        return Finding(("" if lang == "zh" else " ").join(parts), details=details, aspect=aspect)
    return None
