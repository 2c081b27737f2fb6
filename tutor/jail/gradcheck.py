"""The child's side of the ``gradcheck`` check: ``torch.autograd.gradcheck`` on the learner's entry.

A custom ``torch.autograd.Function`` has a hand-written backward; gradcheck
compares it with finite differences of the learner's own forward. That needs
the learner's code, so it runs here, in the sandbox child, on float64 copies
of the inputs the grader made (taken before the learner's call can change
them). What comes back is plain data (numbers, names, a short text) in the
case's frame; the grader decodes it strictly and words the feedback
(``tutor.checks.gradcheck``). Worker side: the standard library and torch.

gradcheck is the judge. When it finds a Jacobian mismatch, this module also
finds the entry that is furthest out of tolerance, so the learner is told
where: ``d result[i] / d x[j]``, analytical against numerical.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Callable

import torch
from torch.autograd.gradcheck import GradcheckError

from tutor.jail import graph

# Bound before any learner code exists (as the harness binds its own).
_gradcheck = torch.autograd.gradcheck
_grad = torch.autograd.grad
_is_tensor = torch.is_tensor
_detach = torch.Tensor.detach
_clone = torch.Tensor.clone
_to = torch.Tensor.to
_cpu = torch.Tensor.cpu
_requires_grad_ = torch.Tensor.requires_grad_
_requires_grad = torch.Tensor.requires_grad.__get__
_no_grad = torch.no_grad
_custom_node = torch.autograd.function.BackwardCFunction
_float64 = torch.float64

#: Elements (outputs × inputs) up to which a mismatch is located entry by entry.
MAX_LOCATED = 4096
MAX_DETAIL = 2000


def prepare(args: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    """float64 copies of the floating tensor arguments, the checked ones requiring grad.

    Taken before the learner's call: gradcheck must see the inputs the grader made.
    """
    checked = set(request.get("inputs") or floating(args))
    copies: dict[str, Any] = {}
    for name, value in args.items():
        if _is_tensor(value) and (value.dtype.is_floating_point or value.dtype.is_complex):
            copy = _clone(_to(_detach(value), _float64))
            copies[name] = _requires_grad_(copy, name in checked)
        else:
            copies[name] = value
    return copies


def floating(args: dict[str, Any]) -> list[str]:
    """The arguments gradcheck differentiates by default: every floating-point tensor."""
    return [name for name, v in args.items() if _is_tensor(v) and v.dtype.is_floating_point]


def run(entry: Callable[..., Any], copies: dict[str, Any], request: dict[str, Any],
        describe_error: Callable[[BaseException], str]) -> dict[str, Any]:
    """gradcheck on ``entry`` at ``copies``; the verdict as plain data (see the module doc).

    ``describe_error`` turns an exception from the learner's code into the text
    the learner may read (their own frames only).
    """
    names = [name for name in (request.get("inputs") or floating(copies)) if _is_tensor(copies.get(name))]
    inputs = tuple(copies[name] for name in names)

    def fn(*values: torch.Tensor) -> Any:
        return entry(**{**copies, **dict(zip(names, values))})

    eps, atol, rtol = float(request["eps"]), float(request["atol"]), float(request["rtol"])
    try:
        first = fn(*inputs)
        outputs = _outputs(first)
        if outputs is None:
            return {"ok": False, "kind": "not-tensors", "detail": type(first).__name__[:100]}
        custom = _uses_custom_function(outputs)
        _gradcheck(fn, inputs, eps=eps, atol=atol, rtol=rtol, raise_exception=True)
    except BaseException as exc:  # noqa: BLE001 - the learner's code (or its backward) may raise anything
        if not isinstance(exc, GradcheckError):
            return {"ok": False, "kind": "raised", "detail": describe_error(exc)[-MAX_DETAIL:]}
        try:
            found = _locate(fn, inputs, names, eps, atol, rtol)
        except BaseException:  # noqa: BLE001 - a forward that changes shape when perturbed...: say what gradcheck said
            found = None
        if found is None:
            return {"ok": False, "kind": "rejected", "detail": str(exc).strip().splitlines()[0][:MAX_DETAIL]}
        return {"ok": False, "kind": "mismatch", **found}
    return {"ok": True, "custom_function": custom}


def _outputs(value: Any) -> tuple[torch.Tensor, ...] | None:
    """What gradcheck differentiates: a tensor, or a tuple or list of tensors."""
    if _is_tensor(value):
        return (value,)
    if type(value) in (tuple, list) and value and all(_is_tensor(v) for v in value):
        return tuple(value)
    return None


def _uses_custom_function(outputs: tuple[torch.Tensor, ...]) -> bool:
    """Whether a node of a custom ``autograd.Function`` is in the outputs' graph."""
    return any(isinstance(node, _custom_node) for node in graph.nodes(outputs, MAX_LOCATED))


