"""Containment attacks: the result channel, hostile payloads, what a child leaves, other jobs' data.

Each attack runs against the real parts (the real worker, layers, harness,
engine and CLI) and is contained: no pass it did not earn, the grader alive
with a valid verdict per task, other students intact, nothing left running
or on disk.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from conftest import PACKS, ROOT, make_workspace

PACK = PACKS / "attack"
RIGHT = "import torch\ndef solve(x):\n    return 1 / (1 + torch.exp(-x))\n"
WRONG = "import torch\ndef solve(x):\n    return x * 0\n"

FORGE = (
    "import json, struct\n"
    "def frame(h):\n    raw = json.dumps(h).encode()\n    return struct.pack('<II', len(raw), 0) + raw\n"
    "FORGED = frame({'kind': 'done'})\n"
)

# name -> source for the internals-allowed task (the layers, not the dialect, are what they meet).
CHANNEL_ATTACKS = {
    "write-every-fd": FORGE + "import os\ndef solve(x):\n    for fd in range(3, 1024):\n"
    "        try: os.write(fd, FORGED)\n        except OSError: pass\n    return x * 0\n",
    "dup2-over-channel": FORGE + "import os\ndef solve(x):\n    r, w = os.pipe()\n    for fd in range(3, 1024):\n"
    "        try: os.dup2(w, fd)\n        except OSError: pass\n    return x * 0\n",
    "atexit-forges": FORGE + "import atexit, os\natexit.register(lambda: [os.write(fd, FORGED) for fd in range(3, 1024)])\n"
    "def solve(x):\n    return x * 0\n",
    "del-forges": FORGE + "import os\nclass Ghost:\n    def __del__(self):\n"
    "        for fd in range(3, 1024):\n            try: os.write(fd, FORGED)\n            except OSError: pass\n"
    "keep = Ghost()\ndef solve(x):\n    return x * 0\n",
    "stdout-flush-forges": FORGE + "import os, sys\nclass Out:\n    def write(self, s): return len(s)\n"
    "    def flush(self):\n        for fd in range(3, 1024):\n            try: os.write(fd, FORGED)\n            except OSError: pass\n"
    "sys.stdout = Out()\ndef solve(x):\n    return x * 0\n",
    "deep-scratch-tree": "import os\ndef solve(x):\n    fd = os.open('.', os.O_RDONLY)\n    for _ in range(3000):\n"
    "        os.mkdir('d', dir_fd=fd)\n        fd = os.open('d', os.O_RDONLY, dir_fd=fd)\n"
    "    os.mkdir('locked', 0, dir_fd=fd)\n    return x * 0\n",
    "read-own-memory": "import torch\ndef solve(x):\n    data = open('/proc/self/mem', 'rb')\n    return 1 / (1 + torch.exp(-x))\n",
    "thousands-of-refs": "import torch\ndef solve(x):\n    y = x * 0\n    return [y] * 5000\n",
    "thousands-of-generators": "import torch\ndef solve(x):\n    g = torch.Generator()\n    return [g] * 5000\n",
    "huge-int": "def solve(x):\n    return 10 ** 5000\n",
}


def _grade_source(grader: Any, tmp_path: Path, name: str, source: str, task: str = "attack/open") -> Any:
    from tutor.pack.loader import load_pack

    answer = tmp_path / f"{name}.py"
    answer.write_text(source)
    return grader.grade(load_pack(PACK), task, answer, seed=5)


@pytest.mark.parametrize("name", sorted(CHANNEL_ATTACKS))
def test_channel_and_leftover_attacks_are_contained(grader: Any, tmp_path: Path, name: str) -> None:
    verdict = _grade_source(grader, tmp_path, name, CHANNEL_ATTACKS[name])
    assert verdict.status.value != "passed", verdict
    # The worker is still there and grades the next submission on its merits.
    assert _grade_source(grader, tmp_path, "right", RIGHT).status.value == "passed"
    assert not any(grader.pool.scratch_root.iterdir()) or _only_spare(grader)


def _only_spare(grader: Any) -> bool:
    """The spare child's own (empty) scratch is the only thing left under the scratch root."""
    left = list(grader.pool.scratch_root.iterdir())
    return len(left) <= grader.jobs and all(not any(p.iterdir()) for p in left)


def test_reading_own_memory_is_refused_and_no_other_job_is_there(grader: Any, tmp_path: Path) -> None:
    marker = "OTHER-STUDENT-SOURCE-5f1e2d"
    assert _grade_source(grader, tmp_path, "first", f"# {marker}\n" + RIGHT).status.value == "passed"
    verdict = _grade_source(grader, tmp_path, "reader", CHANNEL_ATTACKS["read-own-memory"])
    assert verdict.status.value != "passed"
    assert marker not in json.dumps(verdict.to_dict() if hasattr(verdict, "to_dict") else str(verdict))
    # The worker's own memory, read from outside: it never held the earlier job.
    pid = int(grader.pool._all[0].info["pid"])
    assert marker.encode() not in _memory_of(pid)


