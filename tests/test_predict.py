"""Predict tasks (issue 15, item 2), through the real CLI and the real sandbox.

The learner predicts named values of an instructor's snippet in their
exercise file; the grader runs the snippet in the sandbox, reads the facts
from what comes back and compares field by field; wrong predictions get the
real answers only after the task's tries, counted in the progress file.
"""

from __future__ import annotations

import contextlib
import json
import textwrap
from pathlib import Path
from typing import Any, Iterator

import jsonschema
import yaml

from conftest import PACKS, grade_json, make_workspace, run_tutor
from tutor.pack.loader import load_pack
from tutor.pack.schema import lesson_schema
from tutor.workspace.starters import starter_state, starter_text

PACK = PACKS / "predict"
CONTRACT_KEYS = {"task", "status", "score", "max_score", "device", "seed", "duration_ms", "checks", "stdout", "error"}

RIGHT = {
    "views/transpose": """\
        import torch
        # laid out another way than the solution: the same answers
        prediction = {"y": {"is_view": True, "shape": torch.Size([3, 2]), "shares_storage_with": "x"},
                      "z": {"dtype": "float32", "is_view": False}}
        """,
    "views/grads": """\
        prediction = {"x": {"grad": [8, 16]}, "y": {"grad": (4.0, 8.0)}, "z": {"value": 20.0001, "grad": None}}
        """,
    "views/promote": """\
        import torch
        prediction = {"q": {"value": [1, 2], "dtype": torch.long}, "r": {"dtype": torch.float}, "n": {"value": [2]}}
        """,
}

# One wrong field at a time: (task, the right file with one answer changed, the aspect that must fail).
WRONG = [
    ("views/transpose", ('"shape": torch.Size([3, 2])', '"shape": (2, 3)'), "shape"),
    ("views/transpose", ('"is_view": True', '"is_view": False'), "is_view"),
    ("views/transpose", ('"shares_storage_with": "x"', '"shares_storage_with": []'), "shares_storage_with"),
    ("views/transpose", ('"dtype": "float32"', '"dtype": "float64"'), "dtype"),
    ("views/grads", ('"x": {"grad": [8, 16]}', '"x": {"grad": [4, 8]}'), "grad"),
    ("views/grads", ('"z": {"value": 20.0001, "grad": None}', '"z": {"value": 20.0, "grad": [1.0]}'), "grad"),
    ("views/promote", ('"q": {"value": [1, 2]', '"q": {"value": [1.5, 2.0]'), "value"),
    ("views/promote", ('"r": {"dtype": torch.float}', '"r": {"dtype": torch.int64}'), "dtype"),
    ("views/transpose", ('"z": {"dtype": "float32", "is_view": False}', '"z": {"dtype": "float32", "is_view": ...}'),
     "unanswered"),
]


def _file(text: str) -> str:
    return textwrap.dedent(text)


def test_right_predictions_pass_and_each_wrong_field_fails_with_its_aspect(tmp_path: Path) -> None:
    """One `tutor grade` batch: a workspace of right answers, then one workspace per wrong field."""
    roots = [make_workspace(tmp_path / "right", PACK, {t: _file(c) for t, c in RIGHT.items()})]
    for k, (task, (old, new), _) in enumerate(WRONG):
        code = _file(RIGHT[task])
        assert old in code, (task, old)
        roots.append(make_workspace(tmp_path / f"wrong{k}", PACK, {task: code.replace(old, new)}))
    code, data, stderr = grade_json(*map(str, roots), "--pack", str(PACK))
    assert code == 1 and "Traceback" not in stderr, stderr
    right = {v["task"]: v for v in data[0]["tasks"]}
    for task in RIGHT:
        verdict = right[task]
        assert set(verdict) >= CONTRACT_KEYS
        assert verdict["status"] == "passed", (task, verdict["checks"], verdict["error"])
        assert verdict["score"] == verdict["max_score"] == 1
        assert verdict["predict"] is None  # a batch grades; it counts no learner's tries
    for (task, _, aspect), workspace in zip(WRONG, data[1:]):
        verdict = next(v for v in workspace["tasks"] if v["task"] == task)
        failed = [c for c in verdict["checks"] if not c["passed"]]
        assert verdict["status"] == "failed" and [c["aspect"] for c in failed] == [aspect], (task, aspect, failed)
        assert failed[0]["name"] == "predict" and failed[0]["message"]
        assert "snippet gives" not in failed[0]["message"] and "expected" not in failed[0]["details"]
    # The task's aspect-keyed feedback is shown under that field.
    view = next(v for v in data[2]["tasks"] if v["task"] == "views/transpose")
    assert "`t()` only swaps strides." in view["checks"][0]["message"]
    # Starters are not graded as answers: each untouched task is an unanswered failure.
    untouched = next(v for v in data[1]["tasks"] if v["task"] == "views/grads")
    assert untouched["status"] == "failed" and {c["aspect"] for c in untouched["checks"]} == {"unanswered"}


