"""The learner's workspace: layout, reset, progress, and survival of kills, races and damage."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

from tutor.pack.loader import load_pack
from tutor.workspace import atomic
from tutor.workspace.atomic import LockTimeout, atomic_write, locked
from tutor.workspace.layout import Workspace, WorkspaceError, is_workspace, split_task_id
from tutor.workspace.progress import FORMAT_VERSION, Progress, ProgressError

REPO = Path(__file__).resolve().parents[1]
MINI = REPO / "tests" / "packs" / "mini"
TASK = "views/first-row"


def fake_pack(*tasks: tuple[str, str, str], version: str = "1.0", hash: str = "abc123", id: str = "fake"):
    """A duck-typed pack: only what the workspace reads (id, version, hash, lessons[].tasks[])."""
    lessons: dict[str, list[SimpleNamespace]] = {}
    for lesson_id, task_id, starter in tasks:
        lessons.setdefault(lesson_id, []).append(SimpleNamespace(id=task_id, starter=starter))
    return SimpleNamespace(
        id=id,
        version=version,
        hash=hash,
        lessons=[SimpleNamespace(id=lid, tasks=ts) for lid, ts in lessons.items()],
    )


@pytest.fixture(scope="module")
def mini():
    return load_pack(MINI)


@pytest.fixture
def ws(tmp_path, mini) -> Workspace:
    return Workspace.create(tmp_path / "learner", mini, "builtin")


# ---------------------------------------------------------------- layout


def test_create_writes_starters_readme_and_pack_record(ws, mini):
    exercise = ws.root / "exercises" / "views" / "first-row.py"
    assert exercise.read_text() == mini.lessons[0].tasks[0].starter
    assert ws.exercise_path(TASK) == exercise
    assert is_workspace(ws.root) and Workspace.is_workspace(ws.root)
    readme = (ws.root / "README.md").read_text()
    assert "tutor start" in readme and "练习" in readme

    record = ws.pack_record()
    assert (record.source, record.id, record.version, record.hash) == ("builtin", "mini", "1.0", mini.hash)
    assert record.pack_path(ws.root) is None
    raw = json.loads((ws.root / ".tutor" / "workspace.json").read_text())
    assert raw["pack"] == {"source": "builtin", "id": "mini", "version": "1.0", "hash": mini.hash}
    assert raw["format"] == 1 and raw["created"]
    assert ws.exercise_files() == {TASK: exercise}


def test_create_again_never_overwrites_and_keeps_the_first_record(ws):
    exercise = ws.exercise_path(TASK)
    exercise.write_text("my work\n")
    created = ws.pack_record().created
    bigger = fake_pack(("views", "first-row", "STARTER\n"), ("views", "second", "S2\n"), ("more", "x", "S3\n"))
    again = Workspace.create(ws.root, bigger, "../elsewhere")
    assert exercise.read_text() == "my work\n"
    assert again.exercise_path("views/second").read_text() == "S2\n"
    assert again.exercise_path("more/x").read_text() == "S3\n"
    assert again.pack_record().id == "mini" and again.pack_record().created == created
    assert ws.write_missing_starters(bigger) == []


def test_relative_pack_source_resolves_against_the_root(tmp_path):
    ws = Workspace.create(tmp_path / "w", fake_pack(("l", "t", "x\n")), "../course")
    assert ws.pack_record().pack_path(ws.root) == ws.root / "../course"


def test_find_walks_up(ws, tmp_path):
    deep = ws.root / "exercises" / "views"
    assert Workspace.find(deep) == ws
    assert Workspace.find(ws.exercise_path(TASK)) == ws
    assert Workspace.find(ws.root) == ws
    outside = tmp_path / "elsewhere" / "deeper"
    outside.mkdir(parents=True)
    assert Workspace.find(outside) is None


@pytest.mark.parametrize(
    "bad",
    ["../x", "views/../../etc", "/etc/passwd", "views/..", "..", "views", "a/b/c", "", "views/",
     "/views", ".hidden/x", "views/.x", "a\\b/c", "views/x\x00", "C:/x", "views/a b"],
)
def test_task_ids_that_escape_are_refused(ws, bad):
    with pytest.raises(WorkspaceError):
        ws.exercise_path(bad)
    with pytest.raises(WorkspaceError):
        Progress.load(ws).record_attempt(bad, "failed")


def test_symlinked_lesson_folder_cannot_lead_outside(ws, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (ws.root / "exercises" / "evil").symlink_to(outside)
    with pytest.raises(WorkspaceError, match="outside"):
        ws.exercise_path("evil/x")
    with pytest.raises(WorkspaceError):
        ws.reset("evil/x", "boom")
    assert not (outside / "x.py").exists()


def test_pack_with_an_escaping_task_id_is_refused(tmp_path):
    with pytest.raises(WorkspaceError):
        Workspace.create(tmp_path / "w", fake_pack(("..", "x", "S\n")), "p")
    assert split_task_id("views/first-row") == ("views", "first-row")


def test_reset_keeps_the_old_file(ws, mini):
    starter = mini.lessons[0].tasks[0].starter
    exercise = ws.exercise_path(TASK)
    assert ws.reset(TASK, starter) is None  # already the starter: nothing worth keeping
    exercise.write_text("attempt one\n")
    first = ws.reset(TASK, starter)
    assert first is not None and first.parent == exercise.parent
    assert first.name.startswith("first-row.py.bak-")
    assert first.read_text() == "attempt one\n"
    assert exercise.read_text() == starter
    exercise.write_text("attempt two\n")
    second = ws.reset(TASK, starter)  # same second: a new name, the first backup untouched
    assert second != first and second.read_text() == "attempt two\n"
    assert first.read_text() == "attempt one\n"
    assert ws.exercise_files() == {TASK: exercise}  # backups are not exercises
    exercise.unlink()
    assert ws.reset(TASK, starter) is None and exercise.read_text() == starter


def test_broken_workspace_file_is_a_user_error(ws):
    ws.workspace_file.write_text("{not json")
    with pytest.raises(WorkspaceError, match="workspace.json"):
        ws.pack_record()
    ws.workspace_file.write_text(json.dumps({"format": 99, "pack": {}}))
    with pytest.raises(WorkspaceError, match="newer"):
        ws.pack_record()
    with pytest.raises(WorkspaceError, match="not a tutor workspace"):
        Workspace(ws.root / "nowhere").pack_record()


def test_pack_warnings(ws, mini):
    assert ws.pack_warnings(mini) == []
    changed = fake_pack(version="1.0", hash="different", id="mini")
    assert "changed" in ws.pack_warnings(changed)[0]
    newer = fake_pack(version="1.1", hash="different", id="mini")
    (warning,) = ws.pack_warnings(newer)
    assert "1.0" in warning and "1.1" in warning
    assert "1.1" in ws.pack_warnings(newer, lang="zh")[0] and "版本" in ws.pack_warnings(newer, lang="zh")[0]
    assert "other" in ws.pack_warnings(fake_pack(id="other"))[0]
    ws.record_pack(newer, "builtin")
    assert ws.pack_warnings(newer) == []


# ---------------------------------------------------------------- atomic writes and the lock


def test_atomic_write_replaces_whole_and_keeps_mode(tmp_path):
    target = tmp_path / "f.txt"
    atomic_write(target, "one")
    os.chmod(target, 0o640)
    atomic_write(target, b"two")
    assert target.read_bytes() == b"two"
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]


def test_atomic_write_failure_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "f.txt"
    atomic_write(target, "old")

    def boom(*args):
        raise OSError("disk gone")

    monkeypatch.setattr(atomic.os, "replace", boom)
    with pytest.raises(OSError, match="disk gone"):
        atomic_write(target, "new")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]


def test_lock_is_reentrant_and_excludes_others(tmp_path):
    lock = tmp_path / ".tutor" / "lock"
    with locked(lock):
        with locked(lock):  # same thread: no self-deadlock
            pass
    held, release = threading.Event(), threading.Event()

    def holder():
        with locked(lock):
            held.set()
            release.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(5)
        with pytest.raises(LockTimeout):
            with locked(lock, timeout=0.05):
                pass
    finally:
        release.set()
        thread.join()
    with locked(lock, timeout=1):
        pass


# ---------------------------------------------------------------- progress


def test_progress_records_and_persists(ws, monkeypatch):
    clock = [datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)]
    monkeypatch.setattr("tutor.workspace.progress.now_utc", lambda: clock[0])
    progress = Progress.load(ws)
    assert progress.warnings == [] and not progress.needs_rebuild
    ids = [TASK, "views/second", "views/third"]
    assert progress.current_task(ids) == TASK

    progress.record_open(TASK)
    clock[0] += timedelta(seconds=30)
    first = progress.record_attempt(TASK, "failed")
    assert (first.attempts, first.passed, first.last_status) == (1, False, "failed")
    assert progress.record_hint(TASK) == 1
    assert progress.record_hint(TASK) == 2
    clock[0] += timedelta(seconds=60)
    passed = progress.record_attempt(TASK, "passed")
    assert passed.passed and passed.attempts == 2 and passed.seconds_to_first_pass == 90.0
    clock[0] += timedelta(seconds=5)
    later = progress.record_attempt(TASK, "error")  # a pass is never taken back
    assert later.passed and later.last_status == "error" and later.passed_at == passed.passed_at

    again = Progress.load(ws)
    record = again.get(TASK)
    assert (record.attempts, record.hints_used, record.passed) == (3, 2, True)
    assert record.first_attempt_at == "2025-01-02T03:04:35.000+00:00"
    assert again.done() == {TASK}
    assert again.current_task(ids) == "views/second"
    assert again.current_task([TASK]) is None
    assert again.get("views/unknown").attempts == 0

    raw = json.loads(ws.progress_file.read_text())
    assert raw["version"] == FORMAT_VERSION and raw["rebuild_pending"] is False
    assert raw["tasks"][TASK]["seconds_to_first_pass"] == 90.0


def test_first_attempt_pass_without_open_counts_from_the_attempt(ws):
    record = Progress.load(ws).record_attempt(TASK, "passed")
    assert record.passed and record.seconds_to_first_pass == 0.0


def test_two_objects_merge_instead_of_clobbering(ws):
    a, b = Progress.load(ws), Progress.load(ws)
    a.record_attempt(TASK, "failed")
    b.record_attempt(TASK, "failed")  # b's snapshot was stale: it re-reads under the lock
    b.record_hint("views/other")
    a.record_attempt("views/other", "passed")
    final = Progress.load(ws)
    assert final.get(TASK).attempts == 2
    assert final.get("views/other").hints_used == 1 and final.get("views/other").passed
    a.reload()
    assert a.get("views/other").hints_used == 1


@pytest.mark.parametrize(
    "damage",
    [
        b"{\"version\": 1, \"tasks\": {\"views/first-row\": {\"attempts\": 3",  # torn
        b"",
        b"\xff\xfe garbage",
        b"[]",
        b"{\"tasks\": {}}",
        b"{\"version\": 1, \"tasks\": []}",
        b"{\"version\": 1, \"tasks\": {\"views/first-row\": {\"attempts\": \"3\"}}}",
        b"{\"version\": 1, \"tasks\": {\"views/first-row\": {\"passed\": 1}}}",
        b"{\"version\": 1, \"tasks\": {\"views/first-row\": {\"hints_used\": -1}}}",
    ],
)
def test_damaged_progress_is_set_aside_with_a_warning(ws, damage):
    ws.progress_file.write_bytes(damage)
    progress = Progress.load(ws)
    (warning,) = progress.warnings
    kept = list(ws.state_dir.glob("progress.json.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == damage  # never lost
    assert kept[0].name in warning and "progress.json" in warning
    assert progress.needs_rebuild and progress.done() == frozenset()
    assert Progress.load(ws).warnings == []  # set aside once, not on every load
    assert Progress.load(ws).needs_rebuild  # until the caller re-grades

    # The caller's rebuild: re-grade, record what passes, then clear the flag.
    progress.record_regrade(TASK, "passed")
    progress.record_regrade("views/other", "failed")
    progress.finish_rebuild()
    rebuilt = Progress.load(ws)
    assert not rebuilt.needs_rebuild and rebuilt.done() == {TASK}
    assert rebuilt.get(TASK).attempts == 0 and rebuilt.get(TASK).seconds_to_first_pass is None


@pytest.mark.parametrize(("damage", "why"), [
    (b"\xff\xfe garbage", "第 0 字节处不是 UTF-8 文本"),
    (b"{\"version\": 1, \"tasks\": {\"views/first-row\": {\"hints_used\": -1}}}", "`tasks.views/first-row.hints_used` 是负数"),
])
def test_a_chinese_learner_reads_why_the_progress_was_damaged_in_chinese(ws, damage, why):
    ws.progress_file.write_bytes(damage)
    (warning,) = Progress.load(ws, lang="zh").warnings
    assert why in warning and "已损坏" in warning


def test_damage_appearing_mid_session_is_caught_on_the_next_write(ws):
    progress = Progress.load(ws)
    progress.record_attempt(TASK, "failed")
    ws.progress_file.write_text("oops")
    progress.record_attempt(TASK, "failed")
    assert len(progress.warnings) == 1 and progress.needs_rebuild
    assert Progress.load(ws).get(TASK).attempts == 1


def test_progress_from_a_newer_tutor_is_left_alone(ws):
    content = json.dumps({"version": FORMAT_VERSION + 1, "tasks": {"x": "new shape"}})
    ws.progress_file.write_text(content)
    with pytest.raises(ProgressError, match="newer"):
        Progress.load(ws)
    assert ws.progress_file.read_text() == content
    assert not list(ws.state_dir.glob("progress.json.corrupt-*"))


def test_stale_temp_files_are_swept_under_the_lock(ws):
    progress = Progress.load(ws)
    progress.record_attempt(TASK, "failed")
    stray = ws.state_dir / ".progress.json.deadbeef0000.tmp"
    stray.write_text("{half")
    progress.record_attempt(TASK, "failed")
    assert not stray.exists()


# ---------------------------------------------------------------- real processes

_CHILD_ENV = {**os.environ, "PYTHONPATH": str(REPO)}

KILLED_CHILD = """
import sys
from pathlib import Path
from tutor.workspace import Progress, Workspace
progress = Progress.load(Workspace(Path(sys.argv[1])))
i = 0
while True:
    i += 1
    record = progress.record_attempt("views/first-row", "passed" if i % 5 == 0 else "failed")
    hints = progress.record_hint("views/second")
    # Acknowledged only once both writes returned: these numbers must never be lost.
    sys.stdout.write(f"{record.attempts} {hints}\\n")
    sys.stdout.flush()
