"""Authoring, second pass (issue 16): through the real CLI (`tutor lesson validate`) and the real sandbox.

Each test writes a small pack the way an instructor porting an exercise set
would, and reads what `tutor lesson validate` says about it.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import torch

from conftest import run_tutor
from tutor.cli import main
from tutor.grading.inputs import make_cases
from tutor.pack.loader import load_pack


def run_cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def lesson(tmp_path: Path, body: str, name: str = "l.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def line_of(path: Path, needle: str, nth: int = 1) -> int:
    hits = [i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line]
    return hits[nth - 1]


HEAD = """\
format: 1
id: l
title: L
tasks:
"""


# ---------------------------------------------------------------- item 1: how-rules judge the learner only


def test_reference_breaking_a_rule_is_a_warning_for_the_author(tmp_path, capsys):
    path = lesson(tmp_path, HEAD + """\
      - id: total
        title: Total
        starter: |
          def solve(a):
              raise NotImplementedError
        solution: |
          def solve(a):
              out = a[:1] * 0
              for k in range(len(a)):
                  out = out + a[k]
              return a.sum(0, keepdim=True)
        cases: [{a: {shape: [4], dist: int, low: -5, high: 5}}]
        checks: [result, {forbid: [torch.sum]}, {source: {max_lines: 1}}]
    """)
    code, out, err = run_cli(capsys, "lesson", "validate", path)
    assert code == 0, err
    assert "valid" in out
    warnings = [line for line in err.splitlines() if ": warning: " in line]
    assert len(warnings) == 2, err  # each rule once, not once per case
    where = f"{path}:{line_of(path, 'solution:')}:"
    assert all(w.startswith(where) for w in warnings), err
    assert "the reference breaks the rule `forbid: [torch.sum]`" in err
    assert "`source: {max_lines: 1}`" in err

    code, out, _ = run_cli(capsys, "lesson", "validate", "--strict", "--json", path)
    report = json.loads(out)
    assert code == 2 and not report["valid"] and len(report["errors"]) == 2 and report["warnings"] == []


def test_a_wrong_reference_is_still_an_error(tmp_path, capsys):
    path = lesson(tmp_path, HEAD + """\
      - id: wrong
        title: Wrong
        starter: "def solve(a):\\n    raise NotImplementedError\\n"
        solution: "def solve(a):\\n    return a.sum()\\n"
        cases: [{a: {values: [1, 2]}}]
        checks: [result, {forbid: [torch.sum]}, {custom: {check: "checks.c:never", rule: false}}]
    """)
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "c.py").write_text("def never(ctx, options):\n    return 'no'\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "lesson", "validate", path)
    assert code == 2
    assert "does not pass its own checks" in err and "custom" in err


# ---------------------------------------------------------------- item 2: values that follow dims


def test_int_arguments_and_bounds_follow_the_dims(tmp_path, capsys):
    path = lesson(tmp_path, HEAD + """\
      - id: bincount
        title: Bincount
        starter: "def solve(a, j):\\n    raise NotImplementedError\\n"
        solution: |
          def solve(a, j):
              out = [0] * j
              for v in a.tolist():
                  out[v] += 1
              return torch.tensor(out)
        cases:
          - {a: {shape: [i], dist: int, high: j}, j: j}
          - {a: {shape: [i], dist: int, low: 1, high: j + 1}, j: {dim: j + 1}, dims: {j: 3}}
        random_cases: 4
        random_args: {a: {shape: [i], dist: int, high: j}, j: {dim: j}}
        dims: {i: [1, 6], j: [1, 5]}
    """)
    path.write_text(path.read_text().replace("solution: |\n", "solution: |\n          import torch\n", 1))
    code, out, err = run_cli(capsys, "lesson", "validate", path)
    assert code == 0, err
    task = load_pack(path).lessons[0].tasks[0]
    for case in make_cases("l/bincount", task, 7, "cpu"):
        a, j = case.args["a"], case.args["j"]
        assert isinstance(j, int) and (a.numel() == 0 or int(a.max()) < j)


def test_a_string_where_a_number_belongs_is_located_with_the_reason(tmp_path, capsys):
    path = lesson(tmp_path, HEAD + """\
      - id: t
        title: T
        starter: "def solve(a):\\n    raise NotImplementedError\\n"
        solution: "def solve(a):\\n    return a\\n"
        cases:
          - a: {shape: [3], dist: int, high: ten}
          - a: {shape: [3], dist: uniform, low: 1e-3}
          - a: {shape: [3], dist: int, high: "n +"}
        dims: {n: [1, 3]}
    """)
    code, _, err = run_cli(capsys, "lesson", "validate", path)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # `1e-3` is the number the author meant
    bad_line = line_of(path, 'high: "n +"')
    assert lines[0].startswith(f"{path}:{bad_line}:") and "expected a number here" in lines[0]

    # A name that is no dim of the task: located at the case, with the reason.
    path.write_text(path.read_text().replace('high: "n +"', "high: n"))
    code, _, err = run_cli(capsys, "lesson", "validate", path)
    assert code == 2
    assert err.startswith(f"{path}:{line_of(path, 'high: ten')}:") and "ten" in err and "range" in err


def test_pins_of_a_template_case_carry_over_when_it_has_plain_numbers(tmp_path, capsys):
    path = lesson(tmp_path, HEAD + """\
      - id: pick
        title: Pick
        starter: "def solve(x, i):\\n    raise NotImplementedError\\n"
        solution: "def solve(x, i):\\n    return x[i - 1]\\n"
        cases:
          - {x: {shape: [n]}, i: 7, dims: {n: 7}}
        random_cases: 5
        dims: {n: [1, 9]}
    """)
    code, out, err = run_cli(capsys, "lesson", "validate", path)
    assert code == 0, err
    assert f"{path}:{line_of(path, 'dims: {n: 7}')}:" in err and "keep its pinned dims (n=7)" in err
    task = load_pack(path).lessons[0].tasks[0]
    assert all(c.args["x"].shape == (7,) for c in make_cases("l/pick", task, 3, "cpu"))


# ---------------------------------------------------------------- item 3: input constraints


def test_sorted_unique_distinct_and_where(tmp_path, capsys):
    path = lesson(tmp_path, HEAD + """\
      - id: shapes
        title: Shapes
        starter: "def solve(v, b, m):\\n    raise NotImplementedError\\n"
        solution: "import torch\\ndef solve(v, b, m):\\n    return torch.bucketize(v, b, right=True)\\n"
        cases: [{v: {shape: [n], dist: int, low: -9, high: 9}, b: {shape: [k], dist: int, low: -9, high: 9, sorted: true, unique: true}, m: {shape: [n, k]}}]
        random_cases: 20
        dims: {n: [1, 4], k: [1, 4]}
        distinct_dims: [n, k]
        where: ["n + k <= 6"]
    """)
    code, out, err = run_cli(capsys, "lesson", "validate", path)
    assert code == 0, err
    task = load_pack(path).lessons[0].tasks[0]
    for case in make_cases("l/shapes", task, 11, "cpu"):
        b, m = case.args["b"], case.args["m"]
        assert torch.equal(b, b.sort().values) and b.unique().numel() == b.numel()
        n, k = m.shape
        assert n != k and n + k <= 6

    for broken, needle in (
        ("where: [n > 9]", "where: [n > 9]"),
        ("where: [__import__('os')]", "where: [__import__"),
        ("distinct_dims: [n, q]", "distinct_dims: [n, q]"),
    ):
        text = path.read_text().replace('where: ["n + k <= 6"]', broken)
        bad = lesson(tmp_path, text, "bad.yaml")
        code, _, err = run_cli(capsys, "lesson", "validate", bad)
        assert code == 2, broken
        assert err.startswith(f"{bad}:{line_of(bad, needle)}:"), (broken, err)


def test_unique_that_cannot_hold_is_a_located_error(tmp_path, capsys):
    path = lesson(tmp_path, HEAD + """\
      - id: u
        title: U
        starter: "def solve(a):\\n    raise NotImplementedError\\n"
        solution: "def solve(a):\\n    return a\\n"
        cases:
          - a: {shape: [5], dist: int, high: 3, unique: true}
    """)
    code, _, err = run_cli(capsys, "lesson", "validate", path)
    assert code == 2
    assert err.startswith(f"{path}:{line_of(path, 'unique: true')}:") and "unique" in err


# ---------------------------------------------------------------- item 7: located errors


def test_duplicate_ids_and_unranged_dims_are_located_at_their_node(tmp_path, capsys):
    path = lesson(tmp_path, HEAD + """\
      - id: same
        title: A
        starter: "def solve(x):\\n    raise NotImplementedError\\n"
        solution: "def solve(x):\\n    return x\\n"
        cases:
          - {x: {shape: [2]}}
          - {x: {shape: [n]}}
      - id: same
        title: B
        starter: "def solve(x):\\n    raise NotImplementedError\\n"
        solution: "def solve(x):\\n    return x\\n"
        cases: [{x: 1}]
    """)
    code, _, err = run_cli(capsys, "lesson", "validate", path)
    assert code == 2
    lines = err.strip().splitlines()
    assert lines[0].startswith(f"{path}:{line_of(path, '{x: {shape: [n]}}')}:") and "without a range" in lines[0]
    assert lines[1].startswith(f"{path}:{line_of(path, '- id: same', 2)}:") and "appears twice" in lines[1]
    assert len(lines) == 2, err


# ---------------------------------------------------------------- item 6: student packs with public tests

VIEWS = HEAD + """\
  - id: first-row
    title: First row
    starter: "def solve(x):\\n    raise NotImplementedError\\n"
    solution: |
      def solve(x):
          x.mul_(2)
          return x[0]
    cases:
      - {x: {values: [[1.0, 2.0], [3.0, 4.0]]}}
      - {x: {shape: [n, 3], requires_grad: false}, dims: {n: 2}}
    random_cases: 3
    dims: {n: [1, 4]}
    checks: [result, aliasing, mutation]
  - id: grad
    title: Grad
    starter: "def solve(w):\\n    raise NotImplementedError\\n"
    solution: "def solve(w):\\n    return (w * w).sum()\\n"
    cases: [{w: {shape: [3], requires_grad: true}}]
    checks: [result, {backward: [w]}]
