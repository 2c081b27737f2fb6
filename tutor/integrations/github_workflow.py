"""``tutor init --ci github``: a GitHub Actions workflow that grades a student workspace on push.

The workflow (``.github/workflows/tutor.yml``) checks the repository out
without keeping the token (``persist-credentials: false``: the learner's code
runs in the job and must not find a credential in ``.git/config``), installs
CPU torch and tutor (from ``TUTOR_INSTALL``: by default the wheel of the
running tutor, which ``write`` puts in ``.tutor/wheels/``, so a template
repository made by ``tutor init --ci github`` installs with no index that
knows tutor), grades once with ``tutor grade . --format json``, and
from that one report:

- prints GitHub Classroom's two notices (``Points X/Y`` and the
  ``{"totalPoints", "maxPoints"}`` report) as workflow commands;
- appends the Markdown table to ``$GITHUB_STEP_SUMMARY``;
- writes the Classroom runner result (base64 of compact JSON) to
  ``$GITHUB_OUTPUT`` as ``result``, for ``classroom-resources/autograding-grading-reporter``;
- keeps the JSON report as an artifact, for ``tutor replay``.

All three come from ``tutor.reports.github`` over the same verdicts, so they
agree on every point. The step's exit code is ``tutor grade``'s: 0 when every
task passed, 1 when not, 2 when grading could not run.

Which pack grades: the workflow's ``TUTOR_PACK`` (empty: the pack the
workspace records, e.g. the built-in course), optionally checked out from a
private repository (``TUTOR_PACK_REPO`` with a ``TUTOR_PACK_TOKEN`` secret).
See docs/ci.md for what a student can and cannot see.

``python -m tutor.integrations.github_workflow report RESULT.json`` is the
helper the workflow runs after grading.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from tutor.integrations import wheel

WORKFLOW = Path(".github") / "workflows" / "tutor.yml"
WHEELS = Path(".tutor") / "wheels"
RESULTS_FILE = "tutor-results.json"
STDERR_FILE = "tutor-stderr.txt"
TORCH = "torch==2.13.0"
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
PACK_CHECKOUT = ".tutor-pack"

_TEMPLATE = """\
# Grades this tutor workspace on every push, the way GitHub Classroom reads points.
# Written by `tutor init --ci github` (tutor {tutor_version}); see docs/ci.md.
#
# Learners: push your work; the "Autograding Tests" check shows your points, and the
# run's summary page shows a table of every task. Grade locally with `tutor grade .`.
name: Autograding Tests

"on":
  push:
  repository_dispatch:
  workflow_dispatch:

permissions:
  contents: read
  checks: write
  actions: read

env:
  # The pack that grades. Empty: the one this workspace was made from (.tutor/workspace.json).
{pack_comment}  TUTOR_PACK: "{tutor_pack}"
  # Optional: a private repository (owner/name) holding the pack, checked out into
  # {pack_checkout}/ with the TUTOR_PACK_TOKEN secret (a read-only token). Set TUTOR_PACK to
  # {pack_checkout} (or a folder in it) to grade with it.
  TUTOR_PACK_REPO: ""
  # What pip installs tutor from (tutor is on no public index). Default: the wheel
  # `tutor init --ci github` wrote beside this workspace. Pin another source here:
  # a wheel committed to this repository, your copy of tutor's repository
  # ("git+https://github.com/OWNER/REPO@TAG"), or a requirement your own index serves.
  TUTOR_INSTALL: "{tutor_install}"

jobs:
  run-autograding-tests:
    name: Autograding Tests
    runs-on: ubuntu-latest
    # GitHub Classroom's own commits (the starter code) are not graded.
    if: github.actor != 'github-classroom[bot]'
    timeout-minutes: 30
    steps:
      - name: Check out the workspace
        uses: actions/checkout@v4
        with:
          # Learner code runs in this job: leave no token in .git/config.
          persist-credentials: false

      - name: Check out the grading pack
        if: env.TUTOR_PACK_REPO != ''
        uses: actions/checkout@v4
        with:
          repository: ${{{{ env.TUTOR_PACK_REPO }}}}
          token: ${{{{ secrets.TUTOR_PACK_TOKEN }}}}
          path: {pack_checkout}
          persist-credentials: false

      - name: Set up Python
        uses: actions/setup-python@v5
        with:
          python-version: "3.11"

      - name: Install CPU torch and tutor
        shell: bash
        run: |
          python -m pip install --upgrade pip
          python -m pip install {torch} --index-url {torch_index}
          python -m pip install "${{TUTOR_INSTALL}}"

      - name: Grade
        id: tutor
        shell: bash
        run: |
          rm -f {results} {stderr}   # only this run's report counts
          args=(grade . --format json --output {results})
          if [ -n "${{TUTOR_PACK}}" ]; then args+=(--pack "${{TUTOR_PACK}}"); fi
          code=0
          tutor "${{args[@]}}" 2> {stderr} || code=$?
          cat {stderr} >&2
          # Notices (Points X/Y) on stdout, the table in the job summary, the
          # Classroom runner result in $GITHUB_OUTPUT as `result`.
          python -m tutor.integrations.github_workflow report {results} --exit-code "$code" --stderr {stderr}
          exit "$code"

      - name: Keep the graded report (for `tutor replay`)
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: tutor-results
          path: {results}
          if-no-files-found: ignore
