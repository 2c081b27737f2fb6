"""Does a re-graded verdict say the same as the recorded one? (``tutor replay``)

``same_verdict`` lists the differences that change what a learner or a
gradebook sees: the task, seed and device graded, the pack, the status, the
points, each check's pass/fail and message, and the error. It ignores how
long things took (``duration_ms``), the learner's printed output (it may print
times or addresses) and memory addresses or durations inside error text.
``environment_differences`` lists what differs in the versions recorded, which
explains a difference rather than being one.
"""

from __future__ import annotations

import re
from collections import Counter

from tutor.verdict import CheckResult, Verdict

_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
_DURATION = re.compile(r"\b\d+(?:\.\d+)?\s*(?:ms|s|seconds?)\b")

SCORE_TOLERANCE = 1e-9


def _normalize(text: str | None) -> str:
    text = _ADDRESS.sub("0x…", text or "")
    return _DURATION.sub("…s", text).strip()


def _num(x: float) -> str:
    return f"{x:g}"


def _check_key(c: CheckResult) -> str:
    return f"{c.name}" if c.case is None else f"{c.name} (case {c.case + 1})"


def _keyed(checks: list[CheckResult]) -> dict[str, CheckResult]:
    """Checks by name and case; repeats of the same pair get ``#2``, ``#3``..."""
    count: Counter[str] = Counter()
    out: dict[str, CheckResult] = {}
    for c in checks:
        key = _check_key(c)
        count[key] += 1
        out[key if count[key] == 1 else f"{key} #{count[key]}"] = c
    return out


def same_verdict(a: Verdict, b: Verdict) -> list[str]:
    """Differences between recorded ``a`` and replayed ``b``, in words; empty when they agree."""
    diffs: list[str] = []

    def differ(what: str, x: object, y: object) -> None:
        if x != y:
            diffs.append(f"{what}: {x!r} -> {y!r}")

    differ("task", a.task, b.task)
    differ("seed", a.seed, b.seed)
    differ("device", a.device, b.device)
    pa = None if a.pack is None else f"{a.pack.id} {a.pack.version} ({a.pack.hash})"
    pb = None if b.pack is None else f"{b.pack.id} {b.pack.version} ({b.pack.hash})"
    differ("pack", pa, pb)
    differ("status", a.status.value, b.status.value)
    if abs(a.score - b.score) > SCORE_TOLERANCE:
        diffs.append(f"score: {_num(a.score)} -> {_num(b.score)}")
    if abs(a.max_score - b.max_score) > SCORE_TOLERANCE:
        diffs.append(f"max_score: {_num(a.max_score)} -> {_num(b.max_score)}")

    ka, kb = _keyed(a.checks), _keyed(b.checks)
    for key, ca in ka.items():
        cb = kb.get(key)
        if cb is None:
            diffs.append(f"check {key}: only in the recorded verdict")
            continue
        if ca.passed != cb.passed:
            word = {True: "passed", False: "failed"}
            diffs.append(f"check {key}: {word[ca.passed]} -> {word[cb.passed]}")
        elif ca.message != cb.message:
            diffs.append(f"check {key} message: {ca.message!r} -> {cb.message!r}")
    for key in [k for k in kb if k not in ka]:
        diffs.append(f"check {key}: only in the replayed verdict")

    if _normalize(a.error) != _normalize(b.error):
        ga, gb = _gist(a.error), _gist(b.error)
        diffs.append(f"error: {ga!r} -> {gb!r}" if ga != gb else f"error text differs (ending {ga!r})")
    return diffs


def _gist(text: str | None) -> str | None:
    """The first non-blank line: the message (the traceback lines follow it)."""
    if text is None:
        return None
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[0].strip() if lines else ""


def environment_differences(a: Verdict, b: Verdict) -> list[str]:
    """Recorded versions (torch, tutor, python, ...) that differ between ``a`` and ``b``."""
    keys = list(dict.fromkeys([*a.versions, *b.versions]))
    return [
        f"{k}: {a.versions.get(k)!r} -> {b.versions.get(k)!r}"
        for k in keys
        if a.versions.get(k) != b.versions.get(k)
    ]
