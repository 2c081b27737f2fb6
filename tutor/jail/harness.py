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

import ast
import contextlib
import gc
import linecache
import os
import sys
import traceback
import types
from typing import Any, Callable, Iterator

import torch
from torch.overrides import TorchFunctionMode, resolve_name

from tutor.jail import classes, dialect, efficiency, frames, gradcheck, graph, wire
from tutor.jail.compiled import PLAIN_TENSORS
from tutor.jail.untraced import DispatchMode
from tutor.jail.channel import Report

_backward = torch.autograd.backward
_is_tensor = torch.is_tensor
_requires_grad = torch.Tensor.requires_grad.__get__
_grad_get = torch.Tensor.grad.__get__
_grad_set = torch.Tensor.grad.__set__
_clone = torch.Tensor.clone
_detach = torch.Tensor.detach
_getframe = sys._getframe
_exit = os._exit
_realpath = os.path.realpath
_os_open = os.open
_os_close = os.close

MAX_TRACE = 20_000

# Events refused whoever asks: there is no reason for exercise code to do
# them. Each maps to the kind of attempt the grader names to the learner
# (``tutor.grading.refusal``).
REFUSED_ALWAYS = {
    "os.system": "process", "os.exec": "process", "os.posix_spawn": "process", "os.spawn": "process",
    "os.fork": "process", "os.forkpty": "process", "subprocess.Popen": "process",
    "socket.__new__": "network", "socket.connect": "network", "socket.bind": "network",
    "os.kill": "signal", "signal.pthread_kill": "signal",
    "ctypes.dlopen": "native",
    "sys.addaudithook": "tamper",
}  # fmt: skip
# Events refused when the learner's own code asks (torch itself may use some
# of them: torch.compile sets environment variables), unless the task allows
# reaching torch's internals.
REFUSED_INTERNALS = {
    "sys._getframe": "frames", "sys._current_frames": "frames", "object.__getattr__": "frames",
    "gc.get_objects": "gc", "gc.get_referrers": "gc", "gc.get_referents": "gc",
    "sys.settrace": "tracing", "sys.setprofile": "tracing",
    "object.__setattr__": "code",
    "ctypes.dlsym": "memory", "ctypes.addressof": "memory", "ctypes.string_at": "memory", "ctypes.cdata": "memory",
}  # fmt: skip
# File-system events the kernel layers judge: the auditor asks the kernel
# (a trial open) and reports a denial, so a caught error still counts.
FILE_EVENTS = ("open", "os.listdir", "os.scandir")
# torch.fx turns a graph's targets (names the learner may choose: ``get_attr("__class__")``,
# ``call_method("__getattribute__", ...)``) into Python source it compiles and runs, outside the
# dialect's guard; that source is held to the dialect's attribute rule before it compiles.
GENERATED_SOURCE = "<eval_with_key>"


# The standard library reads frames on the learner's behalf (namedtuple,
# warnings.warn, logging): only a direct call from the learner's file counts.
DIRECT_ONLY = {"sys._getframe", "sys._current_frames", "object.__getattr__", "object.__setattr__"}


