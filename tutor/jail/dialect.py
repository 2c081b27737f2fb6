"""The restricted dialect learner code is compiled in, and the guards it runs under.

Default-deny at two moments. At compile time RestrictedPython's transformer
accepts only the syntax it knows (every other AST node is refused) and our
policy on top of it refuses imports of modules outside the allow-list and
names that reach the interpreter's internals. At run time every attribute
read goes through ``guarded_getattr`` and every attribute write through
``_write_``, so a name built from data (``getattr(x, "__cl" + "ass__")``) meets
the same rule as one spelled out; the dialect's builtins hold no ``open``,
``eval``, ``exec``, ``compile``, ``vars`` or ``globals``, and its ``getattr``,
``setattr``, ``hasattr``, ``delattr`` and ``__import__`` are the guarded ones.

What is allowed is listed, not what is refused: modules (``module_allowed``),
dunder names (``READABLE_DUNDERS``, ``DEFINABLE_DUNDERS``), builtins
(``BUILTIN_NAMES``). Private names (``_x``) are allowed only on the learner's
own classes and the instances of them.

This runs in the sandbox child. It is not the security boundary (the kernel
layers are); it keeps learner code from reaching the recorders, the result
channel, frames and torch's dispatch machinery, so the verdict's *how* rules
hold. Worker side: the standard library, torch, RestrictedPython.
"""

from __future__ import annotations

import ast
import builtins
import functools
import operator
import os
import string
import types
import typing
import unicodedata
from typing import Any, Callable

import torch
from RestrictedPython import compile_restricted_exec
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.transformer import INSPECT_ATTRIBUTES, RestrictingNodeTransformer

from tutor.jail.classes import ClassRule
from tutor.jail.compiled import let_dynamo_trace
from tutor.jail.untraced import untraced

# Standard-library modules an exercise may import, whole. ``io`` is limited
# to in-memory buffers (``IO_NAMES``).
STDLIB_MODULES = frozenset({
    "__future__", "math", "cmath", "random", "functools", "itertools", "operator", "collections",
    "collections.abc", "dataclasses", "typing", "string", "re", "io", "statistics", "fractions",
    "decimal", "numbers", "heapq", "bisect", "copy", "enum", "abc", "contextlib", "time", "warnings",
    "textwrap", "json", "pprint",
})  # fmt: skip
# torch and numpy with their public submodules, except these, which reach the
# dispatch machinery, start processes or threads, load native code or fetch.
PACKAGES = ("torch", "numpy")
NOT_PUBLIC = frozenset({
    "torch.overrides", "torch.library", "torch.multiprocessing", "torch.distributed", "torch.hub",
    "torch.jit", "torch.package", "torch.utils.cpp_extension", "torch.utils.hooks",
    "torch.utils.benchmark",  # its Timer compiles and runs the statement strings it is given
    "torch.fx",  # its graphs read and call attributes by the names in their targets, unguarded
    "numpy.ctypeslib", "numpy.lib", "numpy.f2py", "numpy.distutils",
})  # fmt: skip
IO_NAMES = frozenset({"BytesIO", "StringIO"})

# Dunder attributes ordinary exercise code reads: the protocol methods a class
# defines and calls (``super().__init__()``), and a few plain strings.
DEFINABLE_DUNDERS = frozenset(
    {"__init__", "__call__", "__len__", "__getitem__", "__setitem__", "__delitem__", "__contains__",
     "__iter__", "__next__", "__reversed__", "__repr__", "__str__", "__format__", "__enter__", "__exit__",
     "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__hash__", "__bool__", "__int__",
     "__float__", "__complex__", "__index__", "__round__", "__abs__", "__neg__", "__pos__", "__invert__",
     "__post_init__"}
    | {f"__{p}{op}__" for op in ("add", "sub", "mul", "matmul", "truediv", "floordiv", "mod", "pow",
                                 "lshift", "rshift", "and", "or", "xor") for p in ("", "r", "i")}
)  # fmt: skip
READABLE_DUNDERS = DEFINABLE_DUNDERS | {"__name__", "__qualname__", "__doc__", "__module__", "__version__", "__all__"}

