"""Pack files to validated lesson models, or every problem found, located.

A pack is a folder with ``pack.yaml`` and one YAML file per lesson; a single
lesson file is a pack of one lesson. Loading never imports torch and never
runs the pack's code: it checks what can be checked by reading. Running the
references against their checks is ``tutor lesson validate``'s job.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from pydantic import ValidationError

from tutor import pycode
from tutor.errors import Location, PackError, Problem
from tutor.pack import helpers, prediction, yamlnodes
from tutor.pack.builtin import builtin_course  # noqa: F401 - where callers look for it
from tutor.pack.models import Lesson, PackMeta, Task

PACK_FILE = "pack.yaml"
# A student pack (``tutor lesson export --student``) holds the references' results on
# the fixed cases instead of the references; this file marks one (tutor.grading.public).
STUDENT_INDEX = Path("public") / "index.json"


@dataclass(frozen=True)
class Pack:
    meta: PackMeta
    lessons: list[Lesson]
    root: Path
    hash: str
    # Where each task's nodes are, for errors found after loading.
    task_marks: dict[str, tuple[yamlnodes.Marks, tuple[Any, ...]]] = field(default_factory=dict)
    # Each lesson's helper code (the pack's preamble, then the lesson's), by lesson id.
    preambles: dict[str, str] = field(default_factory=dict)
    # Problems that do not stop a learner, for the author (``tutor lesson validate`` prints them).
    warnings: list[Problem] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.meta.id

    @property
    def version(self) -> str:
        return self.meta.version

    @property
    def student(self) -> bool:
        """A student pack: stub references, and stored public results for the fixed cases."""
        return (self.root / STUDENT_INDEX).is_file() and self.root.is_dir()

    @property
    def checks_dir(self) -> Path:
        return self.root / "checks"

    def tasks(self) -> Iterator[tuple[Lesson, Task]]:
        for lesson in self.lessons:
            for task in lesson.tasks:
                yield lesson, task

    def task_ids(self) -> list[str]:
        return [f"{lesson.id}/{task.id}" for lesson, task in self.tasks()]

    def find(self, full_id: str) -> tuple[Lesson, Task] | None:
        for lesson, task in self.tasks():
            if f"{lesson.id}/{task.id}" == full_id:
                return lesson, task
        return None

    def lesson(self, lesson_id: str) -> Lesson | None:
        return next((lesson for lesson in self.lessons if lesson.id == lesson_id), None)

    def locate(self, full_id: str, *field_path: Any) -> Location:
        """Where in the YAML a task (or one of its fields) is written."""
        marks, base = self.task_marks[full_id]
        return marks.at(base + tuple(field_path))

    def locate_check(self, full_id: str, index: int) -> Location:
        """Where a task's check is written: in the task, else (merged from the lesson) at ``default_checks``."""
        marks, base = self.task_marks[full_id]
        path = base + ("checks", index)
        if path not in marks.values and ("default_checks",) in marks.values:
            return marks.at(("default_checks",))
        return marks.at(path)

    def preamble(self, full_id: str) -> str:
        """The helper code a task's learner code and reference are run after ('' for none)."""
        return self.preambles.get(full_id.split("/", 1)[0], "")