class Refusals:
    """The first attempt a guard or layer stopped, reported once on the result channel,
    even if the learner catches the error it raises."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.sent = False

    def __call__(self, event: str, reason: str, detail: str = "", line: int | None = None) -> None:
        """``line`` is set for what the dialect refused before running anything."""
        if not self.sent:
            self.sent = True
            self.report.send({"kind": "refused", "event": event, "reason": reason, "detail": str(detail)[:300], "line": line})


# The file name the course's helpers (the pack's preamble) are compiled under.
HELPERS_FILE = "<course helpers>"


def learner_on_stack(learner_file: str, frame: types.FrameType | None, stop: types.FrameType | None = None,
                     *, helpers_decide: bool = False) -> bool:
    """Whether code from the learner's file is running, however far down the stack.

    torch may call the learner's code (``torch.no_grad()(fn)``, a hook, a custom
    ``Function.backward``): what runs then is the learner's, whoever called it.
    Code objects keep the file they were compiled from, which learner code
    cannot forge (it cannot compile). With ``helpers_decide``, the innermost of
    the learner's code and the course's helpers decides: what a helper calls is
    the course's (a helper built on ``torch.where`` does not break a task that
    forbids it), what the learner's callback run by a helper calls is the learner's.
    """
    while frame is not None and frame is not stop:
        name = frame.f_code.co_filename
        if name == learner_file:
            return True
        if helpers_decide and name == HELPERS_FILE:
            return False
        frame = frame.f_back
    return False


class Recorder:
    """Records what the learner's code calls, from module import to the encoding of results.

    Two traces: the torch functions and methods called (``torch.Tensor.sigmoid``),
    and the aten operators that no recorded call explains (``aten.sigmoid``
    reached around the function layer). An operator dispatched while a
    recorded call runs is that call's (matmul's ``squeeze_``) unless the
    learner's code runs between the two (a function torch called back:
    ``Tensor.apply_``, a ``__torch_function__``); what the harness itself runs
    (backward, encoding) is not the learner's unless the learner's code is on
    the stack (a hook, a custom backward).
    """

    def __init__(self, learner_file: str) -> None:
        self.learner_file = learner_file
        self.open: list[types.FrameType] = []  # the frames of the recorded calls now running, innermost last
        self.calls: dict[str, None] = {}
        self.ops: dict[str, None] = {}
        self.barriers: list[types.FrameType] = []
        self.modes = (_Calls(self), _Ops(self))

    def learners(self) -> bool:
        """Whether the learner's code runs above the innermost backward call (or anywhere, outside one)."""
        return learner_on_stack(self.learner_file, _getframe(2), self.barriers[-1] if self.barriers else None,
                                helpers_decide=True)

    def learners_since_call(self) -> bool:
        """Whether the learner's code runs above the innermost recorded call (or anywhere, outside one)."""
        return learner_on_stack(self.learner_file, _getframe(2), self.open[-1] if self.open else None,
                                helpers_decide=True)

    def __enter__(self) -> Recorder:
        for mode in self.modes:
            mode.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        for mode in reversed(self.modes):
            mode.__exit__(None, None, None)


# Calls during which autograd runs the learner's hooks and custom backward passes.
_RUNS_HOOKS = (torch.autograd.backward, torch.autograd.grad, torch.Tensor.backward)


class _Calls(TorchFunctionMode):
    def __init__(self, recorder: Recorder) -> None:
        super().__init__()
        self.recorder = recorder

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        rec = self.recorder
        if len(rec.calls) < MAX_TRACE and rec.learners():
            try:
                name = resolve_name(func) or getattr(func, "__qualname__", repr(func))
            except Exception:  # noqa: BLE001 - resolving a name must never break the run
                name = repr(func)
            rec.calls[str(name)] = None
        if func in _RUNS_HOOKS:
            # torch keeps this mode off while it runs its own handler, so the
            # learner's hooks and custom backward passes are seen by ``_Ops``:
            # what they dispatch counts, the engine's own derivative ops (run
            # with no learner frame above this one) do not.
            rec.barriers.append(_getframe(0))
            rec.open.append(_getframe(0))
            try:
                return func(*args, **(kwargs or {}))
            finally:
                rec.open.pop()
                rec.barriers.pop()
        rec.open.append(_getframe(0))
        try:
            return func(*args, **(kwargs or {}))
        finally:
            rec.open.pop()


class _Ops(DispatchMode):
    def __init__(self, recorder: Recorder) -> None:
        super().__init__()
        self.recorder = recorder

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        rec = self.recorder
        if len(rec.ops) < MAX_TRACE and rec.learners_since_call():
            rec.ops[str(func.overloadpacket)] = None
        return func(*args, **(kwargs or {}))


def warm_up() -> None:
    """Pay, once in the zygote, the lazy costs every task would pay in its child."""
    x = torch.randn(8, 8, requires_grad=True)
    (x @ x).sigmoid().sum().backward()
    torch.linalg.inv(torch.eye(3) + 1)
    torch.svd(torch.eye(3))
    torch.special.expit(torch.ones(1))
    with Recorder("<warm-up>"):  # the modes' first entry
        (x * 2).sum()
    resolve_name(torch.add)  # the recorders' first name builds torch's tables (~20 ms)
    classes.remember_existing()  # every child's class sweep then reads only the classes made after


