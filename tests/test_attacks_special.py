"""Held-out style attacks on the dialect's edges, through the real CLI in one `tutor grade` batch.

Special methods given to a class by every door (``type()``, a metaclass, enum's
functional API, ``dataclasses.make_dataclass``, a real ``type`` obtained from a
call), strings that library code evaluates, learner code run from inside a
torch call, format strings. Each must earn no pass and end with a valid
verdict; the right answers beside them, written the ways learners write, must pass.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PACKS, make_workspace
from test_attacks_dialect import _text

PACK = PACKS / "dialect"
BY_HAND = "1 / (1 + torch.exp(-x))"
DEL = "KEEP = []\ndef f(self):\n    pass\n"

# name -> (task, source, statuses it may end with, text the message must hold)
ATTACKS: dict[str, tuple[str, str, set[str], str]] = {
    "type-three-args-del": ("sigmoid", f"import torch\n{DEL}def solve(x):\n    A = type('A', (), {{'__del__': f}})\n"
                            f"    A()\n    return {BY_HAND}\n", {"refused"}, "__del__"),
    "type-getattribute": ("sigmoid", "import torch\ndef solve(x):\n    A = type('A', (), {'__getattribute__': lambda s, n: 1})\n"
                          f"    return {BY_HAND}\n", {"refused"}, "__getattribute__"),
    "type-torch-function": ("sigmoid", "import torch\ndef tf(cls, func, types, args=(), kwargs=None):\n"
                            "    return torch.sigmoid(args[0].x)\n"
                            "def solve(x):\n    W = type('W', (), {'__torch_function__': classmethod(tf), '__init__': lambda s, v: None})\n"
                            "    w = W(x)\n    return x\n", {"refused"}, "__torch_function__"),
    "type-subclass-init-subclass": ("sigmoid", "import torch\ndef solve(x):\n"
                                    "    type('B', (), {'__init_subclass__': classmethod(lambda c: None)})\n"
                                    f"    return {BY_HAND}\n", {"refused"}, "__init_subclass__"),
    "type-set-name-descriptor": ("sigmoid", "import torch\ndef solve(x):\n"
                                 "    D = type('D', (), {'__get__': lambda s, o, t=None: 1, '__set_name__': lambda s, o, n: None})\n"
                                 f"    return {BY_HAND}\n", {"refused"}, "__get__"),
    "type-of-a-class-is-type": ("sigmoid", f"import torch\n{DEL}def solve(x):\n    T = type(int)\n"
                                f"    KEEP.append(T('A', (), {{'__del__': f}})())\n    return {BY_HAND}\n", {"refused"}, "__del__"),
    "metaclass-by-type": ("sigmoid", "import torch\ndef solve(x):\n    M = type('M', (type,), {})\n"
                          f"    return {BY_HAND}\n", {"refused"}, "metaclass"),
    "metaclass-by-statement": ("sigmoid", f"import torch\nclass M(type):\n    pass\n{DEL}"
                               f"def solve(x):\n    M('A', (), {{'__del__': f}})\n    return {BY_HAND}\n", {"refused"}, "metaclass"),
    "abc-metaclass-called": ("sigmoid", f"import abc, torch\n{DEL}def solve(x):\n    abc.ABCMeta('A', (), {{'__del__': f}})\n"
                             f"    return {BY_HAND}\n", {"refused"}, "ABCMeta"),
    "metaclass-of-an-enum": ("sigmoid", f"import enum, torch\nclass K(enum.Enum):\n    A = 1\n{DEL}def solve(x):\n"
                             f"    type(K)('E', [('__del__', f)])\n    return {BY_HAND}\n", {"refused"}, "metaclass"),
    "real-type-from-typing": ("sigmoid", f"import typing, torch\n{DEL}def solve(x):\n"
                              "    T = typing.get_origin(typing.Type[int])\n"
                              f"    KEEP.append(T('A', (), {{'__del__': f}})())\n    return {BY_HAND}\n", {"refused"}, "A.__del__"),
    "enum-functional-del": ("sigmoid", f"import enum, torch\n{DEL}def solve(x):\n    KEEP.append(enum.Enum('E', [('__del__', f), ('A', 1)]))\n"
                            f"    return {BY_HAND}\n", {"refused"}, "E.__del__"),
    "make-dataclass-namespace": ("sigmoid", f"import dataclasses, torch\n{DEL}def solve(x):\n"
                                 "    C = dataclasses.make_dataclass('C', [], namespace={'__del__': f})\n    KEEP.append(C())\n"
                                 f"    return {BY_HAND}\n", {"refused"}, "C.__del__"),
    "setattr-class-after": ("sigmoid", f"import torch\nclass A:\n    pass\n{DEL}def solve(x):\n    setattr(A, '__del' + '__', f)\n"
                            f"    return {BY_HAND}\n", {"refused"}, "__del__"),
    "partial-wrapped-del": ("sigmoid", f"import functools, typing, torch\n{DEL}def solve(x):\n"
                            "    T = typing.get_origin(typing.Type[int])\n"
                            f"    KEEP.append(T('A', (), {{'__del__': functools.partial(f)}}))\n    return {BY_HAND}\n", {"refused"}, "A.__del__"),
    # learner code that torch calls back from inside a recorded call: its operators are the learner's
    "forbidden-call-inside-apply": ("vecmat", "import torch\ndef solve(v, m):\n    out = []\n"
                                    "    def f(_):\n        out.append(torch.squeeze(v.unsqueeze(0) @ m))\n        return 0.0\n"
                                    "    torch.zeros(1).apply_(f)\n    return out[0]\n", {"failed"}, "squeeze"),
    # torch.fx writes the graph's targets into source it compiles: held to the attribute rule
    "fx-import": ("sigmoid", f"import torch\nimport torch.fx as fx\ndef solve(x):\n    return {BY_HAND}\n", {"refused"}, "torch.fx"),
    # stdlib helpers that read and write attributes by the names they are given
    "update-wrapper-merges-globals": ("sigmoid", "import functools, torch\ndef solve(x):\n"
                                      "    functools.update_wrapper(solve, torch.load, assigned=(), updated=('__globals__',))\n"
                                      f"    return {BY_HAND}\n", {"refused"}, "__globals__"),
    "wraps-assigns-code": ("sigmoid", "from functools import wraps\nimport torch\ndef solve(x):\n"
                           "    box = wraps(torch.sigmoid, assigned=('_C',))(lambda v: v)\n"
                           f"    return {BY_HAND}\n", {"refused"}, "_C"),
    # strings that library code evaluates without the guard
    "singledispatch-annotation": ("sigmoid", "import functools, torch\n@functools.singledispatch\ndef f(v):\n    return v\n"
                                  "def solve(x):\n    def g(v: '().__class__.__base__'):\n        return v\n    f.register(g)\n"
                                  f"    return {BY_HAND}\n", {"refused"}, "__base__"),
    "nested-string-annotation": ("sigmoid", "import torch\ndef solve(x: \"list['x._base']\"):\n"
                                 f"    return {BY_HAND}\n", {"refused"}, "_base"),
    "benchmark-timer-runs-strings": ("sigmoid", "import torch\nimport torch.utils.benchmark as b\ndef solve(x):\n"
                                     "    b.Timer(stmt='().__class__').timeit(1)\n"
                                     f"    return {BY_HAND}\n", {"refused"}, "benchmark"),
    "format-map-reads-attributes": ("sigmoid", "import torch\ndef solve(x):\n    '{t.__class__}'.format_map({'t': x})\n"
                                    f"    return {BY_HAND}\n", {"refused"}, "__class__"),
    "str-format-unbound": ("sigmoid", "import torch\ndef solve(x):\n    str.format('{0._base}', x)\n"
                           f"    return {BY_HAND}\n", {"refused"}, "_base"),
}

# Right answers that use the same doors honestly: each must pass.
GOOD: dict[str, tuple[str, str]] = {
    "enum-class": ("sigmoid", "import enum, torch\nclass Kind(enum.Enum):\n    HAND = 1\n    OTHER = 2\n"
                   "def solve(x):\n    assert Kind(1) is Kind.HAND and Kind.HAND.name == 'HAND'\n"
                   f"    return {BY_HAND}\n"),
    "type-one-arg-and-isinstance": ("sigmoid", "import torch\ndef solve(x):\n"
                                    "    assert type(x) is torch.Tensor and isinstance(torch.Tensor, type)\n"
                                    "    assert type(x).__name__ == 'Tensor' and type(int) is type\n"
                                    f"    return {BY_HAND}\n"),
    "type-three-args-plain": ("sigmoid", "import torch\ndef solve(x):\n"
                              "    Half = type('Half', (), {'__init__': lambda s, v: setattr(s, 'v', v), '__call__': lambda s: s.v})\n"
                              f"    return Half({BY_HAND})()\n"),
    "frozen-dataclass-and-namedtuple": ("sigmoid", "import collections, dataclasses, typing, torch\n"
                                        "@dataclasses.dataclass(frozen=True, order=True)\nclass Cfg:\n    one: float = 1.0\n"
                                        "class P(typing.NamedTuple):\n    a: int\n    b: int = 2\nQ = collections.namedtuple('Q', 'a b')\n"
                                        "def solve(x: 'torch.Tensor') -> 'torch.Tensor':\n    assert repr(Cfg()) == 'Cfg(one=1.0)' and P(1).b == Q(1, 2).b\n"
                                        "    return Cfg().one / (Cfg().one + torch.exp(-x))\n"),
    "abc-base": ("sigmoid", "import abc, torch\nclass Act(abc.ABC):\n    @abc.abstractmethod\n    def go(self, x):\n        ...\n"
                 f"class Sig(Act):\n    def go(self, x):\n        return {BY_HAND}\ndef solve(x):\n    return Sig().go(x)\n"),
    "format-fields": ("sigmoid", "import torch\ndef solve(x):\n    s = '{0.shape} {t.dtype} {0[0]:.2f}'.format(x, t=x)\n"
                      f"    assert 'float64' in s\n    return {BY_HAND}\n"),
    "wraps-honest": ("sigmoid", "import functools, torch\ndef logged(f):\n    @functools.wraps(f)\n"
                     "    def inner(*args):\n        return f(*args)\n    return inner\n@logged\ndef act(v):\n    'Sigmoid.'\n"
                     "    return 1 / (1 + torch.exp(-v))\ndef solve(x):\n    assert act.__name__ == 'act' and act.__doc__ == 'Sigmoid.'\n"
                     "    return act(x)\n"),
    "singledispatch-honest": ("sigmoid", "import functools, torch\n@functools.singledispatch\ndef act(v):\n    raise TypeError\n"
                              f"@act.register\ndef _(v: torch.Tensor):\n    return 1 / (1 + torch.exp(-v))\n"
                              "def solve(x):\n    return act(x)\n"),
}


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    base = tmp_path_factory.mktemp("special")
    roots = {name: make_workspace(base / name, PACK, {f"dialect/{task}": source})
             for name, (task, source, *_) in (ATTACKS | GOOD).items()}
    proc = subprocess.run([sys.executable, "-m", "tutor", "grade", "--format", "json", *map(str, roots.values()),
                           "--pack", str(PACK)], capture_output=True, text=True,
                          env={**os.environ, "TUTOR_LANG": "en"}, timeout=900, cwd=base)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    by_ws = {w["workspace"]: w for w in json.loads(proc.stdout)}
    return {name: {v["task"].split("/")[1]: v for v in by_ws[str(ws)]["tasks"]} for name, ws in roots.items()}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_on_the_dialects_edges_earns_no_pass(verdicts: dict, name: str) -> None:
    task, _, statuses, text = ATTACKS[name]
    verdict = verdicts[name][task]
    assert verdict["status"] in statuses, verdict
    assert text in _text(verdict), verdict


@pytest.mark.parametrize("name", sorted(GOOD))
def test_honest_use_of_the_same_doors_passes(verdicts: dict, name: str) -> None:
    task, _ = GOOD[name]
    verdict = verdicts[name][task]
    assert verdict["status"] == "passed", verdict


def test_fx_source_from_a_compile_backends_graph_is_refused() -> None:
    """A torch.compile backend hands the learner a graph module; torch.fx would compile the graph's
    targets into unguarded source (``p.__getattribute__('__class__')``): the audit hook refuses it."""
    import torch

    from tutor.grading.pool import Pool
    from tutor.jail import frames, wire

    source = ("import torch\ndef solve(a):\n    def backend(gm, inputs):\n        g = type(gm.graph)()\n"
              "        p = g.placeholder('p')\n        g.output(g.call_method('__getattribute__', (p, '__class__')))\n"
              "        type(gm).mro()[1](torch.nn.Module(), g)(a)\n        return gm.forward\n"
              "    return torch.compile(lambda v: v + 1, backend=backend)(a)\n")
    doc, blob = wire.encode({"cases": [{"args": {"a": torch.ones(2)}, "backward": [], "upstream": []}]})
    job = {"source": source, "filename": "/nonexistent/answer.py", "entry": "solve", "module": "answer",
           "device": "cpu", "record": False, "allow_internals": False, "deadline": 120.0, "case_timeout": 100.0,
           "startup": 60.0, "memory_mb": 2048, "max_result_bytes": 1 << 20, "payload": doc}
    pool = Pool("cpu", 1)
    try:
        run = pool.run(job, blob)
    finally:
        pool.close()
    refused = [h for h, _ in frames.split_frames(run.result) if h.get("kind") == "refused"]
    assert refused and refused[0]["event"] == "compile" and refused[0]["detail"] == ".__getattribute__", refused
