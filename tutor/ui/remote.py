"""``tutor check`` answered by the ``tutor start`` running in the same workspace.

A one-shot ``tutor check`` pays for importing torch and starting a sandbox
worker (seconds); the session already has both, warm. So the session listens
on a UNIX socket in the workspace's ``.tutor/`` (mode 0600: the learner's own
account only) and grades what it is asked with its own grader, and the CLI
asks there first. When no session runs, or it cannot answer (another device,
another language, an old session), the CLI grades as it always did: never
slower than without a session.

The protocol is one JSON line each way: ``{"task", "path", "seed", "lang",
"device", "tried"}`` in (``tried``: a predict task's counted tries, or null); ``{"verdict": {...}}`` (the JSON of ``tutor check --format
json``), ``{"error": "..."}`` or ``{"unavailable": "why"}`` out. The verdict
is plain data (``tutor.verdict``), so the asking side needs no torch.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path
from typing import Any

__all__ = ["CheckServer", "ask"]

MAX_REQUEST = 64 * 1024
MAX_ANSWER = 256 << 20
MAX_PATH = 100  # sun_path holds 108 bytes on Linux, 104 on macOS
CONNECT_TIMEOUT_S = 2.0
ANSWER_TIMEOUT_S = 3600.0


class CheckServer:
    """The session's side: accept requests, grade each through the session's runner."""

    def __init__(self, sock: socket.socket, path: Path, workspace: Any, pack: Any, runner: Any, lang: str) -> None:
        self.sock, self.path = sock, path
        self.workspace, self.pack, self.runner, self.lang = workspace, pack, runner, lang
        self.device = getattr(runner.grader, "device", "cpu")
        self._count = 0
        self._closed = threading.Event()
        threading.Thread(target=self._accept, name="tutor-check-server", daemon=True).start()

    @classmethod
    def start(cls, workspace: Any, pack: Any, runner: Any, lang: str) -> CheckServer | None:
        """Listen at the workspace's socket; ``None`` where UNIX sockets or the path do not allow it."""
        path = workspace.check_socket
        if not hasattr(socket, "AF_UNIX") or len(os.fsencode(path)) > MAX_PATH:
            return None
        try:
            path.unlink()  # left by a session that died; the session lock says none runs now
        except FileNotFoundError:
            pass
        except OSError:
            return None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(str(path))
            os.chmod(path, 0o600)
            sock.listen(4)
        except OSError:
            sock.close()
            return None
        return cls(sock, path, workspace, pack, runner, lang)

    def close(self) -> None:
        self._closed.set()
        try:
            self.path.unlink()
        except OSError:
            pass
        self.sock.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), name="tutor-check-request", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                request = _read_line(conn)
                task_id, path, seed, tried = self._accept_request(request)
            except (OSError, ValueError) as exc:
                _send(conn, {"unavailable": str(exc)})
                return
            answered = threading.Event()

            def done(result: Any) -> None:
                if isinstance(result, BaseException):
                    reply = {"error": str(result) or type(result).__name__}
                else:
                    reply = {"verdict": result.to_json()}
                try:
                    _send(conn, reply)
                except OSError:
                    pass
                answered.set()

            self._count += 1
            grader = self.runner.grader
            self.runner.submit(("remote", self._count),
                               lambda: grader.grade(self.pack, task_id, path, seed=seed, tried=tried), done)
            answered.wait()

    def _accept_request(self, request: Any) -> tuple[str, Path, int | None, list[str] | None]:
        if not isinstance(request, dict):
            raise ValueError("not a request")
        if request.get("lang") != self.lang or request.get("device") != self.device:
            raise ValueError("another language or device")
        task_id = request.get("task")
        if not isinstance(task_id, str) or self.pack.find(task_id) is None:
            raise ValueError("no such task")
        seed = request.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ValueError("bad seed")
        raw = request.get("path")
        path = Path(raw) if isinstance(raw, str) and raw else self.workspace.exercise_path(task_id)
        tried = request.get("tried")
        if tried is not None and not (isinstance(tried, list) and all(isinstance(d, str) for d in tried)):
            raise ValueError("bad tries")
        return task_id, path, seed, tried


def ask(workspace: Any, task_id: str, path: Path | None, *, seed: int | None, lang: str, device: str,
        tried: Any = None) -> Any:
    """The verdict from the session running in ``workspace``, or ``None`` when there is none to ask.

    ``tried``: a predict task's wrong predictions already counted (``Grader.grade``).

    A check that failed in the session is graded here again, where its error
    is reported the usual way.
    """
    target = workspace.check_socket
    if not hasattr(socket, "AF_UNIX") or not target.exists():
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(CONNECT_TIMEOUT_S)
        sock.connect(str(target))
        sock.settimeout(ANSWER_TIMEOUT_S)
        request = {"task": task_id, "path": str(Path(path).absolute()) if path else None, "seed": seed,
                   "lang": lang, "device": device, "tried": None if tried is None else list(tried)}
        _send(sock, request)
        reply = _read_line(sock, MAX_ANSWER)
    except (OSError, ValueError):
        return None
    finally:
        sock.close()
    if not isinstance(reply, dict) or not isinstance(reply.get("verdict"), dict):
        return None
    from tutor.verdict import Verdict

    try:
        return Verdict.from_json(reply["verdict"])
    except (KeyError, TypeError, ValueError):
        return None


def _send(sock: socket.socket, message: dict[str, Any]) -> None:
    sock.sendall(json.dumps(message, ensure_ascii=False).encode("utf-8") + b"\n")


def _read_line(sock: socket.socket, limit: int = MAX_REQUEST) -> Any:
    data = bytearray()
    while b"\n" not in data:
        chunk = sock.recv(1 << 16)
        if not chunk:
            break
        data += chunk
        if len(data) > limit and b"\n" not in data:
            raise ValueError("message too large")
    line = bytes(data).split(b"\n", 1)[0]
    if not line:
        raise ValueError("no answer")
    return json.loads(line.decode("utf-8"))