def _warm_gradient() -> None:
    """``backward(gradient=...)`` imports sympy through torch.fx (~0.5 s)."""
    x = torch.randn(2, requires_grad=True)
    (x * 2).backward(torch.ones(2))
    classes.remember_existing()  # the classes it made are torch's, for every child's sweep


def _warm_dynamo() -> None:
    """An optimizer's step and the tracers import torch._dynamo (~1 s), and torch.compile
    its backends' modules on first use (aot_autograd: ~0.5 s more in each child)."""
    import torch._dynamo

    x = torch.randn(2, requires_grad=True)
    torch.optim.SGD([x], lr=0.1).step()
    torch._dynamo.list_backends()
    classes.remember_existing()


def _warm_efficiency() -> None:
    """The efficiency meter's first use imports torch.utils.flop_counter."""
    with efficiency.Meter():
        torch.ones(2, 2) @ torch.ones(2, 2)
    classes.remember_existing()


def _warm_numpy() -> None:
    """torch imports numpy only when a tensor first meets it (as here: the jail itself never imports it)."""
    torch.from_numpy(torch.ones(2).numpy())
    classes.remember_existing()


#: Lazy costs only some tasks pay, paid in the zygote before the first job that
#: names them (``tutor.grading.needs``), so a worker that never grades such a
#: task starts without them (importing torch._dynamo and sympy is ~1.5 s).
WARM_STAGES: dict[str, Callable[[], None]] = {
    "gradient": _warm_gradient, "dynamo": _warm_dynamo, "efficiency": _warm_efficiency, "numpy": _warm_numpy,
}


#: A made-up exercise for ``rehearse``: the kind of code every task runs (an import,
#: attribute reads under the guard, indexing, a call, a container result).
REHEARSAL = (
    "import torch\n\n"
    "def rehearsal(x, n=2):\n"
    "    y = x[0].clone()\n"
    "    return {'y': y, 'shape': list(y.shape), 'n': (n, 1.5)}\n"
)


def rehearse(job_waiting: Callable[[], bool]) -> None:
    """Walk a spare child through a made-up job's code paths until its job arrives.

    A forked child pays a copy-on-write fault for each page of the worker's
    memory it first writes, and CPython writes the reference count of every
    object it touches: the dialect's compiler, the guard and the codec touch
    thousands. Paid while the spare waits (a learner reading their verdict),
    those faults are off the next grade's path; when the job is already
    there (a batch) the rehearsal stops, since it would only delay it.

    Only trusted code runs, under the layers already on, and nothing it makes
    survives: the objects are dropped, and the cycles they leave are
    collected and frozen with the worker's heap, so the class sweep never
    reads them as the learner's.
    """
    for _ in _rehearsal(os.path.join(os.getcwd(), "rehearsal.py")):
        if job_waiting():
            break
    gc.collect()
    gc.freeze()


def _rehearsal(filename: str) -> Iterator[None]:
    """``rehearse``'s steps, each a few milliseconds in a fresh child, what every task runs first."""
    guard = dialect.Guard(lambda code, detail: None, filename)
    code, problems = dialect.compile_learner(REHEARSAL, filename)
    if code is None:
        raise RuntimeError(f"the rehearsal does not compile in the dialect: {problems}")
    yield
    space = guard.namespace("rehearsal", filename)
    exec(code, space)  # noqa: S102 - this module's own constant, not learner code
    x = torch.arange(6.0).reshape(2, 3).requires_grad_()
    result = space["rehearsal"](x)
    value = {"result": result, "inputs": {"x": x}, "grads": input_grads({"x": x}), "backward_grads": {}}
    foreign_tensor(value)
    yield
    doc, blob = wire.encode(value)
    frames.pack_frame({"kind": "case", "case": 0, "payload": doc, "grad_fns": _grad_fn_names(tensors_in(result))}, blob)
    wire.decode(doc, blob)
    yield
    with Recorder(filename):  # last: only tasks with ``forbid`` or ``require`` record
        space["rehearsal"](x)