BUILTIN_NAMES = frozenset({
    "abs", "all", "any", "ascii", "bin", "bool", "bytearray", "bytes", "callable", "chr", "classmethod",
    "complex", "dict", "dir", "divmod", "enumerate", "filter", "float", "format", "frozenset", "hash",
    "hex", "id", "int", "isinstance", "issubclass", "iter", "len", "list", "map", "max", "min", "next",
    "object", "oct", "ord", "pow", "print", "property", "range", "repr", "reversed", "round", "set",
    "slice", "sorted", "staticmethod", "str", "sum", "super", "tuple", "type", "zip", "NotImplemented",
    "Ellipsis", "__build_class__",
})  # fmt: skip
# Builtins that would read, run or reach anything by name: absent from the
# dialect (or replaced by a guarded one), and refused wherever else found.
REFLECTIVE = frozenset({
    "getattr", "setattr", "delattr", "hasattr", "vars", "globals", "locals", "eval", "exec", "compile",
    "open", "__import__", "breakpoint", "input", "help", "memoryview",
})  # fmt: skip
_torch_save = torch.save
_update_wrapper, _wraps = functools.update_wrapper, functools.wraps
_WRAPPER_NAMES = frozenset(functools.WRAPPER_ASSIGNMENTS + functools.WRAPPER_UPDATES)
_REFLECTIVE_VALUES: dict[int, tuple[str, Any]] = {
    id(value): (name, value)
    for name, value in [(n, getattr(builtins, n)) for n in REFLECTIVE if hasattr(builtins, n)] + [
        ("operator.attrgetter", operator.attrgetter), ("operator.methodcaller", operator.methodcaller),
        ("string.Formatter", string.Formatter), ("typing.get_type_hints", typing.get_type_hints),
        # file reads that raise no audit event
        ("torch.from_file", torch.from_file), ("torch.UntypedStorage.from_file", torch.UntypedStorage.from_file),
    ]
}
# Objects that expose interpreter state without underscores.
_INTERNAL_TYPES = (types.FrameType, types.CodeType, types.TracebackType)
_GENERATOR_TYPES = (types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType)
_GENERATOR_NAMES = frozenset({"send", "throw", "close"})
GUARDED_BUILTINS = frozenset({"getattr", "setattr", "delattr", "hasattr", "__import__"})
GUARD_NAMES = frozenset({
    "_getattr_", "_write_", "_getitem_", "_getiter_", "_iter_unpack_sequence_", "_unpack_sequence_",
    "_inplacevar_", "_apply_", "_print_", "_print", "__metaclass__", "__builtins__",
})  # fmt: skip


class Refusal(PermissionError):
    """Learner code asked for something the dialect does not allow.

    ``code`` is the kind (``attribute``, ``import``, ``write``…), ``detail`` names
    what was asked; the grader words both for the learner.
    """

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"tutor's exercises do not allow {code} `{detail}`")
        self.code = code
        self.detail = detail


def _normal(name: str) -> str:
    """The name as Python's parser would read it (identifiers are NFKC-normalised)."""
    return name if name.isascii() else unicodedata.normalize("NFKC", name)


def _dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def module_allowed(name: str) -> bool:
    """Whether learner code may import (or be handed) the module called ``name``."""
    name = _normal(name)
    if name in STDLIB_MODULES:
        return True
    top = name.split(".")[0]
    if top not in PACKAGES or any(part.startswith("_") or not part for part in name.split(".")):
        return False
    return not any(name == d or name.startswith(d + ".") for d in NOT_PUBLIC)


# ---------------------------------------------------------------- compile time


