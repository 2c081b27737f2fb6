"""The prediction file of a predict task, read without running it.

A predict task shows an instructor's snippet and asks the learner what it
gives. The learner answers in their exercise file with one literal::

    prediction = {
        "y": {"shape": (3, 2), "is_view": True, "shares_storage_with": ["x"]},
        "z": {"dtype": torch.float32},
    }

The file is parsed, never executed: the value of ``prediction`` is walked
node by node (plain literals, ``torch.<dtype>`` names and ``torch.Size([...])``
only), under caps on its size and depth, so no learner code runs at all. The
same reader checks the task's own solution (the right prediction) when a pack
loads. Stdlib only: pack loading and ``tutor list`` never import torch.
"""

from __future__ import annotations

import ast
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from tutor.i18n import Message

NAME = "prediction"
FIELDS = ("shape", "dtype", "is_view", "shares_storage_with", "grad", "value")
MAX_NODES = 5000
MAX_DEPTH = 10

# torch's dtype names and the aliases torch accepts as attributes, to one canonical name.
_DTYPE_NAMES = (
    "float16", "bfloat16", "float32", "float64", "complex64", "complex128",
    "uint8", "int8", "int16", "int32", "int64", "bool",
)  # fmt: skip
_DTYPE_ALIASES = {
    "half": "float16", "float": "float32", "double": "float64", "short": "int16", "int": "int32",
    "long": "int64", "cfloat": "complex64", "cdouble": "complex128",
}  # fmt: skip


class TorchName(str):
    """``torch.float32`` as written in a prediction: the attribute's name, kept apart from a string."""


@dataclass(frozen=True)
class PredictionError(Exception):
    """A prediction file that cannot be read, at a line and column of the file."""

    line: int
    column: int
    message: Message
    values: tuple[tuple[str, Any], ...] = ()

    def text(self, lang: str) -> str:
        return self.message(lang, **dict(self.values))


@dataclass(frozen=True)
class Entry:
    """One predicted field of one value: ``y.shape = (3, 2)``; ``...`` (Ellipsis) is not answered yet."""

    name: str
    field: str
    value: Any
    line: int
    column: int

    @property
    def answered(self) -> bool:
        return self.value is not Ellipsis

    @property
    def key(self) -> str:
        return f"{self.name}.{self.field}"


@dataclass(frozen=True)
class Prediction:
    entries: tuple[Entry, ...]

    def keys(self) -> list[tuple[str, str]]:
        return [(e.name, e.field) for e in self.entries]

    def digest(self) -> str:
        """The same answers give the same digest, however the file is laid out (a re-save is no new try)."""
        canon = sorted([e.name, e.field, _canonical(e.value)] for e in self.entries)
        return hashlib.sha256(json.dumps(canon, sort_keys=True).encode()).hexdigest()[:16]


M_SYNTAX = Message(en="this is not valid Python: {why}", zh="这不是有效的 Python：{why}")
M_NO_PREDICTION = Message(  # said without values, so not formatted: single braces
    en="no `prediction = {...}` in the file: write your answers as `prediction = {\"y\": {\"shape\": (2, 3)}}`",
    zh="文件中没有 `prediction = {...}`：请把答案写成 `prediction = {\"y\": {\"shape\": (2, 3)}}`",
)
M_NOT_DICT = Message(
    en="`{where}` must be a dict written out in the file ({{...}}), not code",
    zh="`{where}` 必须是直接写在文件中的字典（{{...}}），而不是代码",
)
M_KEY = Message(en="keys here are names in quotes, like \"y\"", zh="这里的键是带引号的名字，例如 \"y\"")
M_TWICE = Message(en="`{key}` is given twice", zh="`{key}` 出现了两次")
M_FIELD = Message(
    en="`{field}` is not something to predict here; predict one of: {fields}",
    zh="`{field}` 不是可以预测的内容；可以预测：{fields}",
)
M_CODE = Message(
    en="only plain values here (numbers, strings, True/False/None, lists, tuples, torch.float32, torch.Size([...]));"
    " `{code}` is code, and the prediction is read, never run",
    zh="这里只能写普通的值（数字、字符串、True/False/None、列表、元组、torch.float32、torch.Size([...])）；"
    "`{code}` 是代码，而预测只会被读取，不会运行",
)
M_TOO_BIG = Message(en="the prediction is too large or nested too deeply", zh="预测内容太大或嵌套太深")
M_SHAPE = Message(
    en="{key}: a shape is a tuple of sizes such as (2, 3), or () for a single number",
    zh="{key}：形状是尺寸组成的元组，例如 (2, 3)；单个数字（0 维）写 ()",
)
M_DTYPE = Message(
    en="{key}: {got} is not a dtype; write it like torch.float32 or \"int64\"",
    zh="{key}：{got} 不是数据类型；请写成 torch.float32 或 \"int64\" 这样的形式",
)
M_BOOL = Message(en="{key}: write True or False", zh="{key}：请写 True 或 False")
M_NAMES = Message(
    en="{key}: a list of value names in quotes, such as [\"x\"], or [] for none",
    zh="{key}：由带引号的名字组成的列表，例如 [\"x\"]；没有则写 []",
)
M_NUMBERS = Message(
    en="{key}: numbers, or nested lists of numbers (a tensor's values), or None",
    zh="{key}：数字、数字的嵌套列表（张量的值），或 None",
)


