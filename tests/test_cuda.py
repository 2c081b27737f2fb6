"""CUDA grading: inputs made on the GPU, compared there. Skipped without a CUDA device,
except the one test that CUDA asked for and absent is a clear usage error."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import PACKS, cuda_available, run_tutor

DEVICES = PACKS / "devices"


@pytest.mark.skipif(cuda_available(), reason="checks the message shown when CUDA is absent")
def test_cuda_asked_for_and_absent_is_a_usage_error(tmp_path: Path) -> None:
    answer = tmp_path / "a.py"
    answer.write_text("def solve(x, device):\n    return x.to(device) * 2\n")
    proc = run_tutor("check", "devices/to-device", "--file", str(answer), "--pack", str(DEVICES), "--device", "cuda")
    assert proc.returncode == 2
    assert "CUDA" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def cuda_grader():
    from tutor.grading.engine import Grader

    with Grader(device="cuda") as grader:
        yield grader


@pytest.mark.cuda
@pytest.mark.parametrize(
    "task, answer, status",
    [
        ("devices/to-device", "def solve(x, device):\n    return x.to(device) * 2\n", "passed"),
        ("devices/to-device", "def solve(x, device):\n    return x * 2\n", "failed"),  # left on the CPU
        ("devices/matmul-view", "def solve(a, b):\n    return (a @ b).t()\n", "passed"),
        ("devices/matmul-view", "def solve(a, b):\n    return (a @ b).t().contiguous()\n", "failed"),
        ("devices/grad", "import torch\ndef solve(x):\n    return torch.tanh(x) * x\n", "passed"),
        ("devices/grad", "import torch\ndef solve(x):\n    return torch.tanh(x) * x.detach()\n", "failed"),
    ],
)
def test_grades_on_the_gpu(cuda_grader, tmp_path: Path, task: str, answer: str, status: str) -> None:
    from tutor.pack.loader import load_pack

    file = tmp_path / "answer.py"
    file.write_text(answer)
    verdict = cuda_grader.grade(load_pack(DEVICES), task, file, seed=5)
    assert verdict.device == "cuda"
    assert verdict.status.value == status, (verdict.error, [c.message for c in verdict.failed_checks()])


@pytest.mark.cuda
def test_hostile_code_is_contained_on_the_gpu(cuda_grader, tmp_path: Path) -> None:
    from tutor.pack.loader import load_pack

    file = tmp_path / "answer.py"
    file.write_text("import torch\ndef solve(x, device):\n    return torch.empty(1 << 40, device=device)\n")
    verdict = cuda_grader.grade(load_pack(DEVICES), "devices/to-device", file, seed=5)
    assert verdict.status.value in ("error", "crashed")
    again = tmp_path / "again.py"
    again.write_text("def solve(x, device):\n    return x.to(device) * 2\n")
    assert cuda_grader.grade(load_pack(DEVICES), "devices/to-device", again, seed=5).passed


@pytest.mark.cuda
def test_course_device_tasks_validate_on_cuda() -> None:
    proc = run_tutor("lesson", "validate", str(DEVICES), "--device", "cuda")
    assert proc.returncode == 0, proc.stderr
