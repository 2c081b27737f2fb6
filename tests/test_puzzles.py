"""The worked example pack (docs/examples/tensor-puzzles) against a public exercise set's own answers.

The pack ports 21 of Sasha Rush's Tensor Puzzles (github.com/srush/Tensor-Puzzles)
with the puzzles' spec functions as references. The standard one-line answers,
in the puzzles' style (broadcasting, indexing, `arange`, `where`, earlier puzzles),
must pass; so graded in one batch through the real CLI and sandbox, and a few
wrong or rule-breaking answers must fail with the intended check.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tutor.cli import main
from tutor.pack.loader import load_pack
from tutor.workspace import Workspace

PACK = Path(__file__).resolve().parents[1] / "docs" / "examples" / "tensor-puzzles"

ONES = "def ones(i): return where(arange(i) >= 0, 1, 0)\n"
TRIU = "def triu(j): return where(arange(j)[:, None] <= arange(j), 1, 0)\n"
EYE = "def eye(j): return where(arange(j)[:, None] == arange(j), 1, 0)\n"
CUMSUM = TRIU + "def cumsum(a): return a @ triu(a.shape[0])\n"

ANSWERS = {
    "ones": ONES,
    "sum": ONES + "def sum(a): return ones(a.shape[0]) @ a[:, None]\n",
    "outer": "def outer(a, b): return a[:, None] * b[None, :]\n",
    "diag": "def diag(a): return a[arange(a.shape[0]), arange(a.shape[0])]\n",
    "eye": EYE,
    "triu": TRIU,
    "cumsum": CUMSUM,
    "diff": "def diff(a, i): return a - where(arange(i) != 0, a[arange(i) - 1], 0)\n",
    "vstack": "def vstack(a, b): return where(arange(2)[:, None] == 0, a, b)\n",
    "roll": "def roll(a, i): return a[(arange(i) + 1) % i]\n",
    "flip": "def flip(a, i): return a[i - arange(i) - 1]\n",
    "compress": CUMSUM + "def compress(g, v, i):\n"
                "    return v @ where(g[:, None], arange(i) == (cumsum(1 * g) - 1)[:, None], 0)\n",
    "pad-to": "def pad_to(a, i, j): return a @ (1 * (arange(i)[:, None] == arange(j)))\n",
    "sequence-mask": "def sequence_mask(values, length):\n"
                     "    return where(length[:, None] > arange(values.shape[1]), values, 0)\n",
    "bincount": ONES + EYE + "def bincount(a, j): return ones(a.shape[0]) @ eye(j)[a]\n",
    "scatter-add": EYE + "def scatter_add(values, link, j): return values @ eye(j)[link]\n",
    "flatten": "def flatten(a, i, j): return a[arange(i * j) // j, arange(i * j) % j]\n",
    "linspace": "def linspace(i, j, n): return i + (j - i) * arange(n) / max(1, n - 1)\n",
    "heaviside": "def heaviside(a, b): return where(a == 0, b, a > 0)\n",
    "repeat": ONES + "def repeat(a, d): return ones(d[0])[:, None] * a\n",
    "bucketize": ONES + "def bucketize(v, boundaries):\n"
                 "    return (1 * (v[:, None] >= boundaries)) @ ones(boundaries.shape[0])\n",
}
WRONG = {  # task: (answer, the check that must fail)
    "outer": ("def outer(a, b): return b[:, None] * a[None, :]\n", "result"),  # transposed: dims never equal
    "sum": ("import torch\ndef sum(a): return torch.sum(a)[None]\n", "forbid"),
    "flip": ("def flip(a, i):\n    out = a * 0\n    for k in range(i):\n        out[k] = a[i - k - 1]\n    return out\n", "source"),
    "roll": ("def roll(a, i): return a[(arange(i) + 1) % i]" + " " * 40 + "# far too wide\n", "custom"),
}


def _grade(tmp_path: Path, capsys: pytest.CaptureFixture[str], answers: dict[str, str]) -> dict[str, dict]:
    ws = Workspace.create(tmp_path / "ws", load_pack(PACK), str(PACK))
    for task, text in answers.items():
        ws.exercise_path(f"puzzles/{task}").write_text(text, encoding="utf-8")
    report = tmp_path / "report.json"
    with pytest.raises(SystemExit):
        main(["grade", str(ws.root), "--pack", str(PACK), "--format", "json", "-o", str(report), "--seed", "5"])
    capsys.readouterr()
    (result,) = json.loads(report.read_text(encoding="utf-8"))
    return {v["task"].split("/")[1]: v for v in result["tasks"]}


def test_standard_answers_pass_and_wrong_ones_fail(tmp_path, capsys):
    assert set(ANSWERS) == {task.id for _, task in load_pack(PACK).tasks()}
    verdicts = _grade(tmp_path / "right", capsys, ANSWERS)
    for task, verdict in verdicts.items():
        failed = [(c["name"], c["message"][:200]) for c in verdict["checks"] if not c["passed"]]
        assert verdict["status"] == "passed", (task, verdict["status"], verdict["error"], failed)

    verdicts = _grade(tmp_path / "wrong", capsys, {task: text for task, (text, _) in WRONG.items()})
    for task, (_, check) in WRONG.items():
        failed = {c["name"] for c in verdicts[task]["checks"] if not c["passed"]}
        assert verdicts[task]["status"] == "failed" and check in failed, (task, verdicts[task]["status"], failed)


def test_student_pack_of_the_puzzles_checks_locally(tmp_path, capsys):
    student = tmp_path / "student"
    with pytest.raises(SystemExit) as exc:
        main(["lesson", "export", "--student", str(student), "--pack", str(PACK)])
    assert exc.value.code in (0, None), capsys.readouterr().err
    capsys.readouterr()
    answer = tmp_path / "flip.py"
    for text, status in ((ANSWERS["flip"], "passed"), (WRONG["outer"][0].replace("outer", "flip"), "error")):
        answer.write_text(text, encoding="utf-8")
        with pytest.raises(SystemExit):
            main(["check", "puzzles/flip", "--pack", str(student), "--file", str(answer), "--format", "json"])
        verdict = json.loads(capsys.readouterr().out)
        assert verdict["status"] == status, verdict
        assert any("3 hidden case" in note for note in verdict["notes"]) and len(verdict["notes"]) == 2


# numpy-100's standard answers (github.com/rougier/numpy-100), as the set writes them, in torch;
# the pack's references are written another way (tests/packs/torch100).
T100 = Path(__file__).resolve().parent / "packs" / "torch100"
T100_ANSWERS = {
    "fifth-one": "import torch\ndef solve(n):\n    Z = torch.zeros(n)\n    Z[4] = 1\n    return Z\n",
    "reverse": "def solve(z):\n    return z.flip(0)\n",
    "nonzero": "import torch\ndef solve(z):\n    return torch.nonzero(z)\n",
    "below-diagonal": "import torch\ndef solve(n):\n    return torch.diag(1 + torch.arange(n - 1), diagonal=-1)\n",
    "checkerboard": "import torch\ndef solve(n):\n    Z = torch.zeros((n, n), dtype=torch.int64)\n"
                    "    Z[1::2, ::2] = 1\n    Z[::2, 1::2] = 1\n    return Z\n",
    "normalize": "def solve(z):\n    return (z - z.mean()) / z.std()\n",
    "int-matmul": "def solve(a, b):\n    return a @ b\n",
    "negate-between": "def solve(z):\n    Z = z.clone()\n    Z[(3 < Z) & (Z < 8)] *= -1\n    return Z\n",
    "round-away": "import torch\ndef solve(z):\n    return torch.copysign(torch.ceil(torch.abs(z)), z)\n",
    "common-values": "import torch\ndef solve(a, b):\n    return torch.unique(a[torch.isin(a, b)])\n",
    "row-ramp": "import torch\ndef solve(n):\n    Z = torch.zeros((n, n))\n    Z += torch.arange(n)\n    return Z\n",
    "open-interval": "import torch\ndef solve(n):\n    return torch.linspace(0, 1, n + 2)[1:-1]\n",
    "max-to-zero": "def solve(z):\n    Z = z.clone()\n    Z[Z.argmax()] = 0\n    return Z\n",
    "closest": "def solve(z, v):\n    index = (z - v).abs().argmin()\n    return z[index]\n",
    "row-centre": "def solve(x):\n    return x - x.mean(dim=1, keepdim=True)\n",
    "sort-by-column": "def solve(z, n):\n    return z[z[:, n].argsort()]\n",
    "swap-rows": "def solve(a):\n    A = a.clone()\n    A[[0, 1]] = A[[1, 0]]\n    return A\n",
    "most-frequent": "import torch\ndef solve(z):\n    return torch.bincount(z).argmax()\n",
    "largest-n": "import torch\ndef solve(z, n):\n    return z[torch.argsort(z)[-n:]]\n",
    "pairwise-distance": "import torch\ndef solve(x, y):\n    return torch.cdist(x, y)\n",
    "moving-average": "import torch\ndef solve(a, n):\n    ret = torch.cumsum(a, dim=0)\n"
                      "    ret[n:] = ret[n:] - ret[:-n]\n    return ret[n - 1:] / n\n",
    "block-sum": "def solve(z, k):\n    n = z.shape[0] // k\n    return z.reshape(n, k, n, k).sum(dim=(1, 3))\n",
    "last-axes-sum": "def solve(a):\n    return a.sum(dim=(-2, -1))\n",
    "one-hot": "import torch.nn.functional as F\ndef solve(labels, k):\n    return F.one_hot(labels, k)\n",
    "einsum-trace": "import torch\ndef solve(m):\n    return torch.einsum('bii->b', m)\n",
}


def test_numpy_100_standard_answers_pass_through_tutor_check(tmp_path, capsys):
    assert set(T100_ANSWERS) == {task.id for _, task in load_pack(T100).tasks()}
    ws = Workspace.create(tmp_path / "ws", load_pack(T100), str(T100))
    for task, text in T100_ANSWERS.items():
        ws.exercise_path(f"t100/{task}").write_text(text, encoding="utf-8")
    report = tmp_path / "report.json"
    with pytest.raises(SystemExit):  # the whole set in one batch: one warm worker
        main(["grade", str(ws.root), "--pack", str(T100), "--format", "json", "-o", str(report), "--seed", "3"])
    capsys.readouterr()
    (result,) = json.loads(report.read_text(encoding="utf-8"))
    failing = {v["task"]: (v["status"], v["error"], [c["message"][:160] for c in v["checks"] if not c["passed"]])
               for v in result["tasks"] if v["status"] != "passed"}
    assert not failing, failing
    # and the way a learner checks one answer, `tutor check`
    answer = tmp_path / "moving.py"
    answer.write_text(T100_ANSWERS["moving-average"], encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["check", "t100/moving-average", "--pack", str(T100), "--file", str(answer), "--format", "json"])
    assert json.loads(capsys.readouterr().out)["status"] == "passed"