def test_the_prediction_file_is_read_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    hostile = _file(f"""\
        open({str(marker)!r}, "w").write("x")
        prediction = {{"y": {{"shape": __import__("os").system("touch {marker}")}}}}
        """)
    root = make_workspace(tmp_path / "ws", PACK, {"views/transpose": hostile})
    proc = run_tutor("check", "views/transpose", "--format", "json", cwd=root)
    verdict = json.loads(proc.stdout)
    assert proc.returncode == 1 and verdict["status"] == "error"
    assert "transpose.py:2:" in verdict["error"] and "is code" in verdict["error"]
    assert not marker.exists()
    shown = run_tutor("show", "views/transpose", cwd=root)  # the snippet is what the learner reads
    assert shown.returncode == 0 and "y = x.t()" in shown.stdout and "z = y.contiguous()" in shown.stdout


def _check(root: Path, prediction: str) -> dict:
    (root / "exercises" / "views" / "transpose.py").write_text(_file(prediction), encoding="utf-8")
    proc = run_tutor("check", "views/transpose", "--format", "json", cwd=root)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)


@contextlib.contextmanager
def session_server(root: Path, grader: Any) -> Iterator[Any]:
    """What `tutor start` runs beside the learner: `tutor check` is answered by its warm grader."""
    from tutor.ui.events import Events, GradeRunner
    from tutor.ui.remote import CheckServer
    from tutor.workspace import Workspace

    pack = load_pack(PACK)
    server = CheckServer.start(Workspace.find(root), pack, GradeRunner(grader, Events()), "en")
    assert server is not None
    try:
        yield server
    finally:
        server.close()


