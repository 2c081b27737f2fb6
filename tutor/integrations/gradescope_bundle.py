"""``tutor export gradescope OUT.zip``: a Gradescope autograder bundle.

The zip holds:

- ``setup.sh``: run once when Gradescope builds the autograder image. Installs
  Python, CPU torch 2.13.0 and tutor into a virtual environment,
  ``/autograder/tutor-venv``: tutor from ``wheels/``, the wheel of the
  running tutor built at export (``tutor.integrations.wheel``), so the image
  needs no index that knows tutor;
- ``run_autograder``: run for each submission. It makes a fresh workspace
  from the bundled pack, copies the submitted exercise files into it (see
  ``prepare``), grades it with ``tutor grade --format gradescope`` into
  ``/autograder/results/results.json``, and checks that file. Whatever goes
  wrong, it leaves a valid ``results.json`` behind (score 0 and a failing
  test that tells the student grading failed and why; the details in the
  autograder output that only instructors see);
- ``pack/``: the full pack (solutions and ``checks/`` included). Gradescope
  keeps the autograder's files out of students' reach; the learner's code
  runs in tutor's sandbox.

``AUTOGRADER_ROOT`` (default ``/autograder``) moves the whole tree, so the
bundle can be dry-run locally::

    mkdir -p /tmp/ag/source /tmp/ag/submission
    unzip autograder.zip -d /tmp/ag/source
    AUTOGRADER_ROOT=/tmp/ag bash /tmp/ag/source/setup.sh
    cp -r my-workspace/exercises /tmp/ag/submission/
    AUTOGRADER_ROOT=/tmp/ag bash /tmp/ag/source/run_autograder
    cat /tmp/ag/results/results.json

(``TUTOR_VENV`` names another environment with tutor installed.)

``python -m tutor.integrations.gradescope_bundle prepare|finish`` are the
helpers ``run_autograder`` calls.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from tutor.integrations import wheel

TORCH = "torch==2.13.0"
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
WHEELS = "wheels"
MAX_FILE = 1 << 20  # a submitted exercise file larger than this is ignored
_SKIP_DIRS = {".git", ".tutor", "__pycache__", "__MACOSX", ".ipynb_checkpoints", "node_modules"}
_EPOCH = (2020, 1, 1, 0, 0, 0)  # fixed zip timestamps: the same pack gives the same bundle

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
# It installs CPU torch and tutor {version} into a virtual environment, tutor
# from the wheel inside this bundle (tutor is on no public index), its other
# requirements from PyPI. TUTOR_TORCH_INDEX names where torch comes from
# (empty: pip's own index).
set -euxo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
SOURCE="${{AUTOGRADER_SOURCE:-$ROOT/source}}"
VENV="${{TUTOR_VENV:-$ROOT/tutor-venv}}"
TORCH_INDEX="${{TUTOR_TORCH_INDEX-{torch_index}}}"
if ! python3 -c "import venv, ensurepip" 2>/dev/null && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends python3 python3-pip python3-venv
fi
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --upgrade pip
if [ -n "$TORCH_INDEX" ]; then
  "$VENV/bin/python" -m pip install {torch} --index-url "$TORCH_INDEX"
else
  "$VENV/bin/python" -m pip install {torch}
fi
"$VENV/bin/python" -m pip install "$SOURCE/{wheel}"
"$VENV/bin/tutor" doctor || true
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission (as /autograder/run_autograder).
# It grades /autograder/submission with the bundled pack into
# /autograder/results/results.json, and always leaves a valid results.json.
# AUTOGRADER_ROOT moves /autograder (for a local dry run); TUTOR_VENV names the
# Python environment tutor is installed in (default: the one setup.sh made).
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
SOURCE="${{AUTOGRADER_SOURCE:-$ROOT/source}}"
VENV="${{TUTOR_VENV:-$ROOT/tutor-venv}}"
PACK="$SOURCE/{pack}"
SUBMISSION="$ROOT/submission"
RESULTS="$ROOT/results"
RESULT_FILE="$RESULTS/results.json"

mkdir -p "$RESULTS"
rm -f "$RESULT_FILE"
if [ -x "$VENV/bin/python" ]; then PY="$VENV/bin/python"; else PY="$(command -v python3 || echo python3)"; fi
WORK="$(mktemp -d "${{TMPDIR:-/tmp}}/tutor-autograder.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"  # no folder named tutor/ in the working directory may shadow the installed one

echo "== tutor: preparing a workspace from $SUBMISSION"
"$PY" -m tutor.integrations.gradescope_bundle prepare \\
  --pack "$PACK" --submission "$SUBMISSION" --workspace "$WORK/workspace" --notes "$WORK/notes.json" \
  2> "$WORK/errors.txt"
prepared=$?
cat "$WORK/errors.txt" >&2

code=2
if [ "$prepared" -eq 0 ]; then
  echo "== tutor: grading"
  # With --format gradescope, tutor grade exits 0 once results.json is written,
  # also when it could not grade (the file then says so, and why).
  "$PY" -m tutor grade "$WORK/workspace" --pack "$PACK" --format gradescope --output "$RESULT_FILE" {grade_options}
  code=$?
  echo "== tutor grade exited $code"
fi

# Keep results.json if it is valid; otherwise replace it with one that says grading failed.
if ! "$PY" -m tutor.integrations.gradescope_bundle finish "$RESULT_FILE" --notes "$WORK/notes.json" \
    --exit-code "$code" --errors "$WORK/errors.txt"; then
  printf '%s\\n' '{{"score": 0, "output": "The autograder could not grade this submission: it could not start. Your instructor can see why in the autograder output.", "output_format": "text", "stdout_visibility": "hidden", "tests": [{{"name": "The autograder could not grade this submission", "status": "failed", "output": "The autograder could not start.", "output_format": "text"}}]}}' > "$RESULT_FILE"
fi
exit 0
"""


