"""Instructor tools: `tutor lesson new`, `tutor lesson schema`, `tutor lesson export --student`.

Through the real CLI (``tutor.cli.main``, in process, so torch is imported
once) and the real engine: the template is validated by running its
reference and starter, and a workspace made from a student pack is graded
with the full pack.
"""

from __future__ import annotations

import copy
import json
import shutil
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

from tutor.cli import main
from tutor.pack.export import STUB_MESSAGE, strip_solutions
from tutor.pack.loader import builtin_course, load_pack
from tutor.pack.models import Lesson, PackMeta
from tutor.pack.schema import SCHEMA_DIALECT, lesson_schema, pack_schema
from tutor.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
# Read YAML as the pack loader does (libyaml where PyYAML has it): PyYAML's pure-Python
# parser refuses some plain scalars that libyaml and YAML 1.2 editors accept.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MINI = REPO / "tests" / "packs" / "mini"
KINDS = REPO / "tests" / "packs" / "kinds"
EXAMPLE = REPO / "docs" / "examples" / "tensor-puzzles"

SECOND_LESSON = textwrap.dedent(
    """\
    format: 1
    id: more
    title: {en: More, zh: 更多}
    tasks:
      # A comment that must survive the export.
      - id: double
        title: {en: Double, zh: 加倍}
        starter: |
          def solve(x):
              raise NotImplementedError
        solution: |
          def solve(x):
              doubled = x + x  # the secret answer
              return doubled
        cases:
          - {x: {shape: [3]}}
        checks: [result]
    """
)


def read_yaml(text: str):
    return yaml.load(text, Loader=LOADER)


def lesson_files(root: Path) -> list[Path]:
    """The lesson files a pack folder loads (pack.yaml's list, else every *.yaml)."""
    lessons = load_pack(root).meta.lessons
    if lessons:
        return [root / name for name in lessons]
    return [p for p in sorted(root.glob("*.yaml")) if p.name != "pack.yaml"]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    """``tutor ARGS`` in process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


@pytest.fixture(scope="module")
def full_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/packs/mini plus a second lesson: two tasks, so one right and one wrong answer."""
    root = tmp_path_factory.mktemp("full") / "pack"
    shutil.copytree(MINI, root)
    (root / "02-more.yaml").write_text(SECOND_LESSON, encoding="utf-8")
    load_pack(root)
    return root


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = lesson_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


# ---------------------------------------------------------------- tutor lesson new


def test_template_loads_validates_and_refuses_overwrite(tmp_path, capsys, validator):
    target = tmp_path / "my-lesson.yaml"
    code, out, err = run_cli(capsys, "lesson", "new", "my-lesson", "--output", target)
    assert code == 0, err
    assert out.strip() == str(target)
    text = target.read_text(encoding="utf-8")

    # Every field of the format is explained, in a comment or as an example.
    for field in ("format:", "id:", "title:", "summary:", "intro:", "requires:", "tasks:", "entry:", "starter:",
                  "solution:", "cases:", "random_cases:", "random_args:", "dims:", "checks:", "tolerance:",
                  "hints:", "feedback:", "points:", "partial:", "devices:", "timeout:", "memory_mb:"):
        assert field in text, field
    for kind in ("aliasing", "mutation", "input_grads", "backward", "forbid", "require", "source", "custom"):
        assert kind in text, kind
    assert sum(line.lstrip().startswith("#") for line in text.splitlines()) > 30

    pack = load_pack(target)
    (lesson,) = pack.lessons
    assert lesson.id == "my-lesson" and lesson.title.get("en") and lesson.title.get("zh")
    (task,) = lesson.tasks
    assert task.random_cases > 0 and task.dims and task.hints and task.feedback and task.cases
    assert set(task.prompt.languages()) == {"en", "zh"}
    assert validator.is_valid(read_yaml(text))

    # The reference passes its checks and the starter fails them.
    code, out, err = run_cli(capsys, "lesson", "validate", "--json", target)
    assert code == 0, out + err
    report = json.loads(out.strip().splitlines()[0])
    assert report["valid"] is True and report["tasks"] == 1, report

    # Never overwrite; ids are [a-z0-9-]+.
    code, _, err = run_cli(capsys, "lesson", "new", "my-lesson", "--output", target)
    assert code == 2 and "exists" in err
    assert target.read_text(encoding="utf-8") == text
    for bad in ("Bad", "a_b", "../x", "a b", ""):
        code, _, err = run_cli(capsys, "lesson", "new", bad, "--output", tmp_path / "x.yaml")
        assert code == 2, bad
    assert not (tmp_path / "x.yaml").exists()


