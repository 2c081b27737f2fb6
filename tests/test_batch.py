"""Grading at scale through the real CLI: every format agrees, timeouts cost one task,
replay reproduces a verdict, shards merge, and the worker comes back when killed."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import signal
from pathlib import Path

import pytest
from junitparser import JUnitXml

from conftest import PACKS, grade_json, make_workspace, run_tutor

KINDS = PACKS / "kinds"
ANSWERS = {
    "kinds/view-row": "def solve(x):\n    return x[0]\n",  # right
    "kinds/add-copy": "def solve(x):\n    x.add_(1)\n    return x\n",  # wrong: mutates
    "kinds/use-view": "def solve(x):\n    return x.view(-1)\n",  # right
    "kinds/no-loops": "def solve(x):\n    while True:\n        pass\n",  # times out
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Some right, some wrong, one endless loop, the rest left as starters."""
    return make_workspace(tmp_path_factory.mktemp("class") / "alice", KINDS, ANSWERS)


@pytest.fixture(scope="module")
def reports(workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str]]:
    out = tmp_path_factory.mktemp("reports")
    found = {}
    for fmt in ("json", "gradescope", "junit", "csv", "github"):
        target = out / f"report.{fmt}"
        proc = run_tutor("grade", str(workspace), "--pack", str(KINDS), "--format", fmt, "--seed", "5", "--output", str(target))
        assert "Traceback" not in proc.stderr
        found[fmt] = (proc.returncode, target.read_text(encoding="utf-8"))
    return found


def test_every_format_reports_the_same_results(reports: dict[str, tuple[int, str]]) -> None:
    # Gradescope reads its file, not the exit status: 0 once written; the others say 1 (a task failed).
    assert {fmt: code for fmt, (code, _) in reports.items()} == {
        "json": 1, "gradescope": 0, "junit": 1, "csv": 1, "github": 1}
    data = json.loads(reports["json"][1])[0]
    per_task = {v["task"]: v["score"] for v in data["tasks"]}
    statuses = {v["task"]: v["status"] for v in data["tasks"]}
    assert statuses["kinds/view-row"] == "passed" and statuses["kinds/add-copy"] == "failed"
    assert statuses["kinds/no-loops"] == "timeout"
    total = data["score"]
    assert total == 2

    gradescope = json.loads(reports["gradescope"][1])
    assert gradescope["score"] == total
    assert {t["name"].split(" ")[0]: t["score"] for t in gradescope["tests"]} == per_task or \
        sorted(t["score"] for t in gradescope["tests"]) == sorted(per_task.values())

    suite = next(iter(JUnitXml.fromstring(reports["junit"][1].encode())))
    passed = {f"{case.classname}/{case.name}" for case in suite if case.is_passed}
    assert passed == {t for t, s in statuses.items() if s == "passed"}

    rows = list(csv.DictReader(io.StringIO(reports["csv"][1])))
    assert len(rows) == 1 and float(rows[0]["total"]) == total
    assert {t: float(rows[0][t]) for t in per_task} == per_task

    assert f"Points {total:g}/{len(per_task)}" in reports["github"][1]


def test_a_timeout_costs_that_task_only(reports: dict[str, tuple[int, str]]) -> None:
    data = json.loads(reports["json"][1])[0]
    graded_after = [v for v in data["tasks"] if v["task"] in ("kinds/sorted-custom", "kinds/use-view")]
    assert [v["status"] for v in graded_after if v["task"] == "kinds/use-view"] == ["passed"]
    assert len(data["tasks"]) == 9


def test_replay_reproduces_the_verdict(workspace: Path, reports: dict[str, tuple[int, str]], tmp_path: Path) -> None:
    data = json.loads(reports["json"][1])
    data[0]["tasks"] = [v for v in data[0]["tasks"] if v["task"] != "kinds/no-loops"]  # keep it quick
    report = tmp_path / "result.json"
    report.write_text(json.dumps(data))
    same = run_tutor("replay", str(report), "--pack", str(KINDS))
    assert same.returncode == 0, same.stdout + same.stderr
    (workspace / "exercises" / "kinds" / "view-row.py").write_text("def solve(x):\n    return x[0].clone()\n")
    try:
        differs = run_tutor("replay", str(report), "--pack", str(KINDS))
        assert differs.returncode == 1 and "kinds/view-row" in differs.stdout
    finally:
        (workspace / "exercises" / "kinds" / "view-row.py").write_text(ANSWERS["kinds/view-row"])


def test_shards_cover_every_workspace_and_merge(tmp_path: Path) -> None:
    roots = [make_workspace(tmp_path / f"s{i}", PACKS / "mini", {"views/first-row": "def solve(x):\n    return x[0]\n"})
             for i in range(3)]
    parts = []
    for k in (1, 2):
        target = tmp_path / f"part-{k}.json"
        proc = run_tutor("grade", *map(str, roots), "--shard", f"{k}/2", "--format", "json", "--output", str(target))
        assert proc.returncode == 0, proc.stderr
        parts.append(target)
    merged = run_tutor("merge", *map(str, parts), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(merged.stdout)))
    assert sorted(r["student"] for r in rows) == sorted(r.name for r in roots)  # the folder names the student


def test_pack_version_mismatch_is_warned(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "old", PACKS / "mini", {})
    record = json.loads((ws / ".tutor" / "workspace.json").read_text())
    record["pack"]["version"] = "0.9"
    (ws / ".tutor" / "workspace.json").write_text(json.dumps(record))
    code, _, stderr = grade_json(str(ws))
    assert code == 1 and "0.9" in stderr


def test_github_format_gives_classroom_points(workspace: Path, tmp_path: Path) -> None:
    from tutor.reports import github

    code, data, _ = grade_json(str(workspace), "--pack", str(KINDS), "--seed", "5")
    from tutor.verdict import WorkspaceResult

    result = github.classroom_result_b64(WorkspaceResult.from_json(data[0]))
    decoded = json.loads(base64.b64decode(result))
    assert decoded["max_score"] == 9 and sum(t["score"] for t in decoded["tests"]) == 2


def test_the_worker_restarts_when_killed(grader, tmp_path: Path) -> None:
    from tutor.pack.loader import load_pack

    answer = tmp_path / "a.py"
    answer.write_text("def solve(x):\n    return x[0]\n")
    pack = load_pack(PACKS / "mini")
    assert grader.grade(pack, "views/first-row", answer).passed
    worker = grader.pool._all[0]
    os.killpg(worker.proc.pid, signal.SIGKILL)
    worker.proc.wait()
    assert grader.grade(pack, "views/first-row", answer).passed


def test_the_report_is_rewritten_as_workspaces_finish_at_a_bounded_cost() -> None:
    """Each rewrite renders the whole report: rewriting waits until grading took PATIENCE times the last one."""
    from tutor.batch import ReportWriter
    from tutor.verdict import WorkspaceResult

    now = [0.0]
    written: list[int] = []

    def write(results: list[WorkspaceResult]) -> None:
        written.append(len(results))
        now[0] += 1.0  # each rewrite takes a second

    writer = ReportWriter(write, clock=lambda: now[0])
    results: list[WorkspaceResult] = []
    for i in range(10):
        now[0] += 0.5  # grading a workspace takes half a second
        results.append(WorkspaceResult(f"ws-{i}", []))
        writer.finished(results)
    writer.flush(results)
    writer.flush(results)  # nothing new: not written again
    assert written == [1, 9, 10]

    empty: list[int] = []
    ReportWriter(lambda results: empty.append(len(results)), clock=lambda: 0.0).flush([])
    assert empty == [0], "an empty batch still leaves a report"
