"""Misconception detectors: one plain sentence naming the mistake a wrong value shows.

A finding says *where* the learner's value differs; a detector recognises
*why* from the two values (and the case's inputs): the answer transposed, a
reduction along another dim, a dropped ``keepdim``, an off-by-one, a dtype
promotion, a copy where a view was wanted, an in-place write, a constant
factor or offset, a gradient that is the reference's times a constant or
accumulated twice. They run in the grader, on decoded values only. They are
tried most specific first and at most one speaks.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Callable

import torch

from tutor.checks import CaseContext, Finding
from tutor.checks.aliasing import sharing
from tutor.grading.compare import elementwise_close, tensor_paths, tolerance
from tutor.i18n import Message

MAX_NUMEL = 100_000  # detectors that recompute (reductions, permutations) skip larger tensors

M_ACCUMULATED = Message(
    en="Your gradient is exactly {k} times the expected one: gradients add up in `.grad` across backward"
    " calls, so it looks accumulated {k} times; zero it (`x.grad = None` or `x.grad.zero_()`) between them.",
    zh="你的梯度恰好是期望值的 {k} 倍：每次 backward 的梯度都会累加到 `.grad` 中，看起来它累加了 {k} 次；"
    "两次之间请清零（`x.grad = None` 或 `x.grad.zero_()`）。",
)
M_CHAIN = Message(
    en="Your gradient is the expected one times {c}: a constant factor of the chain rule is missing or extra"
    " (the derivative of the outer or inner function, a `2` from a square, a `1/n` from a mean).",
    zh="你的梯度是期望值乘以 {c}：链式法则中少了或多了一个常数因子（外层或内层函数的导数、平方带来的 `2`、均值带来的 `1/n`）。",
)
M_RETURNED_INPUT = Message(
    en="You computed the answer inside `{name}` itself and returned it: an in-place step (`+=`, a method"
    " ending in `_`) wrote into the caller's tensor. The out-of-place form (`{name} + 1`, `clamp`) makes a new one.",
    zh="你在 `{name}` 本身里算出了答案并返回了它：原地操作（`+=`、以 `_` 结尾的方法）写进了调用者的张量。"
    "非原地的写法（`{name} + 1`、`clamp`）会得到新张量。",
)
M_COPIED_BY = Message(
    en="`{call}` made that copy: it returns new memory. Slicing, `view`, `t()`, `transpose`, `narrow`"
    " and `expand` give views.",
    zh="是 `{call}` 产生了这个副本：它返回新的内存。切片、`view`、`t()`、`transpose`、`narrow` 和 `expand` 得到视图。",
)
M_RELAID = Message(
    en="Your values are right but laid out contiguously, where the view would not be: something re-laid"
    " them out in new memory (`contiguous()`, `clone()`, `reshape` of a non-contiguous tensor, or indexing"
    " with a list of indices).",
    zh="你的数值是对的，但按连续方式排布，而视图本不会是连续的：有操作把它们重新排进了新内存"
    "（`contiguous()`、`clone()`、对非连续张量的 `reshape`，或用下标列表索引）。",
)
M_SAME_TENSOR = Message(
    en="You returned `{name}` itself (same storage, shape and strides): `contiguous()`, `reshape` to the same"
    " shape or `.to()` the same dtype return their input unchanged when no copy is needed; `clone()` always copies.",
    zh="你返回的就是 `{name}` 本身（同一存储、形状和步长）：不需要复制时，`contiguous()`、形状不变的 `reshape`、"
    "dtype 相同的 `.to()` 都直接返回输入；`clone()` 总会复制。",
)
M_INT_TO_FLOAT = Message(
    en="The values are right, but as {got} instead of {expected}: something made the integers floating —"
    " true division `/`, mixing in a float, or `torch.Tensor(...)` (always the default float dtype);"
    " `//`, `torch.div(..., rounding_mode='floor')`, `torch.tensor(...)` or `.to(torch.{expected})` keep integers.",
    zh="数值是对的，但类型是 {got} 而不是 {expected}：有操作把整数变成了浮点——真除法 `/`、混入浮点数，"
    "或 `torch.Tensor(...)`（总是默认浮点类型）；`//`、`torch.div(..., rounding_mode='floor')`、`torch.tensor(...)` "
    "或 `.to(torch.{expected})` 能保持整数。",
)
M_STAYED_INT = Message(
    en="The values are right, but as {got} instead of {expected}: integer (or bool) tensors stay so until"
    " something makes them floating; pass `dtype=torch.{expected}` or use `.to(torch.{expected})`.",
    zh="数值是对的，但类型是 {got} 而不是 {expected}：整数（或布尔）张量会一直保持原类型，除非有操作把它变成浮点；"
    "请传入 `dtype=torch.{expected}` 或使用 `.to(torch.{expected})`。",
)
M_DEFAULT_FLOAT = Message(
    en="The values are right, but as float32 instead of {expected}: float32 is torch's default floating dtype,"
    " which a factory without `dtype=` or a `.float()` gives; ask for `dtype=torch.{expected}`.",
    zh="数值是对的，但类型是 float32 而不是 {expected}：float32 是 torch 默认的浮点类型，不带 `dtype=` 的工厂函数"
    "或 `.float()` 都会得到它；请指定 `dtype=torch.{expected}`。",
)
M_WIDER = Message(
    en="The values are right, but as {got} instead of {expected}: when operands' dtypes differ, type promotion"
    " picks the wider one, so a {got} operand (or a float64 NumPy array) widened the result.",
    zh="数值是对的，但类型是 {got} 而不是 {expected}：运算数类型不同时，类型提升会选更宽的那个，"
    "所以一个 {got} 的运算数（或 float64 的 NumPy 数组）把结果变宽了。",
)
M_OTHER_DTYPE = Message(
    en="The values are right, but as {got} instead of {expected}: convert with `.to(torch.{expected})` or"
    " create it with `dtype=torch.{expected}`.",
    zh="数值是对的，但类型是 {got} 而不是 {expected}：用 `.to(torch.{expected})` 转换，或创建时指定 `dtype=torch.{expected}`。",
)
M_META_DEVICE = Message(
    en="This hidden case gives your function its inputs (and any device argument) on PyTorch's `meta` device"
    " (shapes and dtypes, no values) to check that your result follows them: a tensor made without `device=`"
    " (`torch.tensor`, `torch.eye`, `torch.zeros`...), or never moved with `.to(device)`, stays on the CPU;"
    " pass `device=` the input's device.",
    zh="这个隐藏用例把输入（以及设备参数）放在 PyTorch 的 `meta` 设备上（只有形状和 dtype，没有数值），检查你的结果是否跟随它们："
    "不带 `device=` 创建的张量（`torch.tensor`、`torch.eye`、`torch.zeros`……），或没有用 `.to(device)` 搬过去的张量，"
    "会留在 CPU 上；请把输入的设备传给 `device=`。",
)
M_CPU_DEFAULT = Message(
    en="A tensor made without `device=` (`torch.tensor`, `torch.eye`, `torch.zeros`...) lives on the CPU:"
    " pass `device=` the input's device, or use a `*_like` factory.",
    zh="不带 `device=` 创建的张量（`torch.tensor`、`torch.eye`、`torch.zeros`……）在 CPU 上：请把输入的设备传给 `device=`，"
    "或使用 `*_like` 工厂函数。",
)
M_TRANSPOSED = Message(
    en="It equals the expected answer transposed: check the order of the dimensions.",
    zh="它恰好是正确答案的转置：检查一下维度的顺序。",
)
M_PERMUTED = Message(
    en="It equals the expected answer with its dimensions in another order (yours `.permute{order}` gives it):"
    " check the order of the dimensions.",
    zh="它就是正确答案，只是维度顺序不同（对你的结果做 `.permute{order}` 就得到它）：检查一下维度的顺序。",
)
M_KEEPDIM = Message(
    en="The values are right, but dimension {dim} (of size 1) is gone: pass `keepdim=True` to the reduction"
    " to keep it.",
    zh="数值是对的，但第 {dim} 维（大小为 1）不见了：给归约函数传入 `keepdim=True` 以保留它。",
)
M_EXTRA_DIM = Message(
    en="The values are right, but with an extra dimension {dim} of size 1: drop `keepdim=True` or the"
    " `unsqueeze`, or `squeeze({dim})` it.",
    zh="数值是对的，但多了大小为 1 的第 {dim} 维：去掉 `keepdim=True` 或 `unsqueeze`，或对它 `squeeze({dim})`。",
)
M_REDUCED = Message(
    en="Your result is `{name}` reduced along dim {got}, but the task reduces along dim {want}: `dim=` names"
    " the dimension that disappears.",
    zh="你的结果是 `{name}` 沿第 {got} 维归约的，但本题要沿第 {want} 维归约：`dim=` 指的是被消去的那一维。",
)
M_ONE_TOO_MANY = Message(
    en="One element too many along dim {dim} ({where}): an off-by-one in a range or slice end —"
    " `arange(a, b)` and `x[a:b]` stop before `b`.",
    zh="第 {dim} 维上多了一个元素（{where}）：范围或切片的端点差了一——`arange(a, b)` 和 `x[a:b]` 都不包含 `b`。",
)
M_ONE_TOO_FEW = Message(
    en="One element missing along dim {dim} ({where}): an off-by-one in a range or slice end —"
    " `arange(a, b)` and `x[a:b]` stop before `b`.",
    zh="第 {dim} 维上少了一个元素（{where}）：范围或切片的端点差了一——`arange(a, b)` 和 `x[a:b]` 都不包含 `b`。",
)
M_AT_START = Message(en="at the start", zh="在开头")
M_AT_END = Message(en="at the end", zh="在末尾")
M_SHIFTED = Message(
    en="Your values are the expected ones shifted by one along dim {dim}: an off-by-one in a start or end index.",
    zh="你的数值是期望值沿第 {dim} 维错开一位的结果：起点或终点下标差了一。",
)
M_SIGN = Message(
    en="Your result is the expected one with the opposite sign: a `-` is missing or extra somewhere.",
    zh="你的结果与期望值符号相反：某处少了或多了一个负号。",
)
M_FACTOR = Message(
    en="Your result is exactly {c} times the expected one: a constant factor is off (a missing or extra"
    " factor, a sum where a mean is wanted, or the reverse).",
    zh="你的结果恰好是期望值的 {c} 倍：某个常数因子不对（少了或多了一个因子，或把均值和求和弄反了）。",
)
M_OFFSET = Message(
    en="Your result is everywhere the expected one {sign} {d}: a constant offset is missing or extra.",
    zh="你的结果处处等于期望值 {sign} {d}：少了或多了一个常数偏移。",
)


@dataclass(frozen=True)
class Detector:
    id: str
    applies: Callable[[str, str | None], bool]  # (check kind, aspect)
    speak: Callable[[Finding, CaseContext], str | None]


def detect(kind: str, finding: Finding, ctx: CaseContext) -> tuple[str, str] | None:
    """The most specific detector that recognises this finding: (its id, its sentence)."""
    for detector in DETECTORS:
        if not detector.applies(kind, finding.aspect):
            continue
        try:
            sentence = detector.speak(finding, ctx)
        except (RuntimeError, TypeError, ValueError, IndexError):
            sentence = None  # an odd value (a dtype an op refuses): this detector has nothing to say
        if sentence:
            return detector.id, sentence
    return None


# ---------------------------------------------------------------- value helpers


def _tensors(finding: Finding) -> tuple[torch.Tensor, torch.Tensor] | None:
    e, g = finding.expected, finding.got
    if not isinstance(e, torch.Tensor) or not isinstance(g, torch.Tensor) or "meta" in (e.device.type, g.device.type):
        return None
    if e.numel() == 0 or g.numel() == 0 or e.is_complex() or g.is_complex():
        return None
    return e.detach(), g.detach().to(e.device)


def _same(expected: torch.Tensor, got: torch.Tensor, ctx: CaseContext) -> bool:
    """Equal shapes and values within the expected dtype's tolerance (dtypes may differ)."""
    if expected.shape != got.shape:
        return False
    rtol, atol = tolerance(expected.dtype, ctx.device, ctx.tolerance)
    if not (expected.dtype.is_floating_point or got.dtype.is_floating_point):
        return bool((expected == got).all())
    rtol, atol = max(rtol, 1e-5), max(atol, 1e-6)
    return bool(elementwise_close(expected.double(), got.double(), rtol, atol).all())


