"""Value specs to concrete inputs, reproducibly from a seed.

The grader makes every input; the learner's process only receives copies. The
same (task, seed) always gives the same inputs on every machine: random values
are drawn on the CPU from a seeded generator and then moved to the grading
device, so a verdict can be replayed anywhere, and CPU and CUDA runs grade the
same numbers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import torch

from tutor.pack.dimexpr import ExprError
from tutor.pack.models import (
    DeviceValue,
    DimValue,
    DtypeValue,
    GeneratorValue,
    RandomTensor,
    Task,
    TensorBase,
    TensorValues,
    dim_value,
    spec_symbols,
)

UNIQUE_ATTEMPTS = 20


class CaseError(ValueError):
    """A case cannot be made (a bound below zero, too few values for ``unique``...).

    ``path`` is where in the task the case is written, so the grader can
    report it as a located error of the pack.
    """

    def __init__(self, message: str, path: tuple[object, ...]) -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True)
class CaseInputs:
    index: int
    hidden: bool
    seed: int
    args: dict[str, Any]
    described: dict[str, str]  # what the learner may see of each argument
    # The dims this case's sizes were drawn with; empty for a case written as plain values.
    dims: dict[str, int] = field(default_factory=dict)


def derive_seed(*parts: object) -> int:
    """A 63-bit seed from any parts, stable across runs, machines and Python versions."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def make_cases(task_id: str, task: Task, run_seed: int, device: str) -> list[CaseInputs]:
    """Fixed cases (stable, from the task's own seed), then hidden random ones (from ``run_seed``)."""
    cases = []
    for i, case in enumerate(task.cases):
        seed = derive_seed("fixed", task_id, i)
        args, dims = _make_args(task, case.args, case.pinned, seed, device, ("cases", i))
        cases.append(CaseInputs(i, False, seed, args, {n: describe(v, hidden=False) for n, v in args.items()}, dims))
    templates = task.hidden_templates()
    for j in range(task.random_cases):
        index = len(task.cases) + j
        seed = derive_seed("random", task_id, run_seed, j)
        template = templates[j % len(templates)]
        args, dims = _make_args(task, template.args, template.pinned, seed, device, template.source)
        cases.append(CaseInputs(index, True, seed, args, {n: describe(v, hidden=True) for n, v in args.items()}, dims))
    return cases


def _make_args(task: Task, specs: dict[str, Any], pinned: dict[str, int], seed: int, device: str,
               where: tuple[object, ...]) -> tuple[dict[str, Any], dict[str, int]]:
    """The arguments, and the dims they were made with (none when no argument names a dim)."""
    try:
        dims = task.draw_dims(pinned, seed)
    except ValueError as exc:
        raise CaseError(str(exc), ("where",) if task.where else ("distinct_dims",)) from None
    args = {}
    for k, (name, spec) in enumerate(specs.items()):
        try:
            args[name] = build(spec, dims, seed + k, device)
        except (ValueError, ExprError) as exc:
            raise CaseError(f"{name}: {exc} (dims {_dims_text(dims)})", (*where, name)) from None
    return args, (dims if any(spec_symbols(spec) for spec in specs.values()) else {})


def _dims_text(dims: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(dims.items())) or "none"


def build(spec: Any, dims: dict[str, int], seed: int, device: str) -> Any:
    """One argument's value on the grading device."""
    if isinstance(spec, TensorValues):
        dtype = getattr(torch, spec.dtype) if spec.dtype else None
        if dtype is None and spec.requires_grad:  # [1, 2] with requires_grad means floats
            dtype = torch.get_default_dtype()
        return _finish(torch.tensor(spec.values, dtype=dtype), spec, seed, device)
    if isinstance(spec, RandomTensor):
        shape = [int(dim_value(d, dims)) for d in spec.shape]
        if any(d < 0 for d in shape):
            raise ValueError(f"the shape {spec.shape} is {shape}: a dimension cannot be negative")
        return _finish(_draw(spec, shape, dims, seed), spec, seed, device)
    if isinstance(spec, DimValue):
        return int(dim_value(spec.dim, dims))
    if isinstance(spec, DtypeValue):
        return getattr(torch, spec.dtype)
    if isinstance(spec, GeneratorValue):
        gen = torch.Generator(device=device)
        gen.manual_seed(spec.generator)
        return gen
    if isinstance(spec, DeviceValue):
        return torch.device(device)
    return spec


