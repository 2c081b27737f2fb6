"""``pytest --tutor``: grade a tutor workspace as a pytest run.

In a workspace, ``pytest --tutor`` collects one test item per exercise file
(``exercises/<lesson>/<task>.py``), in the pack's order, and grades each with
the same engine as ``tutor check`` (one ``Grader`` for the session, closed
when it ends). A task that does not pass fails with the verdict's messages,
so any IDE or CI that runs pytest shows tutor's results, and ``--junitxml``
writes them as ``tutor grade --format junit`` does: a wrong answer fails, code
that raised, would not load, timed out, crashed or was refused is an error
(graded in ``setup``), and each task's status and points are suite properties
(``<task>.score``), written by the same functions (``tutor.reports.junit``).

Options: ``--tutor-device cpu|cuda``, ``--tutor-seed N`` (replay the hidden
cases), ``--tutor-pack DIR`` (default: the workspace's pack), ``--tutor-lang``.

pytest loads registered plugins on every run, so importing this module
costs nothing: no torch, no pydantic, nothing from tutor until ``--tutor`` is
given. Registered through the ``pytest11`` entry point; without it, use
``pytest -p tutor.pytest_plugin --tutor``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

_STATE = "_tutor_state"


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("tutor", "tutor: grade a tutor workspace's exercises")
    group.addoption("--tutor", action="store_true", default=False,
                    help="collect and grade the exercise files of the tutor workspace(s) given")
    group.addoption("--tutor-device", default="cpu", choices=("cpu", "cuda"),
                    help="where learner code runs and is compared (default: cpu)")
    group.addoption("--tutor-seed", type=int, default=None,
                    help="seed of the hidden random cases (replay a verdict)")
    group.addoption("--tutor-pack", default=None,
                    help="a pack folder or lesson file (default: the workspace's pack)")
    group.addoption("--tutor-lang", default=None, choices=("en", "zh"),
                    help="language of the messages (default: TUTOR_LANG, else the locale)")


def _enabled(config: Any) -> bool:
    try:
        return bool(config.getoption("tutor"))
    except ValueError:
        return False


class _State:
    """What a session shares: the packs and workspaces seen, and one grader."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self.grader: Any = None
        self.packs: dict[Path, Any] = {}
        self.lang: str | None = None

    def language(self) -> str:
        if self.lang is None:
            from tutor.i18n import resolve_lang

            self.lang = resolve_lang(self.config.getoption("tutor_lang"))
        return self.lang

    def pack_for(self, workspace: Any) -> Any:
        from tutor.pack.loader import builtin_course, load_pack

        explicit = self.config.getoption("tutor_pack")
        if explicit:
            path = Path(explicit)
            if not path.is_absolute():
                path = Path(self.config.invocation_params.dir) / path
        else:
            record = workspace.pack_record()
            path = record.pack_path(workspace.root) or builtin_course()
        path = path.resolve()
        if path not in self.packs:
            self.packs[path] = load_pack(path)
        return self.packs[path]

    def get_grader(self) -> Any:
        if self.grader is None:
            from tutor.grading.engine import Grader

            self.grader = Grader(device=self.config.getoption("tutor_device"), jobs=1, lang=self.language())
        return self.grader

    def close(self) -> None:
        if self.grader is not None:
            grader, self.grader = self.grader, None
            grader.close()


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "tutor: a tutor exercise, graded by pytest --tutor")
    if _enabled(config):
        setattr(config, _STATE, _State(config))


def pytest_unconfigure(config: Any) -> None:
    state = getattr(config, _STATE, None)
    if state is not None:
        state.close()


def pytest_sessionfinish(session: Any, exitstatus: Any) -> None:
    state = getattr(session.config, _STATE, None)
    if state is not None:
        state.close()


def pytest_collect_file(file_path: Path, parent: Any) -> Any:
    config = parent.config
    if file_path.suffix != ".py" or not _enabled(config):
        return None
    # exercises/<lesson>/<task>.py, directly under a workspace root.
    exercises = file_path.parent.parent
    if exercises.name != "exercises":
        return None
    from tutor.workspace import is_workspace

    if not is_workspace(exercises.parent):
        return None
    return ExerciseFile.from_parent(parent, path=file_path)


