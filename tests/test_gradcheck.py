"""The ``gradcheck`` check kind (issue 15, item 4), through the real CLI and the real sandbox:
``torch.autograd.gradcheck`` runs in the child on float64 copies of the grader's inputs, and its
report comes back as plain data that the grader decodes strictly and words for the learner."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest
import torch
import yaml

from conftest import ROOT, grade_json, make_workspace, run_tutor
from tutor.checks.gradcheck import decode
from tutor.jail.frames import WireError
from tutor.pack.schema import lesson_schema

SIGMOID_HALF_BACKWARD = """\
import torch

class Sigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = torch.sigmoid(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output * y          # forgot (1 - y)

def solve(x):
    return Sigmoid.apply(x)
"""


AUTOGRAD = ROOT / "lessons" / "06-autograd.yaml"  # the course's lesson alone: its tasks only are graded


def _course_task(task_id: str) -> dict:
    lesson = yaml.safe_load(AUTOGRAD.read_text(encoding="utf-8"))
    return next(t for t in lesson["tasks"] if t["id"] == task_id.split("/")[1])


@pytest.fixture(scope="module")
def course_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The course's two gradcheck tasks: a backward missing a factor, and the reference itself."""
    lesson = tmp_path_factory.mktemp("lesson") / "06-autograd.yaml"  # alone: it cannot require `math`
    lesson.write_text(AUTOGRAD.read_text(encoding="utf-8").replace("requires: [math]\n", ""), encoding="utf-8")
    return make_workspace(tmp_path_factory.mktemp("course"), lesson, {
        "autograd/custom-sigmoid": SIGMOID_HALF_BACKWARD,
        "autograd/custom-clamp": _course_task("autograd/custom-clamp")["solution"],
    })


def _verdicts(ws: Path, *args: str) -> dict[str, dict]:
    code, data, stderr = grade_json(str(ws), "--seed", "5", *args)
    assert code == 1 and "Traceback" not in stderr, stderr
    return {v["task"]: v for v in data[0]["tasks"]}


def test_a_wrong_backward_is_located_with_both_derivatives(course_ws: Path) -> None:
    verdict = _verdicts(course_ws)["autograd/custom-sigmoid"]
    assert verdict["status"] == "failed"
    found = [c for c in verdict["checks"] if c["name"] == "gradcheck" and not c["passed"]]
    assert {c["case"] for c in found} == set(range(len(verdict["cases"]))), "every case is gradchecked"
    first = found[0]
    assert first["case"] == 0 and first["aspect"] == "mismatch"
    # The fixed case x = [[0, 1, -2], [3, -0.5, 0.25]]: the answer is furthest off at x = 3, where
    # the learner's backward gives sigmoid(3) and finite differences the true derivative.
    y = torch.sigmoid(torch.tensor(3.0, dtype=torch.float64))
    assert first["details"]["input"] == "x[1, 0]" and first["details"]["output"] == "result[1, 0]"
    assert first["details"]["analytical"] == pytest.approx(float(y), rel=1e-9)
    assert first["details"]["numerical"] == pytest.approx(float(y * (1 - y)), rel=1e-6)
    assert "Your backward disagrees with finite differences at input `x[1, 0]`" in first["message"]
    assert "0.952574 by your backward (analytical) but 0.0451767" in first["message"]
    assert "the forward's **output**" in first["message"]  # the task's aspect-keyed feedback
    hidden = next(c for c in found if c["case"] > 0)  # hidden cases: where, not the numbers
    assert "analytical" not in hidden["details"] and "differ by" in hidden["message"]


def test_the_reference_passes_and_the_kink_is_left_to_backward(course_ws: Path) -> None:
    verdict = _verdicts(course_ws)["autograd/custom-clamp"]
    assert verdict["status"] == "passed", json.dumps(verdict["checks"])[:600]
    kinds = {(c["name"], c["case"]) for c in verdict["checks"]}
    # skip_cases: [2]: the case on the kinks lists no gradcheck (it did not run there), and is
    # graded by the reference's gradients instead
    assert {("gradcheck", i) for i in range(len(verdict["cases"])) if i != 1} <= kinds
    assert ("gradcheck", 1) not in kinds and ("backward", 1) in kinds


def test_the_finding_speaks_chinese(course_ws: Path) -> None:
    verdict = _verdicts(course_ws, "--lang", "zh")["autograd/custom-sigmoid"]
    first = next(c for c in verdict["checks"] if c["name"] == "gradcheck" and not c["passed"])
    assert "你的 backward 与有限差分在输入 `x[1, 0]` 处不一致" in first["message"]
    assert "解析值" in first["message"] and "数值" in first["message"]


PACK = """\
format: 1
id: gc
title: {en: Gradcheck, zh: 梯度检验}
version: "1"
"""

TASK = """\
format: 1
id: l
title: {en: L, zh: L}
tasks:
  - id: exp-sigmoid
    title: {en: Sigmoid, zh: Sigmoid}
    starter: |
      def solve(x, w):
          raise NotImplementedError
    solution: |
      import torch

      class Sigmoid(torch.autograd.Function):
          @staticmethod
          def forward(ctx, x):
              y = 1 / (1 + torch.exp(-x))
              ctx.save_for_backward(y)
              return y

          @staticmethod
          def backward(ctx, g):
              (y,) = ctx.saved_tensors
              return BACKWARD

      def solve(x, w):
          return Sigmoid.apply(x) * w
    cases:
      - {x: {values: [0.5, -1.0, 2.0], requires_grad: true}, w: {values: [1.0, 2.0, 3.0]}}
    random_cases: 1
    random_args: {x: {shape: [n], requires_grad: true}, w: {shape: [n]}}
    dims: {n: [1, 4]}
    checks: [result, GRADCHECK, {backward: [x]}, {forbid: [torch.sigmoid, Tensor.sigmoid]}]
"""


def _pack(tmp: Path, backward: str = "g * y * (1 - y)", gradcheck: str = "{gradcheck: {inputs: [x]}}") -> Path:
    root = tmp / "pack"
    root.mkdir()
    (root / "pack.yaml").write_text(PACK, encoding="utf-8")
    (root / "l.yaml").write_text(TASK.replace("BACKWARD", backward).replace("GRADCHECK", gradcheck), encoding="utf-8")
    return root


def test_gradcheck_runs_under_the_recorders(tmp_path: Path) -> None:
    """A task that also forbids calls: the recorders stay on through gradcheck's runs of the learner's
    backward, and a floating argument outside ``inputs`` is passed along in float64 without grad."""
    pack = _pack(tmp_path)
    plain = _course_like("1 / (1 + torch.exp(-x))", "g * y * (1 - y)")
    sneaky = _course_like("1 / (1 + torch.exp(-x))", "g * torch.sigmoid(x0) * (1 - torch.sigmoid(x0))", save="x")
    roots = [str(make_workspace(tmp_path / f"ws{i}", pack, {"l/exp-sigmoid": code})) for i, code in enumerate((plain, sneaky))]
    code, data, stderr = grade_json(*roots, "--seed", "2")
    assert "Traceback" not in stderr, stderr
    good, bad = (w["tasks"][0] for w in data)
    assert good["status"] == "passed", json.dumps(good["checks"])[:500]
    failed = {(c["name"], c["aspect"]) for c in bad["checks"] if not c["passed"]}
    assert failed == {("forbid", "torch.sigmoid")}, failed  # called inside the custom backward: recorded


def _course_like(forward: str, backward: str, save: str = "y") -> str:
    return textwrap.dedent(f"""\
        import torch

        class Sigmoid(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                y = {forward}
                ctx.save_for_backward({save})
                return y

            @staticmethod
            def backward(ctx, g):
                (saved,) = ctx.saved_tensors
                y = x0 = saved
                return {backward}

        def solve(x, w):
            return Sigmoid.apply(x) * w
        """)


def test_a_reference_failing_gradcheck_is_a_located_error(tmp_path: Path) -> None:
    pack = _pack(tmp_path, backward="g * y")
    proc = run_tutor("lesson", "validate", str(pack))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    line = next(i for i, text in enumerate((pack / "l.yaml").read_text().splitlines(), 1) if "solution:" in text)
    assert f"l.yaml:{line}:" in proc.stderr
    assert "the solution does not pass its own checks" in proc.stderr and "gradcheck" in proc.stderr


@pytest.mark.parametrize("options, says, where", [
    ("{gradcheck: {eps: 0}}", "greater than 0", "{gradcheck"),
    ("{gradcheck: {inputs: [v]}}", "`v` is not an argument of the task's cases", "[v]"),
    ("{gradcheck: {skip_cases: [3]}}", "the task has 2 case(s), not 3", "[3]"),
    ("{gradcheck: {atol: 1e-5, tolerance: 1}}", "unknown field `tolerance`", "{gradcheck"),
])
def test_bad_options_are_located_errors(tmp_path: Path, options: str, says: str, where: str) -> None:
    pack = _pack(tmp_path, gradcheck=options)
    proc = run_tutor("lesson", "validate", str(pack))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    lines = (pack / "l.yaml").read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "checks:" in text)
    (message,) = [m for m in proc.stderr.splitlines() if says in m]
    assert message.startswith(f"{pack / 'l.yaml'}:{line}:"), message
    column = int(message.split(":")[2])
    assert lines[line - 1][column - 1:].startswith(where), (lines[line - 1], column)