class Auditor:
    """PEP 578 telemetry: refuses what exercise code must not do and reports it at once.

    Audit hooks are not a boundary (the kernel layers are); they turn a forbidden
    action into a clear ``refused`` verdict, and catch attempts even when a kernel
    layer is missing on this platform.
    """

    def __init__(self, report: Report, learner_file: str, allow_internals: bool, stdlib: tuple[str, ...],
                 scratch: str | None = None) -> None:
        self.report = report
        self.refuse = Refusals(report)  # shared with the dialect's guard: one refusal is reported
        self.learner_file = learner_file
        self.allow_internals = allow_internals
        self.stdlib = stdlib
        self.scratch = _realpath(scratch or os.getcwd())  # the child runs in its scratch dir
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
        detail = ""
        if reason is None and event in FILE_EVENTS:
            reason, detail = self._file(event, args)
        if reason is None and event == "compile" and not self.allow_internals:
            reason, detail = self._generated(args)
        if reason is None:
            return
        self.busy = True
        try:
            self.refuse(event, reason, detail)
        finally:
            self.busy = False
        raise PermissionError(f"tutor's sandbox refused this ({event} {detail})".strip())

    def _file(self, event: str, args: tuple[Any, ...]) -> tuple[str | None, str]:
        """``("read"|"write", path)`` when the learner's code asks for a file the layers deny."""
        path = args[0] if args else None
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, str):
            return None, ""  # an fd: it was judged when it was opened
        self.busy = True
        try:
            caller = _getframe(2)
            if _import_machinery(caller, self.stdlib) or _source_lookup(caller, self.stdlib, self.learner_file) \
                    or not learner_on_stack(self.learner_file, caller):
                return None, ""
            flags = args[2] if event == "open" and len(args) > 2 and isinstance(args[2], int) else os.O_RDONLY
            real = _realpath(path)
            if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND):
                inside = real == self.scratch or real.startswith(self.scratch + os.sep) or real == os.devnull
                return (None, "") if inside else ("write", path)
            try:  # the kernel layers are the judge of reads: ask them
                _os_close(_os_open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY))
            except PermissionError:
                # torch reading the source of a module on the stack (torch.compile reads every
                # frame's, the harness's too) is not an attempt: nothing is read either way
                return (None, "") if _loaded_source(real) else ("read", path)
            except OSError:
                pass  # missing, a directory…: the real call reports it as usual
            return None, ""
        finally:
            self.busy = False

    def _generated(self, args: tuple[Any, ...]) -> tuple[str | None, str]:
        """``("attribute", name)`` when source torch.fx generated reads an internal the dialect refuses."""
        source, filename = (args + (None, None))[:2]
        if not str(filename).startswith(GENERATED_SOURCE) or not isinstance(source, (str, bytes)):
            return None, ""
        self.busy = True  # parsing raises a compile event of its own
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None, ""  # the real compile reports it
        finally:
            self.busy = False
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr.startswith("__") and node.attr not in dialect.READABLE_DUNDERS:
                return "attribute", f".{node.attr}"
        return None, ""

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


def _loaded_source(path: str) -> bool:
    """Whether ``path`` is the source file of a module already imported."""
    return any(isinstance(f := getattr(m, "__file__", None), str) and _realpath(f) == path
               for m in list(sys.modules.values()))


def _import_machinery(frame: types.FrameType | None, stdlib: tuple[str, ...]) -> bool:
    """Whether Python's import system opened the file (a lazy import, package metadata),
    through any standard-library helpers: torch does that on the learner's behalf,
    and a denial there is not an attempt."""
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith("<frozen importlib") or f"{os.sep}importlib{os.sep}" in name or name.endswith("zipimport.py"):
            return True
        if not (name.startswith("<frozen") or (name.startswith(stdlib) and "site-packages" not in name)):
            return False
        frame = frame.f_back
    return False


_SOURCE_READERS = (f"{os.sep}linecache.py", f"{os.sep}tokenize.py")


def _source_lookup(frame: types.FrameType | None, stdlib: tuple[str, ...], learner_file: str) -> bool:
    """Whether the standard library's source readers (linecache, tokenize) open a file for torch:
    TorchDynamo looks up the source lines of every frame on the stack while it captures a graph.
    The kernel layers still judge the read (a denied one leaves the lines empty); only a read the
    learner's own code asks for, however many standard-library helpers lie between, is an attempt."""
    reader = False
    while frame is not None:
        name = frame.f_code.co_filename
        if not (name.startswith("<frozen") or (name.startswith(stdlib) and "site-packages" not in name)):
            return reader and name != learner_file
        reader = reader or name.endswith(_SOURCE_READERS)
        frame = frame.f_back
    return False