"""


def test_student_pack_checks_the_fixed_cases_locally(tmp_path, capsys):
    full = tmp_path / "full"
    full.mkdir()
    (full / "pack.yaml").write_text('format: 1\nid: p\ntitle: P\nversion: "1"\n', encoding="utf-8")
    (full / "l.yaml").write_text(textwrap.dedent(VIEWS), encoding="utf-8")
    student = tmp_path / "student"
    code, _, err = run_cli(capsys, "lesson", "export", "--student", student, "--pack", full)
    assert code == 0, err
    data = sorted(p.relative_to(student).as_posix() for p in (student / "public").rglob("*"))
    assert data == ["public/index.json", "public/l", "public/l/first-row.bin", "public/l/first-row.json",
                    "public/l/grad.bin", "public/l/grad.json"]
    assert "mul_" not in _text(student)  # data only, no code

    answers = tmp_path / "answers"
    answers.mkdir()

    def check(task: str, code_text: str) -> tuple[int, dict]:
        file = answers / f"{task}.py"
        file.write_text(code_text, encoding="utf-8")
        code, out, err = run_cli(capsys, "check", f"l/{task}", "--pack", student, "--file", file, "--format", "json")
        assert code in (0, 1), err
        return code, json.loads(out)

    code, verdict = check("first-row", "def solve(x):\n    x.mul_(2)\n    return x[0]\n")
    assert code == 0 and len(verdict["cases"]) == 2, verdict
    assert any("hidden case" in note and "3" in note for note in verdict["notes"]), verdict
    failing = {
        "def solve(x):\n    x.mul_(2)\n    return x[0].clone()\n": "aliasing",  # a copy, not a view
        "def solve(x):\n    return x[0] * 2\n": "mutation",  # x is left unchanged
        "def solve(x):\n    x.mul_(2)\n    return x[1]\n": "result",
    }
    for answer, check_name in failing.items():
        code, verdict = check("first-row", answer)
        assert code == 1 and check_name in {c["name"] for c in verdict["checks"] if not c["passed"]}, (answer, verdict)
    assert check("grad", "def solve(w):\n    return (w ** 2).sum()\n")[0] == 0
    code, verdict = check("grad", "def solve(w):\n    return (w * w.detach()).sum()\n")
    assert code == 1 and "backward" in {c["name"] for c in verdict["checks"] if not c["passed"]}

    # Stale public results are a located error, not a wrong verdict.
    lesson_file = student / "l.yaml"
    lesson_file.write_text(lesson_file.read_text().replace("checks: [result, aliasing, mutation]", "checks: [result]"))
    file = answers / "first-row.py"
    code, _, err = run_cli(capsys, "check", "l/first-row", "--pack", student, "--file", file)
    assert code == 2 and "export the student pack again" in err and f"{lesson_file}:" in err

    # tutor grade refuses a student pack: the full pack is the authority.
    from tutor.workspace import Workspace

    ws = Workspace.create(tmp_path / "ws", load_pack(student), str(student))
    code, _, err = run_cli(capsys, "grade", ws.root, "--pack", student)
    assert code == 2 and "student pack" in err


def _text(root: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in root.rglob("*") if p.is_file())


# ---------------------------------------------------------------- items 4 and 5: custom options and scope, preamble, default_checks

SHARED = """\
format: 1
id: puzzles
title: Puzzles
preamble: |
  def where(q, a, b):
      "Use this function to replace an if-statement."
      return (q * a) + (~q) * b
