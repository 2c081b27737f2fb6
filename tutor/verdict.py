"""The verdict: what grading one task produced, as plain data.

Every report (terminal, JSON, JUnit, Gradescope, ...) is computed from these
objects and nothing else, so all of them agree on the same numbers. The module
imports neither torch nor the pack models: reports and the UI can use it
without paying for torch, and a verdict read back from JSON (``tutor replay``,
``tutor merge``) is the same object as a fresh one.

The JSON shape is the contract of ``../shared/spec/cli.md``: the keys it names
keep their meaning; everything else here is an extension.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any


def _plain(value: Any) -> Any:
    """``value`` as JSON-ready data: dataclasses as dicts, containers copied, leaves as they are.

    What ``dataclasses.asdict`` gives, without its ``deepcopy`` of every leaf:
    a verdict's leaves are strings, numbers and enums, and a batch of 16
    workspaces writes some 1,500 verdicts, where that copying was most of
    the report's time.
    """
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


class Status(str, enum.Enum):
    """How a graded run ended, in the order a report should rank them."""

    PASSED = "passed"
    FAILED = "failed"  # it ran; a check did not hold
    ERROR = "error"  # the learner's code raised or would not load
    TIMEOUT = "timeout"
    CRASHED = "crashed"  # the process died: a signal, memory
    REFUSED = "refused"  # the sandbox stopped a forbidden action


@dataclass
class CheckResult:
    """One check on one case (``case`` is None for whole-task checks such as ``source``).

    ``case`` is a 0-based index into the verdict's ``cases``; people read it
    as case ``case + 1``. ``aspect`` says which part of a failed check failed
    (``tutor.checks.ASPECTS``), None when it passed.
    """

    name: str
    passed: bool
    case: int | None = None
    message: str = ""
    # Renderer-friendly facts about the failure (tensor summaries, the
    # differing index, ...). JSON-safe. Hidden cases never carry values here.
    details: dict[str, Any] = field(default_factory=dict)
    aspect: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The contract's keys, with ``aspect`` beside ``name``."""
        data = _plain(self)
        return {"name": data.pop("name"), "aspect": data.pop("aspect"), **data}


def only_efficiency_failed(results: list[CheckResult]) -> bool:
    """Some check failed, and every one that did is ``efficiency``: the answer is right, but wasteful."""
    failed = [r.name for r in results if not r.passed]
    return bool(failed) and all(name == "efficiency" for name in failed)


@dataclass
class CaseInfo:
    """What a learner may know of a case: hidden random cases show shapes, not values."""

    index: int
    hidden: bool
    args: dict[str, str]  # parameter -> short description ("float32[3, 4]", "2", ...)


@dataclass
class PackRef:
    """Which pack graded this, precisely enough to replay it."""

    id: str
    version: str
    hash: str


@dataclass
class Verdict:
    task: str
    status: Status
    score: float
    max_score: float
    device: str
    seed: int
    duration_ms: int
    checks: list[CheckResult] = field(default_factory=list)
    stdout: str = ""
    error: str | None = None
    # Extensions of the contract.
    title: str = ""
    call: str = ""  # how the task calls the learner's function, e.g. "solve(x, dim)"
    stderr: str = ""
    cases: list[CaseInfo] = field(default_factory=list)
    pack: PackRef | None = None
    versions: dict[str, str] = field(default_factory=dict)
    layers: list[str] = field(default_factory=list)
    error_kind: str | None = None  # a known runtime error the grader explained (``broadcast``, ...)
    # Lines for the learner beside the verdict (e.g. a student pack's hidden cases are graded by the course).
    notes: list[str] = field(default_factory=list)
    # A predict task graded as the learner's attempt: tries used and left, the try this verdict adds
    # (``new_try``, for the progress file), and the real answers once revealed (``tutor.grading.predict``).
    predict: dict[str, Any] | None = None
    # What the entry call cost per case, when the task has an efficiency check: "case" (0-based),
    # "flops", "alloc_bytes", "reference_flops", "reference_alloc_bytes", "max_flops",
    # "max_alloc_bytes" (the limits applied there; None: not judged) and "largest" (the biggest
    # fresh tensor: "bytes", "op", "shape", "dtype").
    efficiency: list[dict[str, Any]] = field(default_factory=list)

    def correct_but_wasteful(self) -> bool:
        """Failed on efficiency only: every other check held."""
        return self.status is Status.FAILED and only_efficiency_failed(self.checks)

    @property
    def passed(self) -> bool:
        return self.status is Status.PASSED

    @property
    def prediction_try(self) -> str | None:
        """The new wrong prediction this verdict counts as a try (its digest), if any."""
        return (self.predict or {}).get("new_try")

    def failed_checks(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed]

    def to_json(self) -> dict[str, Any]:
        data = {f.name: [c.to_json() for c in self.checks] if f.name == "checks" else _plain(getattr(self, f.name))
                for f in fields(self)}  # the checks each by its own to_json
        data["status"] = self.status.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Verdict:
        data = dict(data)
        data["status"] = Status(data["status"])
        data["checks"] = [CheckResult(**c) for c in data.get("checks", [])]
        data["cases"] = [CaseInfo(**c) for c in data.get("cases", [])]
        if data.get("pack") is not None:
            data["pack"] = PackRef(**data["pack"])
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class WorkspaceResult:
    """All verdicts of one workspace; totals are computed, never stored twice."""

    workspace: str
    verdicts: list[Verdict]
    warnings: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        return round(sum(v.score for v in self.verdicts), 6)

    @property
    def max_score(self) -> float:
        return round(sum(v.max_score for v in self.verdicts), 6)

    @property
    def passed(self) -> int:
        return sum(1 for v in self.verdicts if v.passed)

    def to_json(self) -> dict[str, Any]:
        return {
            "workspace": self.workspace,
            "score": self.score,
            "max_score": self.max_score,
            "passed": self.passed,
            "total": len(self.verdicts),
            "warnings": list(self.warnings),
            "tasks": [v.to_json() for v in self.verdicts],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WorkspaceResult:
        return cls(
            workspace=data["workspace"],
            verdicts=[Verdict.from_json(v) for v in data.get("tasks", [])],
            warnings=list(data.get("warnings", [])),
        )
