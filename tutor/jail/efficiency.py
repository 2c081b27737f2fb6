"""How much work and memory one call costs: FLOPs and fresh allocations, counted per dispatched op.

Used on both sides of the wall with the same rules: in the sandbox child
around the learner's entry call (``tutor.jail.harness``), and in the grader
around the reference's (``tutor.grading.reference``), so the two figures of a
case are comparable.

What is counted, for each operator torch dispatches below autograd (a
composite such as ``matmul`` or ``einsum`` is seen as the operators it
decomposes into):

* FLOPs: torch's own formula where ``torch.utils.flop_counter`` has one
  (matrix products, convolutions, attention: ``2·m·n·k`` for ``mm``); any
  other operator that is not a view counts one per element of its largest
  tensor, read or written (``a * b`` its output, ``x.sum()`` its input).
* Allocation: the bytes of every storage an operator returns that none of
  its inputs had, i.e. fresh memory; a view, ``out=`` or an in-place op
  allocates nothing. These are sizes of storages, not the caching
  allocator's statistics, so CPU and CUDA give the same figures.
* The largest single fresh storage, with the operator and shape that made
  it, and the operator that took the most FLOPs: what feedback names ("a
  64×64×32 float32 intermediate made by aten.sub").

Nothing here decides anything: the figures are plain data for the grader.
``torch.utils.flop_counter`` is imported only when a meter is first made, so
tasks without an efficiency check never pay for it. Standard library and
torch only (the worker-side wall).
"""

from __future__ import annotations

from typing import Any

import torch

from tutor.jail.untraced import DispatchMode

_is_tensor = torch.is_tensor
_untyped_storage = torch.Tensor.untyped_storage
_numel = torch.Tensor.numel
_size = torch.Tensor.size
_storage_nbytes = torch.UntypedStorage.nbytes
_formulas: dict[Any, Any] | None = None


def _registry() -> dict[Any, Any]:
    """torch's FLOP formulas by operator packet, imported on first use."""
    global _formulas
    if _formulas is None:
        from torch.utils.flop_counter import flop_registry

        _formulas = dict(flop_registry)
    return _formulas


def _tensors(value: Any, depth: int = 0) -> list[torch.Tensor]:
    if _is_tensor(value):
        return [value]
    if depth < 4 and type(value) in (list, tuple):
        return [t for item in value for t in _tensors(item, depth + 1)]
    return []


class Meter(DispatchMode):
    """Counts FLOPs and fresh allocation of everything dispatched while it is entered."""

    def __init__(self) -> None:
        super().__init__()
        self.formulas = _registry()
        self.flops = 0
        self.alloc_bytes = 0
        self.largest: dict[str, Any] | None = None  # the biggest fresh storage: bytes, op, shape, dtype
        self.heaviest: dict[str, Any] | None = None  # the op with the most FLOPs: flops, op, output shape

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        try:
            self._count(func, args, kwargs, out)
        except Exception:  # noqa: BLE001 - measuring must never change what the learner's code does
            pass
        return out

    def _count(self, func: Any, args: Any, kwargs: dict[str, Any], out: Any) -> None:
        inputs = _tensors(list(args)) + _tensors(list(kwargs.values()))
        outputs = _tensors(out)
        formula = self.formulas.get(func.overloadpacket)
        if formula is not None:
            flops = int(formula(*args, **kwargs, out_val=out))
        else:
            flops = 0 if func.is_view else max((_numel(t) for t in inputs + outputs), default=0)
        self.flops += flops
        if flops and (self.heaviest is None or flops > self.heaviest["flops"]):
            self.heaviest = {"flops": flops, "op": str(func.overloadpacket)[:80],
                             "shape": [int(d) for d in _size(outputs[0])][:16] if outputs else []}
        known = {_untyped_storage(t)._cdata for t in inputs}
        for t in outputs:
            storage = _untyped_storage(t)
            if storage._cdata in known:
                continue
            known.add(storage._cdata)
            nbytes = int(_storage_nbytes(storage))
            self.alloc_bytes += nbytes
            if self.largest is None or nbytes > self.largest["bytes"]:
                self.largest = {"bytes": nbytes, "op": str(func.overloadpacket)[:80],
                                "shape": [int(d) for d in _size(t)][:16], "dtype": str(t.dtype).replace("torch.", "")}

    def figures(self) -> dict[str, Any]:
        """What travels to the grader (plain data)."""
        return {"flops": self.flops, "alloc_bytes": self.alloc_bytes, "largest": self.largest, "heaviest": self.heaviest}
