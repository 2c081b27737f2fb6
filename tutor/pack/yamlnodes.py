"""YAML to plain data, remembering where every value came from.

PyYAML's ``safe_load`` forgets positions and silently keeps the last of two
equal keys. Validation errors must point at the offending node, so we compose
the node graph ourselves and keep a map from data path to source position.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tutor.errors import Location, Problem
from tutor.pack import parse_cache

PathKey = tuple[Any, ...]


@dataclass
class Marks:
    """Source positions of a document's values, by data path (keys and indexes)."""

    file: Path
    values: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    keys: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    # `|` and `>` scalars: (first content line, its indent), to map code positions.
    block: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def at(self, path: PathKey, *, key: bool = False) -> Location:
        """The position of ``path``, or of its nearest ancestor that has one."""
        probe = tuple(path)
        while True:
            table = self.keys if key and probe in self.keys else self.values
            if probe in table:
                line, col = table[probe]
                return Location(self.file, line, col)
            if not probe:
                return Location(self.file, 1, 1)
            probe = probe[:-1]

    def code_line(self, path: PathKey, line_in_code: int, column: int) -> Location:
        """Map a position inside an embedded code string back into the YAML file."""
        if path in self.block:
            first, indent = self.block[path]
            return Location(self.file, first + line_in_code - 1, indent + max(column, 1))
        return self.at(path)


class _Constructor(yaml.constructor.SafeConstructor):
    pass


# libyaml's parser, where PyYAML was built with it, is about ten times faster
# and keeps the same node marks.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(text: str, file: Path) -> tuple[Any, Marks, list[Problem]]:
    """Parse one YAML document into data, its marks, and any duplicate-key problems
    (a text parsed before without problems comes from ``parse_cache``)."""
    kept = parse_cache.read(text)
    if kept is not None:
        data, values, keys, block = kept
        return data, Marks(file, values, keys, block), []
    marks = Marks(file)
    problems: list[Problem] = []
    lines = text.splitlines()
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        reason = getattr(exc, "problem", None) or str(exc)
        raise_yaml = Problem(where, f"not valid YAML: {reason}")
        return None, marks, [raise_yaml]
    if node is None:
        return None, marks, []
    constructor = _Constructor()

    def build(n: yaml.Node, path: PathKey) -> Any:
        marks.values[path] = (n.start_mark.line + 1, n.start_mark.column + 1)
        if isinstance(n, yaml.MappingNode):
            constructor.flatten_mapping(n)
            out: dict[Any, Any] = {}
            for key_node, value_node in n.value:
                key = constructor.construct_object(key_node, deep=True)
                if not isinstance(key, (str, int, float, bool)) or key is None:
                    problems.append(
                        Problem(
                            Location(file, key_node.start_mark.line + 1, key_node.start_mark.column + 1),
                            "a key must be a plain name",
                        )
                    )
                    continue
                child = path + (key,)
                marks.keys[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                if key in out:
                    problems.append(Problem(marks.at(child, key=True), f"key {key!r} appears twice"))
                out[key] = build(value_node, child)
            return out
        if isinstance(n, yaml.SequenceNode):
            return [build(item, path + (i,)) for i, item in enumerate(n.value)]
        if isinstance(n, yaml.ScalarNode) and n.style in ("|", ">"):
            first = n.start_mark.line + 2  # content starts on the line after the indicator
            indent = _indent_of(lines, first - 1)
            marks.block[path] = (first, indent)
        return constructor.construct_object(n, deep=True)

    try:
        data = build(node, ())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        return None, marks, [Problem(where, f"not valid YAML: {getattr(exc, 'problem', exc)}")]
    if not problems:
        parse_cache.keep(text, (data, marks.values, marks.keys, marks.block))
    return data, marks, problems


def _indent_of(lines: list[str], index: int) -> int:
    """Leading spaces of the first non-blank line at or after ``index`` (0-based)."""
    for line in lines[index:]:
        if line.strip():
            return len(line) - len(line.lstrip(" "))
    return 0
