"""The meta case: grading device-agnostic code on a grader without a GPU.

A task with ``meta_case: true`` gets one more hidden case: its first case's
inputs on PyTorch's ``meta`` device (shapes, dtypes and strides, no values),
and ``{device: grading}`` arguments as ``torch.device("meta")``. Code that
follows its inputs' device (``device=x.device``, ``zeros_like``) keeps its
results there; a tensor made without ``device=`` (``torch.tensor(values)``,
``torch.eye(n)``) lands on the CPU, and the case fails on the result's device
or with a device-mismatch error, as it would on a GPU. Only the ``result``
check runs there, without values: meta tensors have none, and they share no
storage a check could read.

A tensor written ``device: cpu`` stays on the CPU there, as it does on every
grader: in a "move it to the device" task, a result left where its input was
(``x.float()`` without the move) is then on the CPU, not on ``meta``, and fails.
"""

from __future__ import annotations

from typing import Any

import torch

from tutor.grading.inputs import CaseInputs, describe
from tutor.pack.models import Task, TensorBase

META = torch.device("meta")


def on_meta(value: Any) -> Any:
    """The same value with every tensor and device moved to ``meta`` (generators stay)."""
    if isinstance(value, torch.Tensor):
        t = torch.empty_strided(value.shape, value.stride(), dtype=value.dtype, device=META)
        return t.requires_grad_(value.requires_grad)
    if isinstance(value, torch.device):
        return META
    if type(value) in (list, tuple):
        return type(value)(on_meta(v) for v in value)
    if type(value) is dict:
        return {k: on_meta(v) for k, v in value.items()}
    return value


def cpu_pinned(task: Task) -> set[str]:
    """The arguments written ``device: cpu`` in the first case (the one the meta case copies)."""
    specs = task.cases[0].args if task.cases else task.hidden_templates()[0].args
    return {name for name, spec in specs.items() if isinstance(spec, TensorBase) and spec.device == "cpu"}


def meta_case(template: CaseInputs, index: int, keep_on_cpu: set[str]) -> CaseInputs:
    args = {name: v if name in keep_on_cpu else on_meta(v) for name, v in template.args.items()}
    described = {name: describe(v, hidden=True) + (" (meta)" if isinstance(v, torch.Tensor) and v.device == META else "")
                 for name, v in args.items()}
    return CaseInputs(index, True, template.seed, args, described)


def is_meta(case: CaseInputs) -> bool:
    """Whether this is the meta case (a tensor or device argument on ``meta``)."""
    return any(v.device == META if isinstance(v, torch.Tensor) else v == META
               for v in case.args.values() if isinstance(v, (torch.Tensor, torch.device)))