def _constant(values: torch.Tensor) -> float | None:
    """The one value all elements share (within float noise), or None."""
    if values.numel() == 0 or not bool(torch.isfinite(values).all()):
        return None
    first = float(values.flatten()[0])
    spread = float((values - first).abs().max())
    return first if spread <= 1e-4 * max(1.0, abs(first)) else None


def _ratio(expected: torch.Tensor, got: torch.Tensor) -> float | None:
    """c when got == c * expected everywhere (and expected is not all zero)."""
    if expected.shape != got.shape:
        return None
    e, g = expected.double(), got.double()
    nonzero = e.abs() > 1e-6
    if not bool(nonzero.any()) or not bool((g[~nonzero].abs() <= 1e-5).all()):
        return None
    return _constant(g[nonzero] / e[nonzero])


def _fmt(c: float) -> str:
    return f"{c:.3g}"


# ---------------------------------------------------------------- detectors, most specific first


def _accumulated(finding: Finding, ctx: CaseContext) -> str | None:
    pair = _tensors(finding)
    c = _ratio(*pair) if pair else None
    if c is not None and round(c) in (2, 3, 4) and abs(c - round(c)) < 1e-4:
        return M_ACCUMULATED(ctx.lang, k=int(round(c)))
    return None


def _chain_factor(finding: Finding, ctx: CaseContext) -> str | None:
    pair = _tensors(finding)
    c = _ratio(*pair) if pair else None
    return M_CHAIN(ctx.lang, c=_fmt(c)) if c is not None and abs(c - 1) > 1e-4 else None


