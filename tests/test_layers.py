"""Real-kernel tests of the sandbox's containment layers (tutor/jail/layers/).

Each test forks a child from this process (torch already imported, one
thread), applies a Policy with a fresh scratch directory, tries something
the sandbox must refuse, and sends what happened back through a pipe as
JSON. A test is skipped, with the reason, when probe() says the layer it
relies on is unavailable, so the suite also passes on GitHub's non-root
runners (no user namespaces) and on kernels without Landlock.
"""

from __future__ import annotations

import ctypes
import errno
import json
import mmap
import os
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import textwrap
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest
import torch

torch.set_num_threads(1)  # before any op: forking after a live OpenMP pool deadlocks

from tutor.jail import layers  # noqa: E402
from tutor.jail.layers import _sys  # noqa: E402
from tutor.jail.layers import landlock  # noqa: E402
from tutor.jail.layers import netns  # noqa: E402
from tutor.jail.layers import readonly  # noqa: E402
from tutor.jail.layers import seccomp  # noqa: E402

PROBE = layers.probe()
ABI = layers.landlock_abi()
MiB = 1 << 20
REPO = Path(__file__).resolve().parents[1]


def active(name: str) -> bool:
    return PROBE[name] == layers.ACTIVE


def need(*names: str) -> None:
    """Skip unless every named layer is active here."""
    for name in names:
        if not active(name):
            pytest.skip(f"{name}: {PROBE[name]}")


# --------------------------------------------------------------------------
# Running code in a contained child
# --------------------------------------------------------------------------


class Child:
    """What a contained child reported, and how it ended."""

    def __init__(self, payload: dict[str, Any] | None, status: int, timed_out: bool):
        self.payload = payload
        self.status = status
        self.timed_out = timed_out

    @property
    def result(self) -> Any:
        assert self.payload is not None, f"no payload; wait status {self.status}"
        assert "error" not in self.payload, self.payload["error"]
        return self.payload["result"]

    @property
    def signal(self) -> int | None:
        return os.WTERMSIG(self.status) if os.WIFSIGNALED(self.status) else None


def run_contained(policy: layers.Policy, body: Callable[[], Any], *,
                  setup: Callable[[layers.Policy], Any] = layers.apply,
                  timeout: float = 15.0) -> Child:
    """Fork, contain the child with ``setup`` and run ``body`` in it."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.close(read_fd)
            os.setsid()
            torch.set_num_threads(1)
            started = time.perf_counter()
            layers_on = setup(policy)
            ms = (time.perf_counter() - started) * 1000
            payload = {"active": layers_on, "apply_ms": ms, "result": body()}
        except BaseException as exc:  # report, never unwind into pytest
            payload = {"error": f"{type(exc).__name__}: {exc}"}
        try:
            os.write(write_fd, json.dumps(payload, default=repr).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    data, timed_out = _read_all(read_fd, time.monotonic() + timeout)
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return Child(json.loads(data) if data else None, status, timed_out)


def _read_all(fd: int, deadline: float) -> tuple[bytes, bool]:
    chunks = []
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return b"".join(chunks), True
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return b"".join(chunks), False
            chunks.append(chunk)
    finally:
        os.close(fd)


def attempt(action: Callable[[], Any]) -> str:
    """"ok" or the exception's name and errno, for JSON."""
    try:
        action()
    except BaseException as exc:
        code = getattr(exc, "errno", None)
        return f"{type(exc).__name__}" + (f" {errno.errorcode.get(code, code)}" if code else "")
    return "ok"