def pytest_collection_modifyitems(session: Any, config: Any, items: list[Any]) -> None:
    """Exercises in the pack's order (lesson by lesson), other tests where they were."""
    if not _enabled(config):
        return
    positions = [i for i, item in enumerate(items) if isinstance(item, ExerciseItem)]
    if not positions:
        import warnings

        warnings.warn(pytest.PytestWarning(
            "--tutor: no exercise files of a tutor workspace (exercises/<lesson>/<task>.py) under the paths given"
        ), stacklevel=1)
        return
    exercises = sorted((items[i] for i in positions), key=lambda item: item.order)
    for i, item in zip(positions, exercises):
        items[i] = item


class TutorError(Exception):
    """A task that did not pass; its text is the verdict's messages."""


class ExerciseFile(pytest.File):
    def collect(self) -> Any:
        from tutor.errors import UserError
        from tutor.workspace import Workspace

        state: _State = getattr(self.config, _STATE)
        workspace = Workspace(self.path.parent.parent.parent)
        task_id = f"{self.path.parent.name}/{self.path.stem}"
        try:
            pack = state.pack_for(workspace)
        except UserError as exc:
            raise self.CollectError(f"tutor: {exc}") from None
        found = pack.find(task_id)
        if found is None:
            return  # not an exercise of this pack: nothing to collect
        ids = pack.task_ids()
        yield ExerciseItem.from_parent(
            self, name=self.path.stem, task_id=task_id, workspace=workspace, pack=pack,
            order=(str(workspace.root), ids.index(task_id)),
        )

    def repr_failure(self, excinfo: Any, style: Any = None) -> Any:
        if isinstance(excinfo.value, self.CollectError):
            return str(excinfo.value.args[0])
        return super().repr_failure(excinfo)


class ExerciseItem(pytest.Item):
    def __init__(self, *, task_id: str, workspace: Any, pack: Any, order: tuple[str, int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.task_id = task_id
        self.workspace = workspace
        self.pack = pack
        self.order = order
        self.verdict: Any = None
        self.add_marker(pytest.mark.tutor)

    def setup(self) -> None:
        """Grade here: a task whose code did not run to the end is an error of
        the test (pytest's ``E``, JUnit's ``<error>``), as in ``tutor grade --format junit``."""
        from tutor.errors import UserError
        from tutor.reports.junit import outcome, task_properties

        state: _State = getattr(self.config, _STATE)
        _, task = self.pack.find(self.task_id)
        device = self.config.getoption("tutor_device")
        if device not in task.devices:
            pytest.skip(f"{self.task_id} does not run on {device}")
        try:
            verdict = state.get_grader().grade(
                self.pack, self.task_id, self.path, seed=self.config.getoption("tutor_seed")
            )
        except UserError as exc:
            raise TutorError(f"tutor could not grade {self.task_id}:\n{exc}") from None
        self.verdict = verdict
        _suite_properties(self.config, task_properties(verdict))
        if verdict.stdout:
            print(verdict.stdout, end="" if verdict.stdout.endswith("\n") else "\n")
        result = outcome(verdict)
        if result is not None and result[0] == "error":
            raise TutorError(_failure(verdict, self.nodeid))

    def runtest(self) -> None:
        if self.verdict is not None and not self.verdict.passed:
            raise TutorError(_failure(self.verdict, self.nodeid))

    def repr_failure(self, excinfo: Any, style: Any = None) -> Any:
        if isinstance(excinfo.value, TutorError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, 0, f"tutor: {self.task_id}"


def _suite_properties(config: Any, props: list[tuple[str, str]]) -> None:
    """Add ``props`` to the ``--junitxml`` suite (the schema allows no properties on a testcase)."""
    from _pytest.junitxml import xml_key

    xml = config.stash.get(xml_key, None)
    if xml is None:
        return
    known = {name for name, _ in xml.global_properties}
    for name, value in props:
        if name not in known:
            xml.add_global_property(name, value)


def _failure(verdict: Any, nodeid: str) -> str:
    from tutor.reports.common import failure_text, fmt_points, task_max, task_points

    head = f"{verdict.task}: {verdict.status.value} ({fmt_points(task_points(verdict))}/{fmt_points(task_max(verdict))} points)"
    replay = (
        f"replay: pytest --tutor --tutor-seed {verdict.seed} '{nodeid}'"
        f"  (or: tutor check {verdict.task} --seed {verdict.seed})"
    )
    return "\n".join([head, failure_text(verdict), replay])
