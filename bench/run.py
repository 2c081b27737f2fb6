"""Speed benchmarks, reported as ratios measured in one run on this machine.

    .venv/bin/python bench/run.py            # everything (~10 minutes on 2 cores)
    .venv/bin/python bench/run.py --quick    # fewer repetitions and copies

What is measured (issue "Sandbox: containment and speed"):
1. a warm re-grade of one task vs a fresh ``python`` that imports torch and
   runs the same code (median of N);
2. ``tutor grade`` over a workspace of the whole built-in course, and over
   copies of it with ``--jobs 2``, vs the naive one-process-per-task grader;
3. ``tutor list`` and ``tutor --help`` cold start;
4. save-to-verdict latency of ``tutor start`` (warm), through a real terminal.
Results go to stdout and to ``bench/out/results.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
MINI = ROOT / "tests" / "packs" / "mini"
RIGHT = "import torch\n\ndef solve(x):\n    return x[0]\n"


def timed(cmd: list[str], **kw: object) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=False, **kw)  # type: ignore[call-overload]
    return time.perf_counter() - start


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 1)


def bench_regrade(n: int, tmp: Path) -> dict[str, float]:
    from tutor.grading.engine import Grader
    from tutor.pack.loader import load_pack

    pack = load_pack(MINI)
    answer = tmp / "answer.py"
    answer.write_text(RIGHT)
    with Grader() as grader:
        for _ in range(3):
            grader.grade(pack, "views/first-row", answer, seed=1)
        warm = []
        for _ in range(n):
            start = time.perf_counter()
            verdict = grader.grade(pack, "views/first-row", answer, seed=1)
            warm.append(time.perf_counter() - start)
            assert verdict.passed
    fresh_code = f"import torch\nexec(open({str(answer)!r}).read())\nx = torch.randn(5, 4)\nassert torch.equal(solve(x), x[0])\n"
    fresh = [timed([PY, "-c", fresh_code]) for _ in range(n)]
    return {"warm_ms": median_ms(warm), "fresh_ms": median_ms(fresh), "ratio": round(statistics.median(fresh) / statistics.median(warm), 1)}


def course_workspace(root: Path) -> tuple[Path, list[str]]:
    """A workspace of the whole built-in course, every exercise file the reference."""
    from tutor.pack.loader import builtin_course, load_pack
    from tutor.workspace import Workspace

    pack = load_pack(builtin_course())
    ws = Workspace.create(root, pack, "builtin")
    for lesson, task in pack.tasks():
        ws.exercise_path(f"{lesson.id}/{task.id}").write_text(task.solution)
    return root, pack.task_ids()


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


def ours(workspaces: list[Path], jobs: int) -> float:
    start = time.perf_counter()
    proc = subprocess.run([PY, "-m", "tutor", "grade", *map(str, workspaces), "--jobs", str(jobs), "--format", "json", "--seed", "1"],
                          capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    data = json.loads(proc.stdout)
    failed = [v["task"] for w in data for v in w["tasks"] if v["status"] != "passed"]
    if failed:
        print(f"  note: {len(failed)} reference(s) did not pass in the benchmark: {failed[:3]}", file=sys.stderr)
    return elapsed


def bench_course(copies: int, tmp: Path) -> dict[str, float]:
    first, task_ids = course_workspace(tmp / "ws-0")
    many = [first] + [Path(shutil.copytree(first, tmp / f"ws-{i}")) for i in range(1, copies)]
    one_ours = ours([first], 1)
    one_naive = naive([first], task_ids, 1)
    many_ours = ours(many, 2)
    many_naive = naive(many, task_ids, 2)
    return {
        "tasks": len(task_ids), "copies": copies,
        "one_ours_s": round(one_ours, 1), "one_naive_s": round(one_naive, 1), "one_ratio": round(one_naive / one_ours, 1),
        "many_ours_s": round(many_ours, 1), "many_naive_s": round(many_naive, 1), "many_ratio": round(many_naive / many_ours, 1),
    }


def bench_cli(n: int, tmp: Path) -> dict[str, float]:
    env = {**os.environ, "TUTOR_LANG": "en"}
    tutor = [str(Path(PY).parent / "tutor")]
    timed(tutor + ["list"], cwd=tmp, env=env)  # builds the pack index and byte code once, untimed
    list_times = [timed(tutor + ["list"], cwd=tmp, env=env) for _ in range(n)]
    help_times = [timed(tutor + ["--help"], cwd=tmp, env=env) for _ in range(n)]
    bare = [timed([PY, "-c", "pass"]) for _ in range(n)]
    return {"list_ms": median_ms(list_times), "help_ms": median_ms(help_times), "python_ms": median_ms(bare)}


def bench_watch(n: int, tmp: Path) -> dict[str, float] | None:
    try:
        import pexpect
    except ImportError:
        return None
    ws = tmp / "watch"
    ws.mkdir()
    env = {**os.environ, "TUTOR_LANG": "en", "COLUMNS": "120", "LINES": "40"}
    child = pexpect.spawn(str(Path(PY).parent / "tutor"), ["start", "--pack", str(MINI)], cwd=str(ws), env=env,
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
    parser.add_argument("--quick", action="store_true", help="10 repetitions and 2 copies instead of 30 and 8")
    args = parser.parse_args()
    n = 10 if args.quick else 30
    copies = 2 if args.quick else 8
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {"machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"}
    with tempfile.TemporaryDirectory(prefix="tutor-bench-") as tmp_name:
        tmp = Path(tmp_name)
        results["cli"] = bench_cli(10, tmp)
        print("cli", results["cli"], flush=True)
        results["regrade"] = bench_regrade(n, tmp)
        print("regrade", results["regrade"], flush=True)
        results["watch"] = bench_watch(10, tmp)
        print("watch", results["watch"], flush=True)
        results["course"] = bench_course(copies, tmp)
        print("course", results["course"], flush=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    (out / "results.md").write_text(markdown(results))
    print(markdown(results))


def markdown(r: dict) -> str:
    """The README's table: every figure from this one run, speed-ups as ratios."""
    cli, regrade, course = r["cli"], r["regrade"], r["course"]
    rows = [
        ("warm re-grade of one task (median of repeated runs)", f"{regrade['warm_ms']} ms",
         f"fresh `python` importing torch, same code: {regrade['fresh_ms']} ms", f"**{regrade['ratio']}×**"),
        (f"`tutor grade` one workspace, whole course ({course['tasks']} tasks)", f"{course['one_ours_s']} s",
         f"naive one-process-per-task grader: {course['one_naive_s']} s", f"**{course['one_ratio']}×**"),
        (f"`tutor grade` {course['copies']} workspaces, `--jobs 2`", f"{course['many_ours_s']} s",
         f"naive grader, 2 processes at a time: {course['many_naive_s']} s", f"**{course['many_ratio']}×**"),
        ("`tutor list` cold start", f"{cli['list_ms']} ms", f"`python -c pass`: {cli['python_ms']} ms",
         f"{round(cli['list_ms'] / cli['python_ms'], 1)}× bare Python"),
        ("`tutor --help` cold start", f"{cli['help_ms']} ms", f"`python -c pass`: {cli['python_ms']} ms",
         f"{round(cli['help_ms'] / cli['python_ms'], 1)}× bare Python"),
    ]
    if r.get("watch"):
        rows.append(("`tutor start`: save to verdict on screen (warm, real terminal)",
                     f"{r['watch']['save_to_verdict_ms']} ms", "target: 150 ms",
                     f"{round(150 / r['watch']['save_to_verdict_ms'], 1)}× under"))
    lines = ["| measured | tutor | compared with | ratio |", "| --- | --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines) + f"\n\nMachine: {r['machine']}.\n"


if __name__ == "__main__":
    main()
