"""One rule for every class learner code makes, however the class is made.

A class's special methods run when Python or torch decides, not when the
learner calls them: ``__del__`` when the object is collected, ``__getattr__``
and ``__getattribute__`` on every read, ``__get__`` when the object sits in
another class, ``__set_name__`` and ``__init_subclass__`` while a class is
made, ``__torch_function__`` and ``__torch_dispatch__`` inside torch's
dispatch. Exercises define only the protocol methods they call
(``dialect.DEFINABLE_DUNDERS``), so that is all a learner's class may hold.

The rule is held at every door. The class statement and ``type(name, bases,
namespace)`` (the dialect's ``type`` is this module's) are checked before the
class exists, with a refusal that names the method. Every other way to make a
class (a metaclass, enum's functional API, ``dataclasses.make_dataclass``, a
real ``type`` handed back by some call) meets the sweep: before the run's last
frame, every class that did not exist before the learner's code ran is read,
and a special method outside the allow-list whose value is the learner's code
is refused. Classes torch or the standard library make on the learner's
behalf (dataclass methods, an FX graph module) hold no learner code in those
slots, so they pass.

Worker side: the standard library only.
"""

from __future__ import annotations

import functools
import gc
import types
import weakref
from typing import Any, Callable, Iterator

# Keys the compiler and the standard factories put in every class.
IMPLICIT_CLASS_KEYS = frozenset({
    "__module__", "__qualname__", "__doc__", "__classcell__", "__annotations__", "__static_attributes__",
    "__firstlineno__", "__orig_bases__", "__dict__", "__weakref__",
})  # fmt: skip
_class_dict = type.__dict__["__dict__"].__get__  # a class's own namespace, whatever its metaclass says
_subclasses = type.__subclasses__
_class_name = type.__dict__["__name__"].__get__

# Classes that existed before any learner code ran (filled in the worker, inherited by every
# child): id -> class, holding each class so that an id is never reused by a new one.
_before: dict[int, type] = {}


def every_class() -> Iterator[type]:
    """Every class alive in the process, found through the subclass links (no gc walk)."""
    seen = {id(object)}
    stack: list[type] = [object]
    yield object
    while stack:
        cls = stack.pop()
        try:
            children = _subclasses(cls) if cls is not type else _subclasses(type)
        except TypeError:
            continue
        for child in children:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
                yield child


def made_since_remembered() -> Iterator[type]:
    """Every class that was not there when ``remember_existing`` last ran.

    Found among the objects the cyclic GC tracks (every class is one): the
    worker freezes its heap (``gc.freeze``) before it forks, so in a child
    these are only what was made since, and reading them touches none of the
    worker's pages. Walking every class instead copied some 5,000 of them
    into each child (~30 ms). Without a freeze it is every object: slower,
    the same answer. ``type(obj)``, not ``isinstance``: an object's
    ``__class__`` may be the learner's property.
    """
    for obj in gc.get_objects():
        if issubclass(type(obj), type) and _before.get(id(obj)) is not obj:
            yield obj


def remember_existing() -> None:
    """Note the classes that exist now, so that the sweep reads only the ones made later.
    Called once in the worker before it forks (and by the first rule, if the worker did not)."""
    _before.update((id(cls), cls) for cls in every_class())


def metaclass_of(bases: tuple[Any, ...]) -> type:
    """The metaclass Python would use for a class with these bases (``type`` unless a base says)."""
    winner: type = type
    for base in bases:
        kind = type(base)
        if issubclass(winner, kind):
            continue
        if issubclass(kind, winner):
            winner = kind
            continue
        raise TypeError("metaclass conflict: the bases' metaclasses are unrelated")
    return winner