def _returned_input(finding: Finding, ctx: CaseContext) -> str | None:
    name = str(finding.details.get("path", "")).removeprefix("input:")
    shared = sharing(ctx.learner)
    if any(f"`{name}`" in names for names in shared.values()):
        return M_RETURNED_INPUT(ctx.lang, name=name)
    return None


_COPYING_CALLS = ("clone", "contiguous", "reshape", "flatten", "tensor", "as_tensor", "to", "copy_", "index_select",
                  "masked_select", "repeat", "cat", "stack")


def _copied(finding: Finding, ctx: CaseContext) -> str | None:
    for call in ctx.learner.calls:
        short = call.rsplit(".", 1)[-1]
        if short in _COPYING_CALLS:
            return M_COPIED_BY(ctx.lang, call=short + "()")
    path = finding.details.get("path")
    mine = dict(tensor_paths(ctx.learner.result)).get(path)
    theirs = dict(tensor_paths(ctx.reference.result)).get(path)
    if mine is not None and theirs is not None and mine.is_contiguous() and not theirs.is_contiguous():
        return M_RELAID(ctx.lang)
    return None


def _same_tensor(finding: Finding, ctx: CaseContext) -> str | None:
    mine = dict(tensor_paths(ctx.learner.result)).get(finding.details.get("path"))
    if mine is None:
        return None
    for name, value in ctx.learner.inputs.items():
        if isinstance(value, torch.Tensor) and value.untyped_storage().data_ptr() == mine.untyped_storage().data_ptr() \
                and (value.shape, value.stride(), value.storage_offset()) == (mine.shape, mine.stride(), mine.storage_offset()):
            return M_SAME_TENSOR(ctx.lang, name=name)
    return None


