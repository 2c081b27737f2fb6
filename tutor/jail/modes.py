"""A ``TorchDispatchMode`` base that does not import torch._dynamo.

torch wraps the ``__torch_dispatch__`` of every dispatch mode subclass in
``torch._disable_dynamo``, whose first call imports torch._dynamo and sympy:
about 1.5 s and 800 modules, in the child of every task that records ops or
meters efficiency, in the grader around the reference, and, paid once in the
worker, a bigger heap for every later fork to copy. What the wrap does is
keep dynamo from tracing the mode's own code, and that needs no import: the
modes of ``tutor.jail`` run their method with dynamo's frame hook off, set
through torch's C extension (as ``torch._dynamo.disable`` does), in a
wrapper whose own frame dynamo is told to skip. Where a torch build lacks
those hooks, torch's own wrap stays (slower, the same behaviour).

Worker side: standard library and torch only.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from torch.utils._python_dispatch import TorchDispatchMode

try:
    from torch._C._dynamo.eval_frame import _FrameAction, _FrameExecStrategy, set_code_exec_strategy, set_eval_frame
except ImportError:  # another torch: keep torch's own wrap
    set_eval_frame = None


class DispatchMode(TorchDispatchMode):
    """Subclass it as torch's; ``__torch_dispatch__`` runs out of dynamo's sight."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return set_eval_frame is None  # torch's wrap (it imports dynamo) only where ours cannot be

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        raw = cls.__dict__.get("__torch_dispatch__")
        if set_eval_frame is not None and raw is not None and not isinstance(raw, classmethod):
            cls.__torch_dispatch__ = _out_of_dynamo(raw)  # type: ignore[method-assign]


def _out_of_dynamo(raw: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(raw)
    def dispatch(self: Any, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        prior = set_eval_frame(None)  # nothing below is traced (dynamo.disable(recursive=True))
        try:
            return raw(self, func, types, args, kwargs)
        finally:
            set_eval_frame(prior)

    set_code_exec_strategy(dispatch.__code__, _FrameExecStrategy(_FrameAction.SKIP, _FrameAction.DEFAULT))
    return dispatch