def read(source: str) -> Prediction:
    """The prediction in a file's text; raises :class:`PredictionError` at the line that is wrong."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise PredictionError(exc.lineno or 1, exc.offset or 1, M_SYNTAX, (("why", exc.msg),)) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise PredictionError(1, 1, M_SYNTAX, (("why", str(exc) or type(exc).__name__),)) from None
    node = _assigned(tree)
    if node is None:
        raise PredictionError(1, 1, M_NO_PREDICTION)
    if _count(node) > MAX_NODES:
        raise PredictionError(node.lineno, node.col_offset + 1, M_TOO_BIG)
    entries = []
    for name, fields_node in _items(node, NAME):
        for field, value_node in _items(fields_node, f"{NAME}[{name!r}]"):
            key = f"{name}.{field}"
            if field not in FIELDS:
                raise _at(value_node, M_FIELD, field=field, fields=", ".join(FIELDS))
            raw = _literal(value_node, 0)
            value = raw if raw is Ellipsis else normalize(field, raw, key, value_node)
            entries.append(Entry(name, field, value, value_node.lineno, value_node.col_offset + 1))
    return Prediction(tuple(entries))


def _assigned(tree: ast.Module) -> ast.expr | None:
    """The value of the last module-level ``prediction = ...`` (as Python would bind it)."""
    found = None
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == NAME for t in stmt.targets):
            found = stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id == NAME:
            found = stmt.value
    return found


def _items(node: ast.expr, where: str) -> list[tuple[str, ast.expr]]:
    if not isinstance(node, ast.Dict):
        raise _at(node, M_NOT_DICT, where=where)
    seen: set[str] = set()
    items = []
    for key, value in zip(node.keys, node.values):
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            raise _at(key if key is not None else value, M_KEY)
        if key.value in seen:
            raise _at(key, M_TWICE, key=key.value)
        seen.add(key.value)
        items.append((key.value, value))
    return items


def _count(node: ast.AST) -> int:
    return sum(1 for _ in ast.walk(node))


def _at(node: ast.AST, message: Message, **values: Any) -> PredictionError:
    return PredictionError(getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1, message, tuple(values.items()))


def _literal(node: ast.expr, depth: int) -> Any:
    """A plain value from its syntax; anything that would need running is refused."""
    if depth > MAX_DEPTH:
        raise _at(node, M_TOO_BIG)
    if isinstance(node, ast.Constant) and (node.value is None or node.value is Ellipsis
                                           or isinstance(node.value, (bool, int, float, str))):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)) \
            and isinstance(node.operand, ast.Constant) and type(node.operand.value) in (int, float):
        return -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = [_literal(item, depth + 1) for item in node.elts]
        return tuple(items) if isinstance(node, ast.Tuple) else items
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "torch":
        return TorchName(node.attr)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "Size"
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "torch"
            and len(node.args) == 1 and not node.keywords):
        return tuple(_literal(node.args[0], depth + 1))
    raise _at(node, M_CODE, code=ast.unparse(node)[:60])


def normalize(field: str, raw: Any, key: str, where: ast.AST) -> Any:
    """One field's answer in its canonical form (shape: a tuple of ints, dtype: its torch name, ...);
    a problem is located at ``where``, the answer's node."""
    if field == "shape":
        if not isinstance(raw, (tuple, list)) or not all(type(d) is int and d >= 0 for d in raw):
            raise _at(where, M_SHAPE, key=key)
        return tuple(raw)
    if field == "dtype":
        name = dtype_name(raw)
        if name is None:
            raise _at(where, M_DTYPE, key=key, got=repr(raw)[:40])
        return name
    if field == "is_view":
        if type(raw) is not bool:
            raise _at(where, M_BOOL, key=key)
        return raw
    if field == "shares_storage_with":
        names = [raw] if isinstance(raw, str) and not isinstance(raw, TorchName) else raw
        if not isinstance(names, (list, tuple)) or not all(type(n) is str for n in names):
            raise _at(where, M_NAMES, key=key)
        return tuple(sorted(set(names)))
    if field == "grad":
        if raw is not None and not _numbers(raw):
            raise _at(where, M_NUMBERS, key=key)
        return _lists(raw)
    if field == "value":
        if isinstance(raw, TorchName):  # torch.float32 is a dtype; any other torch name is code
            if dtype_name(raw) is None:
                raise _at(where, M_CODE, code=f"torch.{raw}")
            return dtype_name(raw)
        return _lists(raw)
    raise _at(where, M_FIELD, field=field, fields=", ".join(FIELDS))