def _fixed_device(finding: Finding, ctx: CaseContext) -> str | None:
    expected, got = finding.expected, finding.got
    if not isinstance(expected, torch.Tensor) or not isinstance(got, torch.Tensor) or got.device.type != "cpu":
        return None
    return (M_META_DEVICE if expected.device.type == "meta" else M_CPU_DEFAULT)(ctx.lang)


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _promotion(finding: Finding, ctx: CaseContext) -> str | None:
    pair = _tensors(finding)
    if pair is None or not _same(*pair, ctx):
        return None
    expected, got = (finding.expected.dtype, finding.got.dtype)
    names = {"expected": _dtype_name(expected), "got": _dtype_name(got)}
    if got.is_floating_point and not expected.is_floating_point:
        return M_INT_TO_FLOAT(ctx.lang, **names)
    if expected.is_floating_point and not got.is_floating_point:
        return M_STAYED_INT(ctx.lang, **names)
    if got == torch.float32 and expected.is_floating_point:
        return M_DEFAULT_FLOAT(ctx.lang, **names)
    if torch.promote_types(expected, got) == got:
        return M_WIDER(ctx.lang, **names)
    return M_OTHER_DTYPE(ctx.lang, **names)


def _transposed(finding: Finding, ctx: CaseContext) -> str | None:
    pair = _tensors(finding)
    if pair is None or pair[1].dim() < 2:
        return None
    return M_TRANSPOSED(ctx.lang) if _same(pair[0], pair[1].transpose(-1, -2), ctx) else None