def load_pack(path: Path) -> Pack:
    """Load and validate a pack folder or a single lesson file; raise PackError with all problems."""
    path = Path(path)
    if not path.exists():
        raise PackError([Problem(Location(path), "no such pack folder or lesson file")])
    problems: list[Problem] = []
    hasher = hashlib.sha256()
    if path.is_dir():
        root = path
        meta_file = root / PACK_FILE
        if not meta_file.is_file():
            raise PackError([Problem(Location(meta_file), "a pack folder needs a pack.yaml")])
        meta_data, meta_marks = _read(meta_file, problems, hasher)
        meta = _validate(PackMeta, meta_data, meta_marks, problems)
        if meta is not None and meta.lessons is not None:
            files = []
            for i, name in enumerate(meta.lessons):
                file = root / name
                if not file.is_file():
                    problems.append(Problem(meta_marks.at(("lessons", i)), f"lesson file {name} not found"))
                else:
                    files.append(file)
        else:
            files = sorted(
                p for p in root.glob("*.yaml") if p.name != PACK_FILE and not p.name.startswith(".")
            ) + sorted(root.glob("*.yml"))
    else:
        root = path.parent
        meta = None
        files = [path]

    lessons: list[Lesson] = []
    task_marks: dict[str, tuple[yamlnodes.Marks, tuple[Any, ...]]] = {}
    lesson_marks: dict[str, tuple[yamlnodes.Marks, tuple[Any, ...]]] = {}
    preambles: dict[str, str] = {}
    warnings: list[Problem] = []
    if meta is not None and meta.preamble:
        problems.extend(_preamble_problems(meta.preamble, meta_marks, ("preamble",)))
    for file in files:
        data, marks = _read(file, problems, hasher)
        if data is None:
            continue
        problems.extend(_code_problems(data, marks))
        if isinstance(data.get("preamble"), str):
            problems.extend(_preamble_problems(data["preamble"], marks, ("preamble",)))
        lesson = _validate(Lesson, data, marks, problems)
        if lesson is None:
            continue
        if lesson.id in lesson_marks:
            problems.append(Problem(marks.at(("id",)), f"lesson id {lesson.id!r} is used twice in the pack"))
            continue
        lesson_marks[lesson.id] = (marks, ())
        preambles[lesson.id] = helpers.join(meta.preamble if meta else "", lesson.preamble)
        for i, task in enumerate(lesson.tasks):
            task_marks[f"{lesson.id}/{task.id}"] = (marks, ("tasks", i))
            problems.extend(_custom_check_problems(task, marks, ("tasks", i), root))
            warnings.extend(_template_warnings(task, marks, ("tasks", i)))
            if preambles[lesson.id] and task.predict is None:
                lesson.tasks[i] = task.model_copy(update={"starter": helpers.with_helpers(preambles[lesson.id], task.starter)})
        lessons.append(lesson)

    known = {lesson.id for lesson in lessons}
    for lesson in lessons:
        marks, _ = lesson_marks[lesson.id]
        for i, required in enumerate(lesson.requires):
            if required not in known:
                problems.append(Problem(marks.at(("requires", i)), f"requires unknown lesson {required!r}"))
    for checks_file in sorted((root / "checks").glob("*.py")) if path.is_dir() else []:
        hasher.update(checks_file.name.encode() + b"\0" + checks_file.read_bytes())

    if not problems and not lessons:
        problems.append(Problem(Location(path), "the pack has no lessons"))
    if problems:
        raise PackError(sorted(dict.fromkeys(problems), key=_position))
    if meta is None:
        only = lessons[0]
        meta = PackMeta(format=1, id=only.id, title=only.title, version="0")
    return Pack(meta=meta, lessons=lessons, root=root, hash=hasher.hexdigest()[:16], task_marks=task_marks,
                preambles=preambles, warnings=warnings)


def _read(file: Path, problems: list[Problem], hasher: Any) -> tuple[Any, yamlnodes.Marks]:
    try:
        raw = file.read_bytes()
    except OSError as exc:
        problems.append(Problem(Location(file), f"cannot read: {exc.strerror}"))
        return None, yamlnodes.Marks(file)
    hasher.update(file.name.encode() + b"\0" + raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem(Location(file), f"not UTF-8 text (byte {exc.start})"))
        return None, yamlnodes.Marks(file)
    data, marks, found = yamlnodes.load(text, file)
    problems.extend(found)
    if data is not None and not isinstance(data, dict):
        problems.append(Problem(Location(file, 1, 1), "the file must be a YAML mapping"))
        return None, marks
    if data is None and not found:
        problems.append(Problem(Location(file), "the file is empty"))
    return data, marks


def _validate(model: Any, data: Any, marks: yamlnodes.Marks, problems: list[Problem]) -> Any:
    if data is None:
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        seen: set[tuple[Location, str]] = set()
        for error in exc.errors():
            where, message = _explain(error, data, marks)
            if (where, message) not in seen:
                seen.add((where, message))
                problems.append(Problem(where, message))
        return None


def _explain(error: Any, data: Any, marks: yamlnodes.Marks) -> tuple[Location, str]:
    """Turn one pydantic error into a located, readable message.

    pydantic's ``loc`` mixes data keys with validator names (``function-after``,
    union tags); only the components that index the data lead to a YAML node.
    """
    kind = error["type"]
    parts = list(error["loc"])
    if kind == "located":  # a model validator pointing at one of its children (models.located)
        parts += (error.get("ctx") or {}).get("at", [])
    path: list[Any] = []
    node = data
    for part in parts:
        if isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            path.append(part)
            node = node[part]
    if kind == "located":
        return marks.at(tuple(path)), error["msg"]
    last = error["loc"][-1] if error["loc"] else None
    if kind == "missing":
        return marks.at(tuple(path)), f"missing required field `{last}`"
    if kind == "extra_forbidden":
        return marks.at(tuple(path), key=True), f"unknown field `{last}`"
    message = re.sub(r"^(Value error|Assertion failed), ", "", error["msg"])
    if kind == "literal_error":
        message = f"{message}, not {error.get('input')!r}"
    return marks.at(tuple(path)), message


