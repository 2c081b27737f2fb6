"""The learner's side of a run: load their file, call their function, report.

Runs in the forked, contained child, after the kernel layers are on. It holds
only the learner's source and the inputs the grader made; no reference
solution ever reaches this process. Everything it reports is data for the
grader to judge: this side decides nothing.

What the harness needs from torch is bound at import time, before any learner
code exists, so monkeypatching torch cannot change how results are read. That
is defence in depth only: values, gradients and storage identity are judged in
the grader from the payload, and cannot be forged without computing them.
"""

from __future__ import annotations

import linecache
import os
import sys
import traceback
import types
from typing import Any, Callable

import torch
from torch.overrides import TorchFunctionMode, resolve_name
from torch.utils._python_dispatch import TorchDispatchMode

from tutor.jail import frames, wire
from tutor.jail.channel import Report

_backward = torch.autograd.backward
_is_tensor = torch.is_tensor
_requires_grad = torch.Tensor.requires_grad.__get__
_grad_get = torch.Tensor.grad.__get__
_grad_set = torch.Tensor.grad.__set__
_grad_fn = torch.Tensor.grad_fn.__get__
_clone = torch.Tensor.clone
_detach = torch.Tensor.detach
_getframe = sys._getframe
_exit = os._exit

MAX_TRACE = 20_000

# Events refused whoever asks: there is no reason for exercise code to do them.
REFUSED_ALWAYS = {
    "os.system": "running shell commands",
    "os.exec": "starting programs",
    "os.posix_spawn": "starting programs",
    "os.spawn": "starting programs",
    "os.fork": "starting processes",
    "os.forkpty": "starting processes",
    "subprocess.Popen": "starting programs",
    "socket.__new__": "network access",
    "socket.connect": "network access",
    "socket.bind": "network access",
    "os.kill": "signalling processes",
    "signal.pthread_kill": "signalling processes",
    "ctypes.dlopen": "loading native code",
    "sys.addaudithook": "tampering with the sandbox",
}
# Events refused when the learner's own code asks (torch itself may use some
# of them), unless the task allows reaching torch's internals.
REFUSED_INTERNALS = {
    "sys._getframe": "reading interpreter frames (sys._getframe)",
    "sys._current_frames": "reading interpreter frames",
    "gc.get_objects": "walking the garbage collector (gc)",
    "gc.get_referrers": "walking the garbage collector (gc)",
    "gc.get_referents": "walking the garbage collector (gc)",
    "sys.settrace": "tracing the interpreter",
    "sys.setprofile": "tracing the interpreter",
    "object.__getattr__": "reading frame objects",
    "object.__setattr__": "rewriting code objects",
    "ctypes.dlsym": "reaching native code (ctypes)",
    "ctypes.addressof": "reaching native memory (ctypes)",
    "ctypes.string_at": "reading native memory (ctypes)",
    "ctypes.cdata": "reaching native memory (ctypes)",
}


# The standard library reads frames on the learner's behalf (namedtuple,
# warnings.warn, logging): only a direct call from the learner's file counts.
DIRECT_ONLY = {"sys._getframe", "sys._current_frames", "object.__getattr__", "object.__setattr__"}


class _Calls(TorchFunctionMode):
    """Records the torch functions and methods called, by qualified name."""

    def __init__(self) -> None:
        super().__init__()
        self.names: dict[str, None] = {}

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        if len(self.names) < MAX_TRACE:
            try:
                name = resolve_name(func) or getattr(func, "__qualname__", repr(func))
            except Exception:  # noqa: BLE001 - resolving a name must never break the run
                name = repr(func)
            self.names[str(name)] = None
        return func(*args, **(kwargs or {}))


class _Ops(TorchDispatchMode):
    """Records the aten operators dispatched, e.g. ``aten.sigmoid``."""

    def __init__(self) -> None:
        super().__init__()
        self.names: dict[str, None] = {}

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        if len(self.names) < MAX_TRACE:
            self.names[str(func.overloadpacket)] = None
        return func(*args, **(kwargs or {}))