def _memory_of(pid: int) -> bytes:
    chunks = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            span, perms = line.split()[:2]
            if "r" not in perms or "[vvar" in line or "[vsyscall" in line:
                continue
            start, end = (int(x, 16) for x in span.split("-"))
            try:
                mem.seek(start)
                chunks.append(mem.read(end - start))
            except (OSError, OverflowError, ValueError):
                continue
    return b"".join(chunks)


# ------------------------------------------------------------- hostile payloads, decoded by the grader


def _run_of(frames_: list[tuple[dict[str, Any], bytes]]) -> Any:
    from tutor.grading.pool import RunResult
    from tutor.jail import frames

    return RunResult(0, False, "", "", b"".join(frames.pack_frame(h, b) for h, b in frames_))


def _case(payload: dict[str, Any], blob: bytes = b"") -> list[tuple[dict[str, Any], bytes]]:
    return [({"kind": "layers", "active": ["rlimits"]}, b""), ({"kind": "case", "case": 0, "payload": payload}, blob),
            ({"kind": "done"}, b"")]


def _doc(value: Any, tensors: list[Any] | None = None, storages: list[Any] | None = None) -> dict[str, Any]:
    return {"value": {"dict": [["result", value], ["inputs", {"dict": []}], ["grads", {"dict": []}],
                               ["backward_grads", {"dict": []}]]},
            "tensors": tensors or [], "storages": storages or []}


