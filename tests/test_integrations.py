"""Ready-made integrations, each tested by running what it writes, here, and
checked against what its consumer publishes (the schemas in tests/data/):

- the GitHub Actions workflow of `tutor init --ci github`: its grading step's
  script runs with bash against a workspace, with GITHUB_STEP_SUMMARY and
  GITHUB_OUTPUT pointing at temp files;
- the Gradescope bundle of `tutor export gradescope`: `setup.sh` builds a fresh
  environment from the bundle alone and `run_autograder` grades a fake
  `/autograder` tree (AUTOGRADER_ROOT), as Gradescope runs them;
- `pytest --tutor` in a workspace, with --junitxml, against junit-10.xsd;
- the exit-status contract of every format, plain folders, and the sharded
  class recipes of docs/ci.md, through the real CLI.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

from typing import Any

import pytest
import yaml

from tutor.errors import UserError
from tutor.integrations import github_workflow, gradescope_bundle
from tutor.pack.loader import load_pack
from tutor.reports import github as github_report
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
      - id: triple
        title: {en: Triple, zh: 三倍}
        starter: |
          def solve(x):
              raise NotImplementedError
        solution: |
          def solve(x):
              return x * 3
        cases:
          - {x: {shape: [3]}}
        checks: [result]
    """
)
RIGHT = "def solve(x):\n    return x[0]\n"  # views/first-row
WRONG = "def solve(x):\n    return x * 3\n"  # more/double
BROKEN = "def solve(x)\n    return x * 3\n"  # more/triple: a syntax error
DATA = REPO / "tests" / "data"


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/packs/mini plus a lesson of a 2-point and a 1-point task: 4 points in three tasks."""
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
    ws.exercise_path("more/triple").write_text(BROKEN, encoding="utf-8")
    return ws


def _schema(name: str) -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(json.loads((DATA / name).read_text(encoding="utf-8")))


def _errors(schema: str, data: Any) -> list[str]:
    return [e.message for e in _schema(schema).iter_errors(data)]


def _junit_errors(path: Path) -> list[str]:
    import xmlschema

    return [str(e.reason) for e in xmlschema.XMLSchema10(DATA / "junit-10.xsd").iter_errors(str(path))]


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
    ws.exercise_path("more/triple").write_text(BROKEN, encoding="utf-8")

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
    assert 'pip install "${TUTOR_INSTALL}"' in install and "torch-tutor" not in install
    # By default tutor installs from the wheel `tutor init` wrote into the repository.
    wheel_file = root / data["env"]["TUTOR_INSTALL"]
    assert wheel_file.name == "pytorch_terminal_tutor-0.1.0-py3-none-any.whl" and wheel_file.is_file()
    with zipfile.ZipFile(wheel_file) as zf:
        names = set(zf.namelist())
    assert {"tutor/cli.py", "tutor/checks/result.py", "tutor/lessons/pack.yaml",
            "pytorch_terminal_tutor-0.1.0.dist-info/entry_points.txt"} <= names
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
    assert run.returncode == 1, run.stdout + run.stderr  # a task failed: github keeps 0/1/2

    notices = [line for line in run.stdout.splitlines() if line.startswith("::notice")]
    assert notices == [
        "::notice title=Autograding complete::Points 1/4",
        '::notice title=Autograding report::{"totalPoints":1,"maxPoints":4}',
    ]
    text = summary.read_text(encoding="utf-8")
    assert "**Points 1/4**" in text and "views/first-row" in text and "more/double" in text
    assert "::notice" not in text
    (line,) = [ln for ln in output.read_text(encoding="utf-8").splitlines() if ln.startswith("result=")]
    result = json.loads(base64.b64decode(line[len("result="):]))
    assert result["version"] == 1 and result["status"] == "fail" and result["max_score"] == 4
    assert _errors("classroom-runner-result.schema.json", result) == []
    assert {t["name"]: (t["status"], t["score"]) for t in result["tests"]} == {
        "views/first-row": ("pass", 1),
        "more/double": ("fail", 0),
        "more/triple": ("error", 0),
    }
    # The notices are the reporter's for this very result.
    assert "\n".join(notices) == github_report.notices_for(result)
    report = json.loads((root / github_workflow.RESULTS_FILE).read_text(encoding="utf-8"))
    assert report[0]["score"] == 1


def test_github_workflow_pack_settings_and_failures(tmp_path, pack, capsys, monkeypatch):
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

    # No report (grading could not run): one failing test that says why, and 0 points recorded.
    summary, output = tmp_path / "s.md", tmp_path / "o.txt"
    stderr = tmp_path / "err.txt"
    stderr.write_text("tutor: broken pack\n", encoding="utf-8")
    monkeypatch.setenv("TUTOR_PACK", str(pack))
    github_workflow.report(tmp_path / "missing.json", exit_code=2, stderr_file=stderr, summary=summary, output=output)
    printed = capsys.readouterr().out
    assert "::error" in printed
    assert "::notice title=Autograding complete::Points 0/4" in printed.splitlines()
    encoded = output.read_text(encoding="utf-8").strip().split("=", 1)[1]
    failed = json.loads(base64.b64decode(encoded))
    assert _errors("classroom-runner-result.schema.json", failed) == []
    (test,) = failed["tests"]
    assert failed["status"] == test["status"] == "error" and "broken pack" in test["message"]
    assert failed["max_score"] == 4  # the pack's total
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


def _lend_torch(venv: Path) -> None:
    """Put torch and what it requires into ``venv`` as hard links to this environment's copy.

    The dry run below is otherwise a fresh environment: tutor comes from the
    bundle's wheel and its other requirements from the registry. Only torch
    (about 1 GB installed, the same file on every machine here) is lent, so
    the test does not copy it; pip then finds it "already satisfied", as on
    an image that has it. Hard links, not symbolic ones: the sandbox's
    file-system layer allows the venv's own folders only.
    """
    import re
    from importlib import metadata

    site = Path(subprocess.run([venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    todo, seen = ["torch"], set()
    while todo:
        name = todo.pop()
        if name.lower() in seen:
            continue
        seen.add(name.lower())
        dist = metadata.distribution(name)
        todo += [re.split(r"[ <>=!;\[~(]", r)[0] for r in dist.requires or [] if "extra ==" not in r]
        for file in dist.files or []:
            if file.parts[0] == "..":
                continue  # scripts outside site-packages
            target = site / file
            if target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(file.locate(), target)
            except OSError:
                shutil.copy2(file.locate(), target)


@pytest.mark.slow
def test_gradescope_bundle_dry_run_installs_from_itself(tmp_path, pack):
    bundle = tmp_path / "autograder.zip"
    made = subprocess.run([TUTOR, "export", "gradescope", bundle, "--pack", pack], env=_env(),
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        assert {"setup.sh", "run_autograder", "pack/pack.yaml", "pack/01-views.yaml", "pack/02-more.yaml",
                "wheels/pytorch_terminal_tutor-0.1.0-py3-none-any.whl"} <= names
        for script in ("setup.sh", "run_autograder"):
            assert (zf.getinfo(script).external_attr >> 16) & stat.S_IXUSR
        setup = zf.read("setup.sh").decode()
        assert "torch==2.13.0" in setup and "https://download.pytorch.org/whl/cpu" in setup
        assert "torch-tutor" not in setup and "wheels/pytorch_terminal_tutor-0.1.0-py3-none-any.whl" in setup
        assert "solution:" in zf.read("pack/02-more.yaml").decode()  # the full pack
    root = _autograder_tree(tmp_path, bundle)
    assert load_pack(root / "source" / "pack").hash == load_pack(pack).hash

    # setup.sh as Gradescope runs it, with no tutor anywhere on PATH and a fresh venv.
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if Path(p) != BIN)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    base.update(PATH=path, AUTOGRADER_ROOT=str(root), TUTOR_LANG="en", PIP_DISABLE_PIP_VERSION_CHECK="1")
    venv = root / "tutor-venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True, timeout=120)
    _lend_torch(venv)
    # torch from the registry pip is configured with (it is already there, lent).
    # Gradescope's working directory is /autograder (here: not the repository, whose tutor/ would shadow the wheel).
    setup_run = subprocess.run(["bash", root / "source" / "setup.sh"], env={**base, "TUTOR_TORCH_INDEX": ""}, cwd=root,
                               capture_output=True, text=True, timeout=900)
    assert setup_run.returncode == 0, setup_run.stdout[-3000:] + setup_run.stderr[-3000:]
    show = subprocess.run([venv / "bin" / "python", "-m", "pip", "show", "-f", "pytorch-terminal-tutor"],
                          capture_output=True, text=True, timeout=60)
    assert "Location: " + str(venv) in show.stdout and "tutor/cli.py" in show.stdout  # installed, not editable
    assert not (venv / "bin" / "tutor").is_symlink() and (venv / "bin" / "tutor").exists()

    # A submission as Gradescope stores it: a zipped workspace folder, and a bare file upload.
    exercises = root / "submission" / "my-work" / "exercises" / "views"
    exercises.mkdir(parents=True)
    (exercises / "first-row.py").write_text(RIGHT, encoding="utf-8")
    (root / "submission" / "double.py").write_text(WRONG, encoding="utf-8")
    (root / "submission" / "triple.py").write_text("def solve(x):\n    print('\\x1b[2J\\x00 <b>hi</b>')\n    return x\n",
                                                   encoding="utf-8")

    run = subprocess.run(["bash", root / "run_autograder"], env=base, cwd=root, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "views/first-row <- my-work/exercises/views/first-row.py" in run.stdout
    assert "more/double <- double.py" in run.stdout

    results = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    assert _errors("gradescope-results.schema.json", results) == []
    assert gradescope_bundle.valid_results(results) is None
    assert results["score"] == 1 and results["output_format"] == "text"
    tests = {t["name"]: t for t in results["tests"]}
    assert set(tests) == {"views/first-row", "more/double", "more/triple"}
    assert (tests["views/first-row"]["status"], tests["views/first-row"]["score"], tests["views/first-row"]["max_score"]) == ("passed", 1, 1)
    assert (tests["more/double"]["status"], tests["more/double"]["score"], tests["more/double"]["max_score"]) == ("failed", 0, 2)
    printed = tests["more/triple"]["output"]
    assert "\x1b" not in printed and "\x00" not in printed and "\\x1b[2J\\x00 <b>hi</b>" in printed
    assert sum(t["score"] for t in results["tests"]) == results["score"]
    for test in results["tests"]:
        assert test["output_format"] == "text" and "seed" in test["extra_data"]
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
    assert gradescope_bundle.valid_results(data) is None and _errors("gradescope-results.schema.json", data) == []
    # The student sees that grading failed, and why.
    (failed,) = data["tests"]
    assert data["score"] == 0 and failed["status"] == "failed" and "could not grade" in failed["name"]
    assert "02-more.yaml" in failed["output"] and "could not grade" in data["output"]
    assert "02-more.yaml" in run.stdout + run.stderr  # and the instructor

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
    assert _errors("gradescope-results.schema.json", data) == [] and data["tests"][0]["status"] == "failed"


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
    assert "1 failed, 1 passed, 1 error" in run.stdout
    assert "exercises/views/first-row.py::first-row PASSED" in run.stdout
    assert "exercises/more/double.py::double FAILED" in run.stdout
    assert "exercises/more/triple.py::triple ERROR" in run.stdout
    assert "more/double: failed (0/2 points)" in run.stdout
    assert "--tutor-seed 7" in run.stdout
    # The pack's order: views (lesson 1) before more (lesson 2).
    assert run.stdout.index("first-row.py::first-row") < run.stdout.index("double.py::double")

    # Valid against junit-10.xsd, and the same mapping as `tutor grade --format junit`.
    assert _junit_errors(junit) == []
    grade = subprocess.run([TUTOR, "grade", ws.root, "--format", "junit", "--seed", "7", "-o", tmp_path / "grade.xml"],
                           env=_env(), capture_output=True, text=True, timeout=300)
    assert grade.returncode == 1, grade.stderr
    assert _junit_errors(tmp_path / "grade.xml") == []
    for report in (junit, tmp_path / "grade.xml"):
        root = ET.parse(report).getroot()
        suite = root if root.tag == "testsuite" else root.find("testsuite")
        assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1"), report
        cases = {case.get("name"): case for case in suite.iter("testcase")}
        assert cases["first-row"].find("failure") is None and cases["first-row"].find("error") is None
        assert cases["double"].find("failure") is not None and cases["double"].find("error") is None
        error = cases["triple"].find("error")
        assert error is not None and "SyntaxError" in (error.text or "") and cases["triple"].find("failure") is None
        props = {p.get("name"): p.get("value") for p in suite.iter("property")}
        assert props["more/double.status"] == "failed" and props["more/triple.status"] == "error"
        assert (props["more/double.score"], props["more/double.max_score"], props["views/first-row.score"]) == ("0", "2", "1")
        assert props["more/double.seed"] == "7"


# ---------------------------------------------------------------- exit codes, per format


def _grade(*args: Any, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TUTOR, "grade", *map(str, args)], cwd=cwd, env=_env(), capture_output=True, text=True,
                          timeout=300)


SCHEMAS = {"gradescope": "gradescope-results.schema.json", "prairielearn": "prairielearn-results.schema.json",
           "exercism": "exercism-results.schema.json"}


def test_each_format_keeps_its_consumers_exit_status_contract(tmp_path, pack):
    ws = _workspace(tmp_path / "learner", pack)  # one pass, one wrong answer, one syntax error
    broken = tmp_path / "broken-pack"
    shutil.copytree(pack, broken)
    (broken / "02-more.yaml").write_text("format: 1\nid: more\ntasks: oops\n", encoding="utf-8")

    # The consumer owns the verdict: exit 0 once a valid file is written, also when a task fails...
    for fmt, schema in SCHEMAS.items():
        out = tmp_path / f"{fmt}.json"
        run = _grade(ws.root, "--format", fmt, "-o", out, "--seed", "3")
        assert run.returncode == 0, (fmt, run.stderr)
        assert _errors(schema, json.loads(out.read_text(encoding="utf-8"))) == [], fmt
        # ...and when nothing could be graded: the file says why (and stderr too).
        for args in (["--pack", broken], ["--pack", pack, tmp_path / "learner", tmp_path]):
            out.unlink()
            run = _grade(ws.root, *args, "--format", fmt, "-o", out)
            assert run.returncode == 0, (fmt, args, run.stderr)
            data = json.loads(out.read_text(encoding="utf-8"))
            assert _errors(schema, data) == [], (fmt, data)
            reason = run.stderr.strip().splitlines()[-1].removeprefix("tutor: ")
            assert reason and reason in json.dumps(data, ensure_ascii=False), (fmt, reason)
    assert json.loads((tmp_path / "prairielearn.json").read_text())["gradable"] is False
    assert json.loads((tmp_path / "exercism.json").read_text())["status"] == "error"

    # The others keep 0/1/2 (json and github: see the plain-folder and workflow tests).
    for fmt in ("junit", "csv"):
        assert _grade(ws.root, "--format", fmt, "--seed", "3").returncode == 1, fmt
    for fmt in ("json", "junit", "csv", "github", "text"):
        bad = _grade(ws.root, "--format", fmt, "--pack", broken)
        assert bad.returncode == 2 and bad.stdout == "" and "02-more.yaml" in bad.stderr, fmt
        assert "Traceback" not in bad.stderr


# ---------------------------------------------------------------- plain folders


def test_plain_folder_grades_like_a_workspace_made_by_init(tmp_path, pack):
    made = _workspace(tmp_path / "made", pack)
    plain = tmp_path / "upload" / "zoë"
    for task in ("views/first-row", "more/double", "more/triple"):
        target = plain / "exercises" / f"{task}.py"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(made.exercise_path(task), target)
    assert not (plain / ".tutor").exists()

    refused = _grade(plain, "--format", "json")
    assert refused.returncode == 2 and "--pack" in refused.stderr and "Traceback" not in refused.stderr

    both = _grade(made.root, plain, "--pack", pack, "--format", "json", "--seed", "11")
    assert both.returncode == 1, both.stderr
    assert "warning" not in both.stderr.lower().replace("file-system sandbox layer", "")
    made_result, plain_result = sorted(json.loads(both.stdout), key=lambda r: r["workspace"] != str(made.root))

    def verdicts(result: dict) -> list[dict]:
        out = []
        for v in result["tasks"]:
            v = {k: val for k, val in v.items() if k not in ("duration_ms", "error")}
            out.append(v)
        return out

    assert verdicts(plain_result) == verdicts(made_result)
    assert [t["status"] for t in plain_result["tasks"]] == ["passed", "failed", "error"]
    # The error differs only in the folder it names.
    errors = [t["error"].replace(str(plain), "ROOT") for t in plain_result["tasks"] if t["error"]]
    assert errors == [t["error"].replace(str(made.root), "ROOT") for t in made_result["tasks"] if t["error"]]

    # The CSV names the student by the folder (or --id-from), with a BOM for spreadsheets.
    book = tmp_path / "book.csv"
    run = _grade(plain, "--pack", pack, "--format", "csv", "--bom", "-o", book, "--seed", "11")
    assert run.returncode == 1, run.stderr
    raw = book.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfstudent,views/first-row,more/double,more/triple,total,max\n")
    assert raw.decode("utf-8-sig").splitlines()[1] == "zoë,1,0,0,1,4"
    upload = _grade(plain, "--pack", pack, "--format", "csv", "--id-from", "parent", "--seed", "11")
    assert upload.stdout.splitlines()[1].startswith("upload,")
    assert _grade(plain, "--pack", pack, "--format", "junit", "--bom").returncode == 2


# ---------------------------------------------------------------- a class in shards (docs/ci.md)


def _doc_blocks(lang: str) -> list[str]:
    text = (REPO / "docs" / "ci.md").read_text(encoding="utf-8")
    return [m.group(1) for m in re.finditer(rf"^```{lang}\n(.*?)^```", text, re.S | re.M)]


def _shard_script(script: str) -> str:
    """A recipe's script without its `# setup` lines (installs, cd into the volume)."""
    return "\n".join(line for line in script.splitlines() if not re.search(r"#\s*setup\b", line)) + "\n"


