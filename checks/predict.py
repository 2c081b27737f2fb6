"""``predict``: one predicted field of a predict task against what the snippet gave.

A predict task is judged field by field (``tutor.grading.predict`` reads the
learner's prediction, never running it, and runs the snippet in the sandbox);
this module holds the rule for each field and the words a learner reads when
their prediction is off. The words say how it is off without giving the answer
away: the real answers are shown only after the task's tries
(``tutor.grading.predict``). Each finding's aspect is the field it is about
(``shape``, ``dtype``, ...), or ``unanswered`` for a ``...`` left in the file.
"""

from __future__ import annotations

from typing import Any

import torch

from tutor.checks import Finding
from tutor.grading.compare import kind_of
from tutor.i18n import Message
from tutor.jail.wire import dtype_name

SCOPE = "case"

M_UNANSWERED = Message(
    en="`{key}`: not answered yet: replace the ... (or put the field back) with your prediction.",
    zh="`{key}`：还没有回答：把 ... 换成你的预测（或把这一项加回来）。",
)
M_NDIM = Message(
    en="`{key}`: your shape {got} has {n} dimension(s), and {name} has another number of them."
    " Count which dimensions the code keeps, adds or removes.",
    zh="`{key}`：你预测的形状 {got} 有 {n} 个维度，而 {name} 的维度个数不同。数一数代码保留、增加或去掉了哪些维度。",
)
M_SIZES = Message(
    en="`{key}`: the number of dimensions is right, but not every size in {got} is.",
    zh="`{key}`：维度个数是对的，但 {got} 中并非每个尺寸都对。",
)
M_DTYPE_KIND = Message(
    en="`{key}`: {name} is not {got}, nor any other {kind} dtype: which operand or rule decides the kind?",
    zh="`{key}`：{name} 不是 {got}，也不是任何其他{kind}类型：是哪个操作数或哪条规则决定了类型的类别？",
)
M_DTYPE_WIDTH = Message(
    en="`{key}`: the kind ({kind}) is right, but not the width: {name} is not {got}.",
    zh="`{key}`：类别（{kind}）是对的，但位宽不对：{name} 不是 {got}。",
)
M_VIEW = Message(
    en="`{key}`: you predicted {name} is a view of an earlier value; it has its own new storage (a copy).",
    zh="`{key}`：你预测 {name} 是之前某个值的视图；实际上它拥有自己的新存储（是副本）。",
)
M_COPY = Message(
    en="`{key}`: you predicted {name} is a copy; it shares memory with a value made before it.",
    zh="`{key}`：你预测 {name} 是副本；实际上它与之前的某个值共享内存。",
)
M_UNKNOWN_NAMES = Message(
    en="`{key}`: {unknown} names no value of the snippet (its values: {values}).",
    zh="`{key}`：{unknown} 不是这段代码中的值（它的值有：{values}）。",
)
M_SHARES = Message(
    en="`{key}`: {got} is not the set of values that share {name}'s storage.",
    zh="`{key}`：与 {name} 共享存储的值并不是 {got}。",
)
M_GRAD_NONE = Message(
    en="`{key}`: you predicted no gradient (None), but {name}.grad holds one after the code.",
    zh="`{key}`：你预测没有梯度（None），但代码运行后 {name}.grad 是有值的。",
)
M_GRAD_SOME = Message(
    en="`{key}`: you predicted a gradient, but {name}.grad is None after the code: which tensors keep a .grad?",
    zh="`{key}`：你预测有梯度，但代码运行后 {name}.grad 是 None：哪些张量会保存 .grad？",
)
M_NUMBERS_SHAPE = Message(
    en="`{key}`: your numbers have shape {got}, not the shape of the real {what}.",
    zh="`{key}`：你写的数字形状是 {got}，与真实的{what}形状不同。",
)
M_NUMBERS = Message(
    en="`{key}`: the shape is right, but not every number is (compared to about 3 decimals).",
    zh="`{key}`：形状是对的，但并非每个数字都对（比较到大约小数点后 3 位）。",
)
M_VALUE = Message(en="`{key}`: not what the snippet gives.", zh="`{key}`：与代码的实际结果不同。")
M_VALUE_KIND = Message(
    en="`{key}`: you predicted {got}, but {name} is {kind}.",
    zh="`{key}`：你预测的是{got}，但 {name} 是{kind}。",
)
M_WHAT = {"grad": Message(en="gradient", zh="梯度"), "value": Message(en="value", zh="值")}
_KINDS = {
    "floating": Message(en="floating point", zh="浮点"), "integer": Message(en="integer", zh="整数"),
    "bool": Message(en="bool", zh="布尔"), "complex": Message(en="complex", zh="复数"),
}  # fmt: skip


def compare(name: str, field: str, predicted: Any, actual: Any, *, values: list[str], lang: str,
            tolerance: tuple[float, float]) -> Finding | None:
    """None when the prediction of ``name.field`` holds; else how it is off (the answer not given).

    ``predicted`` is the canonical answer (``tutor.pack.prediction.normalize``),
    ``Ellipsis`` when not answered; ``actual`` is the snippet's fact
    (``tutor.grading.predict.Facts``); ``values`` are the snippet's value names.
    """
    key = f"{name}.{field}"
    if predicted is Ellipsis:
        return _found(M_UNANSWERED(lang, key=key), "unanswered", name, field, predicted)
    message = _judge(name, field, predicted, actual, key, values, lang, tolerance)
    return None if message is None else _found(message, field, name, field, predicted)