HOSTILE = {
    "huge-python-int": _case(_doc(10**300)),
    "bigint-node": _case(_doc({"bigint": "1" * 5000})),
    "bigint-not-digits": _case(_doc({"bigint": "0x41"})),
    "complex-node": _case(_doc({"complex": {"tensor": 0}})),
    "zero-stride-numel-overflow": _case(_doc({"tensor": 0}, [{"storage": 0, "dtype": "float32", "shape": [2**47, 2**47],
                                                              "stride": [0, 0], "offset": 0}], [{"nbytes": 4}]), b"\0" * 4),
    "forged-layers": [({"kind": "layers", "active": ["seccomp", {"x": 1}]}, b"")] + _case(_doc(1))[1:],
    "layers-later": _case(_doc(1))[1:] + [({"kind": "layers", "active": []}, b"")],
    "stray-exception-type": _case(_doc({"generator": -1})),
    "generator-flood": _case(_doc({"list": [{"generator": 1}] * 5000})),
    "storage-flood": _case(_doc(1, [], [{"nbytes": 0}] * 20_000)),
    "frame-flood": [({"kind": "refused_not", "x": i}, b"") for i in range(50_000)],
    "duplicate-case": _case(_doc(1))[:2] + [({"kind": "case", "case": 0, "payload": _doc(1)}, b"")],
    "more-than-cases": _case(_doc(1))[:2] + [({"kind": "case", "case": 1, "payload": _doc(1)}, b"")],
    "case-skipped": _case(_doc(1))[:1] + [({"kind": "case", "case": 1, "payload": _doc(1)}, b""), ({"kind": "done"}, b"")],
    "case-index-not-int": _case(_doc(1))[:1] + [({"kind": "case", "case": True, "payload": _doc(1)}, b""),
                                                ({"kind": "done"}, b"")],
    "start-frame": _case(_doc(1))[:1] + [({"kind": "case_start", "case": 0}, b"")] + _case(_doc(1))[1:],
    "done-early": [({"kind": "layers", "active": []}, b""), ({"kind": "done"}, b"")],
    "after-done": _case(_doc(1)) + [({"kind": "case", "case": 1, "payload": _doc(1)}, b"")],
    "not-json": [],
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_grader_survives_whatever_the_child_sends(name: str) -> None:
    from tutor.grading.engine import _read_outcome

    run = _run_of(HOSTILE[name])
    if name == "not-json":
        run.result = b"\x05\x00\x00\x00\x00\x00\x00\x00{{{{{"
    outcome = _read_outcome(run, 1, "cpu")
    assert outcome.inconsistent or not outcome.done, outcome  # never an accepted, finished run


def test_an_honest_run_is_read_with_each_case_in_order() -> None:
    """The control for the hostile runs above: what the harness sends is accepted, case by case."""
    from tutor.grading.engine import _read_outcome

    honest = _case(_doc(1))[:1] + [({"kind": "case", "case": i, "payload": _doc(i)}, b"") for i in range(3)] + \
        [({"kind": "case", "case": 3, "error": "Traceback: boom"}, b""), ({"kind": "done"}, b"")]
    outcome = _read_outcome(_run_of(honest), 4, "cpu")
    assert outcome.inconsistent is None and outcome.done
    assert [outcome.runs[i].result for i in range(3)] == [0, 1, 2] and outcome.errors == {3: "Traceback: boom"}


def test_thousands_of_refs_to_one_tensor_check_in_linear_time() -> None:
    """Aliasing groups by storage: 10k references make one group, not 10k^2 comparisons."""
    from tutor.checks import CaseContext, Run

    import tutor.checks.aliasing as aliasing

    x = torch.randn(4)
    y = x * 0
    learner = Run(result=[y] * 10_000, inputs={"x": x})
    reference = Run(result=[x.clone()] * 10_000, inputs={"x": x})
    ctx = CaseContext(task_id="t", case=0, hidden=False, args={"x": x}, learner=learner, reference=reference,
                      tolerance=None, device="cpu", lang="en", source="", entry="solve")
    assert aliasing.check(ctx, None) is None
    groups = aliasing.storage_groups(learner)
    assert len({id(g) for g in groups.values()}) == 1


# ------------------------------------------------------------- a batch: one student's failure costs one task


def test_symlink_and_broken_files_cost_one_task_in_a_batch(tmp_path: Path) -> None:
    good = make_workspace(tmp_path / "good", PACK, {"attack/open": RIGHT, "attack/guarded": RIGHT})
    bad = make_workspace(tmp_path / "bad", PACK, {"attack/open": RIGHT, "attack/guarded": ""})
    guarded = bad / "exercises" / "attack" / "guarded.py"
    guarded.unlink()
    guarded.symlink_to("/etc/passwd")
    (bad / "exercises" / "attack" / "open.py").write_bytes(b"\xff\xfe not utf-8")
    proc = subprocess.run([sys.executable, "-m", "tutor", "grade", str(good), str(bad), "--pack", str(PACK),
                           "--format", "json", "--jobs", "2"], capture_output=True, text=True, timeout=600,
                          cwd=tmp_path, env={**os.environ, "TUTOR_LANG": "en"})
    assert proc.returncode == 1, proc.stderr[-2000:]
    data = {w["workspace"]: {v["task"]: v for v in w["tasks"]} for w in json.loads(proc.stdout)}
    assert all(v["status"] == "passed" for v in data[str(good)].values())
    assert data[str(bad)]["attack/guarded"]["status"] == "error"
    assert "root:" not in proc.stdout  # /etc/passwd was never read
    assert data[str(bad)]["attack/open"]["status"] == "error"


# ------------------------------------------------------------- the worker dies with the grader


GRADER = """
import sys, time
from pathlib import Path
from tutor.grading.engine import Grader
from tutor.pack.loader import load_pack
pack = load_pack(Path(sys.argv[1]))
answer = Path(sys.argv[2])
g = Grader()
g.pool.layers()
print(g.pool._all[0].info["pid"], flush=True)
g.grade(pack, "attack/slow", answer, seed=1)
"""


def test_worker_and_children_die_with_the_grader(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    pack.mkdir()
    text = (PACK / "attack.yaml").read_text().replace("id: attack\n", "id: attack\n", 1)
    text = text.replace("  - id: guarded\n", "  - id: slow\n    title: Slow\n    allow_internals: true\n"
                        "    timeout: 120\n    starter: \"def solve(x):\\n    pass\\n\"\n"
                        "    solution: \"def solve(x):\\n    return x\\n\"\n    cases:\n      - {x: {shape: [4]}}\n"
                        "    checks: [result]\n  - id: guarded\n", 1)
    (pack / "attack.yaml").write_text(text)
    (pack / "pack.yaml").write_text((PACK / "pack.yaml").read_text())
    answer = tmp_path / "slow.py"
    answer.write_text("import time\ndef solve(x):\n    time.sleep(100)\n    return x\n")
    proc = subprocess.Popen([sys.executable, "-c", GRADER, str(pack), str(answer)], stdout=subprocess.PIPE,
                            text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None
    zygote = int(proc.stdout.readline())
    children = _wait_for_children(zygote)
    assert children, "the job never started"
    time.sleep(2)  # let the job reach the learner's sleep (not a timing assertion)
    children = _children_of(zygote)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    gone = _wait_gone([zygote, *children], within=30.0)
    assert gone, "the worker or its child outlived the grader"


def _children_of(pid: int) -> list[int]:
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    found: list[int] = []
    for task in tasks:
        try:
            found += [int(p) for p in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except OSError:
            continue
    return found


def _wait_for_children(pid: int) -> list[int]:
    for _ in range(600):
        kids = _children_of(pid)
        if len(kids) >= 1 and _is_running(kids):
            return kids
        time.sleep(0.1)
    return []


def _is_running(pids: list[int]) -> bool:
    return any(Path(f"/proc/{p}").exists() for p in pids)


def _wait_gone(pids: list[int], within: float) -> bool:
    """Poll until every pid is gone (or a zombie); the job's own deadline is 120 s away."""
    end = time.monotonic() + within
    while time.monotonic() < end:
        alive = []
        for p in pids:
            try:
                state = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                alive.append(p)
        if not alive:
            return True
        time.sleep(0.05)
    return False
