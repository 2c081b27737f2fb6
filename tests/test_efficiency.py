"""Efficiency checks (issue 15 item 3) through the real CLI and the real sandbox.

A small class is graded once (``tutor grade --format json``) on the test pack
``tests/packs/efficiency``: an efficient answer, a right but wasteful one and
one that is wrong as well as wasteful. The tests read that verdict, the
human view, the class report and ``tutor lesson validate``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import torch
import yaml

from conftest import PACKS, make_workspace, run_tutor
from test_class_report import _Tables
from tutor.grading.efficiency import read_figures
from tutor.jail.efficiency import Meter
from tutor.jail.frames import WireError
from tutor.pack.schema import lesson_schema

PACK = PACKS / "efficiency"
ANSWERS = {
    "lean": {
        "costs/row-dot": "def solve(a, b):\n    return (a * b).sum(dim=1)\n",
        "costs/gram": "import torch\n\ndef solve(x):\n    return torch.einsum('ni,nj->ij', x, x)\n",
        "costs/double": "def solve(x):\n    return x + x\n",
    },
    "wasteful": {  # right on every case, over the limits
        "costs/row-dot": "def solve(a, b):\n    return (a @ b.T).diagonal()\n",
        "costs/gram": "def solve(x):\n    return (x.unsqueeze(2) * x.unsqueeze(1)).sum(0)\n",
        "costs/double": "def solve(x):\n    return x * 2\n",
    },
    "wrong": {  # wasteful and wrong: no credit
        "costs/row-dot": "def solve(a, b):\n    return (a @ b.T).diagonal() + 1\n",
        "costs/gram": "def solve(x):\n    return x @ x.T\n",
        "costs/double": "def solve(x):\n    return x\n",
    },
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, Any]]]:
    root = tmp_path_factory.mktemp("class")
    for name, files in ANSWERS.items():
        make_workspace(root / name, PACK, files)
    proc = run_tutor("grade", *ANSWERS, "--format", "json", "--output", "class.json", "--seed", "5", cwd=root)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    data = json.loads((root / "class.json").read_text(encoding="utf-8"))
    return root, {Path(w["workspace"]).name: {v["task"]: v for v in w["tasks"]} for w in data}


def _failed(verdict: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in verdict["checks"] if not c["passed"]]


def test_an_efficient_answer_passes_with_its_figures(graded) -> None:
    _, verdicts = graded
    row_dot = verdicts["lean"]["costs/row-dot"]
    assert row_dot["status"] == "passed" and row_dot["score"] == 2.0
    fixed = row_dot["efficiency"][0]
    # (a * b) reads and writes n*d elements, the sum reads them again: 2*n*d for n=48, d=8.
    # The product (n*d floats) and the sums (n floats) are fresh memory.
    assert fixed == {"case": 0, "flops": 768, "alloc_bytes": 1728, "reference_flops": 768,
                     "reference_alloc_bytes": 1728, "max_flops": 4 * 48 * 8, "max_alloc_bytes": None,
                     "largest": {"bytes": 48 * 8 * 4, "op": "aten.mul", "shape": [48, 8], "dtype": "float32"}}
    assert len(row_dot["efficiency"]) == len(row_dot["cases"])  # hidden cases are measured too
    gram = verdicts["lean"]["costs/gram"]
    assert gram["status"] == "passed"
    assert all(r["alloc_bytes"] <= r["max_alloc_bytes"] == 4 * r["reference_alloc_bytes"] for r in gram["efficiency"])


def test_a_wasteful_answer_fails_with_the_figures_and_keeps_the_credit(graded) -> None:
    _, verdicts = graded
    row_dot = verdicts["wasteful"]["costs/row-dot"]
    assert row_dot["status"] == "failed" and row_dot["score"] == 1.0 and row_dot["max_score"] == 2.0
    failed = _failed(row_dot)
    assert {c["name"] for c in failed} == {"efficiency"} and failed[0]["aspect"] == "flops"
    first = failed[0]
    # a @ b.T is 2*n*n*d FLOPs; its diagonal is a view (no work, no memory).
    assert first["details"] == {**first["details"], "got": 2 * 48 * 48 * 8, "limit": 1536, "reference": 768}
    message = first["message"]
    assert "36.9 k FLOPs" in message and "`aten.mm`" in message and "48×48 (n×n)" in message
    assert "`a @ b.T` computes every pair" in message  # the task's feedback for this aspect
    gram = verdicts["wasteful"]["costs/gram"]
    assert gram["score"] == 0.0  # no credit set: right but wasteful earns nothing
    alloc = next(c for c in _failed(gram) if c["case"] == 1)
    assert alloc["aspect"] == "alloc" and "40×6×6 (n×m×m) float32 tensor" in alloc["message"]
    assert alloc["details"]["largest"]["op"] == "aten.mul"


def test_a_wrong_answer_earns_no_credit_for_being_measured(graded) -> None:
    _, verdicts = graded
    verdict = verdicts["wrong"]["costs/row-dot"]
    names = {c["name"] for c in _failed(verdict)}
    assert {"result", "efficiency"} <= names and verdict["score"] == 0.0


def test_tasks_without_efficiency_are_untouched(graded) -> None:
    _, verdicts = graded
    for name in ANSWERS:
        verdict = verdicts[name]["costs/double"]
        assert verdict["efficiency"] == [] and all(c["name"] != "efficiency" for c in verdict["checks"])
    # The counter's torch module is imported only when a task measures: not by the worker's harness.
    probe = "import sys, tutor.jail.harness; print('torch.utils.flop_counter' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "False"


def test_the_verdict_view_shows_the_costs(graded) -> None:
    root, _ = graded
    proc = run_tutor("check", "costs/row-dot", cwd=root / "wasteful")
    assert proc.returncode == 1
    assert "What your answer costs" in proc.stdout and "36.9 k / 768 / 1536" in proc.stdout
    assert "it earns 1 of 2 points" in proc.stdout
    proc = run_tutor("check", "costs/gram", cwd=root / "wasteful", env={"TUTOR_LANG": "zh"})
    assert "你的答案的开销" in proc.stdout and "新分配了" in proc.stdout and "40×6×6 (n×m×m)" in proc.stdout


def test_the_task_view_states_the_limits(graded) -> None:
    root, _ = graded
    proc = run_tutor("show", "costs/row-dot", cwd=root / "lean")
    assert "efficiency: at most 4 * n * d FLOPs; a right answer over these earns 50% of the points" in " ".join(proc.stdout.split())


def test_the_class_report_counts_right_but_wasteful_answers(graded) -> None:
    root, _ = graded
    proc = run_tutor("report", "class.json", "--html", "report.html", cwd=root)
    assert proc.returncode == 0, proc.stderr
    page = _Tables()
    page.feed((root / "report.html").read_text(encoding="utf-8"))
    head, *rows = page.tables["tasks"]
    column = next(h for h in head if h.startswith("efficiency"))
    cells = {task: dict(zip(head, row))[column] for row in rows for task in ANSWERS["lean"] if row[0].startswith(task)}
    # One of three answers was right but wasteful; medians over the three answers' largest case.
    assert cells["costs/row-dot"].startswith("1/3 · 36.9 k · ")
    assert cells["costs/gram"].startswith("1/3 · ")
    assert cells["costs/double"] == "–"


def test_a_student_pack_judges_the_same_limits(graded, tmp_path: Path) -> None:
    """No references travel in a student pack: the export keeps their figures and the cases' dims."""
    root, _ = graded
    student = tmp_path / "student"
    assert run_tutor("lesson", "export", "--student", str(student), "--pack", str(PACK)).returncode == 0
    proc = run_tutor("check", "costs/row-dot", "--pack", str(student), "--format", "json", cwd=root / "wasteful")
    verdict = json.loads(proc.stdout)
    assert verdict["score"] == 1.0 and _failed(verdict)[0]["aspect"] == "flops"
    assert verdict["efficiency"][0]["max_flops"] == 1536 and verdict["efficiency"][0]["reference_flops"] == 768


