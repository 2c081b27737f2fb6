"""Known runtime errors, explained in one sentence above the learner's own traceback.

The child sends the learner's traceback as text; the grader recognises the
errors a tensor course keeps meeting (broadcasting, ``view`` on a
non-contiguous tensor, in-place on a leaf, a second backward, dtypes or
devices that do not match, ``.numpy()`` on a tensor that requires grad) from
the exception's type and message, and says what it means in the learner's
terms. Nothing the learner's process says is believed beyond this wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from tutor.i18n import Message

M_BROADCAST = Message(
    en="Broadcasting lines shapes up from the right, and each pair of sizes must be equal or 1;"
    " here dimension {dim} has {a} against {b}",
    zh="广播从右边开始对齐形状，每一对大小必须相等或其中一个为 1；这里第 {dim} 维是 {a} 对 {b}",
)
M_VIEW = Message(
    en="`view` never copies, so it needs memory laid out to fit the new shape, and this tensor (a transpose,"
    " a slice, an expand) is not: use `reshape`, which copies when it must, or call `.contiguous()` first.",
    zh="`view` 从不复制，所以内存布局必须适合新形状，而这个张量（转置、切片或 expand 的结果）不满足："
    "请用 `reshape`（必要时会复制），或先调用 `.contiguous()`。",
)
M_VIEW_SIZE = Message(
    en="`view` and `reshape` keep the number of elements: {size} elements cannot take the shape {shape}.",
    zh="`view` 和 `reshape` 不改变元素个数：{size} 个元素无法变成形状 {shape}。",
)
M_LEAF = Message(
    en="An in-place change (`x += ...`, a method ending in `_`) of a leaf tensor that requires grad would"
    " overwrite the value autograd differentiates with respect to: compute a new tensor (`x + ...`), or wrap a"
    " deliberate update (an optimizer step) in `torch.no_grad()`.",
    zh="对需要梯度的叶子节点做原地修改（`x += ...`、以 `_` 结尾的方法）会覆盖 autograd 求导所依据的值："
    "请计算一个新张量（`x + ...`），或把有意的更新（如优化器的一步）放在 `torch.no_grad()` 里。",
)
M_FREED = Message(
    en="`backward()` frees the values the graph saved once it has run, so a second backward through the same"
    " graph fails: build the graph again (recompute the forward), or pass `retain_graph=True` to the first"
    " call when you really need two.",
    zh="`backward()` 运行后会释放计算图保存的中间值，所以再次沿同一张图反向传播会失败：请重新构建计算图（重新做一次前向计算），"
    "或在确实需要两次时，给第一次调用传入 `retain_graph=True`。",
)
M_MM_DTYPE = Message(
    en="A matrix product needs both operands in the same dtype ({dtypes} here): convert one first, e.g."
    " `a.to(b.dtype)` or `.float()`.",
    zh="矩阵乘法要求两个运算数的 dtype 相同（这里是 {dtypes}）：先把其中一个转换，例如 `a.to(b.dtype)` 或 `.float()`。",
)
M_DEVICE = Message(
    en="All tensors of one operation must be on the same device ({devices} here): a tensor made without"
    " `device=` (`torch.tensor`, `torch.eye`, `torch.zeros`...) lives on the CPU; create it with"
    " `device=x.device` or move it with `.to(x.device)`.",
    zh="同一个运算中的所有张量必须在同一设备上（这里是 {devices}）：不带 `device=` 创建的张量（`torch.tensor`、`torch.eye`、"
    "`torch.zeros`……）在 CPU 上；请用 `device=x.device` 创建，或用 `.to(x.device)` 移过去。",
)
M_NUMPY_GRAD = Message(
    en="`.numpy()` shares memory with the tensor and cannot carry gradients, so it refuses a tensor that"
    " requires grad: call `.detach().numpy()` (with `.cpu()` first on a GPU).",
    zh="`.numpy()` 与张量共享内存，无法携带梯度，所以它拒绝需要梯度的张量：请调用 `.detach().numpy()`（在 GPU 上先 `.cpu()`）。",
)

_C_TYPES = {"long int": "int64", "long": "int64", "int": "int32", "float": "float32", "double": "float64",
            "c10::Half": "float16", "c10::BFloat16": "bfloat16", "short int": "int16", "signed char": "int8",
            "unsigned char": "uint8", "bool": "bool", "Long": "int64", "Float": "float32", "Double": "float64",
            "Int": "int32", "Half": "float16", "BFloat16": "bfloat16"}  # fmt: skip


@dataclass(frozen=True)
class Known:
    id: str
    pattern: re.Pattern[str]
    explain: Callable[[re.Match[str], dict[str, Any], str], str]


def _shape_text(shape: tuple[int, ...], width: int, cell: int) -> str:
    """``(   3)`` under ``(3, 4)``: missing leading dims as blanks, so sizes line up from the right."""
    blank = " " * ((cell + 2) * (width - len(shape)))
    return "(" + blank + ", ".join(str(d).rjust(cell) for d in shape) + ")"


def aligned(shapes: dict[str, tuple[int, ...]]) -> str:
    """Shapes one under the other, aligned from the right as broadcasting aligns them."""
    width = max(len(s) for s in shapes.values())
    cell = max((len(str(d)) for s in shapes.values() for d in s), default=1)
    label = max(len(n) for n in shapes)
    return "\n".join(f"  {name.rjust(label)}  {_shape_text(s, width, cell)}" for name, s in shapes.items())


def _broadcast_pair(args: dict[str, Any], dim: int, a: int, b: int) -> dict[str, tuple[int, ...]] | None:
    """Two of the case's tensors whose shapes clash exactly as the error says, if any."""
    shapes = {n: tuple(v.shape) for n, v in args.items() if hasattr(v, "shape") and hasattr(v, "dtype")}
    for p, sp in shapes.items():
        for q, sq in shapes.items():
            width = max(len(sp), len(sq))
            i, j = dim - (width - len(sp)), dim - (width - len(sq))
            if p != q and 0 <= i < len(sp) and 0 <= j < len(sq) and (sp[i], sq[j]) == (a, b):
                return {p: sp, q: sq}
    return None