class ClassRule:
    """The learner's classes (for the attribute guard's ownership rule) and the checks that
    keep special methods out of them.

    ``refuse(code, detail)`` reports a refusal and returns the exception to raise.
    """

    def __init__(self, refuse: Callable[[str, str], BaseException], allowed: frozenset[str],
                 learner_file: str) -> None:
        self.refuse = refuse
        self.allowed = allowed | IMPLICIT_CLASS_KEYS
        self.learner_file = learner_file
        self.classes: weakref.WeakSet[type] = weakref.WeakSet()
        if not _before:
            remember_existing()
        self.type = _guarded_type(self)
        self.statement = _ClassStatement(self)

    def make(self, name: Any, bases: Any, namespace: Any, **kwargs: Any) -> type:
        """A class statement, or ``type(name, bases, namespace)``: checked, then made, then the learner's."""
        if type(name) is not str or type(bases) is not tuple or not isinstance(namespace, dict):
            raise TypeError("type(name, bases, dict): name must be a str, bases a tuple, dict a dict")
        for base in bases:
            if base is self.type or (isinstance(base, type) and issubclass(base, type)):
                raise self.refuse("special", "a metaclass (a subclass of type)")
        for key in namespace:
            if _dunder(key) and key not in self.allowed:
                raise self.refuse("special", key)
        cls = metaclass_of(bases)(name, bases, namespace, **kwargs)
        self.classes.add(cls)
        return cls

    def type_of(self, obj: Any) -> Any:
        """``type(obj)``; the class ``type`` itself is handed out as the guarded one."""
        return self.value(type(obj), "type(...)")

    def value(self, value: Any, what: str) -> Any:
        """A value learner code is about to hold: ``type`` becomes the guarded one, and any other
        metaclass (a maker of classes: ``abc.ABCMeta``, ``type(SomeEnum)``) is refused."""
        if value is type:
            return self.type
        if isinstance(value, type) and issubclass(value, type) and value is not self.type:
            raise self.refuse("special", f"{what} = {_class_name(value)} (a metaclass)")
        return value

    def sweep(self) -> str | None:
        """The first special method outside the allow-list that the learner's code put in any
        class made since the worker started (``"Name.__del__"``), or None."""
        for cls in made_since_remembered():
            try:
                namespace = _class_dict(cls)
            except TypeError:
                continue
            for key, value in list(namespace.items()):
                if type(key) is str and _dunder(key) and key not in self.allowed and self.runs_learner_code(value):
                    return f"{_class_name(cls)}.{key}"
        return None

    def runs_learner_code(self, value: Any, depth: int = 0) -> bool:
        """Whether calling ``value`` would run code from the learner's file, through the
        usual wrappers (methods, partials, properties, closures, decorators)."""
        if depth > 6:
            return True  # nested beyond any honest wrapper: count it as theirs
        inner: list[Any] = []
        if isinstance(value, types.FunctionType):
            if value.__code__.co_filename == self.learner_file:
                return True
            inner += [c.cell_contents for c in value.__closure__ or () if _filled(c)]
            inner.append(getattr(value, "__wrapped__", None))
        elif isinstance(value, (classmethod, staticmethod, types.MethodType)):
            inner += [value.__func__, getattr(value, "__self__", None)]
        elif isinstance(value, property):
            inner += [value.fget, value.fset, value.fdel]
        elif isinstance(value, (functools.partial, functools.partialmethod)):
            inner += [value.func, *value.args, *value.keywords.values()]
        elif isinstance(value, (list, tuple)):
            inner += list(value)[:64]
        elif not isinstance(value, type):  # a callable object: what calling it runs, if Python code
            call = _lookup(type(value), "__call__")
            if isinstance(call, types.FunctionType):
                inner.append(call)
        return any(self.runs_learner_code(v, depth + 1) for v in inner if v is not None)


def _dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _lookup(cls: type, name: str) -> Any:
    """``name`` as the class's own namespaces hold it (no descriptor runs)."""
    for klass in cls.__mro__:
        namespace = _class_dict(klass)
        if name in namespace:
            return namespace[name]
    return None


def _filled(cell: Any) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


class _ClassStatement:
    """What the compiled code names ``__metaclass__``: Python asks it to prepare the class's
    namespace (so an ``enum.Enum`` body gets enum's own) and then to make the class."""

    def __init__(self, rule: ClassRule) -> None:
        self._rule = rule

    def __prepare__(self, name: str, bases: tuple[Any, ...], **kwargs: Any) -> Any:
        return metaclass_of(bases).__prepare__(name, bases, **kwargs)

    def __call__(self, name: str, bases: tuple[Any, ...], namespace: Any, **kwargs: Any) -> type:
        return self._rule.make(name, bases, namespace, **kwargs)


def _guarded_type(rule: ClassRule) -> type:
    """The dialect's ``type``: ``type(x)`` and ``isinstance(c, type)`` as usual; the
    three-argument form makes a class by the class statement's rule."""

    class TypeMeta(type):
        def __instancecheck__(cls, obj: Any) -> bool:
            return isinstance(obj, type)

        def __subclasscheck__(cls, sub: Any) -> bool:
            return issubclass(sub, type)

        def __call__(cls, *args: Any, **kwargs: Any) -> Any:
            if len(args) == 1 and not kwargs:
                return rule.type_of(args[0])
            if len(args) == 3:
                return rule.make(*args, **kwargs)
            raise TypeError("type() takes 1 or 3 arguments")

        def __repr__(cls) -> str:
            return "<class 'type'>"

    return TypeMeta("type", (), {"__module__": "builtins", "__qualname__": "type"})