def test_template_default_path_is_id_yaml(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(capsys, "lesson", "new", "2024-intro")
    assert code == 0
    assert (tmp_path / "2024-intro.yaml").is_file()
    assert load_pack(tmp_path / "2024-intro.yaml").lessons[0].id == "2024-intro"


# ---------------------------------------------------------------- tutor lesson schema


def test_schema_cli_and_builtin_course(tmp_path, capsys, validator):
    out_file = tmp_path / "lesson.schema.json"
    code, _, err = run_cli(capsys, "lesson", "schema", "-o", out_file)
    assert code == 0, err
    schema = json.loads(out_file.read_text(encoding="utf-8"))
    assert schema["$schema"] == SCHEMA_DIALECT
    assert schema["$id"].startswith("https://") and schema["title"]
    assert schema == json.loads(json.dumps(lesson_schema()))

    course = builtin_course()
    lessons = load_pack(course).lessons
    assert lessons
    pack_validator = jsonschema.Draft202012Validator(pack_schema())
    for root in (course, MINI, KINDS, EXAMPLE):
        pack_validator.validate(read_yaml((root / "pack.yaml").read_text(encoding="utf-8")))
        files = lesson_files(root)
        assert files
        for file in files:
            errors = [f"{list(e.absolute_path)}: {e.message[:200]}"
                      for e in validator.iter_errors(read_yaml(file.read_text(encoding="utf-8")))]
            assert not errors, f"{file}: {errors}"


BASE_TASK = {
    "id": "t",
    "title": {"en": "T", "zh": "题"},
    "starter": "def solve(x, g=None):\n    raise NotImplementedError\n",
    "solution": "def solve(x, g=None):\n    return x\n",
    "cases": [{"x": {"shape": [2, "n"]}, "dims": {"n": 3}}],
    "dims": {"n": [1, 4]},
    "checks": ["result", {"source": {"no_loops": True}}],
}


def _lesson(**changes):
    task = copy.deepcopy(BASE_TASK)
    for key, value in changes.items():
        if value is None:
            task.pop(key, None)
        else:
            task[key] = value
    return {"format": 1, "id": "l", "title": "L", "tasks": [task]}


VARIANTS = {
    # name: (lesson data, valid?)
    "base": (_lesson(), True),
    "no solution": (_lesson(solution=None), False),
    "no starter": (_lesson(starter=None), False),
    "dist weird": (_lesson(cases=[{"x": {"shape": [2], "dist": "weird"}}]), False),
    "dist int with bounds": (_lesson(cases=[{"x": {"shape": [2], "dist": "int", "low": 0, "high": 5}}]), True),
    "generator": (_lesson(cases=[{"x": [1, 2], "g": {"generator": 42}}]), True),
    "device grading": (_lesson(cases=[{"x": [1], "g": {"device": "grading"}}]), True),
    "device cpu alone": (_lesson(cases=[{"x": [1], "g": {"device": "cpu"}}]), False),
    "dtype alone": (_lesson(cases=[{"x": [1], "g": {"dtype": "float64"}}]), True),
    "dtype unknown": (_lesson(cases=[{"x": [1], "g": {"dtype": "float99"}}]), False),
    "dtype plus extra": (_lesson(cases=[{"x": [1], "g": {"dtype": "float64", "requires_grad": True}}]), False),
    "values": (_lesson(cases=[{"x": {"values": [[1, 2], [3, 4.5]], "dtype": "float64", "requires_grad": True}}]), True),
    "values not numbers": (_lesson(cases=[{"x": {"values": [1, "a"]}}]), False),
    "values and shape": (_lesson(cases=[{"x": {"values": [1], "shape": [1]}}]), False),
    "pinned dims as argument": (_lesson(cases=[{"x": {"n": 3}}]), False),
    "dims key not pinned": (_lesson(cases=[{"x": [1], "dims": {"shape": [2]}}]), False),
    "empty mapping argument": (_lesson(cases=[{"x": {}}]), False),
    "plain values": (_lesson(cases=[{"x": [1, 2], "g": None}, {"x": "text"}, {"x": 2.5}]), True),
    "transposed": (_lesson(random_cases=2, random_args={"x": {"shape": ["n", 3], "layout": "transposed"}}), True),
    "layout unknown": (_lesson(cases=[{"x": {"shape": [2, 2], "layout": "diagonal"}}]), False),
    "no cases at all": (_lesson(cases=None), False),
    "only random cases": (_lesson(cases=None, random_cases=2, random_args={"x": {"shape": [2]}}), True),
    "random_cases too many": (_lesson(random_cases=101), False),
    "check unknown": (_lesson(checks=["speed"]), False),
    "check forbid as name": (_lesson(checks=["forbid"]), False),
    "check forbid empty": (_lesson(checks=[{"forbid": []}]), False),
    "check forbid": (_lesson(checks=[{"forbid": ["torch.sigmoid", "Tensor.sigmoid"]}]), True),
    "check two keys": (_lesson(checks=[{"forbid": ["torch.add"], "require": ["torch.mul"]}]), False),
    "check result strides": (_lesson(checks=[{"result": {"strides": True}}]), True),
    "check result true": (_lesson(checks=[{"result": True}]), False),
    "check result unknown option": (_lesson(checks=[{"result": {"fast": True}}]), False),
    "check aliasing null": (_lesson(checks=["result", {"aliasing": None}]), True),
    "check source max_lines 0": (_lesson(checks=[{"source": {"max_lines": 0}}]), False),
    "check custom": (_lesson(checks=[{"custom": "checks.mine:ok"}]), True),
    "check custom bad": (_lesson(checks=[{"custom": "mine:ok"}]), False),
    "check backward": (_lesson(checks=[{"backward": ["x"]}]), True),
    "feedback unknown kind": (_lesson(feedback={"bogus": "x"}), False),
    "feedback": (_lesson(feedback={"result": {"en": "a", "zh": "b"}}), True),
    "text empty mapping": (_lesson(title={}), False),
    "text bad language": (_lesson(title={"english": "T"}), False),
    "text not text": (_lesson(title={"en": 3}), False),
    "tolerance negative": (_lesson(tolerance={"rtol": -1.0, "atol": 0.0}), False),
    "tolerance": (_lesson(tolerance={"rtol": 1e-5, "atol": 1e-6}), True),
    "dims one bound": (_lesson(dims={"n": [1]}), False),
    "dims negative": (_lesson(dims={"n": [-1, 3]}), False),
    "unknown field": (_lesson(speed=3), False),
    "bad id": (_lesson(id="Task_1"), False),
    "devices empty": (_lesson(devices=[]), False),
    "devices": (_lesson(devices=["cpu"]), True),
    "timeout zero": (_lesson(timeout=0), False),
    "partial points": (_lesson(points=2.5, partial=True), True),
    # Issue 16: values that follow dims, input constraints, custom options, lesson-level checks and helpers.
    "dim value": (_lesson(cases=[{"x": {"shape": [2, "n"]}, "g": {"dim": "n + 1"}, "dims": {"n": 3}}]), True),
    "bare dim name": (_lesson(cases=[{"x": {"shape": ["n"]}, "g": "n"}]), True),
    "dim value not text": (_lesson(cases=[{"x": [1], "g": {"dim": 3}}]), False),
    "dim value extra key": (_lesson(cases=[{"x": [1], "g": {"dim": "n", "low": 1}}]), False),
    "bounds follow dims": (_lesson(cases=[{"x": {"shape": ["n", "n + 1"], "dist": "int", "low": 1, "high": "2 * n"}}]), True),
    "sorted unique": (_lesson(cases=[{"x": {"shape": [4], "dist": "int", "high": 50, "sorted": True, "unique": True}}]), True),
    "sorted not bool": (_lesson(cases=[{"x": {"shape": [4], "sorted": "maybe"}}]), False),
    "distinct dims and where": (_lesson(dims={"n": [1, 4], "m": [1, 4]}, distinct_dims=["n", "m"], where=["n < m"]), True),
    "where one text": (_lesson(where="n > 1"), True),
    "where not text": (_lesson(where=[3]), False),
    "custom with options": (_lesson(checks=[{"custom": {"check": "checks.mine:ok", "options": {"columns": 80},
                                                        "scope": "task", "rule": True}}]), True),
    "custom scope unknown": (_lesson(checks=[{"custom": {"check": "checks.mine:ok", "scope": "file"}}]), False),
    "custom options unknown key": (_lesson(checks=[{"custom": {"check": "checks.mine:ok", "when": 1}}]), False),
    "lesson default checks and preamble": (
        {**_lesson(), "default_checks": [{"forbid": ["torch.sum"]}], "preamble": "def helper():\n    return 1\n"}, True),
    "lesson default checks bad": ({**_lesson(), "default_checks": ["speed"]}, False),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_schema_agrees_with_the_models(name, validator):
    data, valid = VARIANTS[name]
    try:
        Lesson.model_validate(copy.deepcopy(data))
        model_ok = True
    except ValueError:
        model_ok = False
    schema_ok = validator.is_valid(copy.deepcopy(data))
    assert (model_ok, schema_ok) == (valid, valid)


def test_schema_rejects_wrong_files(validator):
    mini = read_yaml((MINI / "01-views.yaml").read_text(encoding="utf-8"))
    assert validator.is_valid(mini)
    no_solution = copy.deepcopy(mini)
    del no_solution["tasks"][0]["solution"]
    assert not validator.is_valid(no_solution)
    weird = copy.deepcopy(mini)
    weird["tasks"][0]["random_args"]["x"]["dist"] = "weird"
    assert not validator.is_valid(weird)
    wrong_format = dict(mini, format=2)
    assert not validator.is_valid(wrong_format)

    pack_validator = jsonschema.Draft202012Validator(pack_schema())
    meta = {"format": 1, "id": "p", "title": {"en": "P"}, "version": 1.0}
    assert pack_validator.is_valid(meta)
    PackMeta.model_validate(meta)
    assert pack_validator.is_valid(dict(meta, preamble="import torch\n"))
    PackMeta.model_validate(dict(meta, preamble="import torch\n"))
    assert not pack_validator.is_valid(dict(meta, id="P P"))
    assert not pack_validator.is_valid(dict(meta, extra=1))


# ---------------------------------------------------------------- tutor lesson export --student


def _strings(value, skip_solution: bool = True):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if not (skip_solution and key == "solution"):
                yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _solution_lines(pack_root: Path) -> list[str]:
    """Lines of the references that appear nowhere else in the pack (hints may quote an answer on purpose)."""
    pack = load_pack(pack_root)
    public = []
    for file in lesson_files(pack_root):
        public.extend(_strings(read_yaml(file.read_text(encoding="utf-8"))))
    lines = []
    for _, task in pack.tasks():
        for line in task.solution.splitlines():
            s = line.strip()
            meaningful = len(s) >= 4 and any(c.isalnum() for c in s)  # not a lone bracket
            opening = s == "prediction = {"  # a predict task's stub opens its blank prediction the same way
            if meaningful and not opening and not s.startswith(("def ", "import ", "from ", "#")) \
                    and not any(s in text for text in public):
                lines.append(s)
    assert lines
    return lines


def _all_text(root: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in sorted(root.rglob("*")) if p.is_file())


def test_student_pack_has_no_solutions_and_grades_with_the_full_pack(tmp_path, capsys, full_pack):
    student = tmp_path / "student"
    code, out, err = run_cli(capsys, "lesson", "export", "--student", student, "--pack", full_pack)
    assert code == 0, err
    assert out.strip() == str(student)

    # No solution text anywhere, comments kept, same pack id and version.
    text = _all_text(student)
    for line in _solution_lines(full_pack):
        assert line not in text, line
    assert "the secret answer" not in text
    assert "# A comment that must survive the export." in text
    assert (student / "pack.yaml").read_bytes() == (full_pack / "pack.yaml").read_bytes()
    student_pack = load_pack(student)
    full = load_pack(full_pack)
    assert (student_pack.id, student_pack.version) == (full.id, full.version)
    assert student_pack.task_ids() == full.task_ids()
    for (_, s_task), (_, f_task) in zip(student_pack.tasks(), full.tasks()):
        assert STUB_MESSAGE in s_task.solution
        assert (s_task.starter, s_task.prompt, s_task.cases, s_task.hints) == (f_task.starter, f_task.prompt, f_task.cases, f_task.hints)

    # A non-empty OUT is refused.
    code, _, err = run_cli(capsys, "lesson", "export", "--student", student, "--pack", full_pack)
    assert code == 2 and "empty" in err

    # A workspace made from the student pack, graded with the full pack.
    ws = Workspace.create(tmp_path / "learner", student_pack, str(student))
    ws.exercise_path("views/first-row").write_text("def solve(x):\n    return x[0]\n", encoding="utf-8")
    ws.exercise_path("more/double").write_text("def solve(x):\n    return x * 3\n", encoding="utf-8")
    report = tmp_path / "report.json"
    code, _, err = run_cli(capsys, "grade", ws.root, "--pack", full_pack, "--format", "json", "-o", report)
    assert code == 1, err
    (result,) = json.loads(report.read_text(encoding="utf-8"))
    statuses = {v["task"]: v["status"] for v in result["tasks"]}
    assert statuses == {"views/first-row": "passed", "more/double": "failed"}


def test_student_pack_of_builtin_course_and_custom_checks(tmp_path, capsys):
    # The built-in course by default.
    student = tmp_path / "course"
    code, _, err = run_cli(capsys, "lesson", "export", "--student", student)
    assert code == 0, err
    text = _all_text(student)
    for line in _solution_lines(builtin_course()):
        assert line not in text, line
    assert load_pack(student).task_ids() == load_pack(builtin_course()).task_ids()
    for path in student.rglob("*.py"):  # the course's custom checks, as stubs only
        original = builtin_course() / path.relative_to(student)
        assert "NotImplementedError" in path.read_text(encoding="utf-8")
        assert path.read_text(encoding="utf-8") != original.read_text(encoding="utf-8")

    # Custom checks are left out (they may hold answers); stubs keep the pack loadable.
    kinds = tmp_path / "kinds"
    code, _, err = run_cli(capsys, "lesson", "export", "--student", kinds, "--pack", KINDS)
    assert code == 0, err
    originals = {p.name: p.read_text(encoding="utf-8") for p in (KINDS / "checks").glob("*.py")}
    for path in (kinds / "checks").glob("*.py"):
        assert path.read_text(encoding="utf-8") != originals.get(path.name)
        assert "NotImplementedError" in path.read_text(encoding="utf-8")
    assert load_pack(kinds).task_ids() == load_pack(KINDS).task_ids()
    for line in _solution_lines(KINDS):
        assert line not in _all_text(kinds), line


def test_strip_solutions_keeps_everything_else():
    flow = "format: 1\nid: a\ntitle: A\ntasks:\n  - {id: t, title: T, starter: 'def solve(x): pass', solution: 'def solve(x): return x + 1', cases: [{x: 1}]}\n"
    quoted_first = (
        "format: 1\nid: a\ntitle: A\ntasks:\n"
        "  - solution: \"def solve(x, *, k=3):\\n    return x + k\\n\"  # trailing comment\n"
        "    id: t\n    title: T\n    cases: [{x: 1}]\n    starter: 'def solve(x): pass'"
    )
    for text in (flow, quoted_first, (MINI / "01-views.yaml").read_text(encoding="utf-8")):
        new, removed = strip_solutions(text)
        before, after = read_yaml(text), read_yaml(new)
        assert len(removed) == len(before["tasks"])
        for old_task, new_task in zip(before["tasks"], after["tasks"]):
            assert "return" not in new_task["solution"]
            assert STUB_MESSAGE in new_task["solution"]
            assert {k: v for k, v in old_task.items() if k != "solution"} == {
                k: v for k, v in new_task.items() if k != "solution"
            }
    new, _ = strip_solutions(quoted_first)
    assert "def solve(x, *, k=None):" in new