def refused(outcome: str) -> bool:
    return outcome != "ok"


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    """A scratch dir, plus files outside it the child must not touch."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    pack = tmp_path / "pack"
    pack.mkdir()
    secret = pack / "solution.yaml"
    secret.write_text("reference: x.t()\n")
    return {"root": tmp_path, "scratch": scratch, "secret": secret}


READ_ONLY = layers.default_read_only()


def policy_for(world: dict[str, Path], **overrides: Any) -> layers.Policy:
    fields: dict[str, Any] = dict(scratch=world["scratch"], read_only=READ_ONLY,
                                  cpu_seconds=10, memory_bytes=512 * MiB)
    fields.update(overrides)
    return layers.Policy(**fields)


# --------------------------------------------------------------------------
# probe / apply contract
# --------------------------------------------------------------------------


def test_probe_reports_every_layer() -> None:
    assert list(PROBE) == list(layers.LAYERS)
    for name, state in PROBE.items():
        assert state == "active" or state.startswith("unavailable: "), (name, state)
    assert layers.probe() == PROBE  # cached, no new child


def test_layers_are_active_where_the_kernel_supports_them() -> None:
    """Degradation must never hide a bug: where the kernel clearly has a
    feature, its layer must come out active, not "unavailable"."""
    status = _sys._proc_status()
    if "Seccomp_filters" in status and seccomp._seccomp_arch():
        assert active("seccomp"), PROBE["seccomp"]
    if ABI >= 1:
        assert active("landlock"), PROBE["landlock"]
    assert active("rlimits")


def test_apply_reports_what_probe_predicted(world: dict[str, Path]) -> None:
    child = run_contained(policy_for(world), lambda: None)
    assert child.payload is not None and "error" not in child.payload, child.payload
    assert child.payload["active"] == [n for n in layers.LAYERS if active(n)]
    # A few ms; the bound is loose for slow CI machines.
    assert child.payload["apply_ms"] < 250


def test_apply_refuses_a_threaded_process(world: dict[str, Path]) -> None:
    def start_thread_then_apply(policy: layers.Policy) -> None:
        stop = threading.Event()
        threading.Thread(target=stop.wait, daemon=True).start()
        try:
            layers.apply(policy)
        finally:
            stop.set()

    child = run_contained(policy_for(world), lambda: None, setup=start_thread_then_apply)
    assert child.payload is not None
    assert child.payload.get("error", "").startswith("RuntimeError: apply() needs a single")


# --------------------------------------------------------------------------
# What still works
# --------------------------------------------------------------------------


def _torch_workload(scratch: Path) -> dict[str, float]:
    torch.manual_seed(0)
    a = torch.randn(64, 32, requires_grad=True)
    b = torch.randn(32, 16, requires_grad=True)
    (a @ b).tanh().sum().backward()
    img = torch.randn(2, 3, 12, 12, requires_grad=True)
    conv = torch.nn.functional.conv2d(img, torch.randn(4, 3, 3, 3), padding=1)
    conv.square().mean().backward()
    torch.save({"grad": a.grad}, str(scratch / "out.pt"))
    loaded = torch.load(str(scratch / "out.pt"), weights_only=True)
    return {"a_grad": float(loaded["grad"].sum()), "b_grad": float(b.grad.sum()),
            "img_grad": float(img.grad.abs().sum())}


def test_torch_and_scratch_still_work(world: dict[str, Path]) -> None:
    scratch = world["scratch"]

    def body() -> dict[str, Any]:
        out: dict[str, Any] = _torch_workload(scratch)
        (scratch / "sub").mkdir()
        (scratch / "sub" / "note.txt").write_text("hello")
        os.rename(scratch / "sub" / "note.txt", scratch / "note.txt")
        out["scratch_read"] = (scratch / "note.txt").read_text()
        out["thread"] = attempt(lambda: _run_thread())
        out["devnull"] = attempt(lambda: open(os.devnull, "w").write("x"))
        out["stdlib_import"] = attempt(lambda: __import__("colorsys"))
        out["cwd"] = os.getcwd()
        return out

    child = run_contained(policy_for(world), body)
    expected = _torch_workload(world["root"])
    result = child.result
    for key, value in expected.items():
        assert result[key] == pytest.approx(value, rel=1e-5), key
    assert result["scratch_read"] == "hello"
    assert result["thread"] == result["devnull"] == result["stdlib_import"] == "ok"
    assert result["cwd"] == str(scratch)


def _run_thread() -> None:
    box = []
    thread = threading.Thread(target=lambda: box.append(sum(range(10))))
    thread.start()
    thread.join()
    assert box == [45]


ZYGOTE = textwrap.dedent("""
    import json, os, sys, tempfile, time, statistics
    import torch
    torch.set_num_threads(1)
    from pathlib import Path
    from tutor.jail import layers
    layers.preload_native_modules()
    ro = layers.default_read_only()
    def warm():  # what a real worker does once: the first Adam step imports torch._dynamo
        m = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(), torch.nn.LazyLinear(2))
        opt = torch.optim.Adam(m.parameters())
        m(torch.randn(2, 3, 8, 8)).sum().backward(); opt.step()
    warm()
    def child(scratch):
        t = time.perf_counter(); on = layers.apply(layers.Policy(scratch, ro, 20, 1 << 30))
        ms = (time.perf_counter() - t) * 1000
        os.environ["TMPDIR"] = str(scratch); tempfile.tempdir = None
        torch.set_num_threads(2)
        x = torch.randn(256, 256, requires_grad=True)
        (x @ x).relu().sum().backward()
        warm()
        import sqlite3
        return {"active": on, "apply_ms": ms, "grad": float(x.grad.abs().sum() > 0)}
    out = []
    for _ in range(int(sys.argv[1])):
        scratch = Path(tempfile.mkdtemp())
        r, w = os.pipe(); pid = os.fork()
        if pid == 0:
            try: os.write(w, json.dumps(child(scratch)).encode())
            except BaseException as e: os.write(w, json.dumps({"error": repr(e)}).encode())
            finally: os._exit(0)
        os.close(w); data = os.read(r, 65536); os.close(r); os.waitpid(pid, 0)
        out.append(json.loads(data))
    print(json.dumps(out))