"""


def test_progress_survives_kill_9_at_any_moment(ws):
    rng = random.Random(1234)
    seen_attempts = seen_hints = 0
    for _ in range(20):
        child = subprocess.Popen(
            [sys.executable, "-c", KILLED_CHILD, str(ws.root)],
            stdout=subprocess.PIPE,
            env=_CHILD_ENV,
        )
        assert child.stdout is not None
        first = child.stdout.readline()  # it is writing now
        assert first, "the child died before writing"
        time.sleep(rng.uniform(0, 0.04))
        os.kill(child.pid, signal.SIGKILL)
        rest = child.stdout.read()
        child.wait()
        assert child.returncode == -signal.SIGKILL
        lines = [line for line in (first + rest).decode().split("\n")[:-1] if line]
        acked_attempts, acked_hints = map(int, lines[-1].split())

        raw = json.loads(ws.progress_file.read_text())  # always parses
        attempts = raw["tasks"][TASK]["attempts"]
        hints = raw["tasks"].get("views/second", {}).get("hints_used", 0)
        # Never behind what was acknowledged, at most the one unacknowledged write ahead.
        assert acked_attempts <= attempts <= acked_attempts + 1
        assert acked_hints <= hints <= acked_hints + 1
        assert attempts >= seen_attempts and hints >= seen_hints
        seen_attempts, seen_hints = attempts, hints
        progress = Progress.load(ws)
        assert progress.warnings == [] and not progress.needs_rebuild
    assert seen_attempts > 20
    assert not list(ws.state_dir.glob("progress.json.corrupt-*"))
    Progress.load(ws).record_attempt(TASK, "failed")  # sweeps temps killed writers left
    assert not list(ws.state_dir.glob("*.tmp"))


RACING_CHILD = """
import sys, time
from pathlib import Path
from tutor.workspace import Progress, Workspace
root, name = Path(sys.argv[1]), sys.argv[2]
progress = Progress.load(Workspace(root))
while not (root / "go").exists():
    time.sleep(0.001)