class Problem(ValueError):
    """A compile-time refusal: the line and what was written there."""

    def __init__(self, line: int, code: str, detail: str) -> None:
        super().__init__(f"line {line}: {code} {detail}")
        self.line = line
        self.code = code
        self.detail = detail


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's transformer, with the rules of a tensor exercise.

    Kept: its syntax allow-list, attribute reads rewritten to ``_getattr_``,
    writes to ``_write_``, guarded unpacking. Changed: ``_`` names are fine
    (only the guards' own names are reserved), ``**`` and ``@`` are tensor
    arithmetic, augmented assignment of attributes and items is ordinary
    (``out[i] += v``), ``nonlocal`` is ordinary, and imports must name an
    allowed module.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.problems: list[Problem] = []
        # Private names the file itself gives its objects (``self._n = 0``, a
        # method ``_helper``): reading them is judged at run time, by owner.
        self.own_private: set[str] = set()

    def _problem(self, node: ast.AST, code: str, detail: str) -> None:
        line = getattr(node, "lineno", 1)
        if not any((p.line, p.code, p.detail) == (line, code, detail) for p in self.problems):
            self.problems.append(Problem(line, code, detail))

    def check_name(self, node: Any, name: str | None, allow_magic_methods: bool = False) -> None:
        if name is None:
            return
        if name in GUARD_NAMES or (_dunder(name) and name != "__name__" and not (allow_magic_methods and name in DEFINABLE_DUNDERS)):
            self._problem(node, "name", name)
        elif name in REFLECTIVE - GUARDED_BUILTINS:
            self._problem(node, "builtin", name)

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        name = node.attr
        if _dunder(name) and name not in (READABLE_DUNDERS if isinstance(node.ctx, ast.Load) else ()):
            self._problem(node, "attribute", f".{name}")
        elif not _dunder(name) and name.startswith("_") and name not in self.own_private:
            self._problem(node, "attribute", f".{name}")
        elif name in INSPECT_ATTRIBUTES:
            self._problem(node, "attribute", f".{name}")
        node.attr = "x"  # the base class's own name rules are replaced by ours
        result = super().visit_Attribute(node)
        target = result.args[1] if isinstance(result, ast.Call) else None
        if target is not None:
            target.value = name
        node.attr = name
        return result

    def visit_AnnAssign(self, node: ast.AnnAssign) -> Any:
        self._annotation(node.annotation)
        return self.node_contents_visit(node)

    def visit_arg(self, node: ast.arg) -> Any:
        self._annotation(node.annotation)
        return super().visit_arg(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        self._annotation(node.returns)
        return super().visit_FunctionDef(node)

    def _annotation(self, node: ast.AST | None, depth: int = 0, at: ast.AST | None = None) -> None:
        """A string annotation is code that library code evaluates unguarded (``functools.singledispatch``
        resolves it with ``typing.get_type_hints``): it is held to the attribute rule here, nested strings too."""
        for item in ast.walk(node) if node is not None and depth < 8 else ():
            if isinstance(item, ast.Constant) and isinstance(item.value, str):
                try:
                    tree = ast.parse(item.value.strip(), mode="eval")
                except (SyntaxError, ValueError, RecursionError, MemoryError):
                    continue  # not an expression: nothing can evaluate it
                for inner in ast.walk(tree):
                    name = inner.attr if isinstance(inner, ast.Attribute) else inner.id if isinstance(inner, ast.Name) else ""
                    if name.startswith("_") and name not in READABLE_DUNDERS:
                        self._problem(at or node, "attribute", f".{name}" if isinstance(inner, ast.Attribute) else name)
                self._annotation(tree, depth + 1, at or node)

    def visit_Pow(self, node: ast.Pow) -> Any:
        return self.node_contents_visit(node)

    def visit_MatMult(self, node: ast.MatMult) -> Any:
        return self.node_contents_visit(node)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> Any:
        return self.node_contents_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        if isinstance(node.target, ast.Name):
            return super().visit_AugAssign(node)
        return self.node_contents_visit(node)

    def visit_Import(self, node: ast.Import) -> Any:
        for alias in node.names:
            if not module_allowed(alias.name):
                self._problem(node, "import", alias.name)
        return super().visit_Import(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> Any:
        module = node.module or ""
        if node.level or not module_allowed(module):
            self._problem(node, "import", "." * node.level + module)
        for alias in node.names:
            full = f"{module}.{alias.name}"
            if module == "__future__" or alias.name == "*":
                continue  # "*" is RestrictedPython's to refuse
            if alias.name.startswith("_") or any(full == d or full.startswith(d + ".") for d in NOT_PUBLIC) \
                    or (module == "io" and alias.name not in IO_NAMES):
                self._problem(node, "import", full)
        return super().visit_ImportFrom(node)

    def visit_Call(self, node: ast.Call) -> Any:
        return super().visit_Call(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> Any:
        for stmt in node.body:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [getattr(stmt, "target", None)]
            for target in targets:
                if isinstance(target, ast.Name) and _dunder(target.id) and target.id not in DEFINABLE_DUNDERS:
                    self._problem(stmt, "name", target.id)
        return super().visit_ClassDef(node)


def compile_learner(source: str, filename: str) -> tuple[types.CodeType | None, list[Problem]]:
    """The learner's module compiled in the dialect, or the reasons it cannot be.

    The code keeps the learner's file name and line numbers, so tracebacks
    show their own lines.
    """
    policy = _Recording(_own_private(source))
    result = compile_restricted_exec(source, filename, policy=policy.cls)
    problems = list(policy.problems)
    for error in result.errors:  # RestrictedPython's own: "Line 3: AsyncFor statements are not allowed."
        head, _, text = error.partition(": ")
        digits = "".join(ch for ch in head.split(",")[0] if ch.isdigit())
        problems.append(Problem(int(digits) if digits else 1, "syntax", text.rstrip(".")))
    problems.sort(key=lambda p: p.line)
    return (result.code if not problems else None), problems


def _own_private(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()  # RestrictedPython reports it
    names = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and not isinstance(n.ctx, ast.Load)}
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        for stmt in cls.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(stmt.name)
            for target in stmt.targets if isinstance(stmt, ast.Assign) else [getattr(stmt, "target", None)]:
                if isinstance(target, ast.Name):
                    names.add(target.id)
    return {n for n in names if n.startswith("_") and not _dunder(n)}


class _Recording:
    """Hands RestrictedPython a policy class and keeps the problems the instance found."""

    def __init__(self, own_private: set[str]) -> None:
        self.problems: list[Problem] = []
        outer = self

        class Policy(_Policy):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                self.problems = outer.problems
                self.own_private = own_private

        self.cls = Policy


# ---------------------------------------------------------------- run time


class Guard:
    """The run-time half: the guarded builtins and hooks one learner module runs under.

    ``on_refuse(code, detail)`` is told of every refusal before it is raised,
    so a refusal the learner catches is still reported.
    """

    def __init__(self, on_refuse: Callable[[str, str], None], learner_file: str = "") -> None:
        self.on_refuse = on_refuse
        self.rule = ClassRule(self.refuse, DEFINABLE_DUNDERS, learner_file)
        self.classes = self.rule.classes
        self.written: set[tuple[int, str]] = set()
        # torch.compile calls it as it is, never tracing into it (it would guard on
        # the identity of a fresh bound method and fail), at no cost where nothing traces;
        # the reads known to be plain, dynamo inlines (``tutor.jail.compiled``)
        self.getattr = untraced(self._getattr)  # type: ignore[method-assign]
        let_dynamo_trace(self.getattr, self._getattr, (*_INTERNAL_TYPES, *_GENERATOR_TYPES, str))

    def refuse(self, code: str, detail: str) -> Refusal:
        self.on_refuse(code, detail)
        return Refusal(code, detail)

    # -- ownership

    def _owned(self, obj: Any) -> bool:
        """The learner's own class (all of it, but ``object``), or an instance of one."""
        cls = obj if isinstance(obj, type) else type(obj)
        return all(k is object or k in self.classes for k in cls.__mro__)

    def _private_ok(self, obj: Any, name: str, write: bool) -> bool:
        if self._owned(obj):
            return True
        cls = obj if isinstance(obj, type) else type(obj)
        if cls not in self.classes:
            return False
        mine = [k for k in cls.__mro__ if k in self.classes]
        if any(name in vars(k) for k in cls.__mro__ if k not in self.classes and k is not object):
            return False  # a name the class's torch (or other foreign) part defines
        if (id(obj), name) in self.written or any(name in vars(k) for k in mine):
            return True
        try:
            state = object.__getattribute__(obj, "__dict__")
        except (AttributeError, TypeError):
            state = {}
        return write and name not in state  # a new name of the learner's, not foreign state

    def _name(self, obj: Any, name: Any, write: bool) -> str:
        if type(name) is not str:
            raise TypeError("attribute name must be a string")
        name = _normal(name)
        if _dunder(name):
            if write or name not in READABLE_DUNDERS:
                raise self.refuse("attribute", f".{name}")
        elif name.startswith("_") and not self._private_ok(obj, name, write):
            raise self.refuse("attribute", f".{name}")
        if isinstance(obj, _INTERNAL_TYPES) or (isinstance(obj, _GENERATOR_TYPES) and name not in _GENERATOR_NAMES):
            raise self.refuse("attribute", f".{name}")
        return name

    def value(self, value: Any, what: str) -> Any:
        """Refuse a value that would open a way around the dialect."""
        if isinstance(value, types.ModuleType):
            if not module_allowed(value.__name__):
                raise self.refuse("import", value.__name__)
        elif isinstance(value, _INTERNAL_TYPES):
            raise self.refuse("attribute", what)
        elif value is _torch_save:
            return self.save
        elif value is _update_wrapper:
            return self.update_wrapper
        elif value is _wraps:
            return self.wraps
        else:
            known = _REFLECTIVE_VALUES.get(id(value))
            if known is not None and known[1] is value:
                raise self.refuse("builtin", known[0])
            if isinstance(value, type):
                return self.rule.value(value, what)
        return value

    def save(self, obj: Any, f: Any, *args: Any, **kwargs: Any) -> Any:
        """``torch.save``, which writes a named file from C++, past the audit hook: only in scratch."""
        if isinstance(f, (str, bytes, os.PathLike)):
            path = os.fsdecode(os.fspath(f))
            real, scratch = os.path.realpath(path), os.path.realpath(os.getcwd())  # the child runs in scratch
            if real != scratch and not real.startswith(scratch + os.sep):
                raise self.refuse("write", path)
        return _torch_save(obj, f, *args, **kwargs)

    def update_wrapper(self, wrapper: Any, wrapped: Any, assigned: Any = functools.WRAPPER_ASSIGNMENTS,
                       updated: Any = functools.WRAPPER_UPDATES) -> Any:
        """``functools.update_wrapper``, which reads and writes the attributes it is told by name:
        names beyond its defaults meet the attribute rule (``updated=("__globals__",)`` would merge
        a torch module's globals into the learner's)."""
        assigned, updated = tuple(assigned), tuple(updated)
        for name in assigned + updated:
            if name not in _WRAPPER_NAMES:
                self._name(wrapped, name, write=False)
                self._name(wrapper, name, write=True)
        return _update_wrapper(wrapper, wrapped, assigned, updated)

    def wraps(self, wrapped: Any, assigned: Any = functools.WRAPPER_ASSIGNMENTS,
              updated: Any = functools.WRAPPER_UPDATES) -> Callable[[Any], Any]:
        """``functools.wraps``, through the guarded ``update_wrapper``."""
        return functools.partial(self.update_wrapper, wrapped=wrapped, assigned=assigned, updated=updated)

    # -- hooks named by the compiled code

    def _getattr(self, obj: Any, name: Any, *default: Any) -> Any:
        name = self._name(obj, name, write=False)
        if name in ("format", "format_map") and (isinstance(obj, str) or (isinstance(obj, type) and issubclass(obj, str))):
            return _SafeFormatter(self).bound(obj, name)
        if isinstance(obj, types.ModuleType) and obj.__name__ == "io" and name not in IO_NAMES:
            raise self.refuse("attribute", f"io.{name}")
        value = getattr(obj, name, *default)
        return self.value(value, f".{name}")

    def hasattr(self, obj: Any, name: Any) -> bool:
        try:
            self.getattr(obj, name)
        except AttributeError:
            return False
        return True

    def setattr(self, obj: Any, name: Any, value: Any) -> None:
        setattr(self.write(obj), name, value)

    def delattr(self, obj: Any, name: Any) -> None:
        delattr(self.write(obj), name)

    def write(self, obj: Any) -> Any:
        """``_write_(obj).name = v``: writes to the learner's own objects and to instances, never to
        modules or to classes the learner did not define."""
        if isinstance(obj, types.ModuleType) or (isinstance(obj, type) and obj not in self.classes):
            name = getattr(obj, "__name__", "?")
            raise self.refuse("modify", str(name))
        return _Writer(self, obj)

    def import_(self, name: str, globals_: Any = None, locals_: Any = None, fromlist: Any = (), level: int = 0) -> Any:
        if level or not module_allowed(name):
            raise self.refuse("import", "." * level + name)
        module = __import__(name, globals_, locals_, fromlist, 0)
        if not fromlist:
            return module  # ``import torch``: every attribute read is guarded later
        # ``from torch import save``: Python reads the names off what we return,
        # so it gets the guarded values, not the module's own.
        proxy = types.ModuleType(module.__name__)
        for item in fromlist:
            if type(item) is not str or item == "*":
                raise self.refuse("import", f"{name}.*")
            if hasattr(module, item):
                setattr(proxy, item, self.getattr(module, item))
        return proxy

    def namespace(self, module_name: str, filename: str, into: dict[str, Any] | None = None) -> dict[str, Any]:
        """The globals of the learner's module, put ``into`` the module's own dict when given."""
        safe = {name: getattr(builtins, name) for name in BUILTIN_NAMES}
        safe.update({name: value for name, value in vars(builtins).items()
                     if isinstance(value, type) and issubclass(value, BaseException)})
        safe.update(getattr=self.getattr, setattr=self.setattr, hasattr=self.hasattr, delattr=self.delattr,
                    __import__=self.import_, type=self.rule.type)
        space = {
            "__name__": module_name,
            "__file__": filename,
            "__builtins__": safe,
            "__metaclass__": self.rule.statement,
            "_getattr_": self.getattr,
            "_write_": self.write,
            "_getitem_": operator.getitem,
            "_getiter_": iter,
            "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
            "_unpack_sequence_": guarded_unpack_sequence,
            "_inplacevar_": _inplace,
            "_apply_": _apply,
            "_print_": _Print,
        }
        if into is not None:
            into.update(space)
            space = into
        return space


class _Writer:
    """What ``_write_`` hands the compiled code: attribute writes pass the name rule, items go through."""

    __slots__ = ("_tutor_guard", "_tutor_target")

    def __init__(self, guard: Guard, obj: Any) -> None:
        object.__setattr__(self, "_tutor_guard", guard)
        object.__setattr__(self, "_tutor_target", obj)

    def __setattr__(self, name: str, value: Any) -> None:
        guard, obj = object.__getattribute__(self, "_tutor_guard"), object.__getattribute__(self, "_tutor_target")
        name = guard._name(obj, name, write=True)
        setattr(obj, name, value)
        if name.startswith("_"):
            guard.written.add((id(obj), name))

    def __delattr__(self, name: str) -> None:
        guard, obj = object.__getattribute__(self, "_tutor_guard"), object.__getattribute__(self, "_tutor_target")
        delattr(obj, guard._name(obj, name, write=True))

    def __getattr__(self, name: str) -> Any:  # augmented assignment reads before it writes
        guard, obj = object.__getattribute__(self, "_tutor_guard"), object.__getattribute__(self, "_tutor_target")
        return guard.getattr(obj, name)

    def __getitem__(self, key: Any) -> Any:
        return object.__getattribute__(self, "_tutor_target")[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        object.__getattribute__(self, "_tutor_target")[key] = value

    def __delitem__(self, key: Any) -> None:
        del object.__getattribute__(self, "_tutor_target")[key]


class _SafeFormatter(string.Formatter):
    """``str.format`` whose fields pass the attribute rule (``"{0.__class__}"`` is refused)."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
        first, rest = _formatter_field_name_split(field_name)
        obj = self.get_value(first, args, kwargs)
        for is_attr, key in rest:
            obj = self.guard.getattr(obj, key) if is_attr else obj[key]
        return obj, first

    def bound(self, text: Any, name: str) -> Callable[..., str]:
        if isinstance(text, type):  # str.format(text, ...)
            return lambda fmt, *args, **kwargs: self.vformat(fmt, args, kwargs) if name == "format" else self.vformat(fmt, (), args[0])
        if name == "format":
            return lambda *args, **kwargs: self.vformat(text, args, kwargs)
        return lambda mapping: self.vformat(text, (), mapping)


_formatter_field_name_split = getattr(__import__("_string"), "formatter_field_name_split")

_INPLACE = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift,
    ">>=": operator.irshift, "|=": operator.ior, "^=": operator.ixor, "&=": operator.iand, "@=": operator.imatmul,
}  # fmt: skip


def _inplace(op: str, target: Any, value: Any) -> Any:
    return _INPLACE[op](target, value)


def _apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


class _Print:
    """RestrictedPython routes ``print(...)`` here; it prints as usual."""

    def __init__(self, _getattr_: Any = None) -> None:
        pass

    def __call__(self) -> str:  # the name ``printed``
        return ""

    def _call_print(self, *objects: Any, **kwargs: Any) -> None:
        print(*objects, **kwargs)