""")


def test_warm_worker_child_runs_threads_optimizers_and_lazy_imports() -> None:
    """The real topology: a fresh worker that never ran parallel work forks
    children that use 2 threads, conv, Adam (whose first step imports
    torch._dynamo and numpy.fft) and a stdlib C module (sqlite3)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", ZYGOTE, "3"], capture_output=True,
                          text=True, timeout=60, env=env, cwd="/")
    assert proc.returncode == 0, proc.stderr[-2000:]
    runs = json.loads(proc.stdout.strip().splitlines()[-1])
    for run in runs:
        assert "error" not in run, run
        assert run["grad"] == 1.0
    print("apply() ms in a warm worker's children:", [round(r["apply_ms"], 2) for r in runs])


def test_preloaded_native_module_imports_in_child(world: dict[str, Path]) -> None:
    assert layers.preload_native_modules() == []
    child = run_contained(policy_for(world), lambda: attempt(lambda: __import__("_sqlite3")))
    assert child.result == "ok"


# --------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------


def test_writes_outside_scratch_fail(world: dict[str, Path]) -> None:
    need("landlock")
    root, secret = world["root"], world["secret"]

    def body() -> dict[str, str]:
        return {
            "create": attempt(lambda: open(root / "outside.txt", "w")),
            "append": attempt(lambda: open(secret, "a")),
            "mkdir": attempt(lambda: os.mkdir(root / "newdir")),
            "unlink": attempt(lambda: os.unlink(secret)),
            "rename_out": attempt(lambda: os.rename(world["scratch"], root / "moved")),
            "hardlink_in": attempt(lambda: os.link(secret, world["scratch"] / "link")),
            "tmp": attempt(lambda: open("/tmp/tutor-layers-escape", "w")),
        }

    result = run_contained(policy_for(world), body).result
    assert all(refused(v) for v in result.values()), result
    assert secret.read_text() == "reference: x.t()\n"
    assert not (root / "outside.txt").exists() and not Path("/tmp/tutor-layers-escape").exists()


def test_metadata_changes_outside_scratch_fail(world: dict[str, Path]) -> None:
    need("seccomp")
    secret = world["secret"]
    before = secret.stat()

    def body() -> dict[str, str]:
        return {"chmod": attempt(lambda: os.chmod(secret, 0o777)),
                "utime": attempt(lambda: os.utime(secret, (0, 0)))}

    result = run_contained(policy_for(world), body).result
    assert all(refused(v) for v in result.values()), result
    after = secret.stat()
    assert (after.st_mode, after.st_mtime) == (before.st_mode, before.st_mtime)