BAD_OPTIONS = {
    "{max_flops: n ** 2}": "`n ** 2` is not allowed here",
    "{max_flops: 2 * k}": "max_flops names k, which has no range in `dims`",
    "{relative_to_reference: 0.5}": "relative_to_reference is a multiple of the reference's figures, at least 1",
    "{credit: 0.5}": "efficiency needs a limit",
    "{max_alloc_bytes: -3}": "a limit cannot be negative",
    "{max_flop: 3}": "unknown field `max_flop`",
    "[3]": "efficiency takes a mapping of limits",
}
TASK = """\
  - id: t{i}
    title: T
    starter: |
      def solve(x):
          raise NotImplementedError
    solution: |
      def solve(x):
          return x * 2
    cases:
      - {{x: {{shape: [n]}}}}
    dims: {{n: [2, 4]}}
    checks:
      - result
      - efficiency: {options}
"""


def test_bad_options_are_located_errors(tmp_path: Path) -> None:
    path = tmp_path / "l.yaml"
    path.write_text("format: 1\nid: l\ntitle: L\ntasks:\n"
                    + "".join(TASK.format(i=i, options=o) for i, o in enumerate(BAD_OPTIONS)), encoding="utf-8")
    proc = run_tutor("lesson", "validate", str(path))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == len(BAD_OPTIONS)
    for k, (line, says) in enumerate(zip(lines, BAD_OPTIONS.values())):
        where, _, message = line.partition(": ")
        file, row, _ = where.rsplit(":", 2)
        assert file == str(path) and int(row) == 14 * k + 18 and says in message, line