def warm_up() -> None:
    """Pay torch's lazy costs once in the zygote, not in every child (about 1.3 s)."""
    x = torch.randn(8, 8, requires_grad=True)
    with _Calls(), _Ops():
        y = (x @ x).sigmoid().sum()
    y.backward()
    # backward(gradient=...) on a non-scalar lazily imports sympy (~0.5 s): pay it here.
    (x * 2).backward(torch.ones(8, 8))
    torch.optim.SGD([x], lr=0.1).step()
    torch.linalg.inv(torch.eye(3) + 1)
    torch.svd(torch.eye(3))
    torch.special.expit(torch.ones(1))


class Auditor:
    """PEP 578 telemetry: refuses what exercise code must not do and reports it at once.

    Audit hooks are not a boundary (the kernel layers are); they turn a forbidden
    action into a clear ``refused`` verdict, and catch attempts even when a kernel
    layer is missing on this platform.
    """

    def __init__(self, report: Report, learner_file: str, allow_internals: bool, stdlib: tuple[str, ...]) -> None:
        self.report = report
        self.learner_file = learner_file
        self.allow_internals = allow_internals
        self.stdlib = stdlib
        self.busy = False
        self.armed = False

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.armed or self.busy:
            return
        reason = REFUSED_ALWAYS.get(event)
        if reason is None and event.startswith("os.exec"):
            reason = REFUSED_ALWAYS["os.exec"]
        if reason is None and not self.allow_internals:
            internal = REFUSED_INTERNALS.get(event) or (
                REFUSED_INTERNALS["ctypes.cdata"] if event.startswith("ctypes.") else None
            )
            if internal and self._matters(event, args) and self._from_learner(direct=event in DIRECT_ONLY):
                reason = internal
        if reason is None:
            return
        self.busy = True
        try:
            self.report.send({"kind": "refused", "event": event, "reason": reason})
        finally:
            self.busy = False
        raise PermissionError(f"tutor's sandbox refused {reason} ({event})")

    @staticmethod
    def _matters(event: str, args: tuple[Any, ...]) -> bool:
        if event == "object.__getattr__":
            return len(args) > 1 and args[1] in ("tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_back")
        if event == "object.__setattr__":  # setting a class attribute is fine; swapping code is not
            return len(args) > 1 and args[1] == "__code__"
        return True

    def _from_learner(self, direct: bool) -> bool:
        """Whether the learner's file asked: as the direct caller, or (``direct=False``)
        as the nearest caller outside the standard library."""
        self.busy = True
        try:
            frame = _getframe(2)  # 0: here, 1: the hook, 2: whoever raised the event
            while frame is not None:
                name = frame.f_code.co_filename
                if name == self.learner_file:
                    return True
                if direct:
                    return False
                in_stdlib = name.startswith(self.stdlib) and "site-packages" not in name
                if not in_stdlib and not name.startswith("<frozen"):
                    return False
                frame = frame.f_back
            return False
        finally:
            self.busy = False


def learner_traceback(exc: BaseException, learner_file: str) -> str:
    """The learner's own frames and the error, without the harness's or torch's insides."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == learner_file]
    lines = ["Traceback (most recent call last):\n"] if frames else []
    lines += traceback.format_list(frames)
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines)[-8000:]


def tensors_in(value: Any, depth: int = 0) -> list[torch.Tensor]:
    """Tensors inside a returned value, in a fixed order: the grader draws upstream
    gradients for the reference's in this order, and the harness applies them in it."""
    if depth > 16:
        return []
    if _is_tensor(value):
        return [value]
    out: list[torch.Tensor] = []
    if type(value) in (list, tuple):
        for item in value:
            out += tensors_in(item, depth + 1)
    elif type(value) is dict:
        for item in value.values():
            out += tensors_in(item, depth + 1)
    return out


def _grad_fn_names(roots: list[torch.Tensor]) -> list[str]:
    """Autograd node names behind the result, e.g. ``SigmoidBackward0`` (op telemetry)."""
    seen: dict[str, None] = {}
    stack = [fn for fn in (_grad_fn(t) for t in roots) if fn is not None]
    visited: set[int] = set()
    while stack and len(visited) < MAX_TRACE:
        node = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        seen[type(node).__name__] = None
        stack.extend(fn for fn, _ in getattr(node, "next_functions", ()) if fn is not None)
    return list(seen)