def test_reads_outside_read_only_fail(world: dict[str, Path]) -> None:
    need("landlock")
    secret = world["secret"]
    site_entries = [p for p in Path(sysconfig.get_paths()["purelib"]).iterdir()
                    if readonly._is_hidden(p.name)]
    hidden = [p for p in site_entries if p.is_file()]
    hidden += [p / "__init__.py" for p in site_entries if (p / "__init__.py").is_file()]

    def body() -> dict[str, str]:
        out = {
            "pack": attempt(lambda: secret.read_text()),
            "pack_dir": attempt(lambda: os.listdir(secret.parent)),
            "from_file": attempt(lambda: torch.from_file(str(secret), size=4, dtype=torch.uint8)),
            "tutor_package": attempt(lambda: (REPO / "tutor" / "__init__.py").read_text()),
            "repo": attempt(lambda: os.listdir(REPO)),
            "passwd": attempt(lambda: open("/etc/passwd").read()),
            "via_proc_root": attempt(lambda: open("/proc/self/root/etc/passwd").read()),
            "via_proc_cwd": attempt(lambda: open("/proc/self/cwd/../pack/solution.yaml").read()),
        }
        out.update({f"site:{p.name}": attempt(p.read_bytes) for p in hidden})
        out["allowed_torch"] = attempt(lambda: Path(torch.__file__).read_bytes())
        return out

    result = run_contained(policy_for(world), body).result
    assert result.pop("allowed_torch") == "ok"
    assert all(refused(v) for v in result.values()), result


def test_parent_proc_files_are_unreadable(world: dict[str, Path]) -> None:
    need("landlock")

    def body() -> dict[str, str]:
        ppid = os.getppid()
        return {"environ": attempt(lambda: open(f"/proc/{ppid}/environ", "rb").read()),
                "mem": attempt(lambda: open(f"/proc/{ppid}/mem", "rb")),
                "init_environ": attempt(lambda: open("/proc/1/environ", "rb").read()),
                "self_status": attempt(lambda: open("/proc/self/status").read())}

    result = run_contained(policy_for(world), body).result
    assert result.pop("self_status") == "ok"
    assert all(refused(v) for v in result.values()), result


def test_self_mem_is_not_writable(world: dict[str, Path]) -> None:
    """/proc/self/mem writes ignore page protections: native code by the back door."""
    need("landlock")
    result = run_contained(policy_for(world),
                           lambda: attempt(lambda: open("/proc/self/mem", "r+b"))).result
    assert refused(result)


# --------------------------------------------------------------------------
# Network
# --------------------------------------------------------------------------


@pytest.fixture
def listeners(tmp_path: Path):
    """A TCP, a pathname UNIX and an abstract UNIX socket, all listening."""
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen()
    unix_path = str(tmp_path / "host.sock")
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(unix_path)
    unix.listen()
    abstract_name = f"\0tutor-layers-{os.getpid()}"
    abstract = socket.socket(socket.AF_UNIX)
    abstract.bind(abstract_name)
    abstract.listen()
    yield {"tcp": tcp.getsockname(), "unix": unix_path, "abstract": abstract_name}
    for sock in (tcp, unix, abstract):
        sock.close()


def _connects(addrs: dict[str, Any]) -> dict[str, str]:
    def connect(family: int, addr: Any) -> None:
        with socket.socket(family) as sock:
            sock.settimeout(2)
            sock.connect(addr)

    return {
        "tcp": attempt(lambda: connect(socket.AF_INET, tuple(addrs["tcp"]))),
        "unix": attempt(lambda: connect(socket.AF_UNIX, addrs["unix"])),
        "abstract": attempt(lambda: connect(socket.AF_UNIX, addrs["abstract"])),
        "udp": attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                       .sendto(b"x", ("127.0.0.1", 53))),
    }


def test_network_connects_fail(world: dict[str, Path], listeners: dict[str, Any]) -> None:
    need("seccomp")
    result = run_contained(policy_for(world), lambda: _connects(listeners)).result
    assert all(refused(v) for v in result.values()), result


def test_network_namespace_alone_cuts_tcp(world: dict[str, Path],
                                          listeners: dict[str, Any]) -> None:
    need("netns")
    result = run_contained(policy_for(world), lambda: _connects(listeners),
                           setup=lambda p: netns._enter_netns()).result
    assert refused(result["tcp"]), result


def _landlock_only(policy: layers.Policy) -> None:
    _sys._set_no_new_privs()
    landlock._apply_landlock(policy)