def dtype_name(raw: Any) -> str | None:
    """``torch.float32``, ``"float32"``, ``"torch.float"`` -> ``"float32"``; None for anything else."""
    if not isinstance(raw, str):
        return None
    name = raw.removeprefix("torch.")
    name = _DTYPE_ALIASES.get(name, name)
    return name if name in _DTYPE_NAMES else None


def _numbers(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_numbers(v) for v in value)
    return type(value) in (int, float, bool)


def _lists(value: Any) -> Any:
    """Tuples as lists, so ``(1, 2)`` and ``[1, 2]`` are one answer for values (shapes stay tuples)."""
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    return value


def _canonical(value: Any) -> Any:
    if value is Ellipsis:
        return {"unanswered": True}
    if isinstance(value, TorchName):
        return {"torch": str(value)}
    if isinstance(value, tuple):
        return {"tuple": [_canonical(v) for v in value]}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, float) and value != value:
        return {"float": "nan"}
    return value


# ---------------------------------------------------------------- the snippet


def snippet_values(snippet: str, params: list[str]) -> list[str]:
    """The values a learner may name: the snippet's inputs, then every name it assigns, in order.

    Names bound inside functions, classes, lambdas or comprehensions are not
    the snippet's values, and neither are imported modules.
    """
    tree = ast.parse(snippet)
    found: dict[str, None] = dict.fromkeys(params)
    _Targets(found).visit(tree)
    return list(found)


class _Targets(ast.NodeVisitor):
    def __init__(self, found: dict[str, None]) -> None:
        self.found = found

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Store):
            self.found.setdefault(node.id, None)

    def _skip(self, node: ast.AST) -> None:
        """A nested scope: its names are not the snippet's values."""

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = _skip
    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _skip


# ---------------------------------------------------------------- a predict task's files, when a pack loads


def task_problems(task: dict[str, Any], marks: Any, base: tuple[Any, ...]) -> list[Any]:
    """A predict task's snippet parses; its solution is a full prediction of the snippet's values.

    Read from the raw data (like the other code checks of the loader), each
    problem located at its line inside the YAML block. Whether the solution's
    answers are *right* needs the snippet run: ``tutor lesson validate`` does that.
    """
    from tutor.errors import Problem

    spec = task.get("predict")
    snippet = spec.get("snippet") if isinstance(spec, dict) else None
    if not isinstance(snippet, str):
        return []  # the model reports a missing or mistyped snippet
    try:
        cases = task.get("cases")
        first = cases[0] if isinstance(cases, list) and cases and isinstance(cases[0], dict) else {}
        values = snippet_values(snippet, [k for k in first if k != "dims"])
    except SyntaxError as exc:
        return [Problem(marks.code_line(base + ("predict", "snippet"), exc.lineno or 1, exc.offset or 1),
                        f"the snippet has a syntax error: {exc.msg}")]
    except (ValueError, RecursionError) as exc:
        return [Problem(marks.at(base + ("predict", "snippet")), f"the snippet cannot be read: {exc}")]
    problems = []
    solution = None
    for role in ("solution", "starter"):
        code = task.get(role)
        if not isinstance(code, str):
            continue
        try:
            found = read(code)
        except PredictionError as exc:
            problems.append(Problem(marks.code_line(base + (role,), exc.line, exc.column), f"the {role}: {exc.text('en')}"))
            continue
        for entry in found.entries:
            where = marks.code_line(base + (role,), entry.line, entry.column)
            if entry.name not in values:
                problems.append(Problem(where, f"the {role} predicts `{entry.name}`, which names no value of the"
                                               f" snippet (its values: {', '.join(values)})"))
            elif role == "starter" and solution is not None and (entry.name, entry.field) not in solution.keys():
                problems.append(Problem(where, f"the starter asks for {entry.key}, which the solution does not answer"))
        if role == "solution":
            solution = found
            if not found.entries:
                problems.append(Problem(marks.at(base + (role,)), "the solution predicts nothing: give at least one value's field"))
    return problems


