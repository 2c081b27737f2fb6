"""``tutor lesson export --student OUT``: the pack without its answers, for handing out.

What the student pack holds:

- ``pack.yaml`` as it is (same id and version, so a workspace made from the
  student pack is graded by the full pack without an id or version warning;
  the content hash differs, and ``tutor grade`` says so);
- every lesson file, rewritten in place with each task's ``solution``
  replaced by a stub: the entry's signature (parameter names only, no
  annotations, defaults ``None``) whose body raises ``NotImplementedError``.
  Everything else in the file (comments, layout, texts in every language)
  is kept byte for byte;
- for each ``{custom: checks.module:function}`` check, a ``checks/module.py``
  whose functions are stubs too. The pack's own ``checks/`` folder is left
  out: custom checks are trusted code and may hold the answers.

- ``public/``: each reference's results on its task's fixed cases (values,
  inputs after the call, gradients, storage sharing) as data, no code
  (``tutor.grading.public``). ``tutor check`` with the student pack grades
  the fixed cases against them and says the hidden cases are graded by the
  course.

Why a stub and not no ``solution`` at all: the lesson format requires the
field, and every learner command (``tutor start --pack``, ``list``, ``show``,
``hint``) loads the pack through the same models. With the stub the student
pack loads everywhere and makes workspaces; final grading is done with the
instructor's full pack (``tutor grade WS --pack FULL``; it refuses a student pack).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import yaml

from tutor.errors import UserError
from tutor.pack import prediction
from tutor.pack.loader import PACK_FILE, Pack, builtin_course, load_pack

# The parser the pack loader uses (tutor.pack.yamlnodes): libyaml where PyYAML has it.
# It accepts a little more than PyYAML's pure-Python parser (a `?` inside a plain
# scalar of a flow mapping), so a pack that loads also rewrites.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

STUB_MESSAGE = "this is a student pack: it has no reference solutions; your instructor grades with the full pack"

_CHECKS_HEADER = '''"""Stubs of the pack's custom checks: the student pack leaves the pack's checks/ out."""
'''
_CHECK_STUB = '''

def {name}(ctx, options):
    raise NotImplementedError({message!r})
'''


def export_student(pack: Path | None, out: Path) -> Path:
    """Write the student version of ``pack`` (default: the built-in course) to ``out``; returns ``out``."""
    source = Path(pack) if pack is not None else builtin_course()
    loaded = load_pack(source)  # a broken pack is refused here, with every problem located
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"{out} is not an empty folder; the student pack needs a new or empty one")
    if source.is_dir() and (_inside(out, loaded.root) or _inside(loaded.root, out)):
        raise UserError(f"{out}: write the student pack outside the pack folder {loaded.root}")

    files = _lesson_files(source, loaded)
    outputs: dict[Path, str] = {}
    if source.is_dir():
        outputs[out / PACK_FILE] = (source / PACK_FILE).read_text(encoding="utf-8")
    custom: dict[str, set[str]] = {}
    for file in files:
        text = file.read_text(encoding="utf-8")
        new_text, _ = strip_solutions(text, file)
        rel = file.relative_to(loaded.root)
        outputs[out / rel] = new_text
    for _, task in loaded.tasks():
        for check in task.checks:
            if check.kind == "custom":
                module, _, func = check.options.check.partition(":")
                custom.setdefault(module, set()).add(func)
    for module, funcs in sorted(custom.items()):
        parts = module.split(".")
        path = out.joinpath(*parts).with_suffix(".py")
        outputs[path] = _CHECKS_HEADER + "".join(_CHECK_STUB.format(name=f, message=STUB_MESSAGE) for f in sorted(funcs))

    out.mkdir(parents=True, exist_ok=True)
    for path, text in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
    _write_public(loaded, out)
    return out


def _write_public(pack: Pack, out: Path) -> None:
    """The references' results on every fixed case, as data (``tutor.grading.public``), for local checks."""
    from tutor.grading import public
    from tutor.grading.inputs import CaseError
    from tutor.grading.reference import TORCH_STATE, Reference
    from tutor.errors import PackError, Problem

    ids = []
    with TORCH_STATE:
        for lesson, task in pack.tasks():
            task_id = f"{lesson.id}/{task.id}"
            if task.predict is not None:
                continue  # nothing to publish: the grader runs the snippet itself
            try:
                cases = public.fixed_cases(task_id, task, "cpu")
            except CaseError as exc:
                raise PackError([Problem(pack.locate(task_id, *exc.path), str(exc))]) from None
            reference = Reference(task_id, task.solution, task.entry, pack.locate(task_id, "solution"),
                                  preamble=pack.preamble(task_id))
            backward = list(task.check("backward").options) if task.check("backward") else []
            runs, upstreams = reference.run_cases(cases, backward, "cpu", measure=bool(task.check("efficiency")))
            public.write(task_id, task, cases, runs, upstreams, out)
            ids.append(task_id)
    public.write_index(out, ids)


# ---------------------------------------------------------------- lesson files


def _lesson_files(source: Path, pack: Pack) -> list[Path]:
    """The lesson files the loader read, in its order."""
    if not source.is_dir():
        return [source]
    if pack.meta.lessons is not None:
        files = [source / name for name in pack.meta.lessons]
    else:
        files = sorted(
            p for p in source.glob("*.yaml") if p.name != PACK_FILE and not p.name.startswith(".")
        ) + sorted(source.glob("*.yml"))
    for file in files:
        if not _inside(file.resolve(), source.resolve()):
            raise UserError(f"{file}: a lesson file outside the pack folder cannot be exported")
    return files


