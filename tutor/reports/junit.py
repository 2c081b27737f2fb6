"""``--format junit``: JUnit XML, as CI test-report readers take it.

``<testsuites>`` holds one ``<testsuite>`` per workspace and one
``<testcase>`` per task (``classname`` the lesson id, ``name`` the task id).
A failed task has a ``<failure>`` listing its failed checks; an error, timeout,
crash or refusal has an ``<error>`` whose ``type`` is the status. Points live
in properties (JUnit has none of its own): each testcase carries ``score``,
``max_score``, ``status``, ``seed`` and ``device`` (pytest's ``record_property``
layout), and each suite its total ``score`` and ``max_score`` plus whatever
all its tasks share (seed, device, pack, versions).

The learner's output goes in ``<system-out>``/``<system-err>``, except for
tasks with hidden cases (see ``common.learner_stdout``). Characters XML 1.0 cannot hold (ANSI escapes, NUL, ...) in learner output are
written as ``\\x1b``-style text, so the file always parses.
"""

from __future__ import annotations

import re
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
)
from tutor.verdict import Verdict, WorkspaceResult

_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    return _ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _time(ms: int) -> str:
    return f"{seconds(ms):.3f}"


def _properties(parent: ET.Element, props: list[tuple[str, object]]) -> None:
    props = [(k, v) for k, v in props if v is not None and v != ""]
    if not props:
        return
    el = ET.SubElement(parent, "properties")
    for name, value in props:
        ET.SubElement(el, "property", name=name, value=_xml_text(str(value)))


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
        name=_xml_text(ws.workspace),
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
    props += [(f"warning.{i}", w) for i, w in enumerate(ws.warnings, 1)]
    _properties(suite, props)

    for v in ws.verdicts:
        suite.append(case_element(v))
    return suite


def case_element(v: Verdict) -> ET.Element:
    lesson, name = split_task(v.task)
    case = ET.Element("testcase", classname=_xml_text(lesson), name=_xml_text(name), time=_time(v.duration_ms))
    _properties(
        case,
        [
            ("task", v.task),
            ("title", v.title),
            ("status", v.status.value),
            ("score", fmt_points(task_points(v))),
            ("max_score", fmt_points(task_max(v))),
            *_verdict_context(v),
        ],
    )
    if not v.passed:
        tag = "error" if is_error(v) else "failure"
        kind = v.status.value
        el = ET.SubElement(case, tag, message=_xml_text(headline(v)), type=kind)
        body = failure_text(v)
        body += f"\npoints: {fmt_points(task_points(v))}/{fmt_points(task_max(v))}"
        el.text = _xml_text(body)
    # CI logs are often the learner's to read: a task with hidden cases shows
    # none of its output (it could print the hidden inputs).
    if learner_stdout(v):
        ET.SubElement(case, "system-out").text = _xml_text(v.stdout)
    if v.stderr and not has_hidden_cases(v):
        ET.SubElement(case, "system-err").text = _xml_text(v.stderr)
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