def _code_problems(data: Any, marks: yamlnodes.Marks) -> list[Problem]:
    """Starters and solutions must parse and define the entry; cases must fit its parameters.

    Read from the raw data, so these are reported even when the lesson has
    schema errors elsewhere: every problem at once.
    """
    problems: list[Problem] = []
    tasks = data.get("tasks") if isinstance(data, dict) else None
    seen: set[Any] = set()
    for i, task in enumerate(tasks if isinstance(tasks, list) else []):
        if isinstance(task, dict):
            problems.extend(_task_code_problems(task, marks, ("tasks", i)))
            task_id = task.get("id")
            if isinstance(task_id, str) and task_id in seen:  # the model says so too, once the rest is valid
                problems.append(Problem(marks.at(("tasks", i, "id")), f"task id {task_id!r} appears twice in the lesson"))
            seen.add(task_id)
    return problems


def _task_code_problems(task: dict[str, Any], marks: yamlnodes.Marks, base: tuple[Any, ...]) -> list[Problem]:
    if "predict" in task:  # its files are predictions, not code with an entry
        return prediction.task_problems(task, marks, base)
    problems: list[Problem] = []
    entry = task.get("entry", "solve")
    signature: tuple[list[str], set[str]] | None = None
    for name in ("starter", "solution"):
        code = task.get(name)
        if not isinstance(code, str):
            continue
        tree = pycode.parse(code)
        if isinstance(tree, pycode.SyntaxProblem):
            where = marks.code_line(base + (name,), tree.line, tree.column)
            problems.append(Problem(where, f"the {name} has a syntax error: {tree.message}"))
            continue
        func = pycode.find_function(tree, str(entry))
        if func is None:
            problems.append(Problem(marks.at(base + (name,)), f"the {name} does not define `{entry}`"))
        elif name == "solution":
            signature = pycode.parameters(func)
    if signature is None:
        return problems
    names, required = signature
    argsets = [
        (("cases", i), {k for k in case if k != "dims"})
        for i, case in enumerate(task.get("cases") or [])
        if isinstance(case, dict)
    ]
    if isinstance(task.get("random_args"), dict):
        argsets.append((("random_args",), set(task["random_args"])))
    for path, args in argsets:
        unknown = args - set(names)
        missing = required - args
        if unknown:
            problems.append(
                Problem(marks.at(base + path), f"`{entry}` has no parameter {', '.join(sorted(map(str, unknown)))}")
            )
        if missing:
            problems.append(Problem(marks.at(base + path), f"no value for parameter {', '.join(sorted(missing))}"))
    for i, check in enumerate(task.get("checks") or []):
        if isinstance(check, dict) and len(check) == 1:
            ((kind, options),) = check.items()
            if kind in ("input_grads", "backward") and isinstance(options, list):
                for name in options:
                    if name not in names:
                        problems.append(
                            Problem(marks.at(base + ("checks", i)), f"{kind}: `{entry}` has no parameter {name}")
                        )
    return problems


def _preamble_problems(code: str, marks: yamlnodes.Marks, path: tuple[Any, ...]) -> list[Problem]:
    tree = pycode.parse(code)
    if isinstance(tree, pycode.SyntaxProblem):
        return [Problem(marks.code_line(path, tree.line, tree.column), f"the preamble has a syntax error: {tree.message}")]
    return []


def _template_warnings(task: Task, marks: yamlnodes.Marks, base: tuple[Any, ...]) -> list[Problem]:
    """Fixed cases whose pins carry over into the hidden cases drawn from them (see ``Task.hidden_templates``)."""
    if not task.random_cases:
        return []
    warnings = []
    for template in task.hidden_templates():
        if template.pinned:
            case = task.cases[template.source[1]]
            pins = ", ".join(f"{k}={v}" for k, v in template.pinned.items())
            numbers = ", ".join(case.plain_numbers())
            warnings.append(Problem(
                marks.at(base + template.source + ("dims",)),
                f"hidden cases drawn from this case keep its pinned dims ({pins}), since it has arguments written as"
                f" plain numbers ({numbers}); write them as {{dim: ...}} (e.g. `i: {{dim: n}}`) to let hidden cases"
                " redraw the dims, or give `random_args`",
            ))
    return warnings


def _custom_check_problems(task: Task, marks: yamlnodes.Marks, base: tuple[Any, ...], root: Path) -> list[Problem]:
    problems = []
    for i, check in enumerate(task.checks):
        if check.kind == "custom":
            module = check.options.check.split(":")[0]
            file = root.joinpath(*module.split(".")).with_suffix(".py")
            if not file.is_file():
                problems.append(Problem(marks.at(base + ("checks", i)), f"custom check module {file.name} not found in checks/"))
    return problems




def _position(problem: Problem) -> tuple[str, int, int]:
    where = problem.where
    return (str(where.file), where.line, where.column) if where else ("", 0, 0)
