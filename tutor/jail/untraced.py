"""The jail's own code kept out of dynamo's sight, without importing torch._dynamo.

Two things of the jail run inside what torch.compile may trace: the dialect's
attribute guard (called by the learner's code) and the recorders' and meter's
dispatch modes (called back by torch for every operator). dynamo must call
them as they are, never trace into them: their source is not even readable
in the sandbox, and tracing a guard would guard on it. torch's way, its
``disable``, needs torch._dynamo imported (about 1.5 s and 800 modules, and a
bigger worker heap for every later fork to copy); torch also wraps every
dispatch mode subclass in a first-call import of it. ``untraced`` does what ``torch._dynamo.disable``
does, through the same hooks of torch's C extension: the wrapper's frame is
skipped, what it calls runs with dynamo's frame hook off, and it is marked
for dynamo as disabled (a graph break where it is called). Where a torch
build lacks those hooks, torch's own ``disable`` and dispatch-mode wrap are
used (slower, the same).

Worker side: standard library and torch only.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

from torch.utils._python_dispatch import TorchDispatchMode

try:
    from torch._C._dynamo.eval_frame import _FrameAction, _FrameExecStrategy, set_code_exec_strategy, set_eval_frame
except ImportError:  # another torch: its own disable, below
    set_eval_frame = None

F = TypeVar("F", bound=Callable[..., Any])


def untraced(fn: F) -> F:
    """``fn`` as ``torch._dynamo.disable(fn)`` would make it (recursive), without importing dynamo."""
    if set_eval_frame is None:
        import torch._dynamo

        return torch._dynamo.disable(fn)  # type: ignore[no-any-return]

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        prior = set_eval_frame(None)
        try:
            return fn(*args, **kwargs)
        finally:
            set_eval_frame(prior)

    set_code_exec_strategy(call.__code__, _FrameExecStrategy(_FrameAction.SKIP, _FrameAction.DEFAULT))
    call._torchdynamo_disable = True  # type: ignore[attr-defined]
    return call  # type: ignore[return-value]


class DispatchMode(TorchDispatchMode):
    """Subclass it as torch's; ``__torch_dispatch__`` is ``untraced``, and torch's own wrap is off."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return set_eval_frame is None  # torch's wrap imports dynamo on first call: ours below replaces it

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        raw = cls.__dict__.get("__torch_dispatch__")
        if set_eval_frame is not None and raw is not None and not isinstance(raw, classmethod):
            cls.__torch_dispatch__ = untraced(raw)  # type: ignore[method-assign]
