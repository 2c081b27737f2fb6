"""CUDA re-grade cost: each forked child creates its own CUDA context.

The zygote never touches CUDA (forking after CUDA init is not allowed), so a
CUDA re-grade pays for context creation in the child. Measured here: the
median warm re-grade on cuda vs on cpu, and vs a fresh Python that imports
torch and runs the same code on the GPU. Usage: ``cuda_bench.py [N]``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEVICES = ROOT / "tests" / "packs" / "devices"
ANSWER = "def solve(x, device):\n    return x.to(device) * 2\n"


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 1)


def warm(device: str, n: int, answer: Path) -> float:
    from tutor.grading.engine import Grader
    from tutor.pack.loader import load_pack

    pack = load_pack(DEVICES)
    with Grader(device=device) as grader:
        for _ in range(2):
            assert grader.grade(pack, "devices/to-device", answer, seed=1).passed
        samples = []
        for _ in range(n):
            start = time.perf_counter()
            assert grader.grade(pack, "devices/to-device", answer, seed=1).passed
            samples.append(time.perf_counter() - start)
    return median_ms(samples)


def fresh(n: int) -> float:
    code = "import torch\nx = torch.randn(3, 4)\ny = (x.to('cuda') * 2)\ntorch.cuda.synchronize()\n"
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return median_ms(samples)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    with tempfile.TemporaryDirectory() as tmp:
        answer = Path(tmp, "a.py")
        answer.write_text(ANSWER)
        result = {"cuda_warm_regrade_ms": warm("cuda", n, answer), "cpu_warm_regrade_ms": warm("cpu", n, answer),
                  "cuda_fresh_python_ms": fresh(max(3, n // 4))}
    result["ratio_fresh_over_warm_cuda"] = round(result["cuda_fresh_python_ms"] / result["cuda_warm_regrade_ms"], 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