# ---------------------------------------------------------------- building the bundle


def build(pack: Path | None, out: Path) -> Path:
    """Write the autograder zip for ``pack`` (default: the built-in course) to ``out``; returns ``out``."""
    from tutor import __version__
    from tutor.errors import UserError
    from tutor.pack.loader import PACK_FILE, builtin_course, load_pack

    source = Path(pack) if pack is not None else builtin_course()
    loaded = load_pack(source)  # a broken pack is refused here, every problem located
    out = Path(out)
    if out.is_dir():
        raise UserError(f"{out} is a folder; name the zip to write, e.g. {out / 'autograder.zip'}")
    if not out.parent.is_dir():
        raise UserError(f"{out}: the folder {out.parent} does not exist")

    files: dict[str, bytes] = {}
    if source.is_dir():
        root = source
        names = [PACK_FILE] + _lesson_names(source, loaded)
        for name in names:
            files[f"pack/{name}"] = (root / name).read_bytes()
        checks = root / "checks"
        if checks.is_dir():
            for file in sorted(checks.rglob("*.py")):
                if "__pycache__" not in file.parts and file.is_file():
                    files[f"pack/{file.relative_to(root).as_posix()}"] = file.read_bytes()
        pack_rel = "pack"
    else:
        files[f"pack/{source.name}"] = source.read_bytes()
        pack_rel = f"pack/{source.name}"

    # The running tutor as a wheel: setup.sh installs it from the bundle itself.
    with tempfile.TemporaryDirectory(prefix="tutor-wheel-") as scratch:
        built = wheel.build(Path(scratch))
        wheel_rel = f"{WHEELS}/{built.name}"
        files[wheel_rel] = built.read_bytes()
    scripts = {
        "setup.sh": SETUP_SH.format(version=__version__, torch=TORCH, torch_index=TORCH_INDEX, wheel=wheel_rel),
        "run_autograder": RUN_AUTOGRADER.format(pack=pack_rel, grade_options="--device cpu"),
    }
    tmp = tempfile.NamedTemporaryFile(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp", delete=False)
    try:
        with tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, text in scripts.items():
                _add(zf, name, text.encode("utf-8"), 0o755)
            for name, data in files.items():
                _add(zf, name, data, 0o644)
        os.replace(tmp.name, out)
    except BaseException:
        Path(tmp.name).unlink(missing_ok=True)
        raise
    return out


def _lesson_names(source: Path, pack: Any) -> list[str]:
    from tutor.errors import UserError
    from tutor.pack.loader import PACK_FILE

    if pack.meta.lessons is not None:
        names = list(pack.meta.lessons)
    else:
        names = sorted(
            p.name for p in source.glob("*.yaml") if p.name != PACK_FILE and not p.name.startswith(".")
        ) + sorted(p.name for p in source.glob("*.yml"))
    for name in names:
        try:
            (source / name).resolve().relative_to(source.resolve())
        except ValueError:
            raise UserError(f"{source / name}: a lesson file outside the pack folder cannot be bundled") from None
    return names


def _add(zf: zipfile.ZipFile, name: str, data: bytes, mode: int) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o100000 | mode) << 16
    info.create_system = 3  # Unix, so the mode bits are read
    zf.writestr(info, data)


