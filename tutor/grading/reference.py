"""Running the instructor's reference, in the grader, on its own copy of the inputs.

The reference is trusted code and never enters the sandbox (so no learner
process can hold it). It runs under a guard that restores torch's global
state afterwards: a reference that sets the default dtype, say, must not
change how the next task is graded.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Callable, Iterator

import torch

from tutor.checks import Run
from tutor.errors import PackError, Problem
from tutor.grading.inputs import derive_seed
from tutor.jail import efficiency, wire
from tutor.jail.harness import input_grads, run_backward, tensors_in

# Inputs, references and upstream gradients touch torch's global state
# (default dtype, grad mode, RNG); one task at a time in the grader.
TORCH_STATE = threading.RLock()


@contextlib.contextmanager
def torch_state_guard() -> Iterator[None]:
    """Run pack code as the learner's child runs: oneDNN off (its kernels are made at run time,
    which the child's seccomp layer refuses, so the child runs ATen's; a reference on oneDNN would
    differ in the last bits, and a few training steps make that more), torch's state restored after."""
    dtype = torch.get_default_dtype()
    grad = torch.is_grad_enabled()
    rng = torch.random.get_rng_state()
    # set_flags, not an assignment: assigning is refused once anything in the process called
    # torch.backends.disable_global_flags() (torch's test utilities do); only `enabled` is set
    # (flags() would also set TF32, which warns on every CPU build).
    onednn = torch.backends.mkldnn.set_flags(False)[0]
    try:
        yield
    finally:
        torch.backends.mkldnn.set_flags(onednn)
        torch.set_default_dtype(dtype)
        torch.set_grad_enabled(grad)
        torch.random.set_rng_state(rng)


def copy_inputs(args: dict[str, Any], device: str) -> dict[str, Any]:
    """An independent copy of the inputs, storage sharing and layout included."""
    doc, blob = wire.encode(args)
    return wire.decode(doc, blob, device=device)


class Reference:
    """A task's solution, compiled once per grader."""

    def __init__(self, task_id: str, solution: str, entry: str, where: Any, *, preamble: str = "") -> None:
        namespace: dict[str, Any] = {"__name__": f"reference_{task_id.replace('/', '_').replace('-', '_')}"}
        filename = f"<reference of {task_id}>"
        try:
            with torch_state_guard():
                if preamble:  # the pack's helpers, as the learner's code has them
                    exec(compile(preamble, f"<course helpers of {task_id}>", "exec"), namespace)  # noqa: S102
                exec(compile(solution, filename, "exec"), namespace)  # noqa: S102 - trusted pack code
        except Exception as exc:  # noqa: BLE001 - a broken pack is reported, not raised through
            raise PackError([Problem(where, f"the solution fails to load: {type(exc).__name__}: {exc}")]) from None
        self.func: Callable[..., Any] = namespace[entry]
        self.task_id = task_id
        self.where = where

    def run_cases(self, cases: list[Any], backward: list[str], device: str, *,
                  measure: bool = False) -> tuple[list[Run], list[list[Any]]]:
        """Run every case (``CaseInputs``) on its own copy of the inputs: the runs and upstream gradients.

        With ``measure``, each run carries the call's FLOPs and allocations, counted as the
        sandbox counts the learner's (the efficiency check compares the two).
        """
        runs, upstreams = [], []
        for case in cases:
            run, upstream = self.run(copy_inputs(case.args, device), case.index, backward, case.seed, measure=measure)
            runs.append(run)
            upstreams.append(upstream)
        return runs, upstreams

    def run(self, args: dict[str, Any], case_index: int, backward: list[str], case_seed: int, *,
            measure: bool = False) -> tuple[Run, list[Any]]:
        """Call the reference; returns its Run and the upstream gradients drawn for backward."""
        meter = efficiency.Meter() if measure else None
        with torch_state_guard():
            try:
                with meter if meter is not None else contextlib.nullcontext():
                    result = self.func(**args)
            except Exception as exc:  # noqa: BLE001
                raise PackError(
                    [Problem(self.where, f"the solution raises on case {case_index + 1}: {type(exc).__name__}: {exc}")]
                ) from None
            run = Run(result=result, inputs=args, grads=input_grads(args),
                      efficiency=meter.figures() if meter is not None else None)
            upstream: list[Any] = []
            if backward:
                outputs = [t for t in tensors_in(result) if t.requires_grad]
                gen = torch.Generator().manual_seed(derive_seed(case_seed, "upstream"))
                upstream = [torch.randn(t.shape, generator=gen, dtype=torch.float64).to(t.dtype).to(t.device) for t in outputs]
                run.backward_grads, error = run_backward(result, args, backward, upstream)
                if error:
                    raise PackError(
                        [Problem(self.where, f"backward through the solution fails on case {case_index + 1}: {error}")]
                    )
        return run, upstream