def _draw(spec: RandomTensor, shape: list[int], dims: dict[str, int], seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    low, high = (dim_value(b, dims) for b in spec.bounds())
    if spec.dist in ("uniform", "int") and not low < high:
        raise ValueError(f"low ({low}) must be below high ({high})")
    default = {"normal": "float32", "uniform": "float32", "int": "int64", "bool": "bool"}[spec.dist]
    dtype = getattr(torch, spec.dtype or default)
    numel = 1
    for d in shape:
        numel *= d
    if spec.unique and spec.dist == "int":
        span = int(high) - int(low)
        if numel > span:
            raise ValueError(f"unique: {numel} values cannot all differ when drawn from {int(low)} to {int(high)} (high excluded)")
        values = (torch.randperm(span, generator=gen)[:numel] + int(low)).reshape(shape)
    else:
        for _ in range(UNIQUE_ATTEMPTS):
            values = _sample(spec.dist, low, high, shape, gen).to(dtype)
            if not spec.unique or values.unique().numel() == values.numel():
                break
        else:
            raise ValueError(f"unique: {numel} values of {spec.dtype or default} ({spec.dist}) kept repeating a value")
    if spec.sorted and values.dim() > 0:
        values = values.sort(dim=-1).values
    return values.to(dtype)


def _sample(dist: str, low: float, high: float, shape: list[int], gen: torch.Generator) -> torch.Tensor:
    if dist == "normal":
        return torch.randn(shape, generator=gen, dtype=torch.float64)
    if dist == "uniform":
        return low + (high - low) * torch.rand(shape, generator=gen, dtype=torch.float64)
    if dist == "int":
        return torch.randint(int(low), int(high), shape, generator=gen, dtype=torch.int64)
    return torch.rand(shape, generator=gen) < 0.5


def _finish(t: torch.Tensor, spec: TensorBase, seed: int, device: str) -> torch.Tensor:
    """Apply layout, device and requires_grad: same values, the memory layout asked for."""
    target = device if spec.device == "grading" else "cpu"
    t = t.to(target)
    if spec.layout == "transposed" and t.dim() >= 2:
        t = t.transpose(-1, -2).contiguous().transpose(-1, -2)
    elif spec.layout == "sliced" and t.dim() >= 1:
        # Every other element of a wider buffer, starting at an offset; the
        # gaps hold noise so code that reads raw storage gets caught.
        width = t.shape[-1]
        gen = torch.Generator().manual_seed(seed ^ 0x5EED)
        noise = torch.randint(-99, 99, (*t.shape[:-1], 2 * width + 1), generator=gen).to(t.dtype).to(target)
        noise[..., 1::2] = t
        t = noise[..., 1::2]
    if spec.requires_grad:
        t.requires_grad_(True)
    return t


def describe(value: Any, *, hidden: bool) -> str:
    """A short description for feedback: values only for visible cases."""
    if isinstance(value, torch.Tensor):
        layout = "" if value.is_contiguous() else ", non-contiguous"
        grad = ", requires_grad" if value.requires_grad else ""
        head = f"{str(value.dtype).replace('torch.', '')}{list(value.shape)}{layout}{grad}"
        if hidden or value.numel() > 64:
            return head
        return f"{head} = {value.detach().cpu().tolist()}"
    if isinstance(value, torch.Generator):
        return f"torch.Generator(seed={value.initial_seed()})"
    if hidden:
        return type(value).__name__
    return repr(value)[:200]