def learner_traceback(exc: BaseException, learner_file: str) -> str:
    """The learner's own frames and the error, without the harness's or torch's insides,
    naming the learner's file by the path they know (``_traceable_copy``)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == learner_file]
    lines = ["Traceback (most recent call last):\n"] if frames else []
    lines += traceback.format_list(frames)
    lines += traceback.format_exception_only(type(exc), exc)
    text = "".join(lines)
    shown = _SHOWN_AS.get(learner_file)
    if shown is not None:
        text = text.replace(f'File "{learner_file}"', f'File "{shown}"')
    return text[-8000:]


# The copy of the learner's file in scratch -> the path the learner knows, for tracebacks.
_SHOWN_AS: dict[str, str] = {}


def _traceable_copy(filename: str, source: str) -> str:
    """The learner's source written into the scratch folder, to be compiled under that name.

    The layers never let the child read the workspace, but torch.compile reads the file of
    every function it captures (TorchDynamo hashes it): under the workspace path the capture
    fails. Tracebacks still name the learner's own path."""
    copy = os.path.join(os.getcwd(), os.path.basename(filename) or "exercise.py")
    with open(copy, "w", encoding="utf-8") as out:
        out.write(source)
    _SHOWN_AS[copy] = filename
    return copy


def _remove(copy: str) -> None:
    try:
        os.unlink(copy)
    except OSError:
        pass  # the learner's code moved it (internals allowed): the zygote's cleanup takes what is left


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
    elif type(value) in wire.MAPPINGS:
        for item in value.values():
            out += tensors_in(item, depth + 1)
    return out


def _grad_fn_names(roots: list[torch.Tensor]) -> list[str]:
    """Autograd node names behind the result, e.g. ``SigmoidBackward0`` (op telemetry)."""
    return list(dict.fromkeys(type(node).__name__ for node in graph.nodes(roots, MAX_TRACE)))


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
    """Load the learner's file, run every case, and report each as it completes.

    Unless the task allows internals, the file is compiled in the restricted
    dialect and runs under its guards. With ``record``, the recorders are on
    from the first line of the module to the last encoded result.
    """
    source = job["source"]
    filename = _traceable_copy(job["filename"], source)
    try:
        final = _load_and_run(job, source, filename, payload, report, auditor)
    finally:  # before the final frame: the scratch is then as the learner's code left it
        _remove(filename)
    report.send(final)


def _load_and_run(job: dict[str, Any], source: str, filename: str, payload: Any, report: Report,
                  auditor: Auditor) -> dict[str, Any]:
    """``run``'s work, with the learner's file at ``filename``; returns the final frame."""
    auditor.learner_file = filename
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = types.ModuleType(job.get("module", "exercise"))
    module.__file__ = filename
    # dataclasses and typing look the module up by name; never shadow a real one (a task named "math")
    sys.modules.setdefault(module.__name__, module)
    recorder = Recorder(filename)
    guard: dialect.Guard | None = None
    with recorder if job.get("record") else contextlib.nullcontext():
        auditor.armed = True
        try:
            if job.get("allow_internals"):
                code = compile(source, filename, "exec")
            else:
                guard = dialect.Guard(lambda reason, detail: auditor.refuse("dialect", reason, detail), filename)
                code, problems = dialect.compile_learner(source, filename)
                if code is None:
                    first = problems[0]
                    auditor.refuse("dialect", first.code, first.detail, line=first.line)
                    return {"kind": "load_error", "error": f"line {first.line}: {first.code} {first.detail}"}
                guard.namespace(module.__name__, filename, into=module.__dict__)
            preamble = job.get("preamble") or ""
            if preamble:  # the course's helpers (instructor code, never a solution), defined first
                exec(compile(preamble, HELPERS_FILE, "exec"), module.__dict__)  # noqa: S102
            exec(code, module.__dict__)  # noqa: S102 - this is the learner's exercise, in the jail
            entry = module.__dict__.get(job["entry"])
            if not callable(entry):
                return {"kind": "load_error", "missing_entry": True, "error": f"no function `{job['entry']}` in your file"}
        except BaseException as exc:  # noqa: BLE001 - sys.exit at import is a load error too
            return {"kind": "load_error", "error": learner_traceback(exc, filename)}
        imported = (dict(recorder.calls), dict(recorder.ops))
        for index, case in enumerate(payload["cases"]):
            report.case_start()
            recorder.calls, recorder.ops = dict(imported[0]), dict(imported[1])
            _run_case(index, case, job, entry, report, filename, recorder)
    if guard is not None:  # a class given special methods by a door the guard does not watch
        found = guard.rule.sweep()
        if found:
            auditor.refuse("dialect", "special", found)
    return {"kind": "done"}