def test_landlock_alone_denies_tcp_but_not_pathname_unix(
        world: dict[str, Path], listeners: dict[str, Any]) -> None:
    """Why seccomp bans socket(): Landlock before ABI 9 does not gate
    connect() to a pathname UNIX socket (a docker.sock, a D-Bus socket)."""
    need("landlock")
    if ABI < 4:
        pytest.skip(f"Landlock ABI {ABI} < 4 has no TCP rules")
    result = run_contained(policy_for(world), lambda: _connects(listeners),
                           setup=_landlock_only).result
    assert refused(result["tcp"])
    assert result["unix"] == "ok"
    if ABI >= 6:
        assert refused(result["abstract"])


# --------------------------------------------------------------------------
# Processes and native code
# --------------------------------------------------------------------------


def test_no_new_processes(world: dict[str, Path]) -> None:
    need("seccomp")
    scratch = world["scratch"]

    def fork() -> None:
        if os.fork() == 0:
            os._exit(0)

    def body() -> dict[str, Any]:
        libc = ctypes.CDLL(None, use_errno=True)
        return {
            "system": os.system(f"touch {scratch}/by-system"),
            "subprocess": attempt(lambda: subprocess.run(["/bin/true"])),
            "popen_shell": attempt(lambda: subprocess.Popen(f"touch {scratch}/by-popen",
                                                            shell=True).wait()),
            "fork": attempt(fork),
            "unshare": libc.unshare(netns.CLONE_NEWUSER),
            "ptrace": libc.ptrace(16, os.getppid(), 0, 0),  # PTRACE_ATTACH
            "exec": attempt(lambda: os.execv("/bin/true", ["true"])),  # last: it would replace us
        }

    result = run_contained(policy_for(world), body).result
    assert result.pop("system") != 0
    assert result.pop("unshare") == -1 and result.pop("ptrace") == -1
    assert all(refused(v) for v in result.values()), result
    assert list(scratch.iterdir()) == []


def _copy_unloaded_library(scratch: Path) -> Path:
    """A shared object at a path no process has mapped yet."""
    dynload = Path(sysconfig.get_paths()["stdlib"]) / "lib-dynload"
    source = min(dynload.glob("*.so"), key=lambda p: p.stat().st_size)
    return Path(shutil.copy(source, scratch / "fresh_native.so"))


def _native_attempts(library: Path) -> dict[str, str]:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    page = mmap.mmap(-1, mmap.PAGESIZE)
    address = ctypes.addressof(ctypes.c_char.from_buffer(page))

    def mprotect_exec() -> None:
        if libc.mprotect(address, mmap.PAGESIZE, mmap.PROT_READ | mmap.PROT_EXEC) != 0:
            raise OSError(ctypes.get_errno(), "mprotect")

    return {
        "dlopen": attempt(lambda: ctypes.CDLL(str(library))),
        "mmap_exec": attempt(lambda: mmap.mmap(-1, mmap.PAGESIZE,
                                               prot=mmap.PROT_READ | mmap.PROT_EXEC)),
        "mprotect_exec": attempt(mprotect_exec),
    }


def test_no_native_code_after_start_on_cpu(world: dict[str, Path]) -> None:
    need("seccomp")
    library = _copy_unloaded_library(world["scratch"])
    result = run_contained(policy_for(world), lambda: _native_attempts(library)).result
    assert all(refused(v) for v in result.values()), result


def test_cuda_policy_keeps_native_code_and_drops_rlimit_as(world: dict[str, Path]) -> None:
    """CUDA loads libraries and maps executable memory lazily, and reserves
    huge address ranges: neither the exec ban nor RLIMIT_AS may apply. This
    also shows Landlock needs no EXECUTE right for library loading."""
    library = _copy_unloaded_library(world["scratch"])

    def body() -> dict[str, Any]:
        out: dict[str, Any] = _native_attempts(library)
        out["as_unlimited"] = resource_limit("RLIMIT_AS") == -1
        out["big_private"] = attempt(lambda: bytearray(4 << 30))
        return out

    result = run_contained(policy_for(world, cuda=True), body).result
    assert result["dlopen"] == result["mmap_exec"] == result["mprotect_exec"] == "ok"
    assert result["as_unlimited"]
    assert refused(result["big_private"])  # RLIMIT_DATA still applies


def _run_machine_code(code: bytes) -> int:
    page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    page.write(code)
    return ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(page)))()


I386_GETPID = bytes([0xB8, 20, 0, 0, 0, 0xCD, 0x80, 0xC3])  # mov eax,20; int 0x80; ret
X32_GETPID = bytes([0xB8, 39, 0, 0, 0x40, 0x0F, 0x05, 0xC3])  # mov eax,0x40000027; syscall


