"""Which recorded torch calls a ``forbid``/``require`` name stands for.

The harness records two traces of the learner's code, from module import to
the encoding of its results: the torch functions and methods it called
(``torch.Tensor.sigmoid``), and the aten operators that no recorded call
explains (``aten.sigmoid`` reached around the function layer). An operator a
permitted call dispatches inside itself (matmul's ``squeeze_``) is that call's,
not the learner's. A name in a pack matches its own spelling, its method and
function forms, in-place and operator forms (``__mul__`` is ``mul``), and
torch's documented aliases (``special.expit`` is ``sigmoid``); ``forbid`` also
matches the unexplained aten operators.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch

PREFIXES = {
    "torch.nn.functional.": torch.nn.functional,
    "F.": torch.nn.functional,
    "torch.Tensor.": torch.Tensor,
    "Tensor.": torch.Tensor,
    "torch.special.": torch.special,
    "torch.linalg.": torch.linalg,
    "torch.fft.": torch.fft,
    "torch.": torch,
}
DUNDERS = {
    "add": "add", "radd": "add", "iadd": "add", "sub": "sub", "rsub": "sub", "isub": "sub",
    "mul": "mul", "rmul": "mul", "imul": "mul", "truediv": "div", "rtruediv": "div", "itruediv": "div",
    "matmul": "matmul", "rmatmul": "matmul", "imatmul": "matmul", "pow": "pow", "rpow": "pow", "ipow": "pow",
    "neg": "neg", "abs": "abs", "floordiv": "floor_divide", "rfloordiv": "floor_divide",
    "mod": "remainder", "rmod": "remainder",
}  # fmt: skip
ALIASES = {
    "expit": "sigmoid", "absolute": "abs", "multiply": "mul", "divide": "div", "true_divide": "div",
    "subtract": "sub", "clip": "clamp", "arccos": "acos", "arcsin": "asin", "arctan": "atan",
    "arctan2": "atan2", "arccosh": "acosh", "arcsinh": "asinh", "arctanh": "atanh", "negative": "neg",
    "fix": "trunc", "concat": "cat", "concatenate": "cat", "swapaxes": "transpose", "swapdims": "transpose",
    "moveaxis": "movedim", "greater": "gt", "less": "lt", "greater_equal": "ge", "less_equal": "le",
    "not_equal": "ne", "mT": "transpose", "T": "t", "erf": "erf", "logit": "logit",
}  # fmt: skip


class UnknownOp(ValueError):
    """A forbid/require name that is not a torch function or method."""


@dataclass(frozen=True)
class OpRule:
    name: str
    base: str  # e.g. "sigmoid"

    @property
    def aten(self) -> set[str]:
        if hasattr(torch.ops.aten, self.base):
            return {f"aten.{self.base}", f"aten.{self.base}_"}
        return set()


def base_name(qualified: str) -> str:
    """``torch.Tensor.sigmoid_`` -> ``sigmoid``; ``torch.Tensor.__rmul__`` -> ``mul``."""
    last = qualified.rsplit(".", 1)[-1]
    dunder = re.fullmatch(r"__(\w+?)__", last)
    if dunder:
        last = DUNDERS.get(dunder.group(1), dunder.group(1))
    elif last.endswith("_") and not last.startswith("_"):
        last = last[:-1]
    return ALIASES.get(last, last)


def resolve(name: str) -> OpRule:
    """A pack's op name to a rule; raises UnknownOp if torch has no such function or method."""
    for prefix, namespace in PREFIXES.items():
        if name.startswith(prefix):
            attr = name[len(prefix):]
            if attr and "." not in attr and hasattr(namespace, attr):
                return OpRule(name, base_name(attr))
    raise UnknownOp(f"{name!r} is not a torch function or method (write e.g. torch.sigmoid or Tensor.view)")


def calls_matching(rule: OpRule, calls: list[str]) -> list[str]:
    return [c for c in calls if base_name(c) == rule.base]


def forbidden_uses(rule: OpRule, calls: list[str], ops: list[str]) -> list[str]:
    """Every trace entry that shows the learner used ``rule``: a call, or an operator no call explains."""
    return calls_matching(rule, calls) + [op for op in ops if op in rule.aten]