default_checks:
  - {forbid: [torch.sum]}
  - {custom: {check: "checks.style:width", options: {columns: 40}, scope: task, rule: true}}
tasks:
  - id: relu
    title: ReLU
    starter: |
      def solve(a):
          raise NotImplementedError
    solution: |
      def solve(a):
          return where(a > 0, a, 0 * a)
    cases:
      - {a: {shape: [n]}}
      - {a: {shape: [n]}}
    dims: {n: [1, 5]}
    checks: [result, {forbid: [torch.relu]}]
    feedback:
      forbid: "Build it from where."
"""
STYLE = '''\
CALLS = []


def width(ctx, options):
    CALLS.append(ctx.case)
    too_wide = [i for i, line in enumerate(ctx.source.splitlines(), 1) if len(line) > options["columns"]]
    return f"line {too_wide[0]} is wider than {options['columns']} columns" if too_wide else None
'''


def test_preamble_default_checks_and_task_scoped_custom_checks(tmp_path, capsys):
    pack = tmp_path / "pack"
    (pack / "checks").mkdir(parents=True)
    (pack / "pack.yaml").write_text('format: 1\nid: p\ntitle: P\nversion: "1"\npreamble: "import torch\\n"\n', encoding="utf-8")
    (pack / "puzzles.yaml").write_text(SHARED, encoding="utf-8")
    (pack / "checks" / "style.py").write_text(STYLE, encoding="utf-8")
    code, out, err = run_cli(capsys, "lesson", "validate", pack)
    assert code == 0, err
    loaded = load_pack(pack)
    (_, task), = loaded.tasks()
    assert [c.kind for c in task.checks] == ["result", "forbid", "custom"]
    assert task.check("forbid").options == ["torch.sum", "torch.relu"]
    assert task.starter.startswith("# ==== course helpers") and "def where(q, a, b):" in task.starter
    assert task.starter.index("import torch") < task.starter.index("def where")

    def check(text: str) -> dict:
        file = tmp_path / "answer.py"
        file.write_text(text, encoding="utf-8")
        code, out, err = run_cli(capsys, "check", "puzzles/relu", "--pack", pack, "--file", file, "--format", "json")
        assert code in (0, 1), err
        return json.loads(out)

    starter = task.starter.replace("raise NotImplementedError", "return where(a > 0, a, 0 * a)")
    # The learner's copy of the helpers is ignored: the course's own runs (read-only).
    tampered = starter.replace("return (q * a) + (~q) * b", "return a")
    for text in (starter, tampered):
        verdict = check(text)
        assert verdict["status"] == "passed", [c for c in verdict["checks"] if not c["passed"]]
    customs = [c for c in check(starter.replace("0 * a)", "0 * a)  # far too wide a line")) ["checks"] if c["name"] == "custom"]
    assert len(customs) == 1 and customs[0]["case"] is None and "wider than 40" in customs[0]["message"]
    verdict = check(starter.replace("where(a > 0, a, 0 * a)", "torch.relu(a)"))
    assert verdict["status"] == "failed" and "Build it from where." in json.dumps(verdict)


HELPER_PACK = """\
format: 1
id: helpers
title: Helpers
preamble: |
  import torch
  def where(q, a, b):
      return torch.where(q, a, b)
  def apply(fn, x):
      return fn(x)