def test_answers_are_revealed_after_the_tries_and_a_resave_is_no_new_try(tmp_path: Path, grader: Any) -> None:
    """Through `tutor check`, handed to a running session (as while `tutor start` runs), then by
    `tutor check` alone: the tries travel with the request and are counted in progress.json."""
    root = make_workspace(tmp_path, PACK, {})
    wrong = """\
        prediction = {"y": {"shape": (2, 3), "is_view": True, "shares_storage_with": ["x"]},
                      "z": {"dtype": torch.float32, "is_view": False}}
        """
    with session_server(root, grader) as server:
        first = _check(root, wrong)
        # The same answers, laid out and spelled differently: not a new try.
        again = _check(root, """\
            import torch
            prediction = {
                "z": {"is_view": False, "dtype": "float32"},
                "y": {"shares_storage_with": "x", "is_view": True, "shape": [2, 3]},
            }
            """)
        # A prediction with only unanswered fields is no try either.
        blank = _check(root, 'prediction = {"y": {"shape": ...}}')
        # The second different wrong prediction uses the last try: the answers come, for the wrong fields.
        last = _check(root, wrong.replace('"is_view": True', '"is_view": False', 1))
        assert server._count == 4  # each was graded by the session's grader
    assert first["predict"] == {"tries": 1, "tries_allowed": 2, "tries_left": 1, "new_try": first["predict"]["new_try"],
                                "revealed": False, "answers": None}
    assert first["predict"]["new_try"] and "(3, 2)" not in json.dumps(first["checks"])
    assert any("1 of 2" in note for note in first["notes"])
    assert again["predict"]["tries"] == 1 and again["predict"]["new_try"] is None and not again["predict"]["revealed"]
    assert any("not counted again" in note for note in again["notes"])
    assert blank["predict"]["tries"] == 1 and blank["predict"]["new_try"] is None
    assert last["predict"]["revealed"] and last["predict"]["tries_left"] == 0
    assert last["predict"]["answers"] == {"y": {"shape": [3, 2], "is_view": True, "shares_storage_with": ["x"]},
                                          "z": {"dtype": "float32", "is_view": False}}
    shape = next(c for c in last["checks"] if c["aspect"] == "shape")
    assert "The snippet gives: y.shape = (3, 2)" in shape["message"] and shape["details"]["expected"] == [3, 2]
    record = json.loads((root / ".tutor" / "progress.json").read_text())["tasks"]["views/transpose"]
    assert len(record["predict_tried"]) == 2 and record["attempts"] == 4 and not record["passed"]
    # Without the session, in Chinese: the text verdict says every field and its answer.
    (root / "exercises" / "views" / "transpose.py").write_text(_file(wrong), encoding="utf-8")
    text = run_tutor("check", "views/transpose", "--lang", "zh", cwd=root)
    assert "代码的实际结果：y.shape = (3, 2)" in text.stdout and "正确答案" in text.stdout

def test_validation_locates_every_predict_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(_file("""\
        format: 1
        id: l
        title: L
        tasks:
          - id: a
            title: A
            predict:
              snippet: |
                y = x.t(
            cases: [{x: {shape: [2, 3]}}]
            solution: |
              prediction = {"y": {"shape": (3, 2)}}
          - id: b
            title: B
            predict:
              snippet: |
                y = x.t()
            cases: [{x: {shape: [2, 3]}}]
            solution: |
              prediction = {
                  "y": {"shape": (3, 2)},
                  "w": {"shape": (3, 2)},
              }
          - id: e
            title: E
            predict: {snippet: "y = x"}
            cases: [{x: 1}]
            solution: 'prediction = {"y": {"colour": "red"}}'
          - id: c
            title: C
            predict: {snippet: "y = x"}
            cases: [{x: 1}, {x: 2}]
            solution: 'prediction = {"y": {"value": 1}}'
          - id: d
            title: D
            predict: {snippet: "y = x"}
            checks: [result]
            cases: [{x: 1}]
            solution: 'prediction = {"y": {"value": 1}}'
        """), encoding="utf-8")
    proc = run_tutor("lesson", "validate", str(broken))
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{broken}:9:" in proc.stderr and "the snippet has a syntax error" in proc.stderr
    assert any(line.startswith(f"{broken}:22:") and "`w`, which names no value of the snippet" in line for line in lines)
    assert any(line.startswith(f"{broken}:28:") and "`colour` is not something to predict" in line for line in lines)
    assert any(line.startswith(f"{broken}:32:") and "exactly one fixed case" in line for line in lines)
    assert any(line.startswith(f"{broken}:37:") and "its checks are [predict]" in line for line in lines)

    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(_file("""\
        format: 1
        id: l
        title: L
        tasks:
          - id: raises
            title: R
            predict:
              snippet: |
                y = x.t()
                z = y.view(6)
            cases: [{x: {shape: [2, 3]}}]
            solution: 'prediction = {"z": {"shape": (6,)}}'
          - id: answers
            title: A
            predict:
              snippet: |
                y = x.t()
                n = x.numel()
            cases: [{x: {shape: [2, 3]}}]
            solution: |
              prediction = {
                  "y": {"shape": (2, 3), "value": [[0.0]]},
                  "n": {"dtype": torch.int64},
              }
        """), encoding="utf-8")
    proc = run_tutor("lesson", "validate", str(wrong))
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert any(line.startswith(f"{wrong}:10:") and "view size is not compatible" in line for line in lines), lines
    assert any(line.startswith(f"{wrong}:22:") and "y.shape = (2, 3), but the snippet gives (3, 2)" in line for line in lines)
    assert any(line.startswith(f"{wrong}:22:") and "y.value depends on the random values" in line for line in lines)
    assert any(line.startswith(f"{wrong}:23:") and "`n` is an int, not a tensor: it has no dtype" in line for line in lines)
    assert len(lines) == 4, lines