def test_sharded_class_recipes_merge_to_one_unsharded_run(tmp_path, pack):
    job = next(yaml.safe_load(b) for b in _doc_blocks("yaml") if "completionMode: Indexed" in b)
    pod = job["spec"]["template"]["spec"]["containers"][0]
    k8s = _shard_script(pod["args"][0])
    k8s_env = {e["name"]: e["value"] for e in pod["env"]}
    slurm = _shard_script(next(b for b in _doc_blocks("bash") if "#SBATCH --array" in b))
    assert job["spec"]["completions"] == int(k8s_env["SHARDS"]) == int(re.search(r"#SBATCH --array=1-(\d+)", slurm).group(1))
    assert "tutor grade" in k8s and "--shard" in k8s and "tutor grade" in slurm and "--shard" in slurm
    shards = 2  # the arrays below run with N = 2, so the test grades each student once per recipe

    class_dir = tmp_path / "class"
    for i, name in enumerate(["ana", "ben", "chen", "dora", "eli"]):
        files = {"views/first-row": RIGHT if i % 2 else WRONG, "more/double": WRONG, "more/triple": BROKEN if i == 3 else RIGHT}
        for task, code in files.items():
            target = class_dir / "submissions" / name / "exercises" / f"{task}.py"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(code, encoding="utf-8")
    shutil.copytree(pack, class_dir / "pack")
    (class_dir / "parts").mkdir()

    whole = class_dir / "whole.json"
    one_run = _grade(*sorted((class_dir / "submissions").iterdir()), "--pack", class_dir / "pack", "--format", "json",
                     "--seed", "5", "-o", whole)
    assert one_run.returncode == 1, one_run.stderr

    def merge(fmt: str, *reports: Path) -> str:
        done = subprocess.run([TUTOR, "merge", *reports, "--format", fmt], env=_env(), capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def timeless(report: str) -> list:
        data = json.loads(report)
        for ws in data:
            for v in ws["tasks"]:
                v.pop("duration_ms")
        return data

    gradebook = merge("csv", whole)
    assert len(gradebook.splitlines()) == 6  # a header and five students
    for script, var, indices, extra in [
        (k8s, "JOB_COMPLETION_INDEX", range(shards), {"SHARDS": str(shards)}),
        (slurm, "SLURM_ARRAY_TASK_ID", range(1, shards + 1), {"SLURM_ARRAY_TASK_COUNT": str(shards), "SLURM_CPUS_PER_TASK": "1"}),
    ]:
        for old in (class_dir / "parts").glob("*"):
            old.unlink()
        for index in indices:
            done = subprocess.run(["bash", "-c", script], cwd=class_dir, env=_env(**extra, **{var: str(index)}, SEED="5"),
                                  capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, (var, index, done.stdout, done.stderr)
        parts = sorted((class_dir / "parts").glob("part-*.json"))
        assert len(parts) == shards, var
        assert merge("csv", *parts) == gradebook, var
        assert timeless(merge("json", *parts)) == timeless(whole.read_text(encoding="utf-8")), var


# ---------------------------------------------------------------- the wheel of the running tutor


def test_wheel_ships_every_package_pyproject_names_and_hides_from_the_sandbox(tmp_path):
    import tomllib

    from tutor import DISTRIBUTION
    from tutor.integrations import wheel
    from tutor.jail import layers

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["name"] == DISTRIBUTION
    built = wheel.build(tmp_path)
    assert wheel.build(tmp_path / "again").read_bytes() == built.read_bytes()  # the same files, the same bytes
    with zipfile.ZipFile(built) as zf:
        names = zf.namelist()
        meta = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        record = zf.read(next(n for n in names if n.endswith(".dist-info/RECORD"))).decode()
    packages = {n.rsplit("/", 1)[0].replace("/", ".") for n in names if n.endswith("/__init__.py")}
    assert packages == set(project["tool"]["setuptools"]["packages"])
    assert f"Name: {DISTRIBUTION}" in meta and "Requires-Dist: torch>=2.10" in meta
    assert all(n in record for n in names)
    # The sandbox hides the installed distribution under its new name too.
    site = tmp_path / "lib" / "site-packages"
    info = wheel.wheel_name(wheel.installed()).rsplit("-", 3)[0]
    for d in ("numpy", f"{info}.dist-info"):
        (site / d).mkdir(parents=True)
    for f in (f"__editable__.{info}-0.1.0.pth", f"__editable___{info}_0_1_0_finder.py"):
        (site / f).write_text("")
    allowed = layers.default_read_only([site])
    assert site / "numpy" in allowed and not [p for p in allowed if "tutor" in p.name]