@pytest.mark.skipif(seccomp._seccomp_arch() != "x86_64", reason="x86_64 only")
def test_seccomp_refuses_foreign_syscall_tables(world: dict[str, Path]) -> None:
    """A filter keyed on x86_64 numbers must not let i386 (int 0x80) or x32
    calls through: their numbers mean other syscalls. Machine code needs the
    cuda policy, which allows executable memory."""
    need("seccomp")
    plain = run_contained(policy_for(world), lambda: _run_machine_code(I386_GETPID) == os.getpid(),
                          setup=lambda p: None)
    if plain.payload is None or plain.payload.get("result") is not True:
        pytest.skip("this kernel runs no i386 syscalls (no IA32 emulation)")
    result = run_contained(policy_for(world, cuda=True), lambda: {
        "i386": _run_machine_code(I386_GETPID), "x32": _run_machine_code(X32_GETPID)}).result
    assert result == {"i386": -errno.EPERM, "x32": -errno.EPERM}


def resource_limit(name: str) -> int:
    return resource.getrlimit(getattr(resource, name))[1]


# --------------------------------------------------------------------------
# Signals
# --------------------------------------------------------------------------


@pytest.fixture
def sleeper():
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    proc.kill()
    proc.wait()


def _kill_attempts(victim: int) -> dict[str, str]:
    ppid = os.getppid()
    return {"kill_sibling": attempt(lambda: os.kill(victim, signal.SIGKILL)),
            "usr1_parent": attempt(lambda: os.kill(ppid, signal.SIGUSR1)),
            "probe_parent": attempt(lambda: os.kill(ppid, 0)),
            "self": attempt(lambda: os.kill(os.getpid(), 0)),
            "own_group": attempt(lambda: os.kill(0, 0))}


def _check_kills(result: dict[str, str], sleeper: subprocess.Popen, got: list[int]) -> None:
    assert result.pop("self") == "ok" and result.pop("own_group") == "ok"
    assert all(refused(v) for v in result.values()), result
    assert sleeper.poll() is None, "the sibling was killed"
    assert got == [], "the parent received the child's signal"


def test_cannot_signal_the_parent(world: dict[str, Path], sleeper: subprocess.Popen) -> None:
    if not ((active("landlock") and ABI >= 6) or active("seccomp")):
        pytest.skip("neither Landlock signal scopes (ABI >= 6) nor seccomp")
    got: list[int] = []
    previous = signal.signal(signal.SIGUSR1, lambda sig, frame: got.append(sig))
    try:
        child = run_contained(policy_for(world), lambda: _kill_attempts(sleeper.pid))
        time.sleep(0.05)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    _check_kills(child.result, sleeper, got)


def test_seccomp_guards_signals_without_landlock_scopes(
        world: dict[str, Path], sleeper: subprocess.Popen) -> None:
    """The fallback for kernels with Landlock < ABI 6 (ubuntu-22.04's 6.8)."""
    need("seccomp")

    def seccomp_only(policy: layers.Policy) -> None:
        _sys._set_no_new_privs()
        seccomp._apply_seccomp(policy, guard_signals=True)

    got: list[int] = []
    previous = signal.signal(signal.SIGUSR1, lambda sig, frame: got.append(sig))
    try:
        child = run_contained(policy_for(world), lambda: _kill_attempts(sleeper.pid),
                              setup=seccomp_only)
        time.sleep(0.05)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    _check_kills(child.result, sleeper, got)