def test_the_test_pack_validates_and_its_starters_are_made_in_each_language() -> None:
    proc = run_tutor("lesson", "validate", str(PACK))
    assert proc.returncode == 0, proc.stderr
    task = load_pack(PACK).find("views/transpose")[1]
    en, zh = starter_text(task, "en"), starter_text(task, "zh")
    assert "#     y = x.t()" in en and "x = torch.randn(2, 3)" in en and "After 2 different wrong predictions" in en
    assert "预测这段代码的结果" in zh and '"y": {"shape": ..., "is_view": ..., "shares_storage_with": ...}' in zh
    assert starter_state(task, zh.encode())[0] == "starter" and starter_state(task, en.encode())[0] == "starter"


def test_the_schema_describes_predict_tasks() -> None:
    schema = lesson_schema()
    validator = jsonschema.Draft202012Validator(schema)
    lesson = yaml.safe_load((PACK / "01-views.yaml").read_text(encoding="utf-8"))
    assert not list(validator.iter_errors(lesson))
    assert "predict" in schema["$defs"]["Task"]["properties"]
    no_starter = {**lesson, "tasks": [{k: v for k, v in lesson["tasks"][0].items() if k != "predict"}]}
    assert list(validator.iter_errors(no_starter)), "a task that is not a predict task needs a starter"


def test_student_pack_keeps_predict_tasks_without_their_answers(tmp_path: Path) -> None:
    out = tmp_path / "student"
    proc = run_tutor("lesson", "export", "--student", str(out), "--pack", str(PACK))
    assert proc.returncode == 0, proc.stderr
    student = load_pack(out)
    task = student.find("views/transpose")[1]
    assert "(3, 2)" not in task.solution and '"shape": ...' in task.solution
    root = make_workspace(tmp_path / "ws", out, {"views/transpose": _file(RIGHT["views/transpose"])})
    proc = run_tutor("check", "views/transpose", "--format", "json", cwd=root)
    assert proc.returncode == 0 and json.loads(proc.stdout)["status"] == "passed", proc.stdout + proc.stderr


def test_the_session_counts_tries_as_tutor_check_does(tmp_path: Path, grader) -> None:
    """`tutor start` in manual mode (Enter checks), with the real grader: the same file checked
    twice is one try; a second wrong prediction reveals the answers."""
    import io

    from rich.console import Console

    from tutor.ui.session import run_session
    from tutor.workspace import Progress, Workspace

    pack = load_pack(PACK)
    ws = Workspace.create(tmp_path / "ws", pack, str(PACK))

    def session(prediction: str, lines: str) -> str:
        ws.exercise_path("views/transpose").write_text(_file(prediction), encoding="utf-8")
        out = io.StringIO()
        console = Console(file=out, width=200, color_system=None, force_terminal=False)
        run_session(ws, pack, grader, "en", console=console, interactive=False, stdin=io.StringIO(lines))
        return out.getvalue()

    wrong = 'prediction = {"y": {"shape": (3, 2), "is_view": False, "shares_storage_with": ["x"]}, "z": {"dtype": "float32", "is_view": False}}'
    out = session(wrong, "\n\nq\n")
    assert "Wrong predictions so far: 1 of 2" in out and "not counted again" in out and "The snippet gives:" not in out
    assert len(Progress.load(ws).get("views/transpose").predict_tried) == 1
    out = session(wrong.replace('"shape": (3, 2)', '"shape": (2, 3)'), "\nq\n")
    assert "The snippet gives: y.is_view = True" in out and "The snippet gives: y.shape = (3, 2)" in out
    assert len(Progress.load(ws).get("views/transpose").predict_tried) == 2



