"""Opening a grader so that its slow starts overlap.

The sandbox worker imports torch in its own process and the grader imports
torch here; the two run at once on two cores when the worker starts first.
So the ``tutor`` entry point starts the workers before anything else
(``prestart``, before typer and the CLI are even imported), and
``open_grader`` takes them over. A batch, which knows its tasks, asks the
workers for their lazy warm-up stages at once (``prewarm``) and imports what
its references will import lazily while its first job runs.
"""

from __future__ import annotations

import functools
import gc
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from tutor.grading.engine import Grader
    from tutor.grading.pool import Pool

#: What references import lazily, by the worker's warm-up stage that stands for
#: the same need: a batch pays them while its first job runs (the worker is
#: paying its own stages then), not when a reference first needs them.
LAZY_IMPORTS = {
    "gradient": ("torch.fx.experimental.symbolic_shapes",),  # backward(gradient=...) imports sympy
    "efficiency": ("torch.utils.flop_counter",),  # the reference's meter
    "dynamo": ("torch._dynamo",),  # references that step an optimizer or compile
    "numpy": ("numpy",),
}

_early: dict[tuple[str, int], Pool] = {}

#: Set by the command-line entry point: once torch and the pack are loaded, put
#: them out of the cyclic collector's sight (``gc.freeze``), so a batch's full
#: collections walk what grading made, not all of torch (~2 ms a task-grade).
#: Not in a long-lived process such as the test runner: what is frozen is
#: never collected.
FREEZE_ON_OPEN = False


def prestart(device: str, jobs: int) -> None:
    """Start ``jobs`` workers for ``device`` now, for the ``open_grader`` call to come."""
    from tutor.grading.pool import Pool

    pool = Pool(device, jobs)
    pool.warm()
    _early[(device, jobs)] = pool


def prewarm(device: str, jobs: int, stages: list[str]) -> None:
    """Have the workers ``open_grader`` will take over pay these warm-up stages now,
    while this process still imports torch (a batch knows its tasks up front)."""
    if (device, jobs) not in _early:
        prestart(device, jobs)
    _early[(device, jobs)].prewarm(stages)


def close_prestarted() -> None:
    """Close workers that no grader took over (the command did not grade after all)."""
    while _early:
        _early.popitem()[1].close()


def open_grader(device: str = "cpu", jobs: int = 1, lang: str = "en", stages: Iterable[str] = ()) -> Grader:
    """A grader on the prestarted workers (or new ones); ``stages``: what a batch
    will need (``tutor.grading.needs.batch_needs``), imported here during its first job."""
    from tutor.grading.pool import Pool

    pool = _early.pop((device, jobs), None) or Pool(device, jobs)
    close_prestarted()  # started for other options than the command's: not needed
    pool.warm()
    try:
        from tutor.grading.engine import Grader

        grader = Grader(device=device, jobs=jobs, lang=lang, pool=pool)
    except BaseException:
        pool.close()
        raise
    if FREEZE_ON_OPEN:
        gc.freeze()
    names = [name for stage in stages for name in LAZY_IMPORTS.get(stage, ())]
    if names:
        pool.meanwhile = functools.partial(_import_lazy, names)
    return grader


def _import_lazy(names: list[str]) -> None:
    """Holding the lock reference runs hold: they import the same modules lazily."""
    import importlib

    from tutor.grading.reference import TORCH_STATE

    with TORCH_STATE:
        for name in names:
            importlib.import_module(name)
