"""Ready-made integrations, each tested by running what it writes, here:

- the GitHub Actions workflow of `tutor init --ci github`: its grading step's
  script runs with bash against a workspace, with GITHUB_STEP_SUMMARY and
  GITHUB_OUTPUT pointing at temp files;
- the Gradescope bundle of `tutor export gradescope`: `run_autograder` runs on
  a fake `/autograder` tree (AUTOGRADER_ROOT) with a right and a wrong answer;
- `pytest --tutor` in a workspace, with --junitxml.

Each of the three grades once (one sandbox start each).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
import yaml

from tutor.errors import UserError
from tutor.integrations import github_workflow, gradescope_bundle
from tutor.pack.loader import load_pack
from tutor.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
MINI = REPO / "tests" / "packs" / "mini"
BIN = Path(sys.executable).parent
TUTOR = BIN / "tutor"

SECOND_LESSON = textwrap.dedent(
    """\
    format: 1
    id: more
    title: {en: More, zh: 更多}
    tasks:
      - id: double
        title: {en: Double, zh: 加倍}
        starter: |
          def solve(x):
              raise NotImplementedError
        solution: |
          def solve(x):
              return x * 2
        cases:
          - {x: {shape: [3]}}
        checks: [result]
        points: 2
    """
)
RIGHT = "def solve(x):\n    return x[0]\n"  # views/first-row
WRONG = "def solve(x):\n    return x * 3\n"  # more/double


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/packs/mini plus a lesson of one 2-point task: 3 points in two tasks."""
    root = tmp_path_factory.mktemp("pack") / "mini-plus"
    shutil.copytree(MINI, root)
    (root / "02-more.yaml").write_text(SECOND_LESSON, encoding="utf-8")
    load_pack(root)
    return root


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["TUTOR_LANG"] = "en"
    env.pop("GITHUB_STEP_SUMMARY", None)
    env.pop("GITHUB_OUTPUT", None)
    env.update(extra)
    return env


def _workspace(root: Path, pack: Path) -> Workspace:
    ws = Workspace.create(root, load_pack(pack), str(pack))
    ws.exercise_path("views/first-row").write_text(RIGHT, encoding="utf-8")
    ws.exercise_path("more/double").write_text(WRONG, encoding="utf-8")
    return ws


# ---------------------------------------------------------------- GitHub Actions / Classroom