def test_the_json_schema_describes_the_options() -> None:
    validator = jsonschema.Draft202012Validator(lesson_schema())
    lesson = yaml.safe_load(TASK.replace("BACKWARD", "g").replace("GRADCHECK", "gradcheck"))
    assert validator.is_valid(lesson)
    task = lesson["tasks"][0]
    for good in ({"gradcheck": {"inputs": ["x"], "eps": 1e-6, "atol": 1e-5, "rtol": 1e-3, "skip_cases": [1],
                                "custom_function": False}}, {"gradcheck": None}):
        task["checks"] = [good]
        assert validator.is_valid(lesson), good
    for bad in ({"gradcheck": {"eps": -1}}, {"gradcheck": {"skip_cases": [0]}}, {"gradcheck": {"input": ["x"]}}):
        task["checks"] = [bad]
        assert not validator.is_valid(lesson), bad


@pytest.mark.parametrize("forged", [
    {"ok": "yes"},
    {"ok": True},
    {"ok": True, "custom_function": True, "extra": 1},
    {"ok": False, "kind": "lied", "detail": ""},
    {"ok": False, "kind": "raised", "detail": 5},
    {"ok": False, "kind": "mismatch", "input": "x", "input_index": [-1], "output": 0, "outputs": 1,
     "output_index": [], "analytical": 1.0, "numerical": 0.0},
    {"ok": False, "kind": "mismatch", "input": "x", "input_index": [0] * 65, "output": 0, "outputs": 1,
     "output_index": [], "analytical": 1.0, "numerical": 0.0},
    {"ok": False, "kind": "mismatch", "input": "x", "input_index": [0], "output": 0, "outputs": 1,
     "output_index": [], "analytical": "1", "numerical": 0.0},
])
def test_a_forged_report_is_refused(forged: dict) -> None:
    """The grader reads the child's report field by field (the run is then inconsistent, not graded)."""
    with pytest.raises(WireError):
        decode(forged)