for i in range(200):
    progress.record_attempt("views/first-row", "failed")
    if i % 10 == 0:
        progress.record_hint("views/" + name)
"""


def test_two_processes_at_once_lose_nothing(ws):
    children = [
        subprocess.Popen([sys.executable, "-c", RACING_CHILD, str(ws.root), name], env=_CHILD_ENV)
        for name in ("a", "b")
    ]
    time.sleep(0.2)
    (ws.root / "go").touch()
    for child in children:
        assert child.wait(timeout=60) == 0
    progress = Progress.load(ws)
    assert progress.get(TASK).attempts == 400
    assert progress.get("views/a").hints_used == 20 and progress.get("views/b").hints_used == 20


def test_chinese_workspace_gets_chinese_docstrings_and_knows_its_starters(tmp_path):
    from tutor.workspace.starters import starter_state

    pack = load_pack(Path(__file__).parent / "packs" / "mini")
    ws = Workspace.create(tmp_path / "ws", pack, "mini", lang="zh")
    path = ws.exercise_path("views/first-row")
    text = path.read_text(encoding="utf-8")
    assert '"""以视图的形式返回 x 的第一行。"""' in text and "raise NotImplementedError" in text
    task = pack.lessons[0].tasks[0]
    assert starter_state(task, text.encode())[0] == "starter"
    assert starter_state(task, task.starter.encode())[0] == "starter"  # the English one too
    assert starter_state(task, b"\n \n")[0] == "empty"
    assert starter_state(task, b"def solve(x):\n    return x[0]\n")[0] == "code"


def test_one_session_per_workspace(tmp_path):
    pack = load_pack(Path(__file__).parent / "packs" / "mini")
    ws = Workspace.create(tmp_path / "ws", pack, "mini")
    errors: list[Exception] = []

    def second() -> None:  # another open of the lock, as another process would make
        try:
            with ws.session():
                pass
        except WorkspaceError as exc:
            errors.append(exc)

    with ws.session():
        thread = threading.Thread(target=second)
        thread.start()
        thread.join(timeout=30)
    assert len(errors) == 1 and "already running" in str(errors[0])
    errors.clear()
    second()  # released on the way out
    assert errors == []
