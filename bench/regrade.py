"""One edition's warm re-grade, measured in its own process for ``bench/run.py``.

    python bench/regrade.py TREE N PAUSE_S   # prints one JSON object

TREE is a checkout of tutor (today's, or the previous edition's in a
temporary git worktree); its ``tutor`` package is imported, so the same
script measures both editions the same way. Three figures:

* ``paused_ms``: a re-grade after a pause, as when a learner saves again
  (the worker is idle, a spare child may be waiting);
* ``back_to_back_ms``: re-grades one after another (the worker's whole cycle),
  and ``cpu_ms``, the CPU time one of them costs (grader, worker and child);
* ``floor_ms`` / ``floor_cpu_ms`` and ``layers_ms`` / ``layers_cpu_ms``: fork +
  exit of the same warm worker, without and with the sandbox layers, back to
  back; ``paused_floor_ms``: the same fork + exit, each after the pause the
  paused re-grades had (only editions whose worker can fork bare children
  report them).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

RIGHT = "import torch\n\ndef solve(x):\n    return x[0]\n"
TASK = "views/first-row"


def main() -> None:
    tree, n, pause = Path(sys.argv[1]).resolve(), int(sys.argv[2]), float(sys.argv[3])
    sys.path.insert(0, str(tree))
    from tutor.grading.engine import Grader
    from tutor.pack.loader import load_pack

    pack = load_pack(tree / "tests" / "packs" / "mini")
    with tempfile.TemporaryDirectory(prefix="tutor-regrade-") as tmp, Grader() as grader:
        answer = Path(tmp) / "answer.py"
        answer.write_text(RIGHT)
        for _ in range(3):
            grader.grade(pack, TASK, answer, seed=1)
        paused, back = [], []
        for _ in range(n):
            time.sleep(pause)
            paused.append(_timed(grader, pack, answer))
        worker = grader.pool._all[0]
        cpu_before = _cpu(worker.proc.pid)
        for _ in range(n):
            back.append(_timed(grader, pack, answer))
        cpu = (_cpu(worker.proc.pid) - cpu_before) / n * 1000
        out = {"paused_ms": _median(paused), "back_to_back_ms": _median(back), "cpu_ms": round(cpu, 2)}
        if hasattr(worker, "floor"):
            bare, layered = worker.floor(n, False), worker.floor(n, True)
            out.update(floor_ms=round(statistics.median(bare["wall_ms"]), 2), floor_cpu_ms=round(bare["cpu_ms"], 2),
                       layers_ms=round(statistics.median(layered["wall_ms"]), 2), layers_cpu_ms=round(layered["cpu_ms"], 2))
            paused_floor = []
            for _ in range(n):  # the floor as the paused re-grade meets it: each fork after the same pause
                time.sleep(pause)
                paused_floor += worker.floor(1, False)["wall_ms"]
            out["paused_floor_ms"] = round(statistics.median(paused_floor), 2)
    print(json.dumps(out))


def _timed(grader: object, pack: object, answer: Path) -> float:
    start = time.perf_counter()
    verdict = grader.grade(pack, TASK, answer, seed=1)  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - start
    assert verdict.passed, verdict.error
    return elapsed


def _cpu(worker_pid: int) -> float:
    """CPU seconds so far of this process and of the worker with its reaped children."""
    own = os.times()
    fields = Path(f"/proc/{worker_pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
    return own.user + own.system + ticks / os.sysconf("SC_CLK_TCK")


def _median(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


if __name__ == "__main__":
    main()