def input_grads(args: dict[str, Any]) -> dict[str, Any]:
    """``.grad`` of each tensor argument after the call (the grader reads the reference's the same way)."""
    return {
        name: (None if _grad_get(v) is None else _clone(_grad_get(v)))
        for name, v in args.items()
        if _is_tensor(v)
    }


def run_backward(result: Any, args: dict[str, Any], names: list[str], upstream: list[Any]) -> tuple[dict[str, Any], str | None]:
    """Backward from a result's outputs with the grader's upstream gradient.

    The same routine serves the learner (here) and the reference (in the
    grader), so both sides' gradients are gathered by one rule.
    """
    outputs = [t for t in tensors_in(result) if _requires_grad(t)]
    if len(outputs) != len(upstream):
        return {}, (
            f"expected {len(upstream)} returned tensor(s) that require grad, got {len(outputs)}: "
            "is the result detached from the graph (detach(), .item(), numpy, torch.no_grad)?"
        )
    for out, grad in zip(outputs, upstream):
        if tuple(out.shape) != tuple(grad.shape):
            return {}, f"cannot run backward: returned shape {tuple(out.shape)}, expected {tuple(grad.shape)}"
    for name in names:
        if _is_tensor(args.get(name)):
            _grad_set(args[name], None)
    try:
        _backward(outputs, upstream)
    except Exception as exc:  # noqa: BLE001 - reported to the learner as the reason
        return {}, f"backward failed: {type(exc).__name__}: {exc}"[:2000]
    return {name: _grad_get(args[name]) if _is_tensor(args.get(name)) else None for name in names}, None


def run(job: dict[str, Any], payload: Any, report: Report, auditor: Auditor) -> None:
    """Load the learner's file, run every case, and report each as it completes."""
    filename = job["filename"]
    source = job["source"]
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = types.ModuleType(job.get("module", "exercise"))
    module.__file__ = filename
    auditor.armed = True
    try:
        preamble = job.get("preamble") or ""
        if preamble:  # the course's helpers (instructor code, never a solution), defined first
            exec(compile(preamble, "<course helpers>", "exec"), module.__dict__)  # noqa: S102
        code = compile(source, filename, "exec")
        exec(code, module.__dict__)  # noqa: S102 - this is the learner's exercise, in the jail
        entry = module.__dict__.get(job["entry"])
        if not callable(entry):
            report.send({"kind": "load_error", "missing_entry": True, "error": f"no function `{job['entry']}` in your file"})
            return
    except BaseException as exc:  # noqa: BLE001 - sys.exit at import is a load error too
        report.send({"kind": "load_error", "error": learner_traceback(exc, filename)})
        return
    for index, case in enumerate(payload["cases"]):
        report.send({"kind": "case_start", "case": index})
        _run_case(index, case, job, entry, report, filename)
    report.send({"kind": "done"})


def _run_case(index: int, case: dict[str, Any], job: dict[str, Any], entry: Callable[..., Any], report: Report, filename: str) -> None:
    args = case["args"]
    calls, ops = _Calls(), _Ops()
    record = job.get("record", False)
    try:
        if record:
            with calls, ops:
                result = entry(**args)
        else:
            result = entry(**args)
    except BaseException as exc:  # noqa: BLE001 - SystemExit in the learner's function is their error
        report.send({"kind": "case", "case": index, "error": learner_traceback(exc, filename)})
        return
    grads = input_grads(args)
    backward_grads: dict[str, Any] = {}
    backward_error = None
    if case.get("backward"):
        backward_grads, backward_error = run_backward(result, args, case["backward"], case["upstream"])
    outputs = tensors_in(result)
    value = {"result": result, "inputs": args, "grads": grads, "backward_grads": backward_grads}
    try:
        doc, blob = wire.encode(value, max_bytes=job.get("max_result_bytes", 256 << 20))
    except (frames.WireError, RecursionError) as exc:
        report.send({"kind": "case", "case": index, "error": f"your function's result cannot be graded: {exc}"})
        return
    report.send(
        {
            "kind": "case",
            "case": index,
            "payload": doc,
            "backward_error": backward_error,
            "calls": list(calls.names),
            "ops": list(ops.names),
            "grad_fns": _grad_fn_names(outputs),
        },
        blob,
    )