def test_cannot_retune_other_processes(world: dict[str, Path], sleeper: subprocess.Popen) -> None:
    """prlimit64/sched_setaffinity/setpriority on a same-uid process pass the
    kernel's checks and Landlock; the child could set the worker's
    RLIMIT_CPU to 1."""
    need("seccomp")
    victim = sleeper.pid
    limits_before = resource.prlimit(victim, resource.RLIMIT_NOFILE)
    nice_before = os.getpriority(os.PRIO_PROCESS, victim)  # the suite itself may run under `nice`

    def body() -> dict[str, str]:
        return {
            "prlimit": attempt(lambda: resource.prlimit(victim, resource.RLIMIT_NOFILE, (5, 5))),
            "affinity": attempt(lambda: os.sched_setaffinity(victim, {0})),
            "nice": attempt(lambda: os.setpriority(os.PRIO_PROCESS, victim, 19)),
            "nice_user": attempt(lambda: os.setpriority(os.PRIO_USER, os.getuid(), 19)),
            "idle": attempt(lambda: os.sched_setscheduler(victim, os.SCHED_IDLE,
                                                          os.sched_param(0))),
            "own_limit": attempt(lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (32, 32))),
            "own_nice": attempt(lambda: os.setpriority(os.PRIO_PROCESS, 0, min(19, nice_before + 1))),
        }

    result = run_contained(policy_for(world), body).result
    assert result.pop("own_limit") == result.pop("own_nice") == "ok"
    assert all(refused(v) for v in result.values()), result
    assert resource.prlimit(victim, resource.RLIMIT_NOFILE) == limits_before
    assert os.getpriority(os.PRIO_PROCESS, victim) == nice_before


def test_cannot_raise_own_hard_limits(world: dict[str, Path]) -> None:
    """Root keeps CAP_SYS_RESOURCE unless the caps layer drops it."""
    need("caps")

    def body() -> str:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        return attempt(lambda: resource.setrlimit(resource.RLIMIT_AS, (hard, hard + MiB)))

    assert refused(run_contained(policy_for(world), body).result)


# --------------------------------------------------------------------------
# Resource limits
# --------------------------------------------------------------------------


def test_memory_budget_holds(world: dict[str, Path]) -> None:
    need("rlimits")

    def body() -> dict[str, str]:
        return {
            "torch_4g": attempt(lambda: torch.empty(4 << 30, dtype=torch.uint8)),
            "bytes_4g": attempt(lambda: bytearray(4 << 30)),
            "shared_1g": attempt(lambda: mmap.mmap(-1, 1 << 30)),  # evades RLIMIT_DATA
            "small_ok": attempt(lambda: torch.ones(16 * MiB).sum()),  # 64 MiB
        }

    result = run_contained(policy_for(world, memory_bytes=512 * MiB), body).result
    assert result.pop("small_ok") == "ok"
    assert all(refused(v) for v in result.values()), result


def test_file_size_and_fd_limits(world: dict[str, Path]) -> None:
    need("rlimits")
    target = world["scratch"] / "big.bin"

    def open_many() -> None:
        files = [open(os.devnull) for _ in range(100)]
        for f in files:
            f.close()

    def body() -> dict[str, str]:
        def write() -> None:
            with open(target, "wb") as f:  # buffered: retries the short write
                f.write(b"\0" * (2 * MiB))

        return {"write": attempt(write), "fds": attempt(open_many),
                "core": str(resource_limit("RLIMIT_CORE"))}

    result = run_contained(policy_for(world, file_size_bytes=MiB), body).result
    assert result["write"] == "OSError EFBIG"
    assert refused(result["fds"])
    assert result["core"] == "0"
    assert target.stat().st_size <= MiB


def _spin(ignore_sigxcpu: bool) -> None:
    if ignore_sigxcpu:
        signal.signal(signal.SIGXCPU, signal.SIG_IGN)
    while True:
        pass


@pytest.mark.parametrize("ignore_sigxcpu, expected", [(False, signal.SIGXCPU),
                                                      (True, signal.SIGKILL)])
def test_cpu_spin_is_killed(world: dict[str, Path], ignore_sigxcpu: bool,
                            expected: int) -> None:
    need("rlimits")
    child = run_contained(policy_for(world, cpu_seconds=1), lambda: _spin(ignore_sigxcpu),
                          timeout=10)
    assert not child.timed_out
    assert child.signal == expected


# --------------------------------------------------------------------------
# The seccomp program itself, on both architectures (no kernel needed)
# --------------------------------------------------------------------------


def _run_bpf(prog: list[seccomp.Insn], arch: int, nr: int, *args: int) -> int:
    """A tiny classic-BPF interpreter for the few opcodes the filter uses."""
    regs = list(args) + [0] * (6 - len(args))
    data = {0: nr, 4: arch, **{16 + 8 * i: v & 0xFFFFFFFF for i, v in enumerate(regs)}}
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = prog[pc]
        if code == seccomp._BPF_RET_K:
            return k
        if code == seccomp._BPF_LD_W_ABS:
            acc, pc = data[k], pc + 1
            continue
        taken = {seccomp._BPF_JEQ_K: acc == k, seccomp._BPF_JGE_K: acc >= k,
                 seccomp._BPF_JSET_K: bool(acc & k)}[code]
        pc += 1 + (jt if taken else jf)