def _broadcast(m: re.Match[str], args: dict[str, Any], lang: str) -> str:
    a, b, dim = int(m["a"]), int(m["b"]), int(m["dim"])
    sentence = M_BROADCAST(lang, dim=dim, a=a, b=b)
    pair = _broadcast_pair(args, dim, a, b)  # the clash may be between tensors made inside the function
    if pair is None:
        return sentence + ("。" if lang == "zh" else ".")
    return sentence + ("：" if lang == "zh" else ":") + "\n" + aligned(pair)


def _types(text: str) -> str:
    found = [_C_TYPES.get(t.strip(), t.strip()) for t in re.split(r"!=|,| and ", text) if t.strip()]
    return " ≠ ".join(dict.fromkeys(found))


KNOWN: tuple[Known, ...] = (
    Known("broadcast", re.compile(r"The size of tensor a \((?P<a>\d+)\) must match the size of tensor b \((?P<b>\d+)\)"
                                  r" at non-singleton dimension (?P<dim>\d+)"), _broadcast),
    Known("view-non-contiguous", re.compile(r"view size is not compatible with input tensor's size and stride"),
          lambda m, args, lang: M_VIEW(lang)),
    Known("view-size", re.compile(r"shape '(?P<shape>\[[-\d, ]*\])' is invalid for input of size (?P<size>\d+)"),
          lambda m, args, lang: M_VIEW_SIZE(lang, shape=m["shape"], size=m["size"])),
    Known("inplace-leaf", re.compile(r"a leaf Variable that requires grad is being used in an in-place operation"),
          lambda m, args, lang: M_LEAF(lang)),
    Known("backward-twice", re.compile(r"Trying to backward through the graph a second time"),
          lambda m, args, lang: M_FREED(lang)),
    Known("mm-dtype", re.compile(r"expected m1 and m2 to have the same dtype, but got: (?P<types>[^\n]+)"
                                 r"|(?:mat1 and mat2|input tensors) must have the same dtype, but got (?P<types2>[^\n]+)"),
          lambda m, args, lang: M_MM_DTYPE(lang, dtypes=_types(m["types"] or m["types2"]))),
    Known("device-mismatch", re.compile(r"Expected all tensors to be on the same device, but (?:found at least two devices,"
                                        r" )?(?P<devices>[^!\n]*)|Tensor on device (?P<one>\w+(?::\d+)?) is not on the"
                                        r" expected device (?P<other>\w+(?::\d+)?)"),
          lambda m, args, lang: M_DEVICE(lang, devices=m["devices"].strip(" .") if m["devices"] else f"{m['one']}, {m['other']}")),
    Known("numpy-requires-grad", re.compile(r"Can't call numpy\(\) on Tensor that requires grad"),
          lambda m, args, lang: M_NUMPY_GRAD(lang)),
)


def explain(error: str, args: dict[str, Any], lang: str) -> tuple[str, str] | None:
    """(id, explanation) for a known error in the learner's traceback text, else None.

    Only the exception's own line(s) are read, never the learner's source lines
    the traceback quotes, so code that merely mentions a message is not taken for it.
    """
    message = _exception_text(error)
    for known in KNOWN:
        m = known.pattern.search(message)
        if m:
            return known.id, known.explain(m, args, lang)
    return None


def _exception_text(error: str) -> str:
    """What follows the last quoted frame: ``RuntimeError: ...`` and its continuation lines."""
    lines = error.rstrip("\n").split("\n")
    last_frame = max((i for i, line in enumerate(lines) if line.startswith('  File "')), default=-1)
    start = last_frame + 1
    while last_frame >= 0 and start < len(lines) and lines[start].startswith("    "):
        start += 1  # the quoted source line and its ^^^^ markers
    return "\n".join(lines[start:])