# ---------------------------------------------------------------- run_autograder's helpers


def prepare(pack_path: Path, submission: Path, workspace: Path, notes: Path | None = None) -> dict[str, str]:
    """Make ``workspace`` from the pack and copy the submitted exercise files into it.

    A submission holds ``exercises/<lesson>/<task>.py`` (a workspace, zipped or
    pushed, at any depth), or ``<lesson>/<task>.py``, or bare ``<task>.py``
    files (Gradescope's file upload flattens folders) when the task's name is
    unique in the pack. Links, and files over 1 MiB, are ignored. A task with
    no file is graded as its starter (it fails). Returns task id -> the
    submitted file used, relative to the submission.
    """
    from tutor.pack.loader import load_pack
    from tutor.workspace import Workspace, atomic_write

    pack = load_pack(pack_path)
    found = _submitted_files(submission)
    names: dict[str, int] = {}
    for _, task in pack.tasks():
        names[task.id] = names.get(task.id, 0) + 1
    ws = Workspace.create(workspace, pack, str(pack_path))
    used: dict[str, str] = {}
    missing: list[str] = []
    for lesson, task in pack.tasks():
        task_id = f"{lesson.id}/{task.id}"
        rel = _match(found, lesson.id, task.id, unique_name=names[task.id] == 1)
        if rel is None:
            missing.append(task_id)
            print(f"  {task_id}: not in the submission (its starter is graded)")
            continue
        data = (submission / rel).read_bytes()
        atomic_write(ws.exercise_path(task_id), data)
        used[task_id] = rel
        print(f"  {task_id} <- {rel}")
    if notes is not None:
        notes.write_text(json.dumps({"used": used, "missing": missing}), encoding="utf-8")
    return used


def _submitted_files(submission: Path) -> list[str]:
    """Every regular ``.py`` file under the submission, relative, shallowest first."""
    out: list[str] = []
    if not submission.is_dir():
        return out
    for folder, dirs, files in os.walk(submission, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not os.path.islink(os.path.join(folder, d)))
        for name in sorted(files):
            path = Path(folder, name)
            if not name.endswith(".py") or path.is_symlink() or not path.is_file():
                continue
            if path.stat().st_size > MAX_FILE:
                continue
            out.append(path.relative_to(submission).as_posix())
    return sorted(out, key=lambda p: (p.count("/"), p))


def _match(found: list[str], lesson: str, task: str, *, unique_name: bool) -> str | None:
    file = f"{task}.py"
    for suffix in (("exercises", lesson, file), (lesson, file)):
        for rel in found:
            parts = tuple(rel.split("/"))
            if parts[-len(suffix):] == suffix:
                return rel
    if unique_name:
        bare = [rel for rel in found if rel.split("/")[-1] == file]
        if len(bare) == 1:
            return bare[0]
    return None


