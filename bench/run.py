"""Speed benchmarks: each figure beside its floor, both measured in this one run.

    .venv/bin/python bench/run.py            # everything (~5 minutes on 2 cores, quiet)
    .venv/bin/python bench/run.py --quick    # fewer repetitions and workspaces
    .venv/bin/python bench/run.py --naive    # also the one-process-per-task grader (slow)

What is measured, and against what (issue 14, and issue 9's "not slower than before"):
1. a warm re-grade of one task (median), against fork + exit of the same warm
   worker (its ``floor`` op), and against the previous edition's warm re-grade
   (commit ``PREVIOUS``, checked out in a temporary git worktree and measured
   in turns with today's by ``bench/regrade.py``);
2. ``tutor check`` cold (no session running), against ``python -c "import torch"``;
3. ``tutor grade`` of one workspace of the whole course, against one ``import torch``,
   and its CPU split between the grader's own process and the sandbox, against the
   target's wall time (what the CPU must fit in for the target to be reachable);
4. ``tutor grade`` of 16 workspaces with ``--jobs 2``: CPU per task-grade (and the
   grader's share of it), and the wall time against tasks x workspaces x
   (fork + layers + exit) / jobs;
5. ``tutor list`` and ``tutor --help`` cold, and ``tutor start``'s save-to-verdict.
Results go to stdout and to ``bench/out/results.json`` and ``results.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
TUTOR = str(Path(PY).parent / "tutor")
MINI = ROOT / "tests" / "packs" / "mini"
RIGHT = "import torch\n\ndef solve(x):\n    return x[0]\n"
#: The previous edition: the last commit before issue 9's restricted dialect
#: and containment work landed (2026-12-01, from 0d66c73 on).
PREVIOUS = "7334c34"
ENV = {**os.environ, "TUTOR_LANG": "en"}


def timed(cmd: list[str], **kw: Any) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=False, env=ENV, **kw)
    return time.perf_counter() - start


def cpu_ticks() -> tuple[int, int]:
    """All CPU ticks and the stolen ones so far (/proc/stat): on a virtual machine the host can
    take cores away mid-run, and every figure here is then slower than the machine really is."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields[:8]), fields[7] if len(fields) > 7 else 0


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 1)


def bench_regrade(n: int, rounds: int, tmp: Path, previous: str) -> dict[str, Any]:
    """Today's and the previous edition's warm re-grade, in turns, each in its own process."""
    prev = tmp / "previous"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(prev), previous],
                   capture_output=True, check=True)
    runs: dict[str, list[dict[str, float]]] = {"previous": [], "today": []}
    try:
        for _ in range(rounds):
            for name, tree in (("previous", prev), ("today", ROOT)):
                proc = subprocess.run([PY, str(ROOT / "bench" / "regrade.py"), str(tree), str(n), "0.2"],
                                      capture_output=True, text=True, check=True, cwd=tmp)
                runs[name].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(prev)], capture_output=True, check=False)

    def mid(name: str, key: str) -> float:
        return round(statistics.median(r[key] for r in runs[name]), 1)

    out = {f"{key}": mid("today", key) for key in runs["today"][0]}
    out.update({f"previous_{key}": mid("previous", key) for key in ("paused_ms", "back_to_back_ms")})
    out["previous"] = previous
    return out


def bench_check(n: int, ws: Path, task: str) -> dict[str, float]:
    """``tutor check`` with no session running vs a bare ``import torch``, in turns."""
    check, torch_only = [], []
    for _ in range(n):
        torch_only.append(timed([PY, "-c", "import torch"]))
        check.append(timed([TUTOR, "check", task], cwd=ws))
    return {"check_s": round(statistics.median(check), 2), "import_torch_s": round(statistics.median(torch_only), 2),
            "task": task}  # type: ignore[dict-item]


def course_workspace(root: Path) -> tuple[Path, list[str]]:
    """A workspace of the whole built-in course, every exercise file the reference."""
    from tutor.pack.loader import builtin_course, load_pack
    from tutor.workspace import Workspace

    pack = load_pack(builtin_course())
    ws = Workspace.create(root, pack, "builtin")
    for lesson, task in pack.tasks():
        ws.exercise_path(f"{lesson.id}/{task.id}").write_text(task.solution)
    return root, pack.task_ids()


