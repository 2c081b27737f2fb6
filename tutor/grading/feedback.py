"""What a failed check says beyond its finding, and in which order failures are reported.

A task's ``feedback`` may be keyed by check (``result:``) or by check and
aspect (``result.shape:``). The most specific text that matches the finding
is shown. A check-level text is shown only when the task has no text for that
aspect and the finding does not contradict it: a text whose lead sentence
speaks only of properties the learner got right (it talks of dtypes, the
dtypes agree) is about another mistake, and so is any text under a strides
failure that does not speak of strides or storage (the values were right).
A text is taken to be about what its first sentence names; later sentences
are often reminders ("check dtypes and devices too").

When several checks fail on one case, the most fundamental is reported first:
structure and shape, then aliasing and mutation, then dtype/device/grad mode,
then values and gradients, then the how-rules, then strides, then efficiency
(what an answer costs matters once it is right). A strict-stride failure thus
never hides a copy/view mistake.
"""

from __future__ import annotations

import re
from typing import Any

from tutor.checks import CaseContext, Finding
from tutor.grading import misconceptions
from tutor.pack.models import Task
from tutor.verdict import CheckResult

# (check, aspect) -> rank; lower is more fundamental. `None` matches any aspect of the check.
_RANKS: dict[tuple[str, str | None], int] = {
    ("result", "structure"): 0, ("result", "type"): 0, ("result", "shape"): 0, ("aliasing", "structure"): 0,
    ("aliasing", None): 1, ("mutation", None): 1,
    ("result", "dtype"): 2, ("result", "device"): 2, ("result", "requires_grad"): 2,
    ("result", "values"): 3, ("input_grads", None): 3, ("backward", None): 3, ("custom", None): 3,
    ("forbid", None): 4, ("require", None): 4, ("source", None): 4,
    ("result", "strides"): 5, ("efficiency", None): 6,
}  # fmt: skip
_DEFAULT_RANK = 3

# What a feedback text speaks of, recognised in every language it has.
_TOPICS = {
    "dtype": re.compile(r"\bdtypes?\b|\b(?:b?float(?:16|32|64)?s?|u?int(?:8|16|32|64)?|integers?|complex(?:64|128)"
                        r"|half|double|booleans?)\b|数据类型|浮点|整数", re.I),
    "shape": re.compile(r"\bshapes?\b|keepdim|squeeze|形状", re.I),
    "device": re.compile(r"\bdevices?\b|\bcuda\b|\bgpu\b|\bcpu\b|设备", re.I),
    "requires_grad": re.compile(r"requires_grad|\bdetach", re.I),
    "strides": re.compile(r"\bstrides?\b|contiguous|\bstorage\b|\bviews?\b|\bcop(?:y|ies)\b|\bclone\b"
                          r"|步长|连续|存储|视图|副本", re.I),
}


def rank(kind: str, aspect: str | None) -> int:
    return _RANKS.get((kind, aspect), _RANKS.get((kind, None), _DEFAULT_RANK))


def ordered(results: list[CheckResult]) -> list[CheckResult]:
    """One case's results: failures, most fundamental first, then the checks that held, in task order."""
    failed = sorted((r for r in results if not r.passed), key=lambda r: rank(r.name, r.aspect))
    return failed + [r for r in results if r.passed]


def pick(task: Task, kind: str, finding: Finding) -> tuple[str, Any] | None:
    """The task's feedback text for this finding, with its key, or None."""
    if finding.aspect is not None:
        key = f"{kind}.{finding.aspect}"
        if key in task.feedback:
            return key, task.feedback[key]
    plain = task.feedback.get(kind)
    if plain is None or contradicted(plain.root, finding):
        return None
    return kind, plain


def contradicted(text: str | dict[str, str], finding: Finding) -> bool:
    """True when a check-level text is about something this finding shows right."""
    leads = [_lead(t) for t in ([text] if isinstance(text, str) else text.values())]
    topics = {name for name, pattern in _TOPICS.items() if any(pattern.search(lead) for lead in leads)}
    if finding.aspect == "strides" and "strides" not in topics:
        return True
    return bool(topics) and topics <= _known_right(finding)


def _lead(text: str) -> str:
    """A text's first sentence (English or Chinese punctuation)."""
    return re.split(r"(?<=[.!?])\s|[。！？]", text.strip(), maxsplit=1)[0]


def _known_right(finding: Finding) -> set[str]:
    """The properties a tensor finding shows the learner got right."""
    expected, got = finding.details.get("expected"), finding.details.get("got")
    if finding.details.get("kind") != "tensor" or not isinstance(expected, dict) or not isinstance(got, dict):
        return set()
    right = {name for name in ("shape", "dtype", "device") if expected.get(name) == got.get(name)}
    if finding.aspect in ("values", "strides"):
        right.add("requires_grad")  # compared before values
    return right


def advice(task: Task, kind: str, finding: Finding, ctx: CaseContext, said: set[str] | None = None) -> str:
    """The message a learner reads: the finding, the misconception it shows (if one is
    recognised), then the task's text for it (if any).

    ``said``: the task's texts already given in this verdict (by key), for
    verdicts with several results of one kind (a predict task's fields): a
    text the learner read under the first stays out of the next.
    """
    lang = ctx.lang
    parts = [finding.message]
    recognised = misconceptions.detect(kind, finding, ctx)
    if recognised is not None:
        finding.details["misconception"], sentence = recognised
        parts.append(sentence)
    chosen = pick(task, kind, finding)
    if chosen is not None:
        key, text = chosen
        finding.details["feedback"] = key
        if said is None or key not in said:
            parts.append(text.get(lang))
        if said is not None:
            said.add(key)
    return "\n".join(p for p in parts if p)