def valid_results(data: Any) -> str | None:
    """Why ``data`` is not a results.json Gradescope accepts, or None when it is."""
    if not isinstance(data, dict):
        return "not a JSON object"
    tests = data.get("tests")
    score = data.get("score")
    if tests is None and not _number(score):
        return "neither `score` nor `tests`"
    if score is not None and not _number(score):
        return "`score` is not a number"
    if tests is not None:
        if not isinstance(tests, list):
            return "`tests` is not a list"
        for i, test in enumerate(tests):
            if not isinstance(test, dict):
                return f"test {i} is not an object"
            for key in ("score", "max_score"):
                if key in test and not _number(test[key]):
                    return f"test {i}: `{key}` is not a number"
            if score is None and "score" not in test:
                return f"test {i} has no `score` and there is no total"
            if "status" in test and test["status"] not in ("passed", "failed"):
                return f"test {i}: `status` is {test['status']!r}"
    return None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def finish(results_file: Path, notes: Path | None = None, exit_code: int = 0, errors: Path | None = None) -> bool:
    """Check ``results.json``; add what was missing from the submission to its ``output``.

    When it is missing or invalid, write one that says grading failed (score 0)
    and return False only if even that could not be written.
    """
    data: Any = None
    why = None
    try:
        data = json.loads(results_file.read_text(encoding="utf-8"))
        why = valid_results(data)
    except FileNotFoundError:
        why = _last_line(errors) or f"no results.json (tutor grade exited {exit_code})"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        why = f"results.json is not JSON: {exc}"
    missing: list[str] = []
    if notes is not None:
        try:
            missing = list(json.loads(notes.read_text(encoding="utf-8")).get("missing", []))
        except (OSError, ValueError, AttributeError):
            missing = []
    if why is not None:
        print(f"== tutor: grading failed: {why}", file=sys.stderr)
        from tutor.reports.gradescope import not_gradable

        data = not_gradable(why)
        data["extra_data"]["exit_code"] = exit_code
    if missing:
        note = (
            "Not found in your submission (graded as the starter): "
            + ", ".join(f"exercises/{t}.py" for t in missing)
            + ". Upload your workspace's exercises folder, or files named <task>.py."
        )
        data["output"] = (note + "\n\n" + str(data.get("output") or "")).strip()
    try:
        tmp = results_file.with_name(f".{results_file.name}.tmp")
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, results_file)
    except OSError as exc:
        print(f"== tutor: cannot write {results_file}: {exc}", file=sys.stderr)
        return False
    return True


def _last_line(path: Path | None) -> str:
    """The last line a failed step wrote on its standard error: its one-line reason."""
    if path is None:
        return ""
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    except OSError:
        return ""
    return next((line for line in reversed(lines) if line), "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tutor.integrations.gradescope_bundle")
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare", help="make a workspace from a Gradescope submission")
    prep.add_argument("--pack", type=Path, required=True)
    prep.add_argument("--submission", type=Path, required=True)
    prep.add_argument("--workspace", type=Path, required=True)
    prep.add_argument("--notes", type=Path, default=None)
    fin = sub.add_parser("finish", help="check results.json; replace it when grading failed")
    fin.add_argument("results", type=Path)
    fin.add_argument("--notes", type=Path, default=None)
    fin.add_argument("--exit-code", type=int, default=0)
    fin.add_argument("--errors", type=Path, default=None, help="standard error of the step that failed")
    args = parser.parse_args(argv)
    if args.command == "prepare":
        from tutor.errors import UserError

        try:
            prepare(args.pack, args.submission, args.workspace, args.notes)
        except UserError as exc:
            for problem in exc.problems:
                print(f"tutor: {problem}", file=sys.stderr)
            return 2
        return 0
    return 0 if finish(args.results, args.notes, args.exit_code, args.errors) else 1


if __name__ == "__main__":
    sys.exit(main())