def _permuted(finding: Finding, ctx: CaseContext) -> str | None:
    pair = _tensors(finding)
    if pair is None or not 3 <= pair[1].dim() <= 4 or pair[1].numel() > MAX_NUMEL:
        return None
    expected, got = pair
    for order in itertools.permutations(range(got.dim())):
        if list(order) != sorted(order) and _same(expected, got.permute(order), ctx):
            return M_PERMUTED(ctx.lang, order=tuple(order))
    return None


def _keepdim(finding: Finding, ctx: CaseContext) -> str | None:
    pair = _tensors(finding)
    if pair is None:
        return None
    expected, got = pair
    for d in range(expected.dim()):
        if expected.shape[d] == 1 and _same(expected.squeeze(d), got, ctx):
            return M_KEEPDIM(ctx.lang, dim=d)
    for d in range(got.dim()):
        if got.shape[d] == 1 and _same(expected, got.squeeze(d), ctx):
            return M_EXTRA_DIM(ctx.lang, dim=d)
    return None


_REDUCTIONS: tuple[Callable[..., torch.Tensor], ...] = (
    torch.sum, torch.mean, torch.amax, torch.amin, torch.prod,
)


def _reduced(finding: Finding, ctx: CaseContext) -> str | None:
    pair = _tensors(finding)
    if pair is None:
        return None
    expected, got = pair
    for name, x in ctx.args.items():
        if not isinstance(x, torch.Tensor) or x.dim() < 2 or x.numel() > MAX_NUMEL or x.device.type == "meta":
            continue
        x = x.detach().double()
        for op in _REDUCTIONS:
            for keep in (False, True):
                want = next((d for d in range(x.dim()) if _same(expected, op(x, d, keepdim=keep), ctx)), None)
                if want is None:
                    continue
                for keep_got in (keep, not keep):
                    for d in range(x.dim()):
                        if d != want and _same(op(x, d, keepdim=keep_got), got, ctx):
                            return M_REDUCED(ctx.lang, name=name, got=d, want=want)
    return None


