"""``--format junit``: JUnit XML valid against the Jenkins xunit plugin's ``junit-10.xsd``.

``<testsuites>`` holds one ``<testsuite>`` per workspace and one
``<testcase>`` per task (``classname`` the lesson id, ``name`` the task id).

The mapping, shared with ``pytest --tutor --junitxml`` (``outcome``,
``task_properties``): a wrong answer (``failed``) is a ``<failure>``; the
learner's code raising or not loading, a timeout, a crash and a refusal are an
``<error>`` whose ``type`` is the status and whose text gives the reason.

Points live in properties, which the schema allows on a suite only (never on
a testcase): the suite's total ``score`` and ``max_score``, whatever all its
tasks share (seed, device, pack, versions), and per task
``<task>.status``, ``<task>.score``, ``<task>.max_score`` and ``<task>.seed``. Every number
is written by ``common.fmt_points`` (``1``, ``0.5``; never ``1.0``).

The learner's output goes in ``<system-out>``/``<system-err>``, except for
tasks with hidden cases (see ``common.learner_stdout``). Characters XML 1.0
cannot hold (ANSI escapes, NUL, ...) are written as ``\\x1b``-style text, so the
file always parses.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tutor.reports.common import (
    common_value,
    failure_text,
    fmt_points,
    has_hidden_cases,
    headline,
    is_error,
    learner_stdout,
    seconds,
    split_task,
    task_max,
    task_points,
    total_max,
    total_points,
    visible_text,
)
from tutor.verdict import Verdict, WorkspaceResult

def _time(ms: int) -> str:
    return f"{seconds(ms):.3f}"


def _properties(parent: ET.Element, props: list[tuple[str, object]]) -> None:
    props = [(k, v) for k, v in props if v is not None and v != ""]
    if not props:
        return
    el = ET.SubElement(parent, "properties")
    for name, value in props:
        ET.SubElement(el, "property", name=name, value=visible_text(str(value)))


def _verdict_context(v: Verdict) -> list[tuple[str, object]]:
    props: list[tuple[str, object]] = [("seed", v.seed), ("device", v.device)]
    if v.pack is not None:
        props += [("pack.id", v.pack.id), ("pack.version", v.pack.version), ("pack.hash", v.pack.hash)]
    props += [(f"version.{k}", val) for k, val in sorted(v.versions.items())]
    return props


def suite_element(ws: WorkspaceResult) -> ET.Element:
    failures = sum(1 for v in ws.verdicts if not v.passed and not is_error(v))
    errors = sum(1 for v in ws.verdicts if is_error(v))
    suite = ET.Element(
        "testsuite",
        name=visible_text(ws.workspace),
        tests=str(len(ws.verdicts)),
        failures=str(failures),
        errors=str(errors),
        skipped="0",
        time=_time(sum(v.duration_ms for v in ws.verdicts)),
    )
    props: list[tuple[str, object]] = [
        ("workspace", ws.workspace),
        ("score", fmt_points(total_points(ws))),
        ("max_score", fmt_points(total_max(ws))),
    ]
    # Facts every task shares go on the suite; per-task facts stay on each testcase.
    contexts = [dict(_verdict_context(v)) for v in ws.verdicts]
    keys = list(dict.fromkeys(k for c in contexts for k in c))
    for key in keys:
        shared = common_value(c.get(key) for c in contexts)
        if shared is not None:
            props.append((key, shared))
    for v in ws.verdicts:
        props += task_properties(v)
    props += [(f"warning.{i}", w) for i, w in enumerate(ws.warnings, 1)]
    _properties(suite, props)

    for v in ws.verdicts:
        suite.append(case_element(v))
    return suite


def task_properties(v: Verdict) -> list[tuple[str, str]]:
    """A task's suite-level properties: its status and points, named after the task."""
    return [
        (f"{v.task}.status", v.status.value),
        (f"{v.task}.score", fmt_points(task_points(v))),
        (f"{v.task}.max_score", fmt_points(task_max(v))),
        (f"{v.task}.seed", str(v.seed)),
    ]


def outcome(v: Verdict) -> tuple[str, str, str, str] | None:
    """``(tag, type, message, text)`` of a task that did not pass, else None.

    ``tag`` is ``failure`` for a wrong answer and ``error`` when the code did
    not run to the end (exception, syntax error, timeout, crash, refusal).
    """
    if v.passed:
        return None
    tag = "error" if is_error(v) else "failure"
    text = failure_text(v) + f"\npoints: {fmt_points(task_points(v))}/{fmt_points(task_max(v))}"
    return tag, v.status.value, headline(v), text


def case_element(v: Verdict) -> ET.Element:
    lesson, name = split_task(v.task)
    case = ET.Element("testcase", classname=visible_text(lesson), name=visible_text(name), time=_time(v.duration_ms))
    result = outcome(v)
    if result is not None:
        tag, kind, message, text = result
        ET.SubElement(case, tag, message=visible_text(message), type=kind).text = visible_text(text)
    # CI logs are often the learner's to read: a task with hidden cases shows
    # none of its output (it could print the hidden inputs).
    if learner_stdout(v):
        ET.SubElement(case, "system-out").text = visible_text(v.stdout)
    if v.stderr and not has_hidden_cases(v):
        ET.SubElement(case, "system-err").text = visible_text(v.stderr)
    return case


def to_element(results: list[WorkspaceResult]) -> ET.Element:
    root = ET.Element(
        "testsuites",
        name="tutor",
        tests=str(sum(len(ws.verdicts) for ws in results)),
        failures=str(sum(1 for ws in results for v in ws.verdicts if not v.passed and not is_error(v))),
        errors=str(sum(1 for ws in results for v in ws.verdicts if is_error(v))),
        time=_time(sum(v.duration_ms for ws in results for v in ws.verdicts)),
    )
    for ws in results:
        root.append(suite_element(ws))
    return root


def render(results: list[WorkspaceResult]) -> str:
    root = to_element(results)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
