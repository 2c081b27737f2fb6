"""The warm worker's cheaper start and forks, through the real sandbox: what it
leaves for later still works when a task needs it.

The worker warms up only what every task needs; torch._dynamo and sympy are
paid once, before the first job that names them. These tests check that the
plain warm-up, the op recorders and the efficiency meter really leave them
out, and that what needs them (an optimizer, torch.compile reached by a
computed name, a gradient) grades right in the sandbox either way.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import PACKS

SIGMOID = "dialect/sigmoid"


def _grade(grader: Any, tmp_path: Path, source: str, task: str = SIGMOID) -> Any:
    from tutor.pack.loader import load_pack

    answer = tmp_path / "answer.py"
    answer.write_text(source)
    return grader.grade(load_pack(PACKS / task.split("/")[0]), task, answer, seed=3)


def _fresh_python(lines: str) -> list[str]:
    """What ``lines`` print in a fresh interpreter that has imported torch and the jail."""
    code = "import sys, torch\nfrom tutor.jail import dialect, harness, layers\n" + lines
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()


def test_plain_warm_up_and_guard_leave_dynamo_and_sympy_out() -> None:
    assert _fresh_python(
        "layers.warm_jit_kernels(); harness.warm_up(); dialect.Guard(lambda code, detail: None)\n"
        "print('torch._dynamo' in sys.modules, 'sympy' in sys.modules)\n"
    ) == ["False", "False"]


def test_each_warm_stage_imports_what_it_stands_for() -> None:
    assert _fresh_python(
        "harness.WARM_STAGES['gradient'](); print('sympy' in sys.modules)\n"
        "harness.WARM_STAGES['dynamo'](); print('torch._dynamo' in sys.modules)\n"
        "harness.WARM_STAGES['efficiency'](); print('torch.utils.flop_counter' in sys.modules)\n"
        "harness.WARM_STAGES['numpy'](); print('numpy' in sys.modules)\n"
    ) == ["True", "True", "True", "True"]


def test_compile_reached_by_a_computed_name_still_compiles(grader: Any, tmp_path: Path) -> None:
    """No word in the source tells the worker to load dynamo first: the guard hides itself when reached."""
    source = ("import torch\ndef f(x):\n    return 1 / (1 + torch.exp(-x))\n"
              "def solve(x):\n    return getattr(torch, 'com' + 'pile')(f, backend='eager')(x)\n")
    verdict = _grade(grader, tmp_path, source)
    assert verdict.status.value == "passed", (verdict.error, verdict.stderr)


def test_the_worker_counts_its_bare_forks_pays_stages_asked_ahead_and_grades_on(grader: Any, tmp_path: Path) -> None:
    worker = grader.pool._all[0]
    worker.prewarm(["numpy", "no-such-stage"])  # what a batch asks for before its first job
    for with_layers in (False, True):
        floor = worker.floor(3, with_layers)
        assert len(floor["wall_ms"]) == 3 and floor["cpu_ms"] > 0
    verdict = _grade(grader, tmp_path, "import torch\ndef solve(x):\n    return 1 / (1 + torch.exp(-x))\n")
    assert verdict.status.value == "passed", verdict.error


def test_the_recorders_and_the_meter_leave_dynamo_and_sympy_out() -> None:
    """torch wraps every dispatch mode in a dynamo import; ours keep out of dynamo's sight without it."""
    assert _fresh_python(
        "from tutor.jail import efficiency\n"
        "x = torch.randn(3, requires_grad=True)\n"
        "with harness.Recorder('<x>'), efficiency.Meter() as meter:\n"
        "    (x * 2).sum().backward()\n"
        "print('torch._dynamo' in sys.modules, 'sympy' in sys.modules, meter.figures()['flops'] > 0)\n"
    ) == ["False", "False", "True"]


def test_a_forbidden_call_inside_a_compiled_function_is_still_seen(grader: Any, tmp_path: Path) -> None:
    source = ("import torch\ndef f(x):\n    return torch.sigmoid(x)\n"
              "def solve(x):\n    return torch.compile(f, backend='eager')(x)\n")
    verdict = _grade(grader, tmp_path, source)
    assert verdict.status.value == "failed", (verdict.error, verdict.stderr)
    assert any(c.name == "forbid" and not c.passed for c in verdict.checks), verdict.checks


def test_a_spare_rehearses_while_idle_stops_when_its_job_waits_and_leaves_nothing() -> None:
    """The rehearsal asks before each step whether the job is there, and what it made is gone
    (nothing in sys.modules or linecache, none of its objects left for the class sweep)."""
    assert _fresh_python(
        "import gc, linecache\n"
        "layers.warm_jit_kernels(); harness.warm_up(); gc.freeze()\n"
        "modules, lines = set(sys.modules), set(linecache.cache)\n"
        "asked = []\n"
        "harness.rehearse(lambda: asked.append(1) or False); print(len(asked))\n"
        "harness.rehearse(lambda: asked.append(1) or True); print(len(asked))\n"
        "gc.unfreeze()\n"
        "left = [o for o in gc.get_objects() if type(o).__name__ == 'function' and o.__code__.co_filename.endswith('rehearsal.py')]\n"
        "print(set(sys.modules) == modules, set(linecache.cache) == lines, len(left))\n"
    ) == ["3", "4", "True", "True", "0"]


def test_a_rehearsed_spare_still_refuses_a_special_method_and_grades_right(grader: Any, tmp_path: Path) -> None:
    """A spare that had time to rehearse (the learner paused) sweeps only the learner's classes."""
    import time

    cases = {
        "import torch\ndef f(self):\n    pass\ndef solve(x):\n    type('A', (), {'__del__': f})()\n"
        "    return 1 / (1 + torch.exp(-x))\n": "refused",
        "import torch\nclass Half:\n    def __call__(self, v):\n        return 1 / (1 + torch.exp(-v))\n"
        "def solve(x):\n    return Half()(x)\n": "passed",
    }
    for source, status in cases.items():
        time.sleep(0.3)  # the spare is idle long enough to rehearse every step
        verdict = _grade(grader, tmp_path, source)
        assert verdict.status.value == status, (verdict.error, verdict.stderr)