"""

_OUTSIDE_COMMENT = """\
  # This workspace was made from a pack outside it ({source}), which is not in the
  # repository: set TUTOR_PACK_REPO (and the TUTOR_PACK_TOKEN secret) to fetch it.
"""


def render(pack_source: str, root: Path | None = None, install: str = "") -> str:
    """The workflow's text for a workspace whose pack is ``pack_source`` ("builtin" or a path),
    installing tutor from ``install`` (default: the wheel ``write`` puts in the workspace)."""
    from tutor import __version__

    tutor_pack, comment = _pack_setting(pack_source, root)
    if not install:
        install = f"{WHEELS.as_posix()}/{wheel.wheel_name(wheel.installed())}"
    return _TEMPLATE.format(
        tutor_install=_quote(install),
        tutor_version=__version__,
        tutor_pack=tutor_pack,
        pack_comment=comment,
        pack_checkout=PACK_CHECKOUT,
        torch=TORCH,
        torch_index=TORCH_INDEX,
        results=RESULTS_FILE,
        stderr=STDERR_FILE,
    )


def _pack_setting(pack_source: str, root: Path | None) -> tuple[str, str]:
    if not pack_source or pack_source == "builtin":
        return "", ""
    path = Path(pack_source).expanduser()
    if root is not None:
        base = Path(root).resolve()
        full = (path if path.is_absolute() else base / path).resolve()
        try:
            rel = full.relative_to(base).as_posix()
        except ValueError:
            pass
        else:
            return _quote(rel or "."), ""
    return PACK_CHECKOUT, _OUTSIDE_COMMENT.format(source=_quote(str(pack_source)))


def _quote(text: str) -> str:
    """Text safe inside a double-quoted YAML scalar and a comment."""
    return text.replace("\\", "/").replace('"', "").replace("\n", " ")


def write(root: Path, pack_source: str) -> Path:
    """Write ``.github/workflows/tutor.yml`` into the workspace at ``root``; returns its path.

    An existing workflow with other content is kept (it may have been edited):
    that is a UserError naming it.
    """
    from tutor.errors import UserError
    from tutor.workspace.atomic import atomic_write

    root = Path(root)
    path = root / WORKFLOW
    text = render(pack_source, root)
    wheel.build(root / WHEELS)  # what the workflow installs tutor from
    if path.exists():
        try:
            same = path.read_text(encoding="utf-8") == text
        except (OSError, UnicodeDecodeError):
            same = False
        if same:
            return path
        raise UserError(f"{path} already exists and differs; remove it to write a new one")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text)
    return path


# ---------------------------------------------------------------- the helper the workflow runs


def report(results_file: Path, *, exit_code: int = 0, stderr_file: Path | None = None,
           summary: Path | None = None, output: Path | None = None) -> int:
    """Print the notices, append the summary and the ``result`` output; returns the number of workspaces read."""
    from tutor.reports import github

    summary = summary if summary is not None else _env_path("GITHUB_STEP_SUMMARY")
    output = output if output is not None else _env_path("GITHUB_OUTPUT")
    results = _read(results_file)
    if not results:
        why = _tail(stderr_file) or f"tutor grade exited {exit_code} without a report"
        print(f"::error title=Autograding failed::{github._escape_data(why)}")
        result = github.grading_failed(why, _pack_points())
        print(github.notices_for(result))
        _append(summary, f"### Autograding failed\n\n```\n{why}\n```\n")
        _append(output, f"result={github.encode_result(result)}\n")
        return 0
    ws = results[0]
    print(github.notices(ws))
    _append(summary, "\n".join(github.summary_markdown(w) for w in results))
    _append(output, f"result={github.classroom_result_b64(ws)}\n")
    return len(results)


def _pack_points() -> float:
    """What the work is worth, from the pack that should have graded it (0 when even that fails)."""
    from tutor.errors import UserError
    from tutor.pack.loader import builtin_course, load_pack
    from tutor.workspace import Workspace

    try:
        setting = os.environ.get("TUTOR_PACK", "")
        if setting:
            path = Path(setting)
        else:
            ws = Workspace.find(Path.cwd())
            path = (ws.pack_record().pack_path(ws.root) if ws else None) or builtin_course()
        return float(sum(task.points for _, task in load_pack(path).tasks()))
    except (UserError, OSError, ValueError):
        return 0.0


def _read(path: Path) -> list:
    from tutor.reports.json import parse

    try:
        return parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []


def _tail(path: Path | None, lines: int = 20) -> str:
    if path is None:
        return ""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def _append(path: Path | None, text: str) -> None:
    if path is None:
        return
    with open(path, "a", encoding="utf-8") as out:
        out.write(text if text.endswith("\n") else text + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tutor.integrations.github_workflow")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="notices, job summary and Classroom result from a JSON report")
    rep.add_argument("results", type=Path)
    rep.add_argument("--exit-code", type=int, default=0, help="tutor grade's exit code")
    rep.add_argument("--stderr", type=Path, default=None, help="tutor grade's standard error, kept for failures")
    args = parser.parse_args(argv)
    report(args.results, exit_code=args.exit_code, stderr_file=args.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