M_STARTER_HEAD = Message(
    en="Predict what this code gives, then save: the tutor runs it and compares, field by field.",
    zh="预测这段代码的结果，然后保存：tutor 会运行它，并逐项与你的预测比较。",
)
# No command named here: the file must read the same however tutor was started (it is compared
# with a fresh starter to tell an untouched file).
M_STARTER_INPUTS = Message(en="Its inputs:", zh="它的输入：")
M_STARTER_FILL = Message(
    en="Replace each ... with your prediction; the file is read, never run.",
    zh="把每个 ... 换成你的预测；这个文件只会被读取，不会运行。",
)
M_STARTER_TRIES = Message(
    en="After {tries} different wrong predictions, the real answers are shown.",
    zh="{tries} 次不同的错误预测之后，会显示正确答案。",
)
FIELD_GUIDE = {
    "shape": Message(en="shape: a tuple of sizes, like (2, 3); () for a 0-d tensor",
                     zh="shape：尺寸组成的元组，例如 (2, 3)；0 维张量写 ()"),
    "dtype": Message(en="dtype: like torch.float32 or torch.int64", zh="dtype：例如 torch.float32 或 torch.int64"),
    "is_view": Message(
        en="is_view: True when it shares memory with a value made before it (a view, or that very tensor)",
        zh="is_view：与它之前的某个值共享内存（是视图，或就是那个张量本身）时为 True"),
    "shares_storage_with": Message(
        en="shares_storage_with: the names of the other values on its storage, like [\"x\"]; [] for none",
        zh="shares_storage_with：与它共享存储的其他值的名字，例如 [\"x\"]；没有则写 []"),
    "grad": Message(en="grad: its .grad after the code: numbers in nested lists, or None",
                    zh="grad：代码运行后它的 .grad：数字的嵌套列表，或 None"),
    "value": Message(en="value: a number, True/False, or nested lists of numbers for a tensor",
                     zh="value：一个数字、True/False，或张量的数字嵌套列表"),
}


def starter(task: Any, lang: str) -> str:
    """The file a learner starts a predict task with: the snippet, its inputs, a guide, and ``...`` to fill.

    Only the fields the solution answers are asked, in its order.
    """
    asked = read(task.solution).entries
    lines = [f"# {M_STARTER_HEAD(lang)}", "#"]
    lines += [f"#     {line}".rstrip() for line in task.predict.snippet.rstrip().splitlines()]
    inputs = [describe_input(name, spec) for name, spec in task.cases[0].args.items()] if task.cases else []
    if inputs:
        lines += ["#", f"# {M_STARTER_INPUTS(lang)}"] + [f"#     {text}" for text in inputs]
    lines += ["#", f"# {M_STARTER_FILL(lang)}"]
    for field in dict.fromkeys(e.field for e in asked):
        lines.append(f"#   {FIELD_GUIDE[field](lang)}")
    lines += [f"# {M_STARTER_TRIES(lang, tries=task.predict.tries)}", "", "import torch", ""]
    return "\n".join(lines) + "\n" + blank(asked)


def blank(entries: tuple[Entry, ...]) -> str:
    """``prediction = {...}`` asking for these fields, each answered ``...``."""
    by_name: dict[str, list[str]] = {}
    for entry in entries:
        by_name.setdefault(entry.name, []).append(entry.field)
    lines = [f"{NAME} = {{"]
    for name, fields in by_name.items():
        lines.append(f"    {json.dumps(name)}: {{{', '.join(f'{json.dumps(f)}: ...' for f in fields)}}},")
    return "\n".join(lines + ["}"]) + "\n"


def describe_input(name: str, spec: Any) -> str:
    """An input as code the learner can picture (``x = torch.randn(2, 3)``), in no language but Python."""
    values, shape = getattr(spec, "values", None), getattr(spec, "shape", None)
    dtype = getattr(spec, "dtype", None)
    extra = (f", dtype=torch.{dtype}" if dtype else "") + (", requires_grad=True" if getattr(spec, "requires_grad", False) else "")
    if values is not None:
        return f"{name} = torch.tensor({values!r}{extra})"
    if shape is None:
        return f"{name} = {spec!r}"
    sizes = ", ".join(map(str, shape))
    dist = getattr(spec, "dist", "normal")
    low, high = spec.bounds() if hasattr(spec, "bounds") else (0, 1)
    made = {
        "normal": f"torch.randn({sizes}{extra})",
        "uniform": f"torch.empty({sizes}{extra}).uniform_({low}, {high})",
        "int": f"torch.randint({low}, {high}, ({sizes}{',' if len(shape) == 1 else ''}){extra})",
        "bool": f"torch.rand({sizes}) > 0.5",
    }[dist]
    layout = getattr(spec, "layout", "contiguous")
    return f"{name} = {made}" + ("" if layout == "contiguous" else f"  # {layout} layout: not contiguous")