def test_a_limit_no_case_can_judge_is_an_error(tmp_path: Path) -> None:
    """A limit written with dims on a task whose cases are all plain values would never hold anything."""
    path = tmp_path / "l.yaml"
    text = "format: 1\nid: l\ntitle: L\ntasks:\n" + TASK.format(i=0, options="{max_flops: 2 * n}")
    path.write_text(text.replace("{x: {shape: [n]}}", "{x: {values: [1.0, 2.0]}}"), encoding="utf-8")
    proc = run_tutor("lesson", "validate", str(path))
    assert proc.returncode == 2 and f"{path}:18:" in proc.stderr and "would never be judged" in proc.stderr


def test_the_reference_must_meet_its_own_limits(tmp_path: Path) -> None:
    path = tmp_path / "l.yaml"
    path.write_text("format: 1\nid: l\ntitle: L\ntasks:\n" + TASK.format(i=0, options="{max_alloc_bytes: 2 * n}"),
                    encoding="utf-8")
    proc = run_tutor("lesson", "validate", str(path))
    assert proc.returncode == 2
    assert f"{path}:10:" in proc.stderr and "does not pass its own checks (failed): efficiency" in proc.stderr


def test_the_json_schema_includes_the_kind() -> None:
    validator = jsonschema.Draft202012Validator(lesson_schema())
    lesson = yaml.safe_load("format: 1\nid: l\ntitle: L\ntasks:\n" + TASK.format(i=0, options="{max_flops: 2 * n, credit: 0.5}"))
    assert not list(validator.iter_errors(lesson))
    for bad in ({"max_flops": 2, "maxflops": 3}, {"relative_to_reference": 0.5}, {"credit": 0.5}, {"max_flops": -1}):
        lesson["tasks"][0]["checks"][1] = {"efficiency": bad}
        assert list(validator.iter_errors(lesson)), bad
    course_schema = lesson_schema()["$defs"]["EfficiencyOptions"]["properties"]
    assert {"max_flops", "max_alloc_bytes", "relative_to_reference", "credit"} == set(course_schema)


@pytest.mark.parametrize("raw", [
    {"flops": -1, "alloc_bytes": 0, "largest": None, "heaviest": None},
    {"flops": True, "alloc_bytes": 0, "largest": None, "heaviest": None},
    {"flops": 2**70, "alloc_bytes": 0, "largest": None, "heaviest": None},
    {"flops": 1, "alloc_bytes": 0, "largest": None},
    {"flops": 1, "alloc_bytes": 0, "largest": {"bytes": 4, "op": "x", "shape": [1] * 100, "dtype": "f"}, "heaviest": None},
    {"flops": 1, "alloc_bytes": 0, "largest": None, "heaviest": {"flops": 1, "op": 3, "shape": []}},
    [1, 2],
])
def test_forged_figures_are_refused(raw: Any) -> None:
    """What the child sends is read with caps, like every other field of its frames."""
    with pytest.raises(WireError):
        read_figures(raw)


def _measure(fn: Any, *args: torch.Tensor) -> dict[str, Any]:
    meter = Meter()
    with meter:
        fn(*args)
    return meter.figures()


def test_the_meter_counts_products_fresh_storages_and_no_views() -> None:
    a, b = torch.randn(6, 5), torch.randn(5, 7)
    product = _measure(torch.mm, a, b)
    assert product["flops"] == 2 * 6 * 5 * 7 and product["alloc_bytes"] == 6 * 7 * 4
    assert product["largest"] == {"bytes": 168, "op": "aten.mm", "shape": [6, 7], "dtype": "float32"}
    views = _measure(lambda x: (x.t(), x[1:], x.view(-1), x.diagonal()), a)
    assert views["alloc_bytes"] == 0 and views["flops"] == 0
    in_place = _measure(lambda x: x.mul_(2).add_(1), a.clone())
    assert in_place["alloc_bytes"] == 0 and in_place["flops"] == 2 * a.numel()


@pytest.mark.cuda
def test_cuda_counts_what_the_cpu_counts() -> None:
    x, y = torch.randn(16, 8), torch.randn(12, 8)
    naive = lambda p, q: (p[:, None, :] - q[None, :, :]).pow(2).sum(-1)  # noqa: E731
    assert _measure(naive, x.cuda(), y.cuda()) == _measure(naive, x, y)
    assert _measure(torch.cdist, x.cuda(), y.cuda())["alloc_bytes"] == _measure(torch.cdist, x, y)["alloc_bytes"]
