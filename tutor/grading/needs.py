"""Which of the worker's lazy warm-up stages a job needs (``tutor.jail.harness.WARM_STAGES``).

A worker starts with only what every task needs, so ``tutor check`` of a
plain task does not wait for torch._dynamo and sympy (~1.5 s). A job names
the stages its child would otherwise pay for itself, and the worker pays
each once, before the first job that names it. This is a hint about speed
only: a child whose job named too little imports what it needs itself,
slower, with the same result. So reading the learner's source for it is
safe; it never decides anything about the grade.
"""

from __future__ import annotations

from tutor.pack.models import Task


def worker_needs(task: Task, source: str, *, record: bool, efficiency: bool) -> list[str]:
    """The stages this task's child would pay for: ``gradient``, ``dynamo``, ``efficiency``."""
    stages = ["efficiency"] if efficiency else []  # the meter imports torch.utils.flop_counter
    # backward with an upstream gradient (the backward and gradcheck checks, or the learner's
    # own backward(gradient=...)/autograd.grad) imports sympy through torch.fx
    if task.check("backward") or task.check("gradcheck") or "backward" in source or "autograd" in source:
        stages.append("gradient")
    # the op recorders and the efficiency meter (TorchDispatchModes), an optimizer's
    # step and the tracers (torch.compile, torch.export, torch.cond) import torch._dynamo
    if record or efficiency or any(word in source for word in ("optim", "compile", "export", "cond(")):
        stages.append("dynamo")
    return stages
