"""The attack suite: hostile submissions against the real sandbox, through the real CLI.

Every attack is a student workspace; one `tutor grade` call grades them all
(with a secret in its environment). For each, the test asserts: the status is
not passed; the grader survived and exited 1 with valid JSON; no side effect
outside the sandbox; no process left; no secret or reference text in any output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PACKS, ROOT, make_workspace

PACK = PACKS / "attack"
SECRET = "SECRET-TOKEN-d41d8cd98f"
REFERENCE = "REFERENCE-SECRET-7f3a9c"
RIGHT = "import torch\ndef solve(x):\n    return 1 / (1 + torch.exp(-x))\n"

# name -> (task, source). {SENTINEL}, {WS}, {PACK} and {ROOT} are filled in per run.
ATTACKS: dict[str, tuple[str, str]] = {
    "infinite-loop": ("open", "def solve(x):\n    while True:\n        pass\n"),
    "ignores-sigterm": ("open", "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ndef solve(x):\n    while True:\n        time.sleep(0.01)\n"),
    "memory-bomb": ("open", "def solve(x):\n    chunks = []\n    while True:\n        chunks.append(bytearray(64 << 20))\n"),
    "huge-tensor": ("open", "import torch\ndef solve(x):\n    return torch.ones(1 << 33)\n"),
    "shared-mmap-bomb": ("open", "import mmap\ndef solve(x):\n    m = mmap.mmap(-1, 3 << 30)\n    m[::4096] = b'x' * len(range(0, 3 << 30, 4096))\n    return x\n"),
    "fork-bomb": ("open", "import os\ndef solve(x):\n    while True:\n        os.fork()\n"),
    "daemon-child": ("open", "import os, time\ndef solve(x):\n    if os.fork() == 0:\n        os.setsid()\n        time.sleep(300)\n    return x\n"),
    "lingering-thread-forges": ("open", "import os, threading, time, json, struct\n"
        "def forge():\n    time.sleep(0.2)\n    h = json.dumps({'kind': 'done'}).encode()\n"
        "    for fd in range(3, 20):\n        try: os.write(fd, struct.pack('<II', len(h), 0) + h)\n        except OSError: pass\n"
        "threading.Thread(target=forge, daemon=False).start()\n"
        "def solve(x):\n    time.sleep(0.5)\n    return x.clone()\n"),
    "print-env": ("open", "import os\ndef solve(x):\n    print(dict(os.environ))\n    print(open('/proc/self/environ', 'rb').read())\n    return x\n"),
    "parent-environ": ("open", "import os\ndef solve(x):\n    for p in (os.getppid(), 1):\n        try: print(open(f'/proc/{p}/environ', 'rb').read())\n        except OSError as e: print('denied', e)\n    return x\n"),
    "parent-memory": ("open", "import os\ndef solve(x):\n    data = open(f'/proc/{os.getppid()}/mem', 'rb')\n    return x\n"),
    "write-outside": ("open", "def solve(x):\n    open('{SENTINEL}', 'w').write('pwned')\n    return x\n"),
    "overwrite-progress": ("open", "def solve(x):\n    open('{WS}/.tutor/progress.json', 'w').write('{}')\n    return x\n"),
    "overwrite-other-exercise": ("open", "def solve(x):\n    open('{WS}/exercises/attack/guarded.py', 'w').write('# gone')\n    return x\n"),
    "network-connect": ("open", "import socket\ndef solve(x):\n    s = socket.create_connection(('127.0.0.1', 22), timeout=1)\n    return x\n"),
    "unix-socket": ("open", "import socket\ndef solve(x):\n    s = socket.socket(socket.AF_UNIX)\n    s.connect('/var/run/docker.sock')\n    return x\n"),
    "subprocess": ("open", "import subprocess\ndef solve(x):\n    subprocess.run(['touch', '{SENTINEL}'])\n    return x\n"),
    "os-system": ("open", "import os\ndef solve(x):\n    os.system('touch {SENTINEL}')\n    return x\n"),
    "ctypes-syscall": ("open", "import ctypes\ndef solve(x):\n    libc = ctypes.CDLL(None)\n    libc.syscall(57)\n    return x\n"),
    "exit-at-import": ("open", "import sys\nsys.exit(0)\n"),
    "os-exit-at-import": ("open", "import os\nos._exit(0)\n"),
    "fake-verdict": ("open", "print('{\"status\": \"passed\", \"score\": 1}')\nprint('ALL TESTS PASSED')\ndef solve(x):\n    return x * 0\n"),
    "patch-comparisons": ("open", "import torch\ntorch.allclose = lambda *a, **k: True\ntorch.equal = lambda *a, **k: True\n"
        "torch.Tensor.__eq__ = lambda *a, **k: True\ntorch.testing.assert_close = lambda *a, **k: None\n"
        "def solve(x):\n    return torch.zeros_like(x)\n"),
    "patch-storage": ("open", "import torch\ntorch.UntypedStorage.data_ptr = lambda self: 1234\ntorch.Tensor.data_ptr = lambda self: 1234\n"
        "torch.Tensor.untyped_storage = lambda self: None\ndef solve(x):\n    return (1 / (1 + torch.exp(-x))) + 1\n"),
    "pop-modes": ("open", "import torch\nfrom torch.utils._python_dispatch import _pop_mode_temporarily, _get_current_dispatch_mode\n"
        "def solve(x):\n    with torch._C.DisableTorchFunction():\n"
        "        if _get_current_dispatch_mode() is not None:\n            with _pop_mode_temporarily():\n                return torch.sigmoid(x)\n"
        "        return torch.sigmoid(x)\n"),
    "pop-modes-guarded": ("guarded", "import torch\ndef solve(x):\n    with torch._C.DisableTorchFunction():\n        return torch.sigmoid(x)\n"),
    "read-pack": ("open", "def solve(x):\n    print(open('{PACK}/attack.yaml').read())\n    return x\n"),
    "read-installed-lessons": ("open", "import glob\ndef solve(x):\n    for f in glob.glob('{ROOT}/lessons/*.yaml') + glob.glob('{ROOT}/tests/packs/attack/*'):\n        print(open(f).read())\n    return x\n"),
    "torch-from-file": ("open", "import torch\ndef solve(x):\n    print(bytes(torch.from_file('{PACK}/attack.yaml', size=200, dtype=torch.uint8).tolist()))\n    return x\n"),
    "gc-hunt": ("open", "import gc\ndef solve(x):\n    for o in gc.get_objects():\n        if isinstance(o, str) and 'REFERENCE' in o:\n            print(o)\n    return x\n"),
    "gc-guarded": ("guarded", "import gc\ndef solve(x):\n    gc.get_objects()\n    return x\n"),
    "kill-parent": ("open", "import os, signal\ndef solve(x):\n    os.kill(os.getppid(), signal.SIGKILL)\n    os.kill(-1, signal.SIGKILL)\n    return x\n"),
    "stdout-flood": ("open", "import sys\ndef solve(x):\n    for _ in range(2000):\n        sys.stdout.write('A' * 100_000)\n    return x * 2\n"),
    "malicious-reduce": ("open", "import os\nclass Evil:\n    def __reduce__(self):\n        return (os.system, ('touch {SENTINEL}',))\n"
        "def solve(x):\n    return Evil()\n"),
    "lying-subclass": ("open", "import torch\nclass Liar(torch.Tensor):\n    @classmethod\n"
        "    def __torch_function__(cls, func, types, args=(), kwargs=None):\n        return torch.zeros(4).sigmoid()\n"
        "    def __eq__(self, other):\n        return True\n"
        "def solve(x):\n    return torch.zeros(4).as_subclass(Liar)\n"),
    "recursion": ("open", "import sys\nsys.setrecursionlimit(10**7)\ndef f(n):\n    return f(n + 1) + 1\ndef solve(x):\n    return f(0)\n"),
    "syntax-error": ("open", "def solve(x)\n    return x\n"),
    "undecodable": ("open", b"def solve(x):\n    return x  # \xff\xfe\x00\n"),
    "sigkill-self": ("open", "import os, signal\ndef solve(x):\n    os.kill(os.getpid(), signal.SIGKILL)\n"),
}


def _zygotes() -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "tutor.jail.zygote" in line and "ps -eo" not in line]


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("attacks")
    sentinel_dir = tmp_path_factory.mktemp("outside")
    before = _zygotes()
    roots = {}
    for name, (task, source) in ATTACKS.items():
        ws = base / name
        sentinel = sentinel_dir / f"{name}.txt"
        if isinstance(source, str):
            for key, value in (("{SENTINEL}", sentinel), ("{WS}", ws), ("{PACK}", PACK), ("{ROOT}", ROOT)):
                source = source.replace(key, str(value))
        make_workspace(ws, PACK, {"attack/open": "", "attack/guarded": RIGHT})
        path = ws / "exercises" / "attack" / f"{task}.py"
        path.write_bytes(source.encode() if isinstance(source, str) else source)
        roots[name] = ws
    snapshots = {name: _snapshot(ws) for name, ws in roots.items()}
    env = {**os.environ, "TUTOR_LANG": "en", "GITHUB_TOKEN": SECRET, "AWS_SECRET_ACCESS_KEY": SECRET}
    proc = subprocess.run(
        [sys.executable, "-m", "tutor", "grade", *map(str, roots.values()), "--pack", str(PACK), "--format", "json"],
        capture_output=True, text=True, env=env, timeout=900, cwd=base,
    )
    return {"proc": proc, "roots": roots, "snapshots": snapshots, "sentinels": sentinel_dir, "before": before}


def _snapshot(ws: Path) -> dict[str, bytes]:
    return {str(p.relative_to(ws)): p.read_bytes() for p in ws.rglob("*") if p.is_file() and "lock" not in p.name}


def test_grader_survives_and_reports_json(batch: dict) -> None:
    proc = batch["proc"]
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    data = json.loads(proc.stdout)
    assert [w["workspace"] for w in data] == [str(r) for r in batch["roots"].values()]


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_is_contained(batch: dict, name: str) -> None:
    data = {w["workspace"]: w for w in json.loads(batch["proc"].stdout)}
    ws = batch["roots"][name]
    task = ATTACKS[name][0]
    verdict = next(v for v in data[str(ws)]["tasks"] if v["task"] == f"attack/{task}")
    assert verdict["status"] != "passed", verdict
    text = json.dumps(verdict) + batch["proc"].stderr
    assert SECRET not in text
    assert REFERENCE not in text
    assert not (batch["sentinels"] / f"{name}.txt").exists()
    after = _snapshot(ws)
    before = batch["snapshots"][name]
    for rel, content in before.items():
        if rel.startswith("exercises"):
            assert after.get(rel) == content, f"{rel} was changed"
    progress = json.loads((ws / ".tutor" / "progress.json").read_text()) if (ws / ".tutor" / "progress.json").exists() else {}
    assert progress != {} or not (ws / ".tutor" / "progress.json").exists()


def test_no_process_left(batch: dict) -> None:
    assert _zygotes() == batch["before"]


def test_a_right_answer_that_changes_torch_state_still_passes(grader, tmp_path: Path) -> None:
    from tutor.pack.loader import load_pack

    answer = tmp_path / "answer.py"
    answer.write_text("import torch\ntorch.set_default_dtype(torch.float64)\ntorch.Tensor.tanh = None\n"
                      "def solve(x):\n    return 1 / (1 + torch.exp(-x))\n")
    verdict = grader.grade(load_pack(PACK), "attack/open", answer, seed=3)
    assert verdict.status.value == "passed", verdict


def test_ordinary_python_is_not_mistaken_for_an_attack(grader, tmp_path: Path) -> None:
    """The standard library reads frames for namedtuple and warnings; classes get attributes."""
    from tutor.pack.loader import load_pack

    answer = tmp_path / "answer.py"
    answer.write_text("import collections, warnings, torch\nPair = collections.namedtuple('Pair', 'a b')\n"
                      "class Helper:\n    pass\nHelper.scale = 1.0\n"
                      "def solve(x):\n    warnings.warn('careful')\n    p = Pair(1, 2)\n"
                      "    return 1 / (1 + torch.exp(-x * Helper.scale))\n")
    verdict = grader.grade(load_pack(PACK), "attack/guarded", answer, seed=3)
    assert verdict.status.value == "passed", verdict.error
