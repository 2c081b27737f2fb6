"""The good learner: common operations, written as exercise code, run in the sandbox as outside it.

``sweep_learner_ops.py`` holds the operations a course teaches, grouped (tensor
methods and torch functions, in-place ops and ``out=``, advanced indexing,
``torch.linalg``, ``torch.fft``, ``torch.special``, ``torch.distributions``,
``torch.nn.functional``, ``nn`` modules with a few training steps, autograd,
``torch.func``, ``torch.autograd.functional``, sparse, complex, bfloat16/half,
autocast, ``torch.compile(backend="eager")``). Every group runs in ONE real
sandbox child, compiled in the restricted dialect as a learner's file is, and
once in this process as the grader runs a reference; each result must match. A refusal, a crash or a
different value is a bug of the sandbox, never of the learner.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from test_opdb import _sandboxed
from tutor.grading.reference import torch_state_guard

SOURCE = Path(__file__).with_name("sweep_learner_ops.py").read_text(encoding="utf-8")


def _outside(groups: int) -> list[Any]:
    namespace: dict[str, Any] = {}
    exec(compile(SOURCE, "<sweep outside>", "exec"), namespace)  # noqa: S102 - our own sweep code
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in the sandbox child: same kernels, same reductions
    try:
        with torch_state_guard():  # as the grader runs a reference
            return [namespace["solve"](group) for group in range(groups)]
    finally:
        torch.set_num_threads(threads)


def _same(inside: Any, outside: Any, where: str) -> list[str]:
    """Where the two differ: tensors in dtype, shape or value (to float tolerance, as the grader
    compares by default), everything else exactly."""
    if isinstance(outside, torch.Tensor):
        if not isinstance(inside, torch.Tensor) or inside.dtype != outside.dtype or inside.shape != outside.shape:
            return [f"{where}: {type(inside).__name__} {getattr(inside, 'dtype', '')} {getattr(inside, 'shape', '')}"
                    f" != {outside.dtype} {tuple(outside.shape)}"]
        try:
            torch.testing.assert_close(inside, outside.detach(), equal_nan=True, check_layout=False)
        except AssertionError as exc:
            return [f"{where}: {str(exc).splitlines()[0]}"]
        return []
    if isinstance(outside, (list, tuple)):
        if not isinstance(inside, (list, tuple)) or len(inside) != len(outside):
            return [f"{where}: {inside!r:.80} != {outside!r:.80}"]
        return [d for i, (a, b) in enumerate(zip(inside, outside)) for d in _same(a, b, f"{where}[{i}]")]
    return [] if inside == outside else [f"{where}: {inside!r:.80} != {outside!r:.80}"]


def test_common_operations_run_in_the_sandbox_as_outside() -> None:
    namespace: dict[str, Any] = {}
    exec(compile(SOURCE, "<sweep groups>", "exec"), namespace)  # noqa: S102 - our own sweep code
    names = [group.__name__ for group in namespace["GROUPS"]]
    outside = _outside(len(names))
    inside = _sandboxed(SOURCE, [{"group": g} for g in range(len(names))], memory_mb=3072)
    differ = [d for name, a, b in zip(names, inside, outside) for d in _same(a, b, name)]
    assert not differ, "\n".join(differ)