def _found(message: str, aspect: str, name: str, field: str, predicted: Any) -> Finding:
    shown = None if predicted is Ellipsis else predicted
    return Finding(message, {"kind": "predict", "value": name, "field": field, "predicted": plain(shown)}, aspect)


def _judge(name: str, field: str, predicted: Any, actual: Any, key: str, values: list[str], lang: str,
           tolerance: tuple[float, float]) -> str | None:
    if field == "shape":
        if tuple(predicted) == tuple(actual):
            return None
        got = shown(field, predicted)
        if len(predicted) != len(actual):
            return M_NDIM(lang, key=key, got=got, n=len(predicted), name=name)
        return M_SIZES(lang, key=key, got=got)
    if field == "dtype":
        if predicted == actual:
            return None
        same = _kind(predicted) == _kind(actual)
        return (M_DTYPE_WIDTH if same else M_DTYPE_KIND)(lang, key=key, name=name, got=shown(field, predicted),
                                                          kind=_KINDS[_kind(predicted)](lang))
    if field == "is_view":
        if predicted == actual:
            return None
        return (M_VIEW if predicted else M_COPY)(lang, key=key, name=name)
    if field == "shares_storage_with":
        unknown = [n for n in predicted if n not in values or n == name]
        if unknown:
            return M_UNKNOWN_NAMES(lang, key=key, unknown=", ".join(unknown),
                                   values=", ".join(v for v in values if v != name))
        if set(predicted) == set(actual):
            return None
        return M_SHARES(lang, key=key, got=shown(field, predicted), name=name)
    if field == "grad":
        if predicted is None or actual is None:
            if predicted is None and actual is None:
                return None
            return (M_GRAD_NONE if predicted is None else M_GRAD_SOME)(lang, key=key, name=name)
        return _numbers(predicted, actual, key, "grad", lang, tolerance)
    return _value(name, predicted, actual, key, lang, tolerance)


def _value(name: str, predicted: Any, actual: Any, key: str, lang: str, tolerance: tuple[float, float]) -> str | None:
    if isinstance(actual, torch.Tensor):
        if predicted is None or isinstance(predicted, str):
            return M_VALUE_KIND(lang, key=key, got=shown("value", predicted), name=name, kind=kind_of(actual, lang))
        return _numbers(predicted, actual, key, "value", lang, tolerance)
    expected = plain(actual)
    if isinstance(expected, float) and type(predicted) in (int, float):
        return None if _close(predicted, expected, tolerance) else M_VALUE(lang, key=key)
    if _same_kind(predicted, expected) and predicted == expected:
        return None
    if not _same_kind(predicted, expected):
        return M_VALUE_KIND(lang, key=key, got=shown("value", predicted), name=name, kind=kind_of(actual, lang))
    return M_VALUE(lang, key=key)


def _numbers(predicted: Any, actual: torch.Tensor, key: str, what: str, lang: str,
             tolerance: tuple[float, float]) -> str | None:
    """Numbers the learner wrote against a tensor: its shape first, then its values."""
    try:
        mine = torch.tensor(predicted, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):  # ragged lists
        return M_NUMBERS_SHAPE(lang, key=key, got="?", what=M_WHAT[what](lang))
    real = actual.detach().cpu()
    if tuple(mine.shape) != tuple(real.shape):
        return M_NUMBERS_SHAPE(lang, key=key, got=shown("shape", tuple(mine.shape)), what=M_WHAT[what](lang))
    real = real.to(torch.float64) if not real.is_complex() else real.real.to(torch.float64)
    rtol, atol = tolerance
    ok = torch.isclose(mine, real, rtol=rtol, atol=atol, equal_nan=True).all()
    return None if bool(ok) else M_NUMBERS(lang, key=key)


def _close(a: float, b: float, tolerance: tuple[float, float]) -> bool:
    rtol, atol = tolerance
    return a == b or abs(a - b) <= atol + rtol * abs(b)


def _same_kind(a: Any, b: Any) -> bool:
    number = (int, float)
    if type(a) is bool or type(b) is bool:
        return type(a) is type(b)
    return (isinstance(a, number) and isinstance(b, number)) or type(a) is type(b)


def _kind(dtype: str) -> str:
    if dtype == "bool":
        return "bool"
    if dtype.startswith("complex"):
        return "complex"
    return "floating" if dtype.startswith(("float", "bfloat")) else "integer"


def plain(value: Any) -> Any:
    """A fact or an answer as JSON (for verdicts): tensors as nested lists, tuples as lists, dtypes by name."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().tolist()
    if isinstance(value, torch.dtype):
        return dtype_name(value)
    if isinstance(value, (tuple, list, torch.Size)):
        return [plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def shown(field: str, value: Any) -> str:
    """A fact or an answer as the learner would write it in their file: ``(3, 2)``, ``torch.float32``."""
    if field == "shape":
        return repr(tuple(value))
    if field == "dtype":
        return f"torch.{value}"
    if isinstance(value, torch.dtype):
        return f"torch.{dtype_name(value)}"
    return repr(_rounded(plain(value)))


def _rounded(value: Any) -> Any:
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return round(value, 4) if isinstance(value, float) else value