@pytest.mark.parametrize("arch", sorted(seccomp._SYSCALLS))
def test_filter_semantics(arch: str) -> None:
    nrs, audit = seccomp._SYSCALLS[arch], seccomp._AUDIT_ARCH[arch]
    pid = 4242
    prog = seccomp._seccomp_program(arch, no_exec_maps=True, pid=pid, guard_signals=True,
                                   own_group=True)
    assert len(prog) < 4096 and all(jt < 256 and jf < 256 for _, jt, jf, _ in prog)

    def verdict(name: str | int, *args: int, arch_value: int = audit) -> str:
        ret = _run_bpf(prog, arch_value, nrs[name] if isinstance(name, str) else name, *args)
        return "allow" if ret == seccomp._RET_ALLOW else errno.errorcode[ret & 0xFFFF]

    thread = 0x3D0F00  # glibc pthread_create's clone flags
    assert verdict("clone", thread) == "allow"
    assert verdict("clone", 0x11) == "EAGAIN"  # fork: SIGCHLD only
    assert verdict("clone", thread | netns.CLONE_NEWUSER) == "EPERM"
    assert verdict("clone3") == "ENOSYS"
    assert verdict("socket", 1) == verdict("execve") == verdict("ptrace") == "EPERM"
    assert verdict("mmap", 0, 4096, 3) == "allow"
    assert verdict("mmap", 0, 4096, 5) == verdict("mprotect", 0, 4096, 4) == "EPERM"
    assert verdict("kill", pid, 9) == verdict("kill", 0, 0) == verdict("kill", -pid, 0) == "allow"
    assert verdict("kill", 1, 9) == verdict("kill", -1, 9) == verdict("tkill", pid, 9) == "EPERM"
    assert verdict("kill", (1 << 32) | pid, 9) == "allow"  # the kernel reads the low word too
    assert verdict("prlimit64", 0) == verdict("prlimit64", pid) == "allow"
    assert verdict("prlimit64", 1) == "EPERM"
    assert verdict("setpriority", 0, 0, 5) == "allow"
    assert verdict("setpriority", 2, 0, 5) == verdict("setpriority", 0, 1, 5) == "EPERM"
    assert verdict(63 if arch == "aarch64" else 0) == "allow"  # read
    assert verdict("socket", arch_value=0x40000003) == "EPERM"  # i386 table
    if arch == "x86_64":
        assert verdict(0x40000000 | 39) == "EPERM"  # x32 getpid


# --------------------------------------------------------------------------
# default_read_only
# --------------------------------------------------------------------------


def test_default_read_only_hides_the_tutor_package(tmp_path: Path) -> None:
    stdlib = tmp_path / "lib" / "python3.11"
    site = stdlib / "site-packages"
    for d in ("json", "site-packages/numpy", "site-packages/tutor",
              "site-packages/torch_tutor-0.1.0.dist-info"):
        (stdlib / d).mkdir(parents=True)
    for f in ("os.py", "site-packages/six.py", "site-packages/__editable__.torch_tutor-0.1.0.pth",
              "site-packages/__editable___torch_tutor_0_1_0_finder.py"):
        (stdlib / f).write_text("")
    paths = layers.default_read_only([stdlib, site])
    assert stdlib / "os.py" in paths and stdlib / "json" in paths
    assert site / "numpy" in paths and site / "six.py" in paths
    assert stdlib not in paths and site not in paths  # they would re-allow tutor
    assert not [p for p in paths if "tutor" in p.name]
    assert Path("/proc/self/status") in paths and Path("/proc/self/mem") not in paths and Path("/dev/urandom") in paths


def test_default_read_only_real_interpreter() -> None:
    paths = READ_ONLY
    assert not [p for p in paths if readonly._is_hidden(p.name)]
    torch_dir = Path(torch.__file__).resolve().parent
    assert any(p == torch_dir or p in torch_dir.parents for p in paths)
    assert not any(p == REPO or p in REPO.parents for p in paths)
