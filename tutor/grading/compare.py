"""Comparing a learner's value with the reference's, and saying how they differ.

Shared by the checks (``result`` compares returned values, ``mutation`` the
inputs after the call, ``input_grads``/``backward`` the gradients), so each
difference is found and worded in one place. Runs in the grader only.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch

from tutor.checks import Finding
from tutor.i18n import Message
from tutor.jail.wire import Opaque

# As torch.testing.assert_close: (rtol, atol) by dtype.
DEFAULT_TOLERANCE = {
    torch.float16: (1e-3, 1e-5),
    torch.bfloat16: (1.6e-2, 1e-5),
    torch.float32: (1.3e-6, 1e-5),
    torch.float64: (1e-7, 1e-7),
    torch.complex64: (1.3e-6, 1e-5),
    torch.complex128: (1e-7, 1e-7),
}
# Kernels on a GPU reduce in other orders (and may use TF32): allow for it.
CUDA_FACTOR = 10.0
MAX_SHOWN = 64  # elements beyond this are summarised, not listed

M_NONE = Message(
    en="`{path}` is None: did your function forget to `return` its result?",
    zh="`{path}` 是 None：你的函数是不是忘了 `return` 结果？",
)
M_TYPE = Message(
    en="`{path}` should be {expected}, but it is {got}.",
    zh="`{path}` 应当是 {expected}，但实际是 {got}。",
)
M_LEN = Message(
    en="`{path}` should have {expected} items, but it has {got}.",
    zh="`{path}` 应当有 {expected} 个元素，实际有 {got} 个。",
)
M_KEYS = Message(
    en="`{path}` should have the keys {expected}, but it has {got}.",
    zh="`{path}` 应当包含键 {expected}，实际是 {got}。",
)
M_SHAPE = Message(
    en="`{path}` has shape {got}, expected {expected}.",
    zh="`{path}` 的形状是 {got}，应为 {expected}。",
)
M_DTYPE = Message(
    en="`{path}` has dtype {got}, expected {expected}.",
    zh="`{path}` 的数据类型（dtype）是 {got}，应为 {expected}。",
)
M_DEVICE = Message(
    en="`{path}` is on device {got}, expected {expected}.",
    zh="`{path}` 位于设备 {got}，应在 {expected} 上。",
)
M_GRAD_ON = Message(
    en="`{path}` should require grad (be part of the autograd graph), but it does not: was it detached?",
    zh="`{path}` 应当需要梯度（在计算图中），但它没有：是不是被 detach 了？",
)
M_GRAD_OFF = Message(
    en="`{path}` should not require grad, but it does.",
    zh="`{path}` 不应需要梯度，但它需要。",
)
M_VALUES = Message(
    en="`{path}` differs from the expected value at index {index}: expected {expected}, got {got}"
    " (largest difference {diff:.3g}; tolerance rtol={rtol:g}, atol={atol:g}).",
    zh="`{path}` 在下标 {index} 处与期望值不同：期望 {expected}，得到 {got}"
    "（最大差值 {diff:.3g}；容差 rtol={rtol:g}，atol={atol:g}）。",
)
M_VALUES_HIDDEN = Message(
    en="`{path}` differs from the expected value at index {index} (largest difference {diff:.3g};"
    " tolerance rtol={rtol:g}, atol={atol:g}).",
    zh="`{path}` 在下标 {index} 处与期望值不同（最大差值 {diff:.3g}；容差 rtol={rtol:g}，atol={atol:g}）。",
)
M_EXACT = Message(
    en="`{path}` differs at index {index}: expected {expected}, got {got} ({dtype} values must match exactly).",
    zh="`{path}` 在下标 {index} 处不同：期望 {expected}，得到 {got}（{dtype} 类型必须完全相等）。",
)
M_SCALAR = Message(
    en="`{path}` is {got}, expected {expected}.",
    zh="`{path}` 是 {got}，应为 {expected}。",
)
M_STRIDES = Message(
    en="`{path}` has strides {got} and storage offset {got_offset}; expected strides {expected} and offset {expected_offset}.",
    zh="`{path}` 的步长（stride）是 {got}，存储偏移是 {got_offset}；应为步长 {expected}，偏移 {expected_offset}。",
)
M_SUBCLASS = Message(
    en="`{path}` is a {got}, expected a plain torch.Tensor.",
    zh="`{path}` 是 {got}，应为普通的 torch.Tensor。",
)


def tolerance(dtype: torch.dtype, device: str, override: tuple[float, float] | None) -> tuple[float, float]:
    if override is not None:
        return override
    rtol, atol = DEFAULT_TOLERANCE.get(dtype, (0.0, 0.0))
    if device.startswith("cuda"):
        rtol, atol = rtol * CUDA_FACTOR, atol * CUDA_FACTOR
    return rtol, atol


_KINDS = {
    "tensor": Message("a tensor", "张量"), "none": Message("None", "None"),
    bool: Message("a bool", "布尔值"), int: Message("an int", "整数"), float: Message("a float", "浮点数"),
    str: Message("a string", "字符串"), list: Message("a list", "列表"), tuple: Message("a tuple", "元组"),
    dict: Message("a dict", "字典"), OrderedDict: Message("an OrderedDict", "OrderedDict（有序字典）"), torch.Size: Message("a torch.Size", "torch.Size"),
    torch.dtype: Message("a torch.dtype", "torch.dtype"), torch.device: Message("a torch.device", "torch.device"),
    complex: Message("a complex number", "复数"),
}  # fmt: skip
M_KIND_OTHER = Message("a {name}", "{name}")


def kind_of(value: Any, lang: str = "en") -> str:
    """A learner-readable name for what a value is, in ``lang``."""
    if isinstance(value, torch.Tensor):
        return _KINDS["tensor"](lang)
    if isinstance(value, Opaque):
        return M_KIND_OTHER(lang, name=value.type_name)
    if value is None:
        return _KINDS["none"](lang)
    known = _KINDS.get(type(value))
    return known(lang) if known is not None else M_KIND_OTHER(lang, name=type(value).__name__)


def summary(t: torch.Tensor, *, hidden: bool, shares: list[str] | None = None) -> dict[str, Any]:
    """What the UI shows of one tensor (values only when the case is visible and small)."""
    values = None
    if not hidden and t.numel() <= MAX_SHOWN:
        values = t.detach().cpu().tolist()
    return {
        "shape": list(t.shape),
        "dtype": str(t.dtype).replace("torch.", ""),
        "device": str(t.device),
        "stride": list(t.stride()),
        "offset": int(t.storage_offset()),
        "values": values,
        "shares_storage_with": shares or [],
    }


def _scalar(x: torch.Tensor) -> Any:
    v = x.item()
    return round(v, 6) if isinstance(v, float) else v


def elementwise_close(expected: torch.Tensor, got: torch.Tensor, rtol: float, atol: float) -> torch.Tensor:
    """Elementwise: within tolerance, with NaN equal to NaN (exact for integers and bools)."""
    e, g = expected.detach(), got.detach().to(expected.device)
    if not (e.dtype.is_floating_point or e.dtype.is_complex):
        return e == g
    return torch.isclose(e, g, rtol=rtol, atol=atol, equal_nan=True)


def compare(expected: Any, got: Any, path: str, *, rtol_atol: tuple[float, float] | None, device: str,
            hidden: bool, lang: str, strides: bool = False, scalars: bool = False) -> Finding | None:
    """The first way ``got`` differs from ``expected``, or None when they agree.

    ``scalars``: a 0-d tensor and a Python number stand for each other (the
    ``result`` option ``scalar_or_tensor``), compared by value.
    """
    if scalars:
        numbers = _numbers(expected, got)
        if numbers is not None:
            return _compare_numbers(*numbers, expected, got, path, rtol_atol=rtol_atol, device=device, lang=lang)
    if isinstance(expected, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            if got is None:
                return _found(M_NONE(lang, path=path), "structure", expected, got, path)
            return _found(M_TYPE(lang, path=path, expected=kind_of(expected, lang), got=kind_of(got, lang)), "type", expected, got, path)
        return compare_tensors(expected, got, path, rtol_atol=rtol_atol, device=device, hidden=hidden,
                               lang=lang, strides=strides)
    if got is None and expected is not None:
        return _found(M_NONE(lang, path=path), "structure", expected, got, path)
    if isinstance(expected, (list, tuple)) and not isinstance(expected, torch.Size):
        if type(got) is not type(expected):
            return _found(M_TYPE(lang, path=path, expected=kind_of(expected, lang), got=kind_of(got, lang)), "structure",
                          expected, got, path)
        if len(got) != len(expected):
            return _found(M_LEN(lang, path=path, expected=len(expected), got=len(got)), "structure", expected, got, path)
        for i, (e, g) in enumerate(zip(expected, got)):
            found = compare(e, g, f"{path}[{i}]", rtol_atol=rtol_atol, device=device, hidden=hidden,
                            lang=lang, strides=strides, scalars=scalars)
            if found:
                return found
        return None
    if isinstance(expected, dict):  # a dict and an OrderedDict (a state_dict) compare by keys and values
        if not isinstance(got, dict):
            return _found(M_TYPE(lang, path=path, expected=_KINDS[dict](lang), got=kind_of(got, lang)), "structure",
                          expected, got, path)
        if set(got) != set(expected):
            return _found(M_KEYS(lang, path=path, expected=sorted(map(str, expected)), got=sorted(map(str, got))),
                          "structure", expected, got, path)
        for key in expected:
            found = compare(expected[key], got[key], f"{path}[{key!r}]", rtol_atol=rtol_atol, device=device,
                            hidden=hidden, lang=lang, strides=strides, scalars=scalars)
            if found:
                return found
        return None
    if isinstance(expected, float) and isinstance(got, (int, float)) and not isinstance(got, bool):
        rtol, atol = rtol_atol or DEFAULT_TOLERANCE[torch.float64]
        same = (expected != expected and got != got) or abs(got - expected) <= atol + rtol * abs(expected)
        return None if same else _found(M_SCALAR(lang, path=path, expected=expected, got=got), "values",
                                        expected, got, path)
    if isinstance(expected, torch.device) and isinstance(got, torch.device):
        # cuda and cuda:0 name the same device when the index is the current one.
        same = expected.type == got.type and (expected.index or 0) == (got.index or 0)
        return None if same else _found(M_SCALAR(lang, path=path, expected=str(expected), got=str(got)), "values",
                                        expected, got, path)
    if type(got) is not type(expected):
        return _found(M_TYPE(lang, path=path, expected=kind_of(expected, lang), got=kind_of(got, lang)), "type", expected, got, path)
    if got != expected:
        return _found(M_SCALAR(lang, path=path, expected=repr(expected), got=repr(got)), "values", expected, got, path)
    return None


def _number(value: Any) -> tuple[float | int, torch.dtype | None] | None:
    if isinstance(value, torch.Tensor) and value.dim() == 0 and value.device.type != "meta" \
            and not value.dtype.is_complex and value.dtype != torch.bool:
        return value.item(), value.dtype
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value, None
    return None


def _numbers(expected: Any, got: Any) -> tuple[float | int, float | int, torch.dtype] | None:
    """Both sides as numbers, with the tensor's dtype, when exactly one side is a 0-d tensor."""
    e, g = _number(expected), _number(got)
    if e is None or g is None or (e[1] is None) == (g[1] is None):
        return None
    return e[0], g[0], e[1] or g[1]  # type: ignore[return-value]