def test_github_workflow_runs_and_reports_points(tmp_path, pack):
    root = tmp_path / "student"
    root.mkdir()
    init = subprocess.run([TUTOR, "init", "--pack", pack, "--ci", "github"], cwd=root, env=_env(),
                          capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stderr
    workflow = root / ".github" / "workflows" / "tutor.yml"
    assert str(workflow) in init.stdout
    ws = Workspace.find(root)
    assert ws is not None
    ws.exercise_path("views/first-row").write_text(RIGHT, encoding="utf-8")
    ws.exercise_path("more/double").write_text(WRONG, encoding="utf-8")

    data = yaml.safe_load(workflow.read_text(encoding="utf-8"))
    assert "push" in data["on"]
    (job,) = data["jobs"].values()
    steps = job["steps"]
    checkouts = [s for s in steps if str(s.get("uses", "")).startswith("actions/checkout")]
    assert checkouts and all(s["with"]["persist-credentials"] is False for s in checkouts)
    python = next(s for s in steps if str(s.get("uses", "")).startswith("actions/setup-python"))
    assert str(python["with"]["python-version"]) == "3.11"
    install = "\n".join(s.get("run", "") for s in steps)
    assert "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in install
    assert "torch-tutor" in install
    # The pack lies outside the repository: the workflow says where to fetch it from.
    assert data["env"]["TUTOR_PACK"] == github_workflow.PACK_CHECKOUT
    assert "TUTOR_PACK_REPO" in data["env"]

    # Run the grading step as GitHub would (bash -e -o pipefail), the pack given as the env says.
    grade = next(s for s in steps if s.get("id") == "tutor")
    summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
    summary.write_text("", encoding="utf-8")
    output.write_text("", encoding="utf-8")
    # A report committed by the student must not count.
    (root / github_workflow.RESULTS_FILE).write_text('[{"fake": true}]', encoding="utf-8")
    env = _env(TUTOR_PACK=str(pack), GITHUB_STEP_SUMMARY=str(summary), GITHUB_OUTPUT=str(output))
    run = subprocess.run(["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", grade["run"]],
                         cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stdout + run.stderr  # one task failed

    notices = [line for line in run.stdout.splitlines() if line.startswith("::notice")]
    assert notices == [
        "::notice title=Autograding complete::Points 1/3",
        '::notice title=Autograding report::{"totalPoints": 1, "maxPoints": 3}',
    ]
    text = summary.read_text(encoding="utf-8")
    assert "**Points 1/3**" in text and "views/first-row" in text and "more/double" in text
    assert "::notice" not in text
    (line,) = [ln for ln in output.read_text(encoding="utf-8").splitlines() if ln.startswith("result=")]
    result = json.loads(base64.b64decode(line[len("result="):]))
    assert result["version"] == 1 and result["status"] == "fail" and result["max_score"] == 3
    assert {t["name"]: (t["status"], t["score"]) for t in result["tests"]} == {
        "views/first-row": ("pass", 1),
        "more/double": ("fail", 0),
    }
    report = json.loads((root / github_workflow.RESULTS_FILE).read_text(encoding="utf-8"))
    assert report[0]["score"] == 1


def test_github_workflow_pack_settings_and_failures(tmp_path, pack, capsys):
    # The built-in course: nothing to fetch.
    builtin = yaml.safe_load(github_workflow.render("builtin"))
    assert builtin["env"]["TUTOR_PACK"] == ""
    # A pack inside the repository: graded from there, by a relative path.
    inside = tmp_path / "ws"
    (inside / "course").mkdir(parents=True)
    path = github_workflow.write(inside, str(inside / "course"))
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["env"]["TUTOR_PACK"] == "course"
    assert github_workflow.write(inside, str(inside / "course")) == path  # same content: fine
    with pytest.raises(UserError):
        github_workflow.write(inside, "builtin")  # would replace an edited workflow

    # No report (grading could not run): an error result, no points.
    summary, output = tmp_path / "s.md", tmp_path / "o.txt"
    stderr = tmp_path / "err.txt"
    stderr.write_text("tutor: broken pack\n", encoding="utf-8")
    github_workflow.report(tmp_path / "missing.json", exit_code=2, stderr_file=stderr, summary=summary, output=output)
    assert "::error" in capsys.readouterr().out
    encoded = output.read_text(encoding="utf-8").strip().split("=", 1)[1]
    failed = json.loads(base64.b64decode(encoded))
    assert failed["status"] == "error" and "broken pack" in failed["message"]
    assert "broken pack" in summary.read_text(encoding="utf-8")


# ---------------------------------------------------------------- Gradescope


def _autograder_tree(tmp_path: Path, bundle: Path) -> Path:
    """Lay the bundle out as Gradescope does: /autograder/source, /autograder/run_autograder."""
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    return root


def test_gradescope_bundle_dry_run(tmp_path, pack):
    bundle = tmp_path / "autograder.zip"
    made = subprocess.run([TUTOR, "export", "gradescope", bundle, "--pack", pack], env=_env(),
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        assert {"setup.sh", "run_autograder", "pack/pack.yaml", "pack/01-views.yaml", "pack/02-more.yaml"} <= names
        for script in ("setup.sh", "run_autograder"):
            assert (zf.getinfo(script).external_attr >> 16) & stat.S_IXUSR
        setup = zf.read("setup.sh").decode()
        assert "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in setup
        assert "torch-tutor==" in setup and "python3" in setup
        assert "solution:" in zf.read("pack/02-more.yaml").decode()  # the full pack
    # The bundled pack is the same pack (same content hash), so verdicts match a local grade.
    root = _autograder_tree(tmp_path, bundle)
    assert load_pack(root / "source" / "pack").hash == load_pack(pack).hash

    # A submission as Gradescope stores it: a zipped workspace folder, and a bare file upload.
    exercises = root / "submission" / "my-work" / "exercises" / "views"
    exercises.mkdir(parents=True)
    (exercises / "first-row.py").write_text(RIGHT, encoding="utf-8")
    (root / "submission" / "double.py").write_text(WRONG, encoding="utf-8")

    env = _env(AUTOGRADER_ROOT=str(root), TUTOR_VENV=str(BIN.parent))
    run = subprocess.run(["bash", root / "run_autograder"], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "views/first-row <- my-work/exercises/views/first-row.py" in run.stdout
    assert "more/double <- double.py" in run.stdout

    results = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    assert gradescope_bundle.valid_results(results) is None
    assert results["score"] == 1
    assert isinstance(results["execution_time"], (int, float, str))
    tests = {t["name"]: t for t in results["tests"]}
    assert set(tests) == {"views/first-row", "more/double"}
    assert (tests["views/first-row"]["status"], tests["views/first-row"]["score"], tests["views/first-row"]["max_score"]) == ("passed", 1, 1)
    assert (tests["more/double"]["status"], tests["more/double"]["score"], tests["more/double"]["max_score"]) == ("failed", 0, 2)
    assert sum(t["score"] for t in results["tests"]) == results["score"]
    for test in results["tests"]:
        assert {"name", "number", "score", "max_score", "status", "output", "visibility", "extra_data"} <= set(test)
        assert "seed" in test["extra_data"]
    assert "x * 2" not in json.dumps(results)  # no solution in what students read


def test_gradescope_always_writes_valid_results(tmp_path, pack):
    bundle = gradescope_bundle.build(pack, tmp_path / "ag.zip")
    root = _autograder_tree(tmp_path, bundle)
    (root / "submission" / "first-row.py").write_text(RIGHT, encoding="utf-8")
    results = root / "results" / "results.json"

    # A broken pack: tutor cannot grade (exit 2 before any sandbox starts).
    (root / "source" / "pack" / "02-more.yaml").write_text("format: 1\nid: more\ntasks: oops\n", encoding="utf-8")
    env = _env(AUTOGRADER_ROOT=str(root), TUTOR_VENV=str(BIN.parent))
    run = subprocess.run(["bash", root / "run_autograder"], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0
    data = json.loads(results.read_text(encoding="utf-8"))
    assert gradescope_bundle.valid_results(data) is None
    assert data["score"] == 0 and data["tests"] == []
    assert "could not grade" in data["output"]
    assert "02-more.yaml" in run.stdout + run.stderr  # the reason, for the instructor

    # No working Python at all: bash alone still writes a valid results.json.
    broken = tmp_path / "broken-venv"
    (broken / "bin").mkdir(parents=True)
    (broken / "bin" / "python").write_text("#!/bin/sh\nexit 3\n", encoding="utf-8")
    (broken / "bin" / "python").chmod(0o755)
    results.unlink()
    env = _env(AUTOGRADER_ROOT=str(root), TUTOR_VENV=str(broken))
    run = subprocess.run(["bash", root / "run_autograder"], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0
    data = json.loads(results.read_text(encoding="utf-8"))
    assert gradescope_bundle.valid_results(data) is None and data["score"] == 0


def test_gradescope_results_checks():
    assert gradescope_bundle.valid_results({"score": 1}) is None
    assert gradescope_bundle.valid_results({"tests": [{"score": 1, "max_score": 1, "status": "passed"}]}) is None
    assert gradescope_bundle.valid_results([]) is not None
    assert gradescope_bundle.valid_results({"tests": [{"max_score": 1}]}) is not None
    assert gradescope_bundle.valid_results({"score": "1"}) is not None
    assert gradescope_bundle.valid_results({"score": 1, "tests": [{"score": 0, "status": "error"}]}) is not None


# ---------------------------------------------------------------- pytest --tutor


def test_pytest_plugin_import_is_cheap():
    code = (
        "import sys; import tutor.pytest_plugin; "
        "heavy = [m for m in ('torch', 'pydantic', 'yaml', 'rich', 'typer', 'tutor.pack', 'tutor.grading') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_pytest_tutor_in_a_workspace(tmp_path, pack):
    ws = _workspace(tmp_path / "learner", pack)
    junit = tmp_path / "report.xml"
    env = _env(PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    base = [sys.executable, "-m", "pytest", "-p", "tutor.pytest_plugin", "-p", "no:cacheprovider"]

    # Without --tutor the plugin collects nothing.
    idle = subprocess.run(base + ["-q"], cwd=ws.root, env=env, capture_output=True, text=True, timeout=120)
    assert idle.returncode == 5, idle.stdout + idle.stderr  # no tests collected

    run = subprocess.run(base + ["--tutor", "--tutor-device", "cpu", "--tutor-seed", "7", "-v", f"--junitxml={junit}"],
                         cwd=ws.root, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 failed, 1 passed" in run.stdout
    assert "exercises/views/first-row.py::first-row PASSED" in run.stdout
    assert "exercises/more/double.py::double FAILED" in run.stdout
    assert "more/double: failed (0/2 points)" in run.stdout
    assert "--tutor-seed 7" in run.stdout
    # The pack's order: views (lesson 1) before more (lesson 2).
    assert run.stdout.index("first-row.py::first-row") < run.stdout.index("double.py::double")

    suite = ET.parse(junit).getroot()
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == {"first-row", "double"}
    assert cases["first-row"].find("failure") is None
    failure = cases["double"].find("failure")
    assert failure is not None and "result" in (failure.get("message") or "")
    props = {p.get("name"): p.get("value") for p in cases["double"].iter("property")}
    assert props["task"] == "more/double" and props["status"] == "failed" and props["seed"] == "7"
    assert float(props["max_score"]) == 2 and float(props["score"]) == 0
