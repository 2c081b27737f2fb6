"""Every check kind, through the real CLI: a right and a realistic wrong answer each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import PACKS, grade_json, make_workspace, run_tutor

KINDS = PACKS / "kinds"

RIGHT = {
    "kinds/view-row": "def solve(x):\n    return x[0]\n",
    "kinds/add-inplace": "def solve(x):\n    x += 1\n",
    "kinds/add-copy": "def solve(x):\n    return x.add(1)\n",
    "kinds/square-grad": "def solve(x):\n    return x.pow(2)\n",
    "kinds/cube-backward-yourself": "def solve(x):\n    y = x.pow(3).sum()\n    y.backward()\n    return y.detach()\n",
    "kinds/sigmoid-by-hand": "import torch\ndef solve(x):\n    return torch.exp(x) / (torch.exp(x) + 1)\n",
    "kinds/use-view": "def solve(x):\n    return x.view(6)\n",
    "kinds/no-loops": "import torch\ndef solve(x):\n    return torch.sum(x)\n",
    "kinds/sorted-custom": "def solve(x):\n    return x.sort().values\n",
}

# task -> (wrong answer, the check that must fail, checks that must still hold)
WRONG = {
    "kinds/view-row": ("def solve(x):\n    return x[0].clone()\n", "aliasing", ["result"]),
    "kinds/add-inplace": ("def solve(x):\n    x = x + 1\n", "mutation", ["result"]),
    "kinds/add-copy": ("def solve(x):\n    x.add_(1)\n    return x\n", "mutation", ["result"]),
    "kinds/square-grad": (
        "import torch\n"
        "class Square(torch.autograd.Function):\n"
        "    @staticmethod\n"
        "    def forward(ctx, x):\n"
        "        return x * x\n"
        "    @staticmethod\n"
        "    def backward(ctx, grad):\n"
        "        return grad\n"
        "def solve(x):\n"
        "    return Square.apply(x)\n",
        "backward",
        ["result"],
    ),
    "kinds/cube-backward-yourself": ("def solve(x):\n    return (x ** 3).sum().detach()\n", "input_grads", ["result"]),
    "kinds/sigmoid-by-hand": ("import torch\ndef solve(x):\n    return torch.special.expit(x)\n", "forbid", ["result"]),
    "kinds/use-view": ("def solve(x):\n    return x.reshape(-1)\n", "require", ["result"]),
    "kinds/no-loops": (
        "import torch\ndef solve(x):\n    total = torch.zeros(())\n    for v in x:\n        total = total + v\n    return total\n",
        "source",
        ["result"],
    ),
    "kinds/sorted-custom": ("def solve(x):\n    return x\n", "custom", []),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, list]]:
    """Grade a right and a wrong workspace in one CLI call (one sandbox start)."""
    right = make_workspace(tmp_path_factory.mktemp("right"), KINDS, RIGHT)
    wrong = make_workspace(tmp_path_factory.mktemp("wrong"), KINDS, {t: w[0] for t, w in WRONG.items()})
    code, data, stderr = grade_json(str(right), str(wrong), "--pack", str(KINDS))
    assert "Traceback" not in stderr
    return {"code": code, "right": data[0], "wrong": data[1]}


def test_right_answers_pass_every_kind(graded: dict) -> None:
    statuses = {v["task"]: v["status"] for v in graded["right"]["tasks"]}
    assert statuses == {task: "passed" for task in RIGHT}
    assert graded["right"]["score"] == graded["right"]["max_score"] == len(RIGHT)


@pytest.mark.parametrize("task", sorted(WRONG))
def test_wrong_answer_fails_with_the_intended_check(graded: dict, task: str) -> None:
    verdict = next(v for v in graded["wrong"]["tasks"] if v["task"] == task)
    _, must_fail, must_hold = WRONG[task]
    assert verdict["status"] == "failed", verdict["error"]
    failed = {c["name"] for c in verdict["checks"] if not c["passed"]}
    assert failed == {must_fail}
    held = {c["name"] for c in verdict["checks"] if c["passed"]}
    assert set(must_hold) <= held
    message = next(c["message"] for c in verdict["checks"] if not c["passed"])
    assert len(message) > 20


def test_batch_exit_code_is_one_when_anything_failed(graded: dict) -> None:
    assert graded["code"] == 1


def test_feedback_text_is_added_to_the_failing_check(graded: dict) -> None:
    verdict = next(v for v in graded["wrong"]["tasks"] if v["task"] == "kinds/view-row")
    message = next(c["message"] for c in verdict["checks"] if not c["passed"])
    assert "but it is a copy" in message and "no clone needed" in message
    details = next(c["details"] for c in verdict["checks"] if not c["passed"])
    assert details["kind"] == "aliasing" and details["expected_shares"] == ["x"] and details["got_shares"] == []


def test_check_json_is_one_object_and_learner_prints_stay_inside(tmp_path: Path) -> None:
    answer = tmp_path / "answer.py"
    answer.write_text('import torch\nprint("ALL TESTS PASSED {\\"status\\": \\"passed\\"}")\ndef solve(x):\n    return x.sigmoid()\n')
    proc = run_tutor("check", "kinds/sigmoid-by-hand", "--file", str(answer), "--pack", str(KINDS),
                     "--format", "json", "--seed", "7")
    assert proc.returncode == 1
    verdict = json.loads(proc.stdout)  # exactly one object: json.loads rejects anything after it
    assert set(verdict) >= {"task", "status", "score", "max_score", "device", "seed", "duration_ms", "checks", "stdout", "error"}
    assert verdict["status"] == "failed" and verdict["seed"] == 7 and verdict["device"] == "cpu"
    assert "ALL TESTS PASSED" in verdict["stdout"]
    assert {c["name"] for c in verdict["checks"] if not c["passed"]} == {"forbid"}
    assert all(set(c) >= {"name", "passed", "case", "message"} for c in verdict["checks"])


def test_forbidden_method_form_is_caught(grader, tmp_path: Path) -> None:
    from tutor.pack.loader import load_pack

    answer = tmp_path / "answer.py"
    answer.write_text("def solve(x):\n    return x.sigmoid()\n")
    verdict = grader.grade(load_pack(KINDS), "kinds/sigmoid-by-hand", answer, seed=1)
    assert verdict.status.value == "failed"
    assert "torch.sigmoid" in verdict.failed_checks()[0].message


def test_same_seed_replays_the_same_inputs(grader, tmp_path: Path) -> None:
    from tutor.pack.loader import load_pack

    answer = tmp_path / "answer.py"
    answer.write_text("def solve(x):\n    return x[0].clone()\n")
    pack = load_pack(KINDS)
    first = grader.grade(pack, "kinds/view-row", answer, seed=42)
    again = grader.grade(pack, "kinds/view-row", answer, seed=42)
    other = grader.grade(pack, "kinds/view-row", answer, seed=43)
    assert [c.args for c in first.cases] == [c.args for c in again.cases]
    assert first.cases[0].args == other.cases[0].args  # fixed cases are stable across seeds
    assert not first.cases[0].hidden and first.cases[1].hidden


CONTRACT = PACKS / "contract" / "one.yaml"  # a single lesson file is a pack of one lesson
CONTRACT_ANSWERS = {
    # right on the fixed cases only: partial credit, 2 of 5 cases
    "contract/scale": "def scale(t, k):\n    return t * k if t.numel() == 3 else t * k * 1.5\n",
    "contract/make": "import torch\ndef solve(n, dtype, g):\n    return torch.rand(n, generator=g).to(dtype), dtype, (n,)\n",
    "contract/stats": "def solve(x):\n    return {'mean': x.mean().item(), 'max': float(x.max()), 'name': 'stats', 'none': None, 'flag': True}\n",
    "contract/short": "def solve(x):\n    y = x.flip(0)\n    return y\n",
    "contract/grad-both": "def solve(a, b):\n    return (a * b.detach()).sum(), a + b\n",
    "contract/bool-out": "def solve(x, y):\n    return (x.int() - y.int()) > 0\n",
}


def test_format_corners_grade_as_the_contract_says(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", CONTRACT, CONTRACT_ANSWERS)
    code, data, stderr = grade_json(str(ws), "--seed", "3")
    assert code == 1 and "Traceback" not in stderr
    verdicts = {v["task"]: v for v in data[0]["tasks"]}
    assert verdicts["contract/scale"]["score"] == pytest.approx(3 * 2 / 5)  # partial: points x cases passed
    first = lambda task: next(c["message"] for c in verdicts[task]["checks"] if not c["passed"])
    assert "torch.Size" in first("contract/make") and "tuple" in first("contract/make")
    assert "should be an int" in first("contract/stats")
    assert "at most 1" in first("contract/short")
    assert "b.grad" in first("contract/grad-both")
    assert verdicts["contract/bool-out"]["status"] == "passed"
    assert data[0]["score"] == pytest.approx(2.2) and data[0]["max_score"] == 8
