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

from tutor.pack.loader import Pack
from tutor.pack.models import Task


def records_ops(task: Task) -> bool:
    """Whether the child records what the learner calls (the recorders are on)."""
    return bool(task.check("forbid") or task.check("require"))


def worker_needs(task: Task, source: str) -> list[str]:
    """The stages this task's child would pay for: ``gradient``, ``dynamo``, ``efficiency``, ``numpy``."""
    efficiency = bool(task.check("efficiency"))
    stages = ["efficiency"] if efficiency else []  # the meter imports torch.utils.flop_counter
    # backward with an upstream gradient (the backward and gradcheck checks, or the learner's
    # own backward(gradient=...)/autograd.grad) imports sympy through torch.fx
    if task.check("backward") or task.check("gradcheck") or "backward" in source or "autograd" in source:
        stages.append("gradient")
    # an optimizer's step and the tracers (torch.compile, torch.export, torch.cond) import
    # torch._dynamo (the recorders and the meter do not: ``tutor.jail.untraced``)
    if any(word in source for word in ("optim", "compile", "export", "cond(")):
        stages.append("dynamo")
    if "numpy" in source:  # torch imports numpy only when a tensor first meets it
        stages.append("numpy")
    return stages


def batch_needs(packs: list[Pack]) -> list[str]:
    """The stages a batch of these packs' tasks will need, judged by their references:
    asked for before the first job, so the worker pays them while the grader starts."""
    stages: dict[str, None] = {}
    for pack in packs:
        for lesson, task in pack.tasks():
            source = (task.solution or "") + pack.preamble(f"{lesson.id}/{task.id}")
            stages.update(dict.fromkeys(worker_needs(task, source)))
    return list(stages)