def _compare_numbers(e: float | int, g: float | int, dtype: torch.dtype, expected: Any, got: Any, path: str, *,
                     rtol_atol: tuple[float, float] | None, device: str, lang: str) -> Finding | None:
    rtol, atol = tolerance(dtype, device, rtol_atol)
    same = (e != e and g != g) or abs(g - e) <= atol + rtol * abs(e)
    shown = round(e, 6) if isinstance(e, float) else e
    return None if same else _found(M_SCALAR(lang, path=path, expected=shown, got=g), "values", expected, got, path)


def _found(message: str, aspect: str, expected: Any, got: Any, path: str,
           details: dict[str, Any] | None = None) -> Finding:
    """A finding about a value, carrying both sides for the misconception detectors."""
    return Finding(message, details if details is not None else {"path": path}, aspect, expected, got)


def compare_tensors(expected: torch.Tensor, got: torch.Tensor, path: str, *, rtol_atol: tuple[float, float] | None,
                    device: str, hidden: bool, lang: str, strides: bool = False) -> Finding | None:
    details = {"kind": "tensor", "path": path, "expected": summary(expected, hidden=hidden),
               "got": summary(got, hidden=hidden), "first_index": None, "expected_value": None,
               "got_value": None, "max_abs_diff": None, "rtol": 0.0, "atol": 0.0, "mismatch": None}
    subclass = getattr(got, "wire_type", None)
    if subclass and subclass != getattr(expected, "wire_type", None):
        return _found(M_SUBCLASS(lang, path=path, got=subclass), "type", expected, got, path, details)
    if got.shape != expected.shape:
        message = M_SHAPE(lang, path=path, got=list(got.shape), expected=list(expected.shape))
        return _found(message, "shape", expected, got, path, details)
    if got.dtype != expected.dtype:
        message = M_DTYPE(lang, path=path, got=details["got"]["dtype"], expected=details["expected"]["dtype"])
        return _found(message, "dtype", expected, got, path, details)
    if got.device.type != expected.device.type:
        return _found(M_DEVICE(lang, path=path, got=str(got.device), expected=str(expected.device)), "device",
                      expected, got, path, details)
    if got.requires_grad != expected.requires_grad:
        message = (M_GRAD_ON if expected.requires_grad else M_GRAD_OFF)(lang, path=path)
        return _found(message, "requires_grad", expected, got, path, details)
    if expected.device.type == "meta":
        return None  # the meta case: no values to compare
    rtol, atol = tolerance(expected.dtype, device, rtol_atol)
    details["rtol"], details["atol"] = rtol, atol
    close = elementwise_close(expected, got, rtol, atol)
    if not bool(close.all()):
        bad = (~close).nonzero()
        index = [int(i) for i in bad[0].tolist()] if bad.numel() else []
        e_item, g_item = expected.detach()[tuple(index)], got.detach().to(expected.device)[tuple(index)]
        diff = (expected.detach().double() - got.detach().to(expected.device).double()).abs()
        diff = diff.nan_to_num(nan=0.0, posinf=float("inf"))
        max_diff = float(diff.max()) if diff.numel() else 0.0
        details.update(first_index=index, max_abs_diff=max_diff)
        if not hidden:
            details.update(expected_value=_scalar(e_item), got_value=_scalar(g_item))
            if expected.numel() <= MAX_SHOWN:
                details["mismatch"] = (~close).cpu().tolist()
        if not (expected.dtype.is_floating_point or expected.dtype.is_complex):
            message = M_EXACT(lang, path=path, index=index, expected="?" if hidden else _scalar(e_item),
                              got="?" if hidden else _scalar(g_item), dtype=details["expected"]["dtype"])
        elif hidden:
            message = M_VALUES_HIDDEN(lang, path=path, index=index, diff=max_diff, rtol=rtol, atol=atol)
        else:
            message = M_VALUES(lang, path=path, index=index, expected=_scalar(e_item), got=_scalar(g_item),
                               diff=max_diff, rtol=rtol, atol=atol)
        return _found(message, "values", expected, got, path, details)
    if strides and (got.stride() != expected.stride() or got.storage_offset() != expected.storage_offset()):
        return _found(M_STRIDES(lang, path=path, got=list(got.stride()), got_offset=got.storage_offset(),
                                expected=list(expected.stride()), expected_offset=expected.storage_offset()),
                      "strides", expected, got, path, details)
    return None


def tensor_paths(value: Any, path: str = "result", depth: int = 0) -> list[tuple[str, torch.Tensor]]:
    """Every tensor inside a value with its path, in the harness's traversal order."""
    if depth > 16:
        return []
    if isinstance(value, torch.Tensor):
        return [(path, value)]
    out: list[tuple[str, torch.Tensor]] = []
    if isinstance(value, (list, tuple)) and not isinstance(value, torch.Size):
        for i, item in enumerate(value):
            out += tensor_paths(item, f"{path}[{i}]", depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            out += tensor_paths(item, f"{path}[{key!r}]", depth + 1)
    return out
