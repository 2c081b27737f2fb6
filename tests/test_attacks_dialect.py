"""The restricted dialect, the recorders, the `source` rules and refusals, through the real CLI.

Every submission is a student workspace; one `tutor grade` call grades them all
in the real sandbox. Attacks must earn no pass and end with a valid verdict of
the expected kind; right answers written in many styles must pass.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PACKS, make_workspace

PACK = PACKS / "dialect"
ATTACK_PACK = PACKS / "attack"
BY_HAND = "1 / (1 + torch.exp(-x))"

# name -> (task, source, statuses it may end with, text the message must hold)
ATTACKS: dict[str, tuple[str, str, set[str], str]] = {
    # the static refusal was defeated by aliases and data
    "getattr-alias": ("sigmoid", f"import torch\ng = getattr\ndef solve(x):\n    g(x, '__class__')\n    return {BY_HAND}\n",
                      {"refused"}, "__class__"),
    "getattr-sys-modules": ("sigmoid", "import torch\ndef solve(x):\n    sys = getattr(torch, 'sy' + 's')\n"
                            "    return getattr(sys, 'modules')['torch'].sigmoid(x)\n", {"refused"}, "sys"),
    "dunder-import": ("sigmoid", "def solve(x):\n    return __import__('sys').modules['torch'].sigmoid(x)\n",
                      {"refused"}, "__import__"),
    "save-imported-by-name": ("sigmoid", "import torch\nfrom torch import save\ndef solve(x):\n    try:\n"
                              "        save(x, '/tmp/tutor-dialect-pwned.pt')\n    except Exception:\n        pass\n"
                              f"    return {BY_HAND}\n", {"refused"}, "writing"),
    "runtime-built-name": ("sigmoid", "import torch\ndef solve(x):\n    c = getattr(torch, '_' + chr(67))\n"
                           f"    return {BY_HAND}\n", {"refused"}, "_C"),
    "unicode-name": ("sigmoid", f"import torch\ndef solve(x):\n    getattr(x, '__\uff43lass__')\n    return {BY_HAND}\n",
                     {"refused"}, "__class__"),
    "format-reads-attributes": ("sigmoid", "import torch\ndef solve(x):\n    '{0.__class__.__mro__}'.format(x)\n"
                                f"    return {BY_HAND}\n", {"refused"}, "__class__"),
    "attrgetter": ("sigmoid", "import operator, torch\ndef solve(x):\n    operator.attrgetter('_base')(x)\n"
                   f"    return {BY_HAND}\n", {"refused"}, "attrgetter"),
    "generator-frame": ("sigmoid", "import torch\ndef g():\n    yield 1\ndef solve(x):\n    it = g()\n"
                        f"    getattr(it, 'gi_' + 'frame')\n    return {BY_HAND}\n", {"refused"}, "gi_frame"),
    "module-reached-through-torch": ("sigmoid", f"import torch\ndef solve(x):\n    getattr(torch, 'os')\n    return {BY_HAND}\n",
                                     {"refused"}, "os"),
    "patch-torch": ("sigmoid", "import torch\ndef solve(x):\n    torch.exp = torch.sigmoid\n    return torch.exp(x)\n",
                    {"refused"}, "torch"),
    # the audit hook trusted the caller's frame: routing through a torch wrapper
    "no-grad-wrapper": ("sigmoid", "import torch\ndef inner(x):\n    return torch.sigmoid(x)\n"
                        "def solve(x):\n    with torch.enable_grad():\n        return torch.enable_grad()(inner)(x)\n", {"failed"}, ""),
    # the recorders watched only the entry call
    "import-time": ("sigmoid", "import torch\nTABLE = torch.sigmoid(torch.linspace(-9, 9, 5))\n"
                    f"def solve(x):\n    return {BY_HAND}\n", {"failed"}, ""),
    "threads": ("sigmoid", "import concurrent.futures, torch\ndef solve(x):\n"
                "    with concurrent.futures.ThreadPoolExecutor() as ex:\n        return ex.submit(torch.sigmoid, x).result()\n",
                {"refused"}, "concurrent"),
    "function-backward": ("sigmoid", "import torch\nclass S(torch.autograd.Function):\n    @staticmethod\n"
                          "    def forward(ctx, x):\n        ctx.save_for_backward(x)\n        return 1 / (1 + torch.exp(-x))\n"
                          "    @staticmethod\n    def backward(ctx, g):\n        (x,) = ctx.saved_tensors\n"
                          "        s = torch.sigmoid(x)\n        return g * s * (1 - s)\n"
                          "def solve(x):\n    return S.apply(x)\n", {"failed"}, ""),
    "tensor-hook": ("sigmoid", "import torch\ndef solve(x):\n    y = 1 / (1 + torch.exp(-x))\n"
                    "    y.register_hook(lambda g: g + 0 * torch.sigmoid(x))\n    return y\n", {"failed"}, ""),
    "subclass-named-tensor": ("sigmoid", "import torch\nclass Tensor(torch.Tensor):\n    pass\n"
                              f"def solve(x):\n    return ({BY_HAND}).as_subclass(Tensor)\n", {"error"}, "subclass"),
    "property-during-encoding": ("sigmoid", "import torch\nclass T(torch.Tensor):\n    @property\n"
                                 "    def shape(self):\n        torch.sigmoid(torch.zeros(1))\n        return torch.Size([4])\n"
                                 f"def solve(x):\n    return [({BY_HAND}).as_subclass(T)]\n", {"error"}, ""),
    # `source` read only the entry's last def
    "helper-loop": ("total", "def add(x):\n    t = 0\n    for v in x:\n        t = t + v\n    return t\n"
                    "def solve(x):\n    return add(x)\n", {"failed"}, ""),
    "entry-rebound": ("total", "def solve(x):\n    return x.sum()\ndef looped(x):\n    t = 0\n    for v in x:\n"
                      "        t = t + v\n    return t\nsolve = looped\n", {"failed"}, ""),
    # denied attempts the learner caught still count
    "caught-denied-read": ("sigmoid", "import torch\ndef solve(x):\n    try:\n        torch.load('/etc/passwd')\n"
                           f"    except Exception:\n        pass\n    return {BY_HAND}\n", {"refused"}, "/etc/passwd"),
    "caught-read-of-the-pack": ("sigmoid", "import torch\ndef solve(x):\n    try:\n"
                                f"        torch.load('{PACK / 'dialect.yaml'}')\n    except Exception:\n        pass\n"
                                f"    return {BY_HAND}\n", {"refused"}, "dialect.yaml"),
    "caught-write-outside": ("sigmoid", "import torch\ndef solve(x):\n    try:\n        torch.save(x, '/tmp/tutor-dialect-pwned.pt')\n"
                             f"    except Exception:\n        pass\n    return {BY_HAND}\n", {"refused"}, "writing"),
    "caught-guard-refusal": ("sigmoid", "import torch\ndef solve(x):\n    try:\n        getattr(x, '_' + 'base')\n"
                             f"    except Exception:\n        pass\n    return {BY_HAND}\n", {"refused"}, "_base"),
}
# With internals allowed, the kernel layers are what an attempt meets; a caught denial still counts.
INTERNALS_ATTACKS: dict[str, tuple[str, set[str], str]] = {
    "caught-parent-proc": ("import os\ndef solve(x):\n    try:\n        open(f'/proc/{os.getppid()}/cmdline').read()\n"
                           "    except OSError:\n        pass\n    return 1 / (1 + x.neg().exp())\n", {"refused"}, "/proc/"),
    "caught-symlink-out": ("import os\ndef solve(x):\n    try:\n        os.symlink('/etc/hostname', 'out')\n        open('out').read()\n"
                           "    except OSError:\n        pass\n    return 1 / (1 + x.neg().exp())\n", {"refused"}, "out"),
    "caught-socket": ("import socket\ndef solve(x):\n    try:\n        socket.socket()\n    except OSError:\n        pass\n"
                      "    return 1 / (1 + x.neg().exp())\n", {"refused"}, "network"),
}

# Right answers in many styles: each must pass.
GOOD: dict[str, tuple[str, str]] = {
    "plain": ("sigmoid", f"import torch\ndef solve(x):\n    return {BY_HAND}\n"),
    "helper-class": ("sigmoid", "import torch\nclass Sigmoid:\n    def __init__(self, scale=1.0):\n        self._scale = scale\n"
                     "    def __call__(self, x):\n        return 1 / (1 + torch.exp(-x * self._scale))\n"
                     "    def __len__(self):\n        return 1\n    def __getitem__(self, i):\n        return self\n"
                     "    def __eq__(self, other):\n        return self._scale == other._scale\n"
                     "def solve(x):\n    f = Sigmoid()\n    _ = len(f)\n    assert f == Sigmoid()\n    return f[0](x)\n"),
    "nn-module": ("sigmoid", "import torch\nfrom torch import nn\nclass Act(nn.Module):\n    def __init__(self):\n"
                  "        super().__init__()\n        self.one = 1.0\n    def forward(self, x):\n"
                  "        return self.one / (self.one + torch.exp(-x))\ndef solve(x):\n    return Act()(x)\n"),
    "autograd-function": ("sigmoid", "import torch\nclass S(torch.autograd.Function):\n    @staticmethod\n"
                          "    def forward(ctx, x):\n        s = 1 / (1 + torch.exp(-x))\n        ctx.save_for_backward(s)\n        return s\n"
                          "    @staticmethod\n    def backward(ctx, g):\n        (s,) = ctx.saved_tensors\n        return g * s * (1 - s)\n"
                          "def solve(x):\n    return S.apply(x)\n"),
    "compile-eager": ("sigmoid", "import torch\ndef f(x):\n    return 1 / (1 + torch.exp(-x))\n"
                      "def solve(x):\n    return torch.compile(f, backend='eager')(x)\n"),
    "bytesio-round-trip": ("sigmoid", "import io\nimport torch\ndef solve(x):\n    buf = io.BytesIO()\n"
                           "    torch.save(torch.tensor([1.0]), buf)\n    buf.seek(0)\n    one = torch.load(buf).to(x.dtype)\n"
                           "    return one / (one + torch.exp(-x))\n"),
    "python-niceties": ("sigmoid", "from __future__ import annotations\nimport dataclasses, functools, itertools, math\n"
                        "import torch\n@dataclasses.dataclass\nclass Cfg:\n    one: float = 1.0\n"
                        "def solve(x: torch.Tensor) -> torch.Tensor:\n    cfg = Cfg()\n    parts = [p for p in (cfg.one,)]\n"
                        "    print(f'x has shape {tuple(x.shape)}', '{:.1f}'.format(math.pi))\n"
                        "    total = functools.reduce(lambda a, b: a + b, itertools.chain(parts))\n"
                        "    total += 0.0\n    y = torch.exp(-x) + total\n    return 1 / y\n"),
    "vec-matmul": ("vecmat", "def solve(v, m):\n    return v @ m\n"),
    "vec-matmul-function": ("vecmat", "import torch\ndef solve(v, m):\n    return torch.matmul(v, m)\n"),
    "no-loops-with-helpers": ("total", "import torch\ndef dead_scratch(x):\n    for v in x:\n        print(v)\n"
                              "def helper(x):\n    return x.sum()\ndef solve(x):\n    return helper(x)\n"),
}
INT_MATMUL = ("int-matmul", "def solve(a, b):\n    return a @ b\n")


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("dialect")
    roots: dict[str, Path] = {}
    submissions = {n: (t, s) for n, (t, s, *_) in ATTACKS.items()} | GOOD | {"int-matmul": INT_MATMUL}
    for name, (task, source) in submissions.items():
        roots[name] = make_workspace(base / name, PACK, {f"dialect/{task}": source})
    internals: dict[str, Path] = {}
    for name, (source, *_) in INTERNALS_ATTACKS.items():
        internals[name] = make_workspace(base / name, ATTACK_PACK, {"attack/open": source})
    env = {**os.environ, "TUTOR_LANG": "en"}
    grade = [sys.executable, "-m", "tutor", "grade", "--format", "json"]
    proc = subprocess.run([*grade, *map(str, roots.values()), "--pack", str(PACK)],
                          capture_output=True, text=True, env=env, timeout=900, cwd=base)
    proc_internals = subprocess.run([*grade, *map(str, internals.values()), "--pack", str(ATTACK_PACK)],
                                    capture_output=True, text=True, env=env, timeout=300, cwd=base)
    zh = subprocess.run([*grade, str(roots["caught-denied-read"]), "--pack", str(PACK)],
                        capture_output=True, text=True, env={**env, "TUTOR_LANG": "zh"}, timeout=300, cwd=base)
    verdicts = {}
    for run, names in ((proc, roots), (proc_internals, internals)):
        assert run.returncode == 1, run.stderr[-2000:]
        assert "Traceback" not in run.stderr
        by_ws = {w["workspace"]: w for w in json.loads(run.stdout)}
        for name, ws in names.items():
            verdicts[name] = {v["task"].split("/")[1]: v for v in by_ws[str(ws)]["tasks"]}
    return {"verdicts": verdicts, "zh": json.loads(zh.stdout)}


def _text(verdict: dict) -> str:
    return (verdict.get("error") or "") + " ".join(c.get("message") or "" for c in verdict["checks"] if not c["passed"])


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_earns_no_pass(batch: dict, name: str) -> None:
    task, _, statuses, text = ATTACKS[name]
    verdict = batch["verdicts"][name][task]
    assert verdict["status"] in statuses, verdict
    assert text in _text(verdict), verdict


@pytest.mark.parametrize("name", sorted(INTERNALS_ATTACKS))
def test_a_caught_denial_is_refused_with_internals_allowed(batch: dict, name: str) -> None:
    _, statuses, text = INTERNALS_ATTACKS[name]
    verdict = batch["verdicts"][name]["open"]
    assert verdict["status"] in statuses, verdict
    assert text in _text(verdict), verdict


@pytest.mark.parametrize("name", sorted(GOOD))
def test_right_answers_in_many_styles_pass(batch: dict, name: str) -> None:
    task, _ = GOOD[name]
    verdict = batch["verdicts"][name][task]
    assert verdict["status"] == "passed", verdict


def test_an_integer_matrix_product_passes(batch: dict) -> None:
    assert batch["verdicts"]["int-matmul"]["int-matmul"]["status"] == "passed"


def test_a_refusal_names_the_attempt_in_chinese(batch: dict) -> None:
    verdict = next(v for v in batch["zh"][0]["tasks"] if v["task"] == "dialect/sigmoid")
    assert verdict["status"] == "refused"
    assert "读取 `/etc/passwd`" in verdict["error"] and "沙箱拒绝了" in verdict["error"], verdict["error"]


def test_learner_tracebacks_show_their_own_lines(grader, tmp_path: Path) -> None:
    from tutor.pack.loader import load_pack

    answer = tmp_path / "sigmoid.py"
    answer.write_text("import torch\n\ndef helper(x):\n    return x.no_such_method()\n\ndef solve(x):\n    return helper(x)\n")
    verdict = grader.grade(load_pack(PACK), "dialect/sigmoid", answer, seed=1)
    assert verdict.status.value == "error"
    assert f'File "{answer.resolve()}", line 4, in helper' in verdict.error, verdict.error
    assert "dialect.py" not in verdict.error and "harness.py" not in verdict.error


def test_a_refusal_before_running_names_the_line(grader, tmp_path: Path) -> None:
    from tutor.pack.loader import load_pack

    answer = tmp_path / "sigmoid.py"
    answer.write_text("import torch\n\ndef solve(x):\n    return x.__class__\n")
    verdict = grader.grade(load_pack(PACK), "dialect/sigmoid", answer, seed=1)
    assert verdict.status.value == "refused"
    assert verdict.error.startswith("Line 4:") and "__class__" in verdict.error, verdict.error