def foreign_tensor(value: Any, depth: int = 0) -> str | None:
    """The type of a tensor subclass or tensor-like object in a result, or None.

    Judged by exact type, never by name: a subclass called ``Tensor`` is still
    a subclass. Such objects run their own code when read, so they are not
    graded.
    """
    if depth > 16:
        return None
    kind = type(value)
    if kind in PLAIN_TENSORS or kind in (list, tuple, *wire.MAPPINGS, str, int, float, bool, complex, type(None)):
        pass
    elif isinstance(value, torch.Tensor) or any("__torch_function__" in vars(k) or "__torch_dispatch__" in vars(k)
                                                for k in kind.__mro__):
        return f"{kind.__module__}.{kind.__qualname__}"
    items = value.values() if kind in wire.MAPPINGS else value if kind in (list, tuple) else ()
    for item in items:
        found = foreign_tensor(item, depth + 1)
        if found:
            return found
    return None


def _run_case(index: int, case: dict[str, Any], job: dict[str, Any], entry: Callable[..., Any], report: Report,
              filename: str, recorder: Recorder) -> None:
    args = case["args"]
    checking = case.get("gradcheck")  # copies taken before the call can change the inputs
    copies = gradcheck.prepare(args, checking) if checking else None
    meter = efficiency.Meter() if job.get("efficiency") else None  # FLOPs and allocations, when the task asks
    try:
        with meter if meter is not None else contextlib.nullcontext():
            result = entry(**args)
    except BaseException as exc:  # noqa: BLE001 - SystemExit in the learner's function is their error
        report.send({"kind": "case", "case": index, "error": learner_traceback(exc, filename)})
        return
    foreign = foreign_tensor(result)
    if foreign:
        report.send({"kind": "case", "case": index, "error":
                     f"your function returned a torch.Tensor subclass or tensor-like object ({foreign}): return a plain tensor"})
        return
    try:
        grads = input_grads(args)
        backward_grads: dict[str, Any] = {}
        backward_error = None
        if case.get("backward"):
            backward_grads, backward_error = run_backward(result, args, case["backward"], case["upstream"])
        outputs = tensors_in(result)
        value = {"result": result, "inputs": args, "grads": grads, "backward_grads": backward_grads}
        foreign = foreign_tensor(value)
        if foreign:
            raise frames.WireError(f"it holds a {foreign}, not a plain torch.Tensor")
        doc, blob = wire.encode(value, max_bytes=job.get("max_result_bytes", 256 << 20))
        checked = {"gradcheck": gradcheck.run(entry, copies, checking, lambda e: learner_traceback(e, filename))} \
            if checking else {}
    except (frames.WireError, RecursionError) as exc:
        report.send({"kind": "case", "case": index, "error": f"your function's result cannot be graded: {exc}"})
        return
    except Exception as exc:  # noqa: BLE001 - learner code (a hook, a property) may raise while we read
        report.send({"kind": "case", "case": index, "error": learner_traceback(exc, filename)})
        return
    report.send(
        {
            "kind": "case",
            "case": index,
            "payload": doc,
            "backward_error": backward_error,
            "calls": list(recorder.calls),
            "ops": list(recorder.ops),
            "grad_fns": _grad_fn_names(outputs),
            **checked,
            "efficiency": meter.figures() if meter is not None else None,
        },
        blob,
    )
