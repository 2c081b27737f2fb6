"""A pack's shared helper code (``preamble``): how it is shown to learners and how it is graded.

The preamble is instructor code, not solution code. It reaches three places:

- the top of every starter, between two marker lines, so the learner reads
  the helpers and can run the file as plain Python;
- the reference's namespace, before the solution is run;
- the sandbox child, before the learner's code: the grader sends the pack's
  own copy, and blanks the block in the learner's file (keeping its lines, so
  tracebacks and line rules still point at the right line). Editing the
  block therefore changes nothing: the helpers are read-only.

No solution ever travels with it; only what the pack's authors wrote as
helpers does.
"""

from __future__ import annotations

BEGIN = "# ==== course helpers: read-only, graded with the course's own copy / 课程提供的辅助函数：只读，评分时使用课程的版本 ===="
END = "# ==== end of course helpers / 辅助函数结束 ===="


def join(*parts: str) -> str:
    """The preambles that apply to a task (pack, then lesson), as one piece of code."""
    return "\n".join(p.rstrip("\n") for p in parts if p.strip()) + ("\n" if any(p.strip() for p in parts) else "")


def with_helpers(preamble: str, starter: str) -> str:
    """The starter as the learner gets it: the helpers block, then the starter."""
    if not preamble.strip():
        return starter
    return f"{BEGIN}\n{preamble.rstrip()}\n{END}\n\n{starter}"


def blank_helpers(source: str) -> str:
    """The learner's source with the helpers block (markers included) blanked, line count kept."""
    lines = source.split("\n")
    try:
        start = next(i for i, line in enumerate(lines) if line.rstrip() == BEGIN)
        end = next(i for i in range(start + 1, len(lines)) if lines[i].rstrip() == END)
    except StopIteration:
        return source
    return "\n".join(lines[:start] + [""] * (end - start + 1) + lines[end + 1 :])


__all__ = ["BEGIN", "END", "blank_helpers", "join", "with_helpers"]
