"""Feedback that names the mistake made: aspects, precedence, aspect-keyed texts, misconception
detectors, explained runtime errors and case numbering, through the real CLI in both languages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import PACKS, grade_json, make_workspace, run_tutor

KINDS = PACKS / "kinds"

# kinds task -> (wrong answer, the failing check, its aspect)
KIND_ASPECTS = {
    "kinds/view-row": ("def solve(x):\n    return x[0].clone()\n", "aliasing", "copy-where-view"),
    "kinds/add-inplace": ("def solve(x):\n    x = x + 1\n", "mutation", "unchanged-input"),
    "kinds/add-copy": ("def solve(x):\n    x.add_(1)\n    return x\n", "mutation", "changed-input"),
    "kinds/square-grad": ("def solve(x):\n    return x * x.detach()\n", "backward", "wrong-grad"),
    "kinds/cube-backward-yourself": ("def solve(x):\n    return (x ** 3).sum().detach()\n", "input_grads", "missing-grad"),
    "kinds/sigmoid-by-hand": ("import torch\ndef solve(x):\n    return torch.special.expit(x)\n", "forbid", "torch.sigmoid"),
    "kinds/use-view": ("def solve(x):\n    return x.reshape(-1)\n", "require", "Tensor.view"),
    "kinds/no-loops": ("import torch\ndef solve(x):\n    t = torch.zeros(())\n    for v in x:\n        t = t + v\n    return t\n",
                       "source", "no_loops"),
}


@pytest.fixture(scope="module")
def kinds_graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    ws = make_workspace(tmp_path_factory.mktemp("kinds"), KINDS, {t: w[0] for t, w in KIND_ASPECTS.items()})
    code, data, stderr = grade_json(str(ws), "--pack", str(KINDS), "--seed", "5")
    assert code == 1 and "Traceback" not in stderr
    return {v["task"]: v for v in data[0]["tasks"]}


@pytest.mark.parametrize("task", sorted(KIND_ASPECTS))
def test_every_failed_check_names_its_aspect(kinds_graded: dict, task: str) -> None:
    _, check, aspect = KIND_ASPECTS[task]
    failed = [c for c in kinds_graded[task]["checks"] if not c["passed"]]
    assert failed and {c["name"] for c in failed} == {check}
    assert {c["aspect"] for c in failed} == {aspect}
    assert all(c["aspect"] is None for c in kinds_graded[task]["checks"] if c["passed"])
    assert all(list(c)[:2] == ["name", "aspect"] for c in kinds_graded[task]["checks"])  # beside the name


def test_check_json_carries_the_aspect_in_chinese_too(tmp_path: Path) -> None:
    answer = tmp_path / "answer.py"
    answer.write_text("def solve(x):\n    return x[0].clone()\n")
    proc = run_tutor("check", "kinds/view-row", "--file", str(answer), "--pack", str(KINDS), "--format", "json",
                     "--lang", "zh", "--seed", "5")
    verdict = json.loads(proc.stdout)
    failed = [c for c in verdict["checks"] if not c["passed"]]
    assert proc.returncode == 1 and {c["aspect"] for c in failed} == {"copy-where-view"}
    assert "副本" in failed[0]["message"]