def _locate(fn: Callable[..., Any], inputs: tuple[torch.Tensor, ...], names: list[str], eps: float,
            atol: float, rtol: float) -> dict[str, Any] | None:
    """The Jacobian entry furthest outside gradcheck's tolerance, by gradcheck's own rule
    (``|analytical - numerical| <= atol + rtol * |numerical|``), or None."""
    numerical = _numerical(fn, inputs, eps)  # first: perturbing the inputs would spoil a graph made before
    outputs = _outputs(fn(*inputs))
    if numerical is None or outputs is None:
        return None
    worst: tuple[float, dict[str, Any]] | None = None
    for k, out in enumerate(outputs):
        for out_index in itertools.product(*map(range, out.shape)):
            row = _analytical_row(out, out_index, inputs)
            for j, (name, x) in enumerate(zip(names, inputs)):
                for in_index in itertools.product(*map(range, x.shape)):
                    a = 0.0 if row[j] is None else float(row[j][in_index])
                    n = float(numerical[j][k][(*out_index, *in_index)])
                    excess = abs(a - n) - (atol + rtol * abs(n))
                    if math.isnan(excess):  # NaN on one side only is a mismatch; on both, gradcheck's call
                        excess = -math.inf if math.isnan(a) and math.isnan(n) else math.inf
                    if excess > 0 and (worst is None or excess > worst[0]):
                        worst = (excess, {"input": name, "input_index": list(in_index), "output": k,
                                          "outputs": len(outputs), "output_index": list(out_index),
                                          "analytical": a, "numerical": n})
    return None if worst is None else worst[1]


def _analytical_row(out: torch.Tensor, index: tuple[int, ...], inputs: tuple[torch.Tensor, ...]) -> list[Any]:
    """d out[index] / d each input, through the learner's backward (None: no gradient reaches it)."""
    if not _requires_grad(out):
        return [None] * len(inputs)
    grads = _grad(out[index] if index else out, inputs, retain_graph=True, allow_unused=True)
    return [None if g is None else _detach(g) for g in grads]


def _numerical(fn: Callable[..., Any], inputs: tuple[torch.Tensor, ...], eps: float) -> list[list[torch.Tensor]] | None:
    """Central differences of the learner's forward, as gradcheck takes them: ``[input][output]``
    Jacobians of shape ``(*output.shape, *input.shape)``; None when too many to locate one by one."""
    with _no_grad():
        base = _outputs(fn(*inputs))
    if base is None or sum(o.numel() for o in base) * sum(x.numel() for x in inputs) > MAX_LOCATED:
        return None
    jacobians = []
    for x in inputs:
        per_output = [torch.zeros((*o.shape, *x.shape), dtype=_float64) for o in base]
        for index in itertools.product(*map(range, x.shape)):
            with _no_grad():
                original = float(x[index])
                x[index] = original + eps
                plus = _outputs(fn(*inputs)) or ()
                x[index] = original - eps
                minus = _outputs(fn(*inputs)) or ()
                x[index] = original
            for jacobian, p, m in zip(per_output, plus, minus):
                jacobian[(..., *index)] = _cpu(_to(_detach(p) - _detach(m), _float64)) / (2 * eps)
        jacobians.append(per_output)
    return jacobians
