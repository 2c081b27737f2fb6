"""Opening a grader so that its slow starts overlap.

The sandbox worker imports torch in its own process and the grader imports
torch here; the two run at once on two cores when the worker starts first.
So the ``tutor`` entry point starts the workers before anything else
(``prestart``, before typer and the CLI are even imported), and
``open_grader`` takes them over. If the grader then has to wait for its
worker, it imports meanwhile what later tasks' references import lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tutor.grading.engine import Grader
    from tutor.grading.pool import Pool

#: What references import lazily: ``backward(gradient=...)`` imports sympy
#: through torch.fx (~0.4 s), paid while the grader waits for its worker.
LAZY_IMPORTS = ("torch.fx.experimental.symbolic_shapes",)

_early: dict[tuple[str, int], Pool] = {}


def prestart(device: str, jobs: int) -> None:
    """Start ``jobs`` workers for ``device`` now, for the ``open_grader`` call to come."""
    from tutor.grading.pool import Pool

    pool = Pool(device, jobs)
    pool.warm()
    _early[(device, jobs)] = pool


def close_prestarted() -> None:
    """Close workers that no grader took over (the command did not grade after all)."""
    while _early:
        _early.popitem()[1].close()


def open_grader(device: str = "cpu", jobs: int = 1, lang: str = "en") -> Grader:
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
    pool.while_starting = _import_lazy
    return grader


def _import_lazy() -> None:
    """Holding the lock reference runs hold: they import the same modules lazily."""
    import importlib

    from tutor.grading.reference import TORCH_STATE

    with TORCH_STATE:
        for name in LAZY_IMPORTS:
            importlib.import_module(name)