def _off_by_one(finding: Finding, ctx: CaseContext) -> str | None:
    pair = _tensors(finding)
    if pair is None:
        return None
    expected, got = pair
    if expected.dim() != got.dim():
        return None
    differs = [d for d in range(got.dim()) if got.shape[d] != expected.shape[d]]
    if len(differs) == 1:
        d = differs[0]
        longer, shorter, message = (got, expected, M_ONE_TOO_MANY) if got.shape[d] == expected.shape[d] + 1 \
            else (expected, got, M_ONE_TOO_FEW)
        if longer.shape[d] != shorter.shape[d] + 1:
            return None
        n = shorter.shape[d]
        if _same(shorter, longer.narrow(d, 0, n), ctx):
            return message(ctx.lang, dim=d, where=M_AT_END(ctx.lang))
        if _same(shorter, longer.narrow(d, 1, n), ctx):
            return message(ctx.lang, dim=d, where=M_AT_START(ctx.lang))
        return None
    if differs:
        return None
    for d in range(got.dim()):
        n = got.shape[d] - 1
        if n < 1:
            continue
        if _same(expected.narrow(d, 1, n), got.narrow(d, 0, n), ctx) or \
                _same(expected.narrow(d, 0, n), got.narrow(d, 1, n), ctx):
            return M_SHIFTED(ctx.lang, dim=d)
    return None


def _sign(finding: Finding, ctx: CaseContext) -> str | None:
    pair = _tensors(finding)
    c = _ratio(*pair) if pair else None
    return M_SIGN(ctx.lang) if c is not None and abs(c + 1) < 1e-4 else None


def _factor(finding: Finding, ctx: CaseContext) -> str | None:
    pair = _tensors(finding)
    c = _ratio(*pair) if pair else None
    return M_FACTOR(ctx.lang, c=_fmt(c)) if c is not None and abs(c - 1) > 1e-4 and abs(c) > 1e-4 else None


def _offset(finding: Finding, ctx: CaseContext) -> str | None:
    pair = _tensors(finding)
    if pair is None or pair[0].shape != pair[1].shape:
        return None
    d = _constant(pair[1].double() - pair[0].double())
    if d is None or abs(d) < 1e-6:
        return None
    return M_OFFSET(ctx.lang, sign="+" if d > 0 else "-", d=_fmt(abs(d)))


def _on(kind: str, *aspects: str) -> Callable[[str, str | None], bool]:
    return lambda k, a: k == kind and a in aspects


def _on_grads(k: str, a: str | None) -> bool:
    return k in ("input_grads", "backward") and a == "wrong-grad"


_SHAPE_OR_VALUES = _on("result", "shape", "values")

DETECTORS: tuple[Detector, ...] = (
    Detector("grad-accumulated", _on_grads, _accumulated),
    Detector("grad-chain-factor", _on_grads, _chain_factor),
    Detector("returned-input", _on("mutation", "changed-input"), _returned_input),
    Detector("copied", _on("aliasing", "copy-where-view"), _copied),
    Detector("same-tensor", _on("aliasing", "view-where-copy"), _same_tensor),
    Detector("fixed-device", _on("result", "device"), _fixed_device),
    Detector("dtype-promotion", _on("result", "dtype"), _promotion),
    Detector("transposed", _SHAPE_OR_VALUES, _transposed),
    Detector("permuted", _SHAPE_OR_VALUES, _permuted),
    Detector("keepdim", _on("result", "shape"), _keepdim),
    Detector("reduced-other-dim", _SHAPE_OR_VALUES, _reduced),
    Detector("off-by-one", _SHAPE_OR_VALUES, _off_by_one),
    Detector("sign", _on("result", "values"), _sign),
    Detector("constant-factor", _on("result", "values"), _factor),
    Detector("constant-offset", _on("result", "values"), _offset),
)
