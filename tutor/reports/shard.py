"""Grading past one machine: ``--shard K/N`` and ``tutor merge``.

``select_shard`` sorts the items by their workspace path and hands shard K the
K-th of N contiguous slices (sizes differ by at most one), so every machine of
a CI matrix, given the same list in any order, picks a disjoint part, and the
N parts cover the list exactly once. ``merge`` joins the shards' results back
into one list, sorted the same way.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import TypeVar

from tutor.verdict import WorkspaceResult

T = TypeVar("T")

_SPEC = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


def parse_shard(spec: str) -> tuple[int, int]:
    """``"2/4"`` -> ``(2, 4)``; ValueError with a readable reason otherwise."""
    m = _SPEC.fullmatch(spec or "")
    if not m:
        raise ValueError(f"--shard takes K/N, for example 2/4 (the 2nd of 4 slices); got {spec!r}")
    k, n = int(m.group(1)), int(m.group(2))
    if n < 1:
        raise ValueError(f"--shard {spec}: N must be at least 1")
    if not 1 <= k <= n:
        raise ValueError(f"--shard {spec}: K must be between 1 and {n}")
    return k, n


def _path_key(item: object) -> str:
    if isinstance(item, WorkspaceResult):
        return item.workspace
    if isinstance(item, (str, os.PathLike)):
        return os.fspath(item)
    return str(item)


def select_shard(items: list[T], spec: str, key: Callable[[T], str] | None = None) -> list[T]:
    """The K-th of N slices of ``items`` sorted by workspace path (``key``, default
    the item as a path, or a ``WorkspaceResult``'s workspace)."""
    k, n = parse_shard(spec)
    ordered = sorted(items, key=key or _path_key)
    start, stop = (k - 1) * len(ordered) // n, k * len(ordered) // n
    return ordered[start:stop]


def merge(results: list[list[WorkspaceResult]]) -> list[WorkspaceResult]:
    """All shards' results as one list sorted by workspace; ValueError naming any
    workspace that two shards (or one shard twice) graded."""
    seen: dict[str, int] = {}
    merged: list[WorkspaceResult] = []
    for shard_no, shard in enumerate(results, 1):
        for ws in shard:
            if ws.workspace in seen:
                where = (
                    f"shard {seen[ws.workspace]} and shard {shard_no}"
                    if seen[ws.workspace] != shard_no
                    else f"shard {shard_no} twice"
                )
                raise ValueError(f"workspace {ws.workspace!r} was graded more than once ({where})")
            seen[ws.workspace] = shard_no
            merged.append(ws)
    return sorted(merged, key=lambda ws: ws.workspace)