def _process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system, all its threads) of a running process, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ours(workspaces: list[Path], jobs: int) -> tuple[float, float, float]:
    """Wall and CPU seconds of one ``tutor grade``: all of it (this grade and every process it
    waited for), and the grader's own process alone (its /proc entry, read until it exits:
    the rest is the sandbox, its workers and their children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with tempfile.TemporaryFile() as stdout:
        proc = subprocess.Popen([TUTOR, "grade", *map(str, workspaces), "--jobs", str(jobs), "--format", "json",
                                 "--seed", "1"], stdout=stdout, stderr=subprocess.DEVNULL, env=ENV)
        grader = 0.0
        while proc.poll() is None:
            grader = _process_cpu(proc.pid) or grader
            time.sleep(0.01)
        elapsed = time.perf_counter() - start
        stdout.seek(0)
        data = json.loads(stdout.read())
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    failed = [v["task"] for w in data for v in w["tasks"] if v["status"] != "passed"]
    if failed:
        print(f"  note: {len(failed)} reference(s) did not pass in the benchmark: {failed[:3]}", file=sys.stderr)
    return elapsed, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, grader


def naive(workspaces: list[Path], task_ids: list[str], jobs: int) -> float:
    from tutor.pack.loader import builtin_course

    pack_dir = str(builtin_course())
    items = [(ws, t) for ws in workspaces for t in task_ids]
    start = time.perf_counter()

    def one(item: tuple[Path, str]) -> None:
        ws, task = item
        lesson, name = task.split("/")
        subprocess.run([PY, str(ROOT / "bench" / "naive_grader.py"), pack_dir, task,
                        str(ws / "exercises" / lesson / f"{name}.py"), "1"], capture_output=True, check=False)

    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(one, items))
    return time.perf_counter() - start


def bench_course(reps: int, copies: int, first: Path, task_ids: list[str], tmp: Path, layers_ms: float,
                 with_naive: bool) -> dict[str, Any]:
    many = [first] + [Path(shutil.copytree(first, tmp / f"ws-{i}")) for i in range(1, copies)]
    one, one_cpu, one_grader, torch_only = [], [], [], []
    for _ in range(reps):
        torch_only.append(timed([PY, "-c", "import torch"]))
        wall, cpu, grader = ours([first], 1)
        one.append(wall)
        one_cpu.append(cpu)
        one_grader.append(grader)
    many_wall, many_cpu, many_grader = ours(many, 2)
    grades = len(task_ids) * copies
    out: dict[str, Any] = {
        "tasks": len(task_ids), "copies": copies,
        "one_s": round(statistics.median(one), 2), "import_torch_s": round(statistics.median(torch_only), 2),
        "one_cpu_s": round(statistics.median(one_cpu), 2), "one_grader_cpu_s": round(statistics.median(one_grader), 2),
        "many_s": round(many_wall, 1), "many_cpu_ms_per_grade": round(many_cpu * 1000 / grades, 1),
        "many_grader_cpu_ms_per_grade": round(many_grader * 1000 / grades, 1),
        "many_floor_s": round(grades * layers_ms / 1000 / 2, 1),
    }
    if with_naive:
        out["one_naive_s"] = round(naive([first], task_ids, 1), 1)
    return out


def bench_cli(n: int, tmp: Path) -> dict[str, float]:
    timed([TUTOR, "list"], cwd=tmp)  # builds the pack index and byte code once, untimed
    list_times = [timed([TUTOR, "list"], cwd=tmp) for _ in range(n)]
    help_times = [timed([TUTOR, "--help"], cwd=tmp) for _ in range(n)]
    bare = [timed([PY, "-c", "pass"]) for _ in range(n)]
    return {"list_ms": median_ms(list_times), "help_ms": median_ms(help_times), "python_ms": median_ms(bare)}


def bench_watch(n: int, tmp: Path) -> dict[str, float] | None:
    try:
        import pexpect
    except ImportError:
        return None
    ws = tmp / "watch"
    ws.mkdir()
    env = {**ENV, "COLUMNS": "120", "LINES": "40"}
    child = pexpect.spawn(TUTOR, ["start", "--pack", str(MINI)], cwd=str(ws), env=env,
                          encoding="utf-8", timeout=120, dimensions=(40, 120))
    file = ws / "exercises" / "views" / "first-row.py"
    child.expect("first-row")
    time.sleep(4)  # let the worker start and the first grade finish
    child.expect([pexpect.TIMEOUT], timeout=1)
    samples = []
    answers = [RIGHT, RIGHT.replace("x[0]", "x[0].clone()")]
    marks = ["Passed", "Not yet"]
    for i in range(n):
        which = i % 2
        child.expect([pexpect.TIMEOUT], timeout=0.3)  # drain
        start = time.perf_counter()
        file.write_text(answers[which] + f"# {i}\n")
        child.expect(marks[which], timeout=30)
        samples.append(time.perf_counter() - start)
    child.sendline("q")
    child.terminate(force=True)
    return {"save_to_verdict_ms": median_ms(samples), "samples": n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, 4 workspaces instead of 16")
    parser.add_argument("--naive", action="store_true", help="also time the naive one-process-per-task grader")
    parser.add_argument("--previous", default=PREVIOUS, help="the previous edition's commit (default: %(default)s)")
    args = parser.parse_args()
    n, rounds, reps, copies = (10, 1, 2, 4) if args.quick else (30, 3, 5, 16)
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    results: dict[str, Any] = {
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Linux {platform.release()}, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load_at_start": round(load, 1),
    }
    ticks_at_start = cpu_ticks()
    with tempfile.TemporaryDirectory(prefix="tutor-bench-") as tmp_name:
        tmp = Path(tmp_name)
        results["cli"] = bench_cli(10, tmp)
        print("cli", results["cli"], flush=True)
        results["regrade"] = bench_regrade(n, rounds, tmp, args.previous)
        print("regrade", results["regrade"], flush=True)
        results["watch"] = bench_watch(10, tmp)
        print("watch", results["watch"], flush=True)
        first, task_ids = course_workspace(tmp / "ws-0")
        results["check"] = bench_check(reps, first, task_ids[0])
        print("check", results["check"], flush=True)
        results["course"] = bench_course(max(3, reps - 2), copies, first, task_ids, tmp,
                                         results["regrade"]["layers_ms"], args.naive)
        print("course", results["course"], flush=True)
    total, stolen = (b - a for a, b in zip(ticks_at_start, cpu_ticks()))
    results["steal_pct"] = round(100 * stolen / max(1, total), 1)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    (out / "results.md").write_text(markdown(results))
    print(markdown(results))


def markdown(r: dict[str, Any]) -> str:
    """The README's table: every figure beside its floor from this one run, as a ratio."""
    cli, rg, check, course = r["cli"], r["regrade"], r["check"], r["course"]
    window = course["import_torch_s"] + 2  # the course target: one `import torch` + 2 s
    sandbox_ms = course["many_cpu_ms_per_grade"] - course["many_grader_cpu_ms_per_grade"]
    rows = [
        ("warm re-grade of one task (median; the learner saved again)", f"{rg['paused_ms']} ms",
         f"fork + exit of the warm worker: {rg['floor_ms']} ms", f"**{rg['paused_ms'] / rg['floor_ms']:.2f}×** (target ≤ 1.2×)"),
        ("fork + exit of the warm worker, each after the same pause as the re-grades", f"{rg['paused_floor_ms']} ms",
         f"the re-grade: {rg['paused_ms']} ms", f"re-grade {rg['paused_ms'] / rg['paused_floor_ms']:.2f}× this"),
        ("the same, previous edition (`" + rg["previous"] + "`, before issue 9)", f"{rg['previous_paused_ms']} ms",
         f"today: {rg['paused_ms']} ms", f"today **{rg['paused_ms'] / rg['previous_paused_ms']:.2f}×** (target ≤ 1×)"),
        ("re-grades back to back (the worker's whole cycle)", f"{rg['back_to_back_ms']} ms",
         f"previous edition: {rg['previous_back_to_back_ms']} ms; fork + layers + exit: {rg['layers_ms']} ms",
         f"{rg['back_to_back_ms'] / rg['previous_back_to_back_ms']:.2f}× previous"),
        ("CPU of one re-grade (grader, worker and child)", f"{rg['cpu_ms']} ms",
         f"fork + exit: {rg['floor_cpu_ms']} ms; fork + layers + exit: {rg['layers_cpu_ms']} ms",
         f"{rg['cpu_ms'] / rg['layers_cpu_ms']:.2f}× fork + layers + exit"),
        (f"`tutor check` cold, no session (`{check['task']}`)", f"{check['check_s']} s",
         f"`python -c 'import torch'`: {check['import_torch_s']} s",
         f"**{check['check_s'] / check['import_torch_s']:.2f}×** (target ≤ 1.6×)"),
        (f"`tutor grade` one workspace, whole course ({course['tasks']} tasks)", f"{course['one_s']} s",
         f"one `import torch`: {course['import_torch_s']} s",
         f"**+{course['one_s'] - course['import_torch_s']:.2f} s** (target ≤ +2 s)"),
        ("the same workspace: CPU of the grader's own process (torch, its references, judging)",
         f"{course['one_grader_cpu_s']} s", f"the target's wall time, `import torch` + 2 s: {window:.2f} s",
         f"{course['one_grader_cpu_s'] / window:.2f}× the target's wall"),
        ("the same workspace: CPU of every process (grader, worker, children)", f"{course['one_cpu_s']} s",
         f"2 cores × the target's wall: {2 * window:.2f} s", f"{course['one_cpu_s'] / (2 * window):.2f}× it"),
        (f"`tutor grade` {course['copies']} workspaces, `--jobs 2`: CPU per task-grade",
         f"{course['many_cpu_ms_per_grade']} ms", f"fork + layers + exit: {rg['layers_cpu_ms']} ms",
         f"**{course['many_cpu_ms_per_grade']} ms** (target ≤ 15 ms)"),
        ("the same: the grader's own process, per task-grade", f"{course['many_grader_cpu_ms_per_grade']} ms",
         f"the sandbox (workers and children): {sandbox_ms:.1f} ms",
         f"{course['many_grader_cpu_ms_per_grade'] / course['many_cpu_ms_per_grade']:.0%} of the CPU"),
        (f"`tutor grade` {course['copies']} workspaces, `--jobs 2`: wall", f"{course['many_s']} s",
         f"{course['tasks']} × {course['copies']} × (fork + layers + exit) / 2: {course['many_floor_s']} s",
         f"{course['many_s'] / course['many_floor_s']:.2f}×"),
        ("`tutor list` cold start", f"{cli['list_ms']} ms", f"`python -c pass`: {cli['python_ms']} ms",
         f"{cli['list_ms'] / cli['python_ms']:.1f}× bare Python"),
        ("`tutor --help` cold start", f"{cli['help_ms']} ms", f"`python -c pass`: {cli['python_ms']} ms",
         f"{cli['help_ms'] / cli['python_ms']:.1f}× bare Python"),
    ]
    if course.get("one_naive_s"):
        rows.append(("the naive one-process-per-task grader, one workspace", f"{course['one_naive_s']} s",
                     f"tutor: {course['one_s']} s", f"{course['one_naive_s'] / course['one_s']:.1f}× slower"))
    if r.get("watch"):
        rows.append(("`tutor start`: save to verdict on screen (warm, real terminal)",
                     f"{r['watch']['save_to_verdict_ms']} ms", "target: 150 ms",
                     f"{150 / r['watch']['save_to_verdict_ms']:.1f}× under"))
    lines = ["| measured | tutor | floor, same run | ratio |", "| --- | --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    steal = f"; the host took {r['steal_pct']}% of the CPU time during the run (steal)" if "steal_pct" in r else ""
    return "\n".join(lines) + f"\n\nMachine: {r['machine']}; {r['date']}; load average at start {r['load_at_start']}{steal}.\n"


if __name__ == "__main__":
    main()
