"""Attribute reads that torch.compile may trace, so ``fullgraph=True`` works in the dialect.

The dialect sends every attribute read of the learner's code through the
guard (``Guard.getattr``), and dynamo must never trace the guard
(``tutor.jail.untraced``). So every read was a graph break: code that plain
torch compiles whole, ``torch.compile(fn, fullgraph=True)`` refused in the
sandbox. Once torch._dynamo is loaded, each guard's ``getattr`` gets a
polyfill (``torch.compiler.substitute_in_graph``) that dynamo inlines where
the code calls the guard. It inlines only reads whose outcome is already
known to be the plain read:

* a public name that ``torch.Tensor`` defines, read off a plain tensor: the
  guard allows every such read and hands back what it read (a test holds
  it to that, name by name);
* a public name read off a module, once the guard itself, asked while
  dynamo traces, hands back the module's own attribute (``torch.sin``, yes;
  ``torch.save``, which the guard replaces, no);
* a public name read off any other object but those the guard rules on by
  type (frames, generators, strings, classes), when what it gives is of a
  type the guard hands back as it is (``AS_IS``: a tensor, an ``nn.Module``,
  a number, a bound method): ``self.linear``, ``self.weight``, ``self.scale``.

Every other read calls the guard as before: a graph break, and the guard's
own decision, refusals included. The polyfill only changes what dynamo
traces; code that runs without torch.compile meets the guard as always.

Worker side: standard library and torch only.
"""

from __future__ import annotations

import builtins
import sys
import types
from typing import Any, Callable

import torch

from tutor.jail.untraced import untraced

#: The tensor types the jail treats as plain (a subclass runs its own code when read).
PLAIN_TENSORS = (torch.Tensor, torch.nn.Parameter)

#: What a read may give for the guard to hand it back as it is (``Guard.value`` changes or refuses
#: only modules, classes, frames and code, and a few functions: none of these).
AS_IS = (torch.Tensor, torch.nn.Module, torch.dtype, torch.device, torch.Size, int, float, complex, bool, str,
         type(None), types.MethodType)

#: The public names ``torch.Tensor`` itself defines: methods and properties.
TENSOR_NAMES = frozenset(name for name in dir(torch.Tensor)
                         if not name.startswith("_") and name.isascii() and name.isidentifier())


def let_dynamo_trace(reads: Callable[..., Any], guarded: Callable[..., Any], special: tuple[type, ...]) -> None:
    """Give ``reads`` (a guard's untraced ``getattr``) a polyfill dynamo inlines, if dynamo is loaded.

    ``guarded`` is the guard's own read; the polyfill calls it, untraced, for
    every read it does not take. ``special``: the objects whose public names
    the guard itself rules on (frames, generators, strings and their
    ``format``), left to it. Without dynamo loaded there is nothing to
    tell it (and importing it costs a second): a task that compiles has it
    loaded before its child starts (``tutor.grading.needs``).
    """
    if "torch._dynamo" not in sys.modules:
        return
    fallback = untraced(guarded)  # a function of its own: calling ``reads`` here would inline this again
    # dynamo resolves an inlined function's builtins in the traced frame's: the learner's, whose
    # ``getattr`` is the guard itself. So the polyfill names none: it holds the real ones here.
    plain_getattr, plain_type, plain_isinstance, plain_str = builtins.getattr, builtins.type, builtins.isinstance, str
    module_type, tensor_names, plain_tensors, as_is = types.ModuleType, TENSOR_NAMES, PLAIN_TENSORS, AS_IS
    left_to_the_guard = (*special, type, module_type)

    @torch.compiler.assume_constant_result
    def module_read_as_is(module: types.ModuleType, name: str) -> bool:
        """Whether the guard reads ``name`` off ``module`` unchanged (run by dynamo while it traces)."""
        try:
            return fallback(module, name) is plain_getattr(module, name)
        except Exception:  # noqa: BLE001 - a refusal or a missing name: the guard decides at run time
            return False

    def read(obj: Any, name: Any, *default: Any) -> Any:
        if plain_type(name) is plain_str and name[:1] != "_":
            if name in tensor_names and plain_type(obj) in plain_tensors:
                return plain_getattr(obj, name, *default)
            if name.isascii() and name.isidentifier():
                if plain_isinstance(obj, module_type):
                    if module_read_as_is(obj, name):
                        return plain_getattr(obj, name, *default)
                elif not plain_isinstance(obj, left_to_the_guard):  # a module's layer, its weight, a method
                    value = plain_getattr(obj, name, *default)
                    if plain_isinstance(value, as_is):
                        return value
        return fallback(obj, name, *default)

    torch.compiler.substitute_in_graph(reads)(read)
