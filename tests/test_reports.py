"""Output formats of ``tutor grade``: every format, read back with a real parser,
reports the same per-task results and the same total (issue 6's acceptance).

Verdicts are built by hand; nothing here imports torch.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from junitparser import Error as JUnitError
from junitparser import Failure as JUnitFailure
from junitparser import JUnitXml

from tutor.reports import FORMATS, SINGLE_WORKSPACE, render
from tutor.reports import compare, shard
from tutor.reports import common as C
from tutor.reports import csv as csv_report
from tutor.reports import exercism, github, gradescope, junit, prairielearn, text
from tutor.reports import json as json_report
from tutor.verdict import CaseInfo, CheckResult, PackRef, Status, Verdict, WorkspaceResult

PACK = PackRef(id="pytorch-basics", version="1.2", hash="sha256:abc123")
VERSIONS = {"torch": "2.13.0", "tutor": "0.1.0", "python": "3.11.9"}
SECRET = "SECRET-HIDDEN-VALUE-4242"


def verdict(task, status, score, max_score=1, checks=(), **kw) -> Verdict:
    kw.setdefault("cases", [CaseInfo(0, False, {"x": "float32[3, 4]"})])
    return Verdict(
        task=task,
        status=status,
        score=score,
        max_score=max_score,
        device="cpu",
        seed=kw.pop("seed", 1234),
        duration_ms=kw.pop("duration_ms", 41),
        checks=list(checks),
        pack=PACK,
        versions=dict(VERSIONS),
        **kw,
    )


def alice() -> WorkspaceResult:
    """A mix: passed, failed with two checks, error, timeout, partial 0.5/1 on a hidden case, crash, refusal."""
    ok = CheckResult("result", True, 0)
    return WorkspaceResult(
        workspace="students/alice",
        verdicts=[
            verdict("tensors/zeros", Status.PASSED, 1, checks=[ok, CheckResult("mutation", True, 0)], title="Zeros"),
            verdict(
                "tensors/add",
                Status.FAILED,
                0,
                checks=[
                    CheckResult("result", False, 0, "expected shape [3, 4], got [4, 3]"),
                    CheckResult("mutation", False, 0, "you changed x in place; the reference does not"),
                    CheckResult("source", True, None),
                ],
                stdout="debugging \x1b[31mred\x1b[0m and a NUL \x00 here\n",
            ),
            verdict(
                "views/first-row",
                Status.ERROR,
                0,
                error="Your code raised an error on case 0 (x: float32[3, 4]):\nTraceback (most recent call last):\n"
                '  File "students/alice/exercises/views/first-row.py", line 3, in solve\n    return y\n'
                "NameError: name 'y' is not defined\n",
            ),
            verdict("views/transpose", Status.TIMEOUT, 0, 2, error="timed out after 10 s", duration_ms=10000),
            verdict(
                "autograd/grad",
                Status.FAILED,
                0.5,
                checks=[
                    ok,
                    CheckResult("result", False, 1, "values differ from the reference at index [2, 1]"),
                ],
                cases=[CaseInfo(0, False, {"x": "float32[3, 4]"}), CaseInfo(1, True, {"x": "float32[5, 2]"})],
                stdout=f"x = tensor({SECRET})\n",
            ),
            verdict("autograd/backward", Status.CRASHED, 0, error="the worker was killed by signal 9 (memory)"),
            verdict("misc/net", Status.REFUSED, 0, error="refused: opening a network socket"),
        ],
        warnings=["workspace pack version 1.1 differs from the grading pack's 1.2"],
    )


def bob() -> WorkspaceResult:
    """Fractional points: 1/3, 2/3 of 2, 1/8 (rounds half up to 0.13), and a task alice lacks."""
    part = [CheckResult("result", True, 0), CheckResult("result", False, 1, "wrong values")]
    return WorkspaceResult(
        workspace="students/bob",
        verdicts=[
            verdict("tensors/zeros", Status.PASSED, 1, checks=[CheckResult("result", True, 0)], seed=99),
            verdict("tensors/add", Status.FAILED, 1 / 3, checks=part, seed=99),
            verdict("views/first-row", Status.FAILED, 2 * 2 / 3, 2, checks=part, seed=99),
            verdict("views/transpose", Status.FAILED, 1 / 8, checks=part, seed=99),
            verdict("extra/bonus", Status.FAILED, 1 / 3, checks=part, seed=99),
        ],
    )


# What every format must say, from the verdicts' own numbers rounded the one way.
EXPECTED = {
    "students/alice": {
        "tasks": {
            "tensors/zeros": (True, 1),
            "tensors/add": (False, 0),
            "views/first-row": (False, 0),
            "views/transpose": (False, 0),
            "autograd/grad": (False, 0.5),
            "autograd/backward": (False, 0),
            "misc/net": (False, 0),
        },
        "total": 1.5,
        "max": 8,
    },
    "students/bob": {
        "tasks": {
            "tensors/zeros": (True, 1),
            "tensors/add": (False, 0.33),
            "views/first-row": (False, 1.33),
            "views/transpose": (False, 0.13),
            "extra/bonus": (False, 0.33),
        },
        "total": 3.12,
        "max": 6,
    },
}


@pytest.fixture
def results() -> list[WorkspaceResult]:
    return [alice(), bob()]


def num(text: str) -> float:
    return float(Decimal(text))


# ---------------------------------------------------------------- numbers


def test_points_are_rounded_once_and_written_one_way():
    assert C.fmt_points(1) == "1"
    assert C.fmt_points(1.0) == "1"
    assert C.fmt_points(0.5) == "0.5"
    assert C.fmt_points(1 / 3) == "0.33"
    assert C.fmt_points(2 / 3) == "0.67"
    assert C.fmt_points(0.125) == "0.13"  # half up on the decimal a person reads
    assert C.fmt_points(2.675) == "2.68"
    assert C.fmt_points(0.1 + 0.2) == "0.3"
    assert C.points(2.0) == 2 and isinstance(C.points(2.0), int)
    assert C.points(0.30000000000000004) == 0.3
    with pytest.raises(ValueError):
        C.points(float("nan"))
    ws = bob()
    assert C.total_points(ws) == 3.12  # the sum of the rounded task points
    assert C.total_max(ws) == 6


# ---------------------------------------------------------------- readers, one per format


def read_json(out: str) -> dict:
    got = {}
    for ws in json_report.parse(out):
        got[ws.workspace] = {
            "tasks": {v.task: (v.passed, C.points(v.score)) for v in ws.verdicts},
            "total": C.total_points(ws),
            "max": C.total_max(ws),
        }
    return got


def read_junit(out: str) -> dict:
    got = {}
    xml = JUnitXml.fromstring(out)
    etree = ET.fromstring(out.encode("utf-8"))
    suites = {s.get("name"): s for s in etree.iter("testsuite")}
    for suite in xml:
        props = {p.name: p.value for p in suite.properties()}
        tasks = {}
        el_cases = {(c.get("classname"), c.get("name")): c for c in suites[suite.name].iter("testcase")}
        for case in suite:
            el = el_cases[(case.classname, case.name)]
            assert el.find("properties") is None  # junit-10.xsd allows properties on suites only
            task = f"{case.classname}/{case.name}"
            assert (props[f"{task}.status"] == "passed") == case.is_passed
            tasks[task] = (case.is_passed, num(props[f"{task}.score"]))
        got[suite.name] = {"tasks": tasks, "total": num(props["score"]), "max": num(props["max_score"])}
    return got


def read_gradescope(out: str) -> dict:
    data = json.loads(out)
    ws = data["extra_data"]["workspace"]
    tasks = {t["name"]: (t["status"] == "passed", t["score"]) for t in data["tests"]}
    assert data["score"] == C.points(sum(Decimal(str(t["score"])) for t in data["tests"]))
    return {ws: {"tasks": tasks, "total": data["score"], "max": data["extra_data"]["max_score"]}}


def read_csv(out: str, expected_tasks: dict) -> dict:
    got = {}
    for row in csv.DictReader(io.StringIO(out)):
        ws = f"students/{row['student']}"
        tasks = {
            t: (t in expected_tasks[ws] and expected_tasks[ws][t][0], num(row[t])) for t in row if "/" in t and row[t]
        }
        got[ws] = {"tasks": tasks, "total": num(row["total"]), "max": num(row["max"])}
    return got


def read_classroom(b64: str) -> dict:
    data = json.loads(base64.b64decode(b64))
    # What GitHub Classroom's reporter computes: the sum of the tests' scores.
    total = C.points(sum(Decimal(str(t["score"])) for t in data["tests"]))
    tasks = {t["name"]: (t["status"] == "pass", t["score"]) for t in data["tests"]}
    return {"tasks": tasks, "total": total, "max": data["max_score"]}


NOTICE_POINTS = re.compile(r"^::notice title=Autograding complete::Points ([\d.]+)/([\d.]+)$", re.M)
NOTICE_REPORT = re.compile(r"^::notice title=Autograding report::(\{.*\})$", re.M)
SUMMARY_ROW = re.compile(r"^\| (\S+/\S+) \| \S+ (\w+) \| ([\d.]+)/([\d.]+) \|$", re.M)
SUMMARY_TOTAL = re.compile(r"^\| \*\*Total\*\* \| .* \| \*\*([\d.]+)/([\d.]+)\*\* \|$", re.M)


def read_github(out: str) -> dict:
    got = {}
    for block in out.split("### Autograding: ")[1:]:
        ws = block.splitlines()[0].replace("\\", "")
        tasks = {m[1]: (m[2] == "passed", num(m[3])) for m in SUMMARY_ROW.finditer(block)}
        (total, top) = SUMMARY_TOTAL.search(block).groups()
        got[ws] = {"tasks": tasks, "total": num(total), "max": num(top)}
    return got


def read_prairielearn(out: str) -> dict:
    data = json.loads(out)
    tasks = {t["name"]: (t["points"] == t["max_points"], t["points"]) for t in data["tests"]}
    total = C.points(sum(Decimal(str(t["points"])) for t in data["tests"]))
    top = C.points(sum(Decimal(str(t["max_points"])) for t in data["tests"]))
    assert data["score"] == pytest.approx(total / top)
    return {"tasks": tasks, "total": total, "max": top}


TEXT_ROW = re.compile(r"^│ (\S+/\S+)\s*│ (\w+)\s*│\s*([\d.]+)/([\d.]+) │", re.M)
TEXT_TOTAL = re.compile(r"^Total: ([\d.]+)/([\d.]+) points, (\d+) of (\d+) tasks passed$", re.M)


def read_text(out: str) -> dict:
    got = {}
    for block in re.split(r"^(?=students/)", out, flags=re.M)[1:]:
        ws = block.splitlines()[0].strip()
        tasks = {m[1]: (m[2] == "passed", num(m[3])) for m in TEXT_ROW.finditer(block)}
        total, top, _, _ = TEXT_TOTAL.search(block).groups()
        got[ws] = {"tasks": tasks, "total": num(total), "max": num(top)}
    return got


# ---------------------------------------------------------------- the acceptance test


def test_every_format_reports_the_same_tasks_and_totals(results):
    expected = EXPECTED
    assert read_json(render("json", results)) == expected
    assert read_junit(render("junit", results)) == expected
    assert read_csv(render("csv", results), {w: e["tasks"] for w, e in expected.items()}) == expected
    assert read_github(render("github", results)) == expected
    assert read_text(render("text", results)) == expected
    for ws in results:
        want = expected[ws.workspace]
        assert read_gradescope(render("gradescope", [ws])) == {ws.workspace: want}
        assert read_classroom(github.classroom_result_b64(ws)) == want
        assert read_prairielearn(render("prairielearn", [ws])) == want
        ex = json.loads(render("exercism", [ws]))
        assert {t["name"]: t["status"] == "pass" for t in ex["tests"]} == {
            t: passed for t, (passed, _) in want["tasks"].items()
        }


def test_fractional_points_agree_across_github_gradescope_and_csv():
    ws = bob()
    out = github.render([ws])
    (score, top) = NOTICE_POINTS.search(out).groups()
    report = json.loads(NOTICE_REPORT.search(out).group(1))
    classroom = read_classroom(github.classroom_result_b64(ws))
    summary = read_github(github.summary_markdown(ws))[ws.workspace]
    grades = json.loads(gradescope.render([ws]))
    row = next(csv.DictReader(io.StringIO(csv_report.render([ws]))))
    totals = {
        num(score),
        report["totalPoints"],
        classroom["total"],
        summary["total"],
        grades["score"],
        num(row["total"]),
    }
    assert totals == {3.12}
    assert {num(top), report["maxPoints"], classroom["max"], summary["max"], num(row["max"])} == {6}
    per_task = [classroom["tasks"], summary["tasks"], read_gradescope(gradescope.render([ws]))[ws.workspace]["tasks"]]
    assert all(t == per_task[0] for t in per_task)
    assert row["views/first-row"] == "1.33" and row["views/transpose"] == "0.13"


def test_github_notices_are_the_classroom_reporters_lines():
    ws = alice()
    lines = github.notices(ws).splitlines()
    assert lines == [
        "::notice title=Autograding complete::Points 1.5/8",
        '::notice title=Autograding report::{"totalPoints":1.5,"maxPoints":8}',
    ]
    assert github.render([ws]).startswith(lines[0] + "\n" + lines[1] + "\n")
    assert github.notice("a:b,c", "50%\nnext") == "::notice title=a%3Ab%2Cc::50%25%0Anext"


def test_classroom_result_shape():
    ws = alice()
    b64 = github.classroom_result_b64(ws)
    raw = base64.b64decode(b64).decode("utf-8")
    assert ": " not in raw.split('"message"')[0]  # compact JSON
    data = json.loads(raw)
    assert data["version"] == 1 and data["status"] == "fail" and data["max_score"] == 8
    by = {t["name"]: t for t in data["tests"]}
    assert by["tensors/zeros"]["status"] == "pass"
    assert by["tensors/add"]["status"] == "fail"
    assert by["views/transpose"]["status"] == "error"
    assert "expected shape [3, 4]" in by["tensors/add"]["message"]
    assert "you changed x in place" in by["tensors/add"]["message"]
    assert by["views/transpose"]["duration"] == 10000
    assert set(by["tensors/add"]) >= {"name", "status", "score", "message", "test_code", "filename", "line_no", "duration"}
    passing = WorkspaceResult("w", [verdict("a/b", Status.PASSED, 1)])
    assert github.classroom_result(passing)["status"] == "pass"
    broken = WorkspaceResult("w", [verdict("a/b", Status.ERROR, 0, error="SyntaxError")])
    assert github.classroom_result(broken)["status"] == "error"


# ---------------------------------------------------------------- format by format


def test_json_round_trips(results):
    out = render("json", results)
    data = json.loads(out)
    assert [d["workspace"] for d in data] == ["students/alice", "students/bob"]
    assert data[0]["score"] == 1.5 and data[0]["max_score"] == 8 and data[0]["passed"] == 1 and data[0]["total"] == 7
    back = json_report.parse(out)
    assert [ws.to_json() for ws in back] == [ws.to_json() for ws in results]
    assert all(isinstance(v.status, Status) for ws in back for v in ws.verdicts)
    assert back[0].verdicts[0].pack == PACK


def test_json_is_strict_and_parse_explains_bad_input():
    v = verdict("a/b", Status.FAILED, 0, checks=[CheckResult("result", False, 0, "nan", {"max_diff": float("nan"), "x": float("-inf")})])
    v.stdout = "bad \udcff byte"
    out = json_report.render([WorkspaceResult("w", [v])])
    data = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert data[0]["tasks"][0]["checks"][0]["details"] == {"max_diff": "nan", "x": "-inf"}
    out.encode("utf-8")
    # A single verdict (tutor check --format json) reads as a workspace named "".
    one = json_report.parse(json.dumps(verdict("a/b", Status.PASSED, 1).to_json()))
    assert one[0].workspace == "" and one[0].verdicts[0].task == "a/b"
    for bad in ["{", "3", "[1]", '[{"workspace": "w", "tasks": [{"task": "a/b"}]}]', '[{"x": 1}]']:
        with pytest.raises(ValueError):
            json_report.parse(bad)


def test_junit_parses_with_junitparser_and_etree(results):
    out = junit.render(results)
    xml = JUnitXml.fromstring(out)
    suites = list(xml)
    assert [s.name for s in suites] == ["students/alice", "students/bob"]
    a = suites[0]
    assert (a.tests, a.failures, a.errors, a.skipped) == (7, 2, 4, 0)
    assert a.time == pytest.approx(10.246)
    cases = {f"{c.classname}/{c.name}": c for c in a}
    assert cases["tensors/zeros"].is_passed
    add = cases["tensors/add"].result
    assert len(add) == 1 and isinstance(add[0], JUnitFailure)
    assert add[0].message == "result [case 1]: expected shape [3, 4], got [4, 3]"
    assert "you changed x in place" in add[0].text
    for task, kind in [("views/first-row", "error"), ("views/transpose", "timeout"), ("autograd/backward", "crashed"), ("misc/net", "refused")]:
        res = cases[task].result
        assert len(res) == 1 and isinstance(res[0], JUnitError) and res[0].type == kind, task
    assert cases["views/first-row"].result[0].message == (
        "Your code raised an error on case 0 (x: float32[3, 4]): NameError: name 'y' is not defined"
    )
    assert cases["views/transpose"].time == pytest.approx(10.0)
    # Suite properties: what every task shares.
    props = {p.name: p.value for p in a.properties()}
    assert props["seed"] == "1234" and props["device"] == "cpu"
    assert props["pack.id"] == "pytorch-basics" and props["pack.version"] == "1.2" and props["pack.hash"] == "sha256:abc123"
    assert props["version.torch"] == "2.13.0" and props["version.tutor"] == "0.1.0"
    assert props["score"] == "1.5" and props["max_score"] == "8"
    # ElementTree agrees, and the learner's control characters did not break the XML.
    root = ET.fromstring(out.encode("utf-8"))
    assert root.tag == "testsuites" and root.get("tests") == "12"
    out_text = root.find(".//testcase[@name='add']/system-out").text
    assert "\\x1b[31mred" in out_text and "\\x00" in out_text
    # Hidden-case tasks never print the learner's output (it may hold the hidden inputs).
    assert SECRET not in out


def test_gradescope_results_json():
    ws = alice()
    data = json.loads(gradescope.render([ws]))
    assert data["score"] == 1.5
    assert isinstance(data["execution_time"], (int, float)) and data["execution_time"] == pytest.approx(10.246, abs=0.01)
    assert data["stdout_visibility"] in {"hidden", "after_due_date", "after_published", "visible"}
    assert "Points 1.5/8" in data["output"] and "differs from the grading pack" in data["output"]
    assert [t["number"] for t in data["tests"]] == ["1.1", "1.2", "2.1", "2.2", "3.1", "3.2", "4.1"]
    for t in data["tests"]:
        assert set(t) >= {"name", "number", "score", "max_score", "status", "output", "visibility", "extra_data"}
        assert t["status"] in {"passed", "failed"} and t["visibility"] == "visible"
        assert t["extra_data"]["seed"] == 1234 and t["extra_data"]["versions"]["torch"] == "2.13.0"
        assert t["extra_data"]["pack"] == {"id": "pytorch-basics", "version": "1.2", "hash": "sha256:abc123"}
    by = {t["name"]: t for t in data["tests"]}
    assert by["tensors/zeros"]["output"].startswith("Zeros")
    assert "expected shape [3, 4], got [4, 3]" in by["tensors/add"]["output"]
    assert "you changed x in place" in by["tensors/add"]["output"]
    assert "timeout: timed out after 10 s" in by["views/transpose"]["output"]
    assert by["views/transpose"]["max_score"] == 2
    grad = by["autograd/grad"]["output"]
    assert "hidden case 2 (x: float32[5, 2])" in grad and SECRET not in json.dumps(data)
    assert data["extra_data"]["seed"] == 1234 and data["extra_data"]["pack"]["hash"] == "sha256:abc123"
    assert by["autograd/grad"]["extra_data"]["status"] == "failed"


@pytest.mark.parametrize("fmt", sorted(SINGLE_WORKSPACE))
def test_one_submission_formats_take_one_workspace(fmt, results):
    with pytest.raises(ValueError, match=f"{fmt} takes one workspace"):
        render(fmt, results)
    with pytest.raises(ValueError):
        render(fmt, [])


def test_csv_gradebook(results):
    rows = list(csv.reader(io.StringIO(csv_report.render(results))))
    assert rows[0] == [
        "student",
        "tensors/zeros",
        "tensors/add",
        "views/first-row",
        "views/transpose",
        "autograd/grad",
        "autograd/backward",
        "misc/net",
        "extra/bonus",
        "total",
        "max",
    ]
    assert rows[1] == ["alice", "1", "0", "0", "0", "0.5", "0", "0", "", "1.5", "8"]
    assert rows[2] == ["bob", "1", "0.33", "1.33", "0.13", "", "", "", "0.33", "3.12", "6"]
    assert csv_report.rows([WorkspaceResult("=cmd()", [])])[1][0] == "'=cmd()"


def test_prairielearn_and_exercism():
    ws = alice()
    pl = json.loads(prairielearn.render([ws]))
    assert pl["gradable"] is True and pl["score"] == pytest.approx(1.5 / 8)
    assert all({"name", "description", "points", "max_points", "message", "output"} <= set(t) for t in pl["tests"])
    assert SECRET not in json.dumps(pl)
    ex = json.loads(exercism.render([ws]))
    assert ex["version"] == 3 and ex["status"] == "fail"
    statuses = {t["name"]: t["status"] for t in ex["tests"]}
    assert statuses["tensors/zeros"] == "pass" and statuses["tensors/add"] == "fail" and statuses["views/transpose"] == "error"
    assert [t["task_id"] for t in ex["tests"]] == list(range(1, 8))
    assert SECRET not in json.dumps(ex)
    long = verdict("a/b", Status.FAILED, 0, stdout="y" * 2000)
    out = json.loads(exercism.render([WorkspaceResult("w", [long])]))["tests"][0]["output"]
    assert len(out) <= 500
    errored = WorkspaceResult("w", [verdict("a/b", Status.ERROR, 0, error="SyntaxError: invalid syntax")])
    e = json.loads(exercism.render([errored]))
    assert e["status"] == "error" and "SyntaxError" in e["message"]


def test_text_summary(results):
    out = text.render(results)
    assert "\x1b[" not in out
    assert all(len(line) <= 100 for line in out.splitlines())
    assert "Total: 1.5/8 points, 1 of 7 tasks passed" in out
    assert "All 2 workspaces: 4.62/14 points" in out
    assert "expected shape [3, 4], got [4, 3]" in out
    assert "warning: workspace pack version 1.1" in out
    coloured = text.render(results, color=True)
    assert "\x1b[" in coloured
    zh = text.render(results, lang="zh")
    assert "合计" in zh and "通过" in zh
    # Learner text is not rich markup.
    odd = WorkspaceResult("[bold]w[/bold]", [verdict("a/b", Status.FAILED, 0, checks=[CheckResult("result", False, 0, "[red]x[/red] [3, 4]")])])
    plain = text.render([odd])
    assert "[bold]w[/bold]" in plain and "[red]x[/red] [3, 4]" in plain


def test_summary_markdown_escapes_learner_text():
    v = verdict("a/b", Status.FAILED, 0, checks=[CheckResult("result", False, 0, "a | b <script>\nnext")])
    md = github.summary_markdown(WorkspaceResult("w", [v]))
    assert "a \\| b \\<script\\> next" in md
    assert "| a/b | ❌ failed | 0/1 |" in md


# ---------------------------------------------------------------- registry


def test_registry_lists_every_format_and_rejects_unknown(results):
    assert set(FORMATS) == {"text", "json", "junit", "gradescope", "github", "csv", "prairielearn", "exercism"}
    assert FORMATS["csv"] is csv_report.render
    with pytest.raises(ValueError, match="unknown format 'yaml'"):
        render("yaml", results)


def test_registry_is_lazy_and_no_format_imports_torch():
    code = (
        "import sys, tutor.reports as r\n"
        "assert 'rich' not in sys.modules and 'tutor.reports.junit' not in sys.modules, sorted(sys.modules)\n"
        "names = list(r.FORMATS)\n"
        "assert not any(m.startswith('tutor.reports.') for m in sys.modules), names\n"
        "[r.FORMATS[n] for n in names]\n"
        "import tutor.reports.shard, tutor.reports.compare\n"
        "assert 'torch' not in sys.modules and 'tutor.pack' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------- shards and merge


@pytest.mark.parametrize("count", [0, 1, 2, 5, 7, 10, 23])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 12])
def test_shards_cover_every_item_exactly_once(count, n):
    items = [f"students/s{i:02d}" for i in range(count)]
    shuffled = items[::-1][1::2] + items[::-1][0::2]
    parts = [shard.select_shard(shuffled, f"{k}/{n}") for k in range(1, n + 1)]
    assert sorted(x for p in parts for x in p) == sorted(items)
    assert sum(len(p) for p in parts) == count
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    # Stable: the same slice whatever order the list came in.
    assert parts == [shard.select_shard(items, f"{k}/{n}") for k in range(1, n + 1)]


def test_shard_spec_is_validated():
    assert shard.parse_shard(" 2 / 4 ") == (2, 4)
    for bad in ["0/3", "4/3", "1/0", "a/b", "3", "", "-1/3", "1/3/5"]:
        with pytest.raises(ValueError, match="--shard"):
            shard.select_shard(["a"], bad)


def test_merge_joins_shards_and_refuses_duplicates():
    a, b = alice(), bob()
    c = WorkspaceResult("students/carol", [verdict("a/b", Status.PASSED, 1)])
    assert [ws.workspace for ws in shard.merge([[c], [b, a]])] == ["students/alice", "students/bob", "students/carol"]
    with pytest.raises(ValueError, match="students/bob.*shard 1 and shard 2"):
        shard.merge([[b], [c, bob()]])
    # Shards written as JSON and read back merge to the same gradebook as one run.
    texts = [json_report.render(shard.select_shard([a, b, c], f"{k}/2")) for k in (1, 2)]
    merged = shard.merge([json_report.parse(t) for t in texts])
    assert csv_report.render(merged) == csv_report.render([a, b, c])


# ---------------------------------------------------------------- replay comparison


def test_same_verdict_ignores_timing_and_stdout():
    a = alice().verdicts[1]
    b = alice().verdicts[1]
    b.duration_ms = 99999
    b.stdout = "other output at 12:00:01"
    assert compare.same_verdict(a, b) == []
    t1, t2 = alice().verdicts[3], alice().verdicts[3]
    t2.error = "timed out after 10.3 s"
    assert compare.same_verdict(t1, t2) == []


def test_same_verdict_names_what_changed():
    a = alice().verdicts[1]
    b = alice().verdicts[1]
    b.status = Status.PASSED
    b.score = 1
    b.checks[0] = CheckResult("result", True, 0)
    b.checks[1] = CheckResult("mutation", False, 0, "another message")
    b.checks.append(CheckResult("aliasing", True, 0))
    b.seed = 5
    diffs = compare.same_verdict(a, b)
    assert "status: 'failed' -> 'passed'" in diffs
    assert "score: 0 -> 1" in diffs
    assert "seed: 1234 -> 5" in diffs
    assert "check result (case 1): failed -> passed" in diffs
    assert any(d.startswith("check mutation (case 1) message:") for d in diffs)
    assert "check aliasing (case 1): only in the replayed verdict" in diffs
    e1, e2 = alice().verdicts[2], alice().verdicts[2]
    e2.error = "TypeError: bad"
    assert compare.same_verdict(e1, e2) == ["error: 'Your code raised an error on case 0 (x: float32[3, 4]):' -> 'TypeError: bad'"]
    e2.versions = {**e2.versions, "torch": "2.14.0"}
    assert compare.environment_differences(e1, e2) == ["torch: '2.13.0' -> '2.14.0'"]


def test_empty_inputs_render():
    for fmt in FORMATS:
        if fmt not in SINGLE_WORKSPACE:
            render(fmt, [])
        render(fmt, [WorkspaceResult("students/empty", [])])
    assert json_report.parse(render("json", [])) == []
    assert JUnitXml.fromstring(render("junit", [])).tests == 0


# ---------------------------------------------------------------- the consumers' own schemas and code

DATA = __import__("pathlib").Path(__file__).parent / "data"


def _schema(name: str):
    import jsonschema

    schema = json.loads((DATA / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _everyone() -> list[WorkspaceResult]:
    """Every shape a submission's report can take: mixed, fractional, all passed,
    nothing could run, and no tasks at all."""
    passed = WorkspaceResult("students/carol", [verdict("tensors/zeros", Status.PASSED, 1)])
    broken = WorkspaceResult("students/dan", [
        verdict("tensors/zeros", Status.ERROR, 0, cases=[], error='  File "students/dan/exercises/tensors/zeros.py", line 1\n    def solve(x)\n                ^\nSyntaxError: expected \':\''),
        verdict("tensors/add", Status.TIMEOUT, 0, error="timed out after 10 s"),
    ])
    return [alice(), bob(), passed, broken, WorkspaceResult("students/erin", [])]


def test_junit_is_valid_against_the_xunit_plugins_junit_10_xsd():
    import xmlschema

    xsd = xmlschema.XMLSchema10(DATA / "junit-10.xsd")
    for group in ([alice(), bob()], _everyone(), []):
        out = junit.render(group)
        errors = [str(e.reason) for e in xsd.iter_errors(out)]
        assert errors == [], errors
    # The schema is strict where we used to be wrong: properties inside a testcase.
    bad = '<testsuites><testsuite name="s" tests="1" failures="0" errors="0"><testcase name="t"><properties/></testcase></testsuite></testsuites>'
    assert not xsd.is_valid(bad)


@pytest.mark.parametrize(
    ("fmt", "schema"),
    [("gradescope", "gradescope-results.schema.json"), ("prairielearn", "prairielearn-results.schema.json"),
     ("exercism", "exercism-results.schema.json")],
)
def test_submission_formats_are_valid_against_their_consumers_schemas(fmt, schema):
    validator = _schema(schema)
    for ws in _everyone():
        data = json.loads(render(fmt, [ws]))
        errors = [e.message for e in validator.iter_errors(data)]
        assert errors == [], (ws.workspace, errors)
    failed = json.loads(__import__("tutor.reports", fromlist=["x"]).render_not_gradable(fmt, "pack.yaml:3:8: bad YAML"))
    assert [e.message for e in validator.iter_errors(failed)] == []
    assert "pack.yaml:3:8: bad YAML" in json.dumps(failed)
    # ...and the schemas do refuse what the consumers refuse.
    wrong = {"gradescope": {"tests": [{"max_score": 1}]}, "prairielearn": {"gradable": True},
             "exercism": {"version": 3, "status": "error", "message": None}}[fmt]
    assert list(validator.iter_errors(wrong))


def test_classroom_runner_result_is_what_the_command_grader_emits():
    validator = _schema("classroom-runner-result.schema.json")
    for ws in _everyone()[:4]:
        result = json.loads(base64.b64decode(github.classroom_result_b64(ws)))
        assert [e.message for e in validator.iter_errors(result)] == []
        assert [list(t) for t in result["tests"]][0] == [
            "name", "status", "score", "message", "test_code", "filename", "line_no", "duration"]
    failed = github.grading_failed("tutor: pack.yaml:3:8: bad YAML", 3)
    assert [e.message for e in validator.iter_errors(failed)] == []
    (test,) = failed["tests"]
    assert test["status"] == "error" and "bad YAML" in test["message"] and failed["max_score"] == 3
    assert github.grading_failed("")["max_score"] == 1  # still a notice when the pack is unknown


def test_notices_are_byte_for_byte_what_the_reporter_printed_under_node():
    recorded = json.loads((DATA / "classroom-reporter-notices.json").read_text(encoding="utf-8"))
    names = set()
    for case in recorded["cases"]:
        names.add(case["name"])
        assert github.notices_for(case["result"]).splitlines() == case["notices"], case["name"]
    assert {"fractional", "fallback", "no-max", "tiny", "huge"} <= names
    fractional = next(c for c in recorded["cases"] if c["name"] == "fractional")
    assert fractional["notices"][0].endswith("Points 0.30000000000000004/14")
    fallback = next(c for c in recorded["cases"] if c["name"] == "fallback")
    assert fallback["result"] == github.grading_failed("tutor: pack.yaml:3:8: bad YAML, 100% broken", 3)


@pytest.mark.parametrize(
    ("x", "js"),
    [(0.1 + 0.2, "0.30000000000000004"), (2.0, "2"), (1e-7, "1e-7"), (1.5e-6, "0.0000015"), (1e20, "100000000000000000000"),
     (1e21, "1e+21"), (-0.5, "-0.5"), (3, "3"), (0.0, "0"), (123.456, "123.456")],
)
def test_js_number_writes_numbers_as_javascript_does(x, js):
    assert github.js_number(x) == js


def test_visible_text_writes_out_control_characters():
    assert C.visible_text("a\x1b[31mb\x00c\r\nd\re\tf\ud800\ufffe") == "a\\x1b[31mb\\x00c\nd\\x0de\tf\ufffd\\ufffe"
    ws = alice()
    grades = json.loads(gradescope.render([ws]))
    add = next(t for t in grades["tests"] if t["name"] == "tensors/add")["output"]
    assert "\x1b" not in add and "\x00" not in add and "\\x1b[31mred" in add
    assert grades["output_format"] == grades["test_output_format"] == grades["test_name_format"] == "text"
    assert all(t["output_format"] == "text" for t in grades["tests"])
    # Failed checks travel as tags, with the aspect where the check names one.
    shaped = verdict("a/b", Status.FAILED, 0, checks=[CheckResult("result", False, 0, "wrong shape", aspect="shape"),
                                                      CheckResult("mutation", False, 0, "changed x")])
    assert gradescope.tags(shaped) == ["failed", "result:shape", "mutation"]
    assert next(t for t in grades["tests"] if t["name"] == "tensors/zeros")["tags"] == ["passed"]


def test_gradescope_not_gradable_is_visible_as_a_failed_grading():
    data = gradescope.not_gradable("no exercise files in the submission")
    assert data["score"] == 0 and data["output_format"] == "text"
    (test,) = data["tests"]
    assert test["status"] == "failed" and test["visibility"] == "visible"
    assert "could not grade" in test["name"] and "no exercise files" in test["output"]
    assert "could not grade" in data["output"] and "no exercise files" in data["output"]


def test_prairielearn_nothing_ran_is_not_gradable():
    broken = _everyone()[3]
    data = json.loads(prairielearn.render([broken]))
    assert data["gradable"] is False
    assert any("SyntaxError: expected ':'" in e for e in data["format_errors"])
    assert json.loads(prairielearn.render([alice()]))["gradable"] is True  # something ran: graded
    failed = prairielearn.not_gradable("broken pack")
    assert failed["gradable"] is False and failed["format_errors"] == ["broken pack"]


def test_exercism_errors_name_the_exception_with_paths_relative_to_the_solution():
    broken = _everyone()[3]
    data = json.loads(exercism.render([broken]))
    assert data["status"] == "error"
    assert "SyntaxError: expected ':'" in data["message"] and "timed out after 10 s" in data["message"]
    assert "<solution-dir>/exercises/tensors/zeros.py" in data["message"]
    assert "students/dan/" not in json.dumps(data)
    ws = alice()
    ex = json.loads(exercism.render([ws]))
    assert ex["status"] == "fail" and ex["message"] is None
    by = {t["name"]: t for t in ex["tests"]}
    first_row = by["views/first-row"]
    assert "NameError: name 'y' is not defined" in first_row["message"]
    assert '"<solution-dir>/exercises/views/first-row.py", line 3' in first_row["message"]
    # test_code: the task's call, under the case that failed (a hidden case shows shapes only).
    assert by["autograd/grad"]["test_code"] == "# hidden case 2 (x: float32[5, 2])\nsolve(x)"
    called = verdict("a/b", Status.FAILED, 0, checks=[CheckResult("result", False, 0, "off")], call="pick(x, dim)",
                     cases=[CaseInfo(0, False, {"x": "float32[3, 4]", "dim": "1"})])
    assert exercism.task_call(called) == "# case 1 (x: float32[3, 4], dim: 1)\npick(x, dim)"
    long = verdict("a/c", Status.PASSED, 1, stdout="y" * 900)
    (out,) = json.loads(exercism.render([WorkspaceResult("w", [long])]))["tests"]
    assert len(out["output"]) <= 500 and out["output"].endswith("Please limit to 500 chars")


def test_csv_student_ids_and_bom():
    ws = [WorkspaceResult("/srv/subs/Zoë/hw1", [verdict("a/b", Status.PASSED, 1)]),
          WorkspaceResult("/srv/subs/=evil/hw1", [verdict("a/b", Status.FAILED, 0)])]
    by_parent = list(csv.reader(io.StringIO(csv_report.render(ws, id_from="parent"))))
    assert [r[0] for r in by_parent] == ["student", "Zoë", "'=evil"]
    with pytest.raises(ValueError, match="both give the student id 'hw1'"):
        csv_report.render(ws)  # both folders are called hw1
    assert csv_report.student_id("/srv/subs/zoe-hw1", r"subs/([^/]+)-hw1") == "zoe"
    assert csv_report.student_id("/srv/subs/zoe", "path") == "/srv/subs/zoe"
    with pytest.raises(ValueError, match="does not match"):
        csv_report.student_id("/srv/x", r"subs/(\w+)")
    data = csv_report.render(ws, id_from="parent", bom=True).encode("utf-8")
    assert data.startswith(b"\xef\xbb\xbfstudent,")
    assert data.decode("utf-8-sig").splitlines()[1].startswith("Zoë,")