def strip_solutions(text: str, file: Path | str = "<lesson>") -> tuple[str, list[str]]:
    """``text`` with each task's solution replaced by a stub; also returns the solutions removed.

    The file is edited where the solutions are (so comments and layout stay);
    when it is written in a way that cannot be edited line by line (a task in
    flow style, say), it is dumped again from its data instead. Either way the
    result is read back and must equal the original with only the solutions
    changed.
    """
    try:
        data = yaml.load(text, Loader=_LOADER)
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise UserError(f"{file}: not valid YAML: {exc}") from None
    expected = _replaced(data)
    removed = _solutions(data)
    edits = []
    spliceable = True
    for task_node in _task_nodes(root):
        for key, value in task_node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "solution" and isinstance(value, yaml.ScalarNode):
                stub = _stub(_task_data(data, task_node, root))
                edit = _splice(text, key, value, stub)
                if edit is None:
                    spliceable = False
                else:
                    edits.append(edit)
    new_text = text
    if spliceable:
        for start, end, replacement in sorted(edits, reverse=True):
            new_text = new_text[:start] + replacement + new_text[end:]
    if not spliceable or _load(new_text) != expected:
        new_text = _dump(expected)
        if _load(new_text) != expected:  # pragma: no cover - safe_dump round-trips plain data
            raise UserError(f"{file}: could not rewrite the lesson without its solutions")
    return new_text, removed


def _load(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError:
        return None


def _tasks(data: Any) -> list[Any]:
    tasks = data.get("tasks") if isinstance(data, dict) else None
    return tasks if isinstance(tasks, list) else []


def _solutions(data: Any) -> list[str]:
    return [t["solution"] for t in _tasks(data) if isinstance(t, dict) and isinstance(t.get("solution"), str)]


def _replaced(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    out = dict(data)
    tasks = []
    for task in _tasks(data):
        if isinstance(task, dict) and "solution" in task:
            task = dict(task)
            task["solution"] = _stub(task)
        tasks.append(task)
    if "tasks" in data:
        out["tasks"] = tasks
    return out


def _task_nodes(root: Any) -> list[Any]:
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "tasks" and isinstance(value, yaml.SequenceNode):
            return [n for n in value.value if isinstance(n, yaml.MappingNode)]
    return []


def _task_data(data: Any, task_node: Any, root: Any) -> dict[str, Any]:
    index = _task_nodes(root).index(task_node)
    dict_tasks = [t for t in _tasks(data) if isinstance(t, dict)]
    return dict_tasks[index] if index < len(dict_tasks) else {}


def _splice(text: str, key: Any, value: Any, stub: str) -> tuple[int, int, str] | None:
    """The edit replacing ``solution: ...`` by the stub, or None when not on lines of its own."""
    line_start = text.rfind("\n", 0, key.start_mark.index) + 1
    prefix = text[line_start : key.start_mark.index]
    if not re.fullmatch(r"[ ]*(-[ ]+)*", prefix):
        return None
    end = value.end_mark.index
    if value.style in ("|", ">"):
        # A block scalar ends at the start of the line after it (or at the end of the file).
        if value.end_mark.column != 0 and end != len(text):
            return None
    else:
        newline = text.find("\n", end)
        line_end = len(text) if newline < 0 else newline + 1
        rest = text[end:line_end].strip()
        if rest and not rest.startswith("#"):
            return None
        end = line_end
    removed = text[line_start:end]
    trailing_blank = len(removed) - len(removed.rstrip("\n")) - 1 if removed.endswith("\n") else 0
    indent = " " * (key.start_mark.column + 2)
    body = "".join(f"{indent}{line}\n" if line else "\n" for line in stub.rstrip("\n").split("\n"))
    replacement = f"{prefix}solution: |\n{body}" + "\n" * max(trailing_blank, 0)
    if not removed.endswith("\n"):
        replacement = replacement.rstrip("\n")
    return line_start, end, replacement


class _Dumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> Any:
    style = "|" if "\n" in value and not any(c in value for c in "\r\t") and value == value.rstrip(" ") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_presenter)


def _dump(data: Any) -> str:
    header = "# Student pack: the reference solutions are replaced by stubs.\n"
    return header + yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)


# ---------------------------------------------------------------- stubs


def _stub(task: dict[str, Any]) -> str:
    """The entry's signature (names only) with a body that raises: no answer in it.

    A predict task's solution is a prediction: its stub asks the same fields, each answered ``...``.
    """
    if "predict" in task:
        try:
            entries = prediction.read(task.get("solution") or "").entries
        except prediction.PredictionError:
            entries = ()
        return f"# {STUB_MESSAGE}\n{prediction.blank(entries)}"
    entry = task.get("entry", "solve") if isinstance(task.get("entry", "solve"), str) else "solve"
    args = ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])
    try:
        tree = ast.parse(task.get("solution") or "")
    except SyntaxError:
        tree = ast.Module(body=[], type_ignores=[])
    func = None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == entry:
            func = node
    if func is not None:
        src = func.args
        args = ast.arguments(
            posonlyargs=[ast.arg(a.arg) for a in src.posonlyargs],
            args=[ast.arg(a.arg) for a in src.args],
            vararg=ast.arg(src.vararg.arg) if src.vararg else None,
            kwonlyargs=[ast.arg(a.arg) for a in src.kwonlyargs],
            kw_defaults=[None if d is None else ast.Constant(None) for d in src.kw_defaults],
            kwarg=ast.arg(src.kwarg.arg) if src.kwarg else None,
            defaults=[ast.Constant(None) for _ in src.defaults],
        )
    return f"def {entry}({ast.unparse(args)}):\n    raise NotImplementedError({STUB_MESSAGE!r})\n"


# ---------------------------------------------------------------- paths


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


__all__ = ["STUB_MESSAGE", "export_student", "strip_solutions"]