tasks:
  - id: relu
    title: ReLU
    starter: |
      def solve(a):
          raise NotImplementedError
    solution: |
      def solve(a):
          return where(a > 0, a, 0 * a)
    cases:
      - {a: {shape: [4]}}
    checks: [result, {forbid: [torch.where]}]
"""


@pytest.mark.parametrize(("body", "passes"), [
    ("return where(a > 0, a, 0 * a)", True),  # the course's helper may use what the learner may not
    ("return torch.where(a > 0, a, 0 * a)", False),
    ("return apply(lambda t: torch.where(t > 0, t, 0 * t), a)", False),  # the learner's callback, run by a helper
])
def test_forbid_judges_the_learners_calls_not_the_course_helpers(tmp_path, body, passes):
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "pack.yaml").write_text('format: 1\nid: p\ntitle: P\nversion: "1"\n', encoding="utf-8")
    (pack / "helpers.yaml").write_text(HELPER_PACK, encoding="utf-8")
    answer = tmp_path / "answer.py"
    answer.write_text(f"import torch\n\n\ndef solve(a):\n    {body}\n", encoding="utf-8")
    proc = run_tutor("check", "helpers/relu", "--pack", str(pack), "--file", str(answer), "--format", "json")
    verdict = json.loads(proc.stdout)
    forbid = next(c for c in verdict["checks"] if c["name"] == "forbid")
    assert forbid["passed"] is passes, forbid


def test_references_run_with_onednn_off_even_after_torch_froze_its_flags() -> None:
    """torch's own test utilities (op_db) freeze the backend flags; the guard must still work then."""
    import subprocess
    import sys

    code = (
        "import torch\n"
        "from tutor.grading.reference import torch_state_guard\n"
        "torch.backends.disable_global_flags()\n"
        "before = torch.backends.mkldnn.enabled\n"
        "with torch_state_guard():\n"
        "    assert not torch.backends.mkldnn.enabled\n"
        "assert torch.backends.mkldnn.enabled == before\n"
    )
    proc = subprocess.run([sys.executable, "-W", "always", "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr  # and no warning on the learner's screen