def test_the_reader_refuses_code_and_caps_size_and_depth() -> None:
    """The prediction is walked node by node: anything that would need running, or is too big, is a
    located error (the file is never executed, so nothing else could catch it)."""
    import pytest

    from tutor.pack.prediction import MAX_DEPTH, MAX_NODES, PredictionError, read

    def refused(source: str) -> PredictionError:
        with pytest.raises(PredictionError) as info:
            read(source)
        return info.value

    assert "is code" in refused('prediction = {"y": {"value": len([1])}}').text("en")
    assert "is code" in refused('prediction = {"y": {"value": torch.inf}}').text("en")
    assert refused('x = 1\nprediction = {"y": {"shape": [2] * 3}}').line == 2
    deep = "[" * (MAX_DEPTH + 2) + "1" + "]" * (MAX_DEPTH + 2)
    assert "too large or nested too deeply" in refused(f'prediction = {{"y": {{"value": {deep}}}}}').text("en")
    wide = ", ".join(["1"] * MAX_NODES)
    assert "太大" in refused(f'prediction = {{"y": {{"value": [{wide}]}}}}').text("zh")
    assert "no `prediction = {...}`" in refused("answer = 3").text("en")
    ok = read('prediction = {"y": {"dtype": torch.long, "shape": torch.Size([2]), "value": -1.5}}')
    assert [(e.key, e.value) for e in ok.entries] == [("y.dtype", "int64"), ("y.shape", (2,)), ("y.value", -1.5)]


def test_a_feedback_text_two_wrong_fields_share_is_shown_once(tmp_path: Path) -> None:
    """Both views predicted wrong: the task's `predict.is_view` text is under the first only."""
    code = _file(RIGHT["views/transpose"]).replace('"is_view": True', '"is_view": False').replace(
        '"is_view": False}}', '"is_view": True}}')
    root = make_workspace(tmp_path / "ws", PACK, {"views/transpose": code})
    _, data, stderr = grade_json(str(root), "--pack", str(PACK))
    verdict = next(v for v in data[0]["tasks"] if v["task"] == "views/transpose")
    failed = [c for c in verdict["checks"] if not c["passed"]]
    assert [c["aspect"] for c in failed] == ["is_view", "is_view"], (failed, stderr)
    assert ["`t()` only swaps strides." in c["message"] for c in failed] == [True, False]
    assert all(c["details"]["feedback"] == "predict.is_view" for c in failed)


def test_replay_of_a_verdict_that_revealed_the_answers_is_the_same(tmp_path: Path) -> None:
    """`tutor replay` re-grades a predict verdict with the tries it recorded, so the answers it
    showed come back; a first try replays as a first try."""
    root = make_workspace(tmp_path, PACK, {})
    file = root / "exercises" / "views" / "transpose.py"
    wrong = _file("""\
        prediction = {"y": {"shape": (2, 3), "is_view": True, "shares_storage_with": ["x"]},
                      "z": {"dtype": torch.float32, "is_view": False}}
        """)
    texts = [wrong, wrong.replace('"is_view": True', '"is_view": False', 1)]
    reports = []
    for k, text in enumerate(texts):
        file.write_text(text, encoding="utf-8")
        checked = run_tutor("check", "views/transpose", "--format", "json", cwd=root)
        reports.append(tmp_path / f"check{k}.json")
        reports[-1].write_text(checked.stdout, encoding="utf-8")
    assert [json.loads(r.read_text())["predict"]["revealed"] for r in reports] == [False, True]
    for k, (text, report) in enumerate(zip(texts, reports)):
        file.write_text(text, encoding="utf-8")
        replayed = run_tutor("replay", str(report), cwd=root)
        assert replayed.returncode == 0, (k, replayed.stdout, replayed.stderr)
