"""Walking an autograd graph from the tensors a run returned (worker side: torch only).

One walk serves the harness's op telemetry (the node names behind a result) and the
gradcheck check (is a custom ``autograd.Function`` among them), bounded so a huge
graph cannot keep the child busy.
"""

from __future__ import annotations

from typing import Any, Iterator

import torch

_grad_fn = torch.Tensor.grad_fn.__get__  # bound before any learner code exists


def nodes(roots: Any, limit: int) -> Iterator[Any]:
    """Each node behind ``roots`` (tensors) once, at most ``limit`` of them."""
    stack = [fn for fn in (_grad_fn(t) for t in roots) if fn is not None]
    visited: set[int] = set()
    while stack and len(visited) < limit:
        node = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        yield node
        stack.extend(fn for fn, _ in getattr(node, "next_functions", ()) if fn is not None)
