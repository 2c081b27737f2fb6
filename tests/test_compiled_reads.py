"""torch.compile in the sandbox as in plain torch: ``fullgraph=True`` compiles the learner's
code whole, although the dialect guards every attribute read (``tutor.jail.compiled``), and a
read the guard refuses is still refused inside compiled code."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
import torch

TASK = "modern/compile-eager"

# Right answers to the course's task, written with fullgraph=True (any graph break is an error)
# and reading attributes of tensors and modules inside the compiled function.
FULLGRAPH = {
    "the task's own step": (
        "import torch\n\n\ndef step(x):\n    y = torch.sin(x) * 2\n    if torch.compiler.is_compiling():\n"
        "        y = y + 1\n    return y\n\n\ndef solve(x):\n"
        "    return torch.compile(step, backend='eager', fullgraph=True)(x)\n"
    ),
    "as a decorator, with tensor methods and properties": (
        "import torch\nimport torch.nn.functional as F\n\n\n@torch.compile(backend='eager', fullgraph=True)\n"
        "def step(x):\n    assert x.dtype == torch.float32 and x.shape[0] == x.size(0)\n"
        "    y = x.sin().mul(2) + F.relu(x) * 0\n    if torch.compiler.is_compiling():\n        y = y.add(1)\n"
        "    return y.reshape(x.shape).contiguous()\n\n\ndef solve(x):\n    return step(x)\n"
    ),
    "a module of the learner's, compiled whole": (
        "import torch\n\n\nclass Step(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.scale = 2.0\n        self.bias = torch.nn.Parameter(torch.zeros(1), requires_grad=False)\n\n"
        "    def shift(self, y):\n        return y + 1 if torch.compiler.is_compiling() else y\n\n"
        "    def forward(self, x):\n        return self.shift(torch.sin(x) * self.scale + self.bias)\n\n\n"
        "step = torch.compile(Step(), backend='eager', fullgraph=True)\n\n\ndef solve(x):\n    return step(x)\n"
    ),
}


@pytest.fixture(scope="module")
def course() -> Any:
    from tutor.pack.loader import builtin_course, load_pack

    return load_pack(builtin_course())


@pytest.mark.parametrize("style", sorted(FULLGRAPH))
def test_fullgraph_compile_passes_in_the_sandbox(grader: Any, course: Any, tmp_path: Path, style: str) -> None:
    answer = tmp_path / "answer.py"
    answer.write_text(FULLGRAPH[style])
    verdict = grader.grade(course, TASK, answer, seed=1)
    assert verdict.status.value == "passed", (verdict.error, [c for c in verdict.checks if not c.passed])


def test_a_refused_read_inside_compiled_code_is_still_refused(grader: Any, course: Any, tmp_path: Path) -> None:
    """The polyfill takes only reads known to be plain; this one goes to the guard, which refuses it."""
    answer = tmp_path / "answer.py"
    answer.write_text(
        "import torch\n\n\ndef step(x):\n    return torch.sin(x) * 2 + 1 + getattr(x, '_' + 'version') * 0\n\n\n"
        "def solve(x):\n    return torch.compile(step, backend='eager')(x)\n"
    )
    verdict = grader.grade(course, TASK, answer, seed=1)
    assert verdict.status.value == "refused" and "._version" in (verdict.error or ""), verdict.error


def test_nothing_the_guard_changes_or_refuses_is_of_a_type_the_polyfill_takes_as_is() -> None:
    """``Guard.value`` replaces or refuses modules, classes, frames, code, a few functions and the
    reflective builtins; reads giving an ``AS_IS`` type are handed back unchanged, so none may be one."""
    import functools
    import types

    from tutor.jail import dialect
    from tutor.jail.compiled import AS_IS

    changed = [value for _, value in dialect._REFLECTIVE_VALUES.values()]
    changed += [torch.save, functools.update_wrapper, functools.wraps, torch, torch.nn, types, dialect.Guard]
    changed += [types.FrameType, types.CodeType, types.TracebackType]
    assert len(changed) > 15 and not [value for value in changed if isinstance(value, AS_IS)]


def _read(reader: Any, obj: Any, name: str) -> tuple[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return "value", reader(obj, name)
        except Exception as exc:  # noqa: BLE001 - the same error either way is what is compared
            return "raises", type(exc)


@pytest.mark.parametrize("make", [lambda: torch.randn(2, 3, requires_grad=True),
                                  lambda: torch.nn.Parameter(torch.randn(3)), lambda: torch.arange(4)],
                         ids=["leaf", "parameter", "int64"])
def test_the_guard_reads_every_name_the_polyfill_inlines_unchanged(make: Any) -> None:
    """What dynamo inlines for a plain tensor is the plain read: so the guard must allow every name
    in TENSOR_NAMES and hand back what the plain read gives (same type, same value or error)."""
    from tutor.jail import dialect
    from tutor.jail.compiled import TENSOR_NAMES

    refused: list[tuple[str, str]] = []
    guard = dialect.Guard(lambda code, detail: refused.append((code, detail)), "<test>")
    assert len(TENSOR_NAMES) > 300 and {"sum", "shape", "grad_fn", "T", "view"} <= TENSOR_NAMES
    for name in sorted(TENSOR_NAMES):
        x = make()
        plain, guarded = _read(getattr, x, name), _read(guard.getattr, x, name)
        assert plain[0] == guarded[0], name
        if plain[0] == "raises":
            assert plain[1] is guarded[1], name
        else:
            assert type(plain[1]) is type(guarded[1]), name
            if not isinstance(plain[1], torch.Tensor):
                assert plain[1] == guarded[1] or plain[1] is guarded[1], name
    assert refused == []


# Reads the guard refuses, each after reads the polyfill takes, in the same compiled frame: the
# refusal must come as it does without torch.compile. (The first version named ``getattr`` inside
# the polyfill: dynamo resolved it in the learner's builtins, where it is the guard, and a read
# after ``x.sin()`` got through unguarded.)
REFUSED_READS = {  # what -> (the read, the refusal's kind)
    "private tensor attribute": ("x.sin() + getattr(x, '_' + 'version') * 0", "attribute"),
    "private module attribute": ("torch.sin(x) + (getattr(torch, '_' + 'C') is None)", "attribute"),
    "a module the dialect refuses": ("torch.cos(x) + (getattr(torch, 'o' + 's') is None)", "import"),
    "a dunder": ("x.abs().sum() + (getattr(x, '__' + 'class__') is None)", "attribute"),
    "a dunder through torch.nn": ("torch.nn.functional.relu(x) + (getattr(torch.nn, '__' + 'dict__') is None)",
                                  "attribute"),
    "a private attribute of torch's module": ("torch.nn.Linear(3, 3)(x) + (getattr(torch.nn.Linear(3, 3), "
                                              "'_' + 'parameters') is None)", "attribute"),
    "a dunder through str.format": ("x.sin() + len('{0.__class__}'.format(x))", "attribute"),
}


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("what", sorted(REFUSED_READS))
def test_reads_the_guard_refuses_are_refused_under_compile_too(what: str, compiled: bool) -> None:
    import types

    from tutor.jail import dialect

    import torch._dynamo  # the polyfill is given where dynamo is loaded (a compiling task's child)

    refused: list[tuple[str, str]] = []
    guard = dialect.Guard(lambda code, detail: refused.append((code, detail)), "<test>")
    run = "torch.compile(step, backend='eager')(x)" if compiled else "step(x)"
    read, kind = REFUSED_READS[what]
    source = f"import torch\n\n\ndef step(x):\n    return {read}\n\n\ndef solve(x):\n    return {run}\n"
    code, problems = dialect.compile_learner(source, "<test>")
    assert code is not None, problems
    module = types.ModuleType("exercise")
    guard.namespace("exercise", "<test>", into=module.__dict__)
    exec(code, module.__dict__)  # noqa: S102 - the test's own source, in the dialect
    try:
        with pytest.raises(dialect.Refusal):
            module.solve(torch.ones(3))
    finally:
        torch._dynamo.reset()
    assert refused and refused[0][0] == kind, refused
