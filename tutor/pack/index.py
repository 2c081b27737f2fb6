"""A pack's table of contents, cached, for ``tutor list`` without pydantic.

``tutor list`` must answer in well under 150 ms; importing pydantic and
validating a whole pack costs more than that. The first full load of a pack
writes its index (ids, titles, requires) to the user's cache, keyed by the
pack files' names, sizes and modification times; later lists read that index
and never import the models. Any change to a pack file makes a new key.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tutor.i18n import pick

INDEX_FORMAT = 1


@dataclass(frozen=True)
class IndexText:
    raw: str | dict[str, str]

    def get(self, lang: str) -> str:
        return pick(self.raw, lang)


@dataclass(frozen=True)
class IndexTask:
    id: str
    title: IndexText


@dataclass(frozen=True)
class IndexLesson:
    id: str
    title: IndexText
    summary: IndexText
    requires: list[str]
    tasks: list[IndexTask]


@dataclass(frozen=True)
class IndexMeta:
    id: str
    title: IndexText
    version: str


@dataclass(frozen=True)
class PackIndex:
    """Quacks like ``Pack`` for everything the list needs."""

    meta: IndexMeta
    lessons: list[IndexLesson] = field(default_factory=list)

    def lesson(self, lesson_id: str) -> IndexLesson | None:
        return next((lesson for lesson in self.lessons if lesson.id == lesson_id), None)

    def task_ids(self) -> list[str]:
        return [f"{lesson.id}/{task.id}" for lesson in self.lessons for task in lesson.tasks]


def _text(value: Any) -> Any:
    return value.root if hasattr(value, "root") else value


def to_data(pack: Any) -> dict[str, Any]:
    return {
        "format": INDEX_FORMAT,
        "meta": {"id": pack.meta.id, "title": _text(pack.meta.title), "version": pack.meta.version},
        "lessons": [
            {"id": lesson.id, "title": _text(lesson.title), "summary": _text(lesson.summary),
             "requires": list(lesson.requires),
             "tasks": [{"id": task.id, "title": _text(task.title)} for task in lesson.tasks]}
            for lesson in pack.lessons
        ],
    }


def from_data(data: dict[str, Any]) -> PackIndex:
    meta = data["meta"]
    return PackIndex(
        meta=IndexMeta(meta["id"], IndexText(meta["title"]), meta["version"]),
        lessons=[
            IndexLesson(lesson["id"], IndexText(lesson["title"]), IndexText(lesson["summary"]), list(lesson["requires"]),
                        [IndexTask(task["id"], IndexText(task["title"])) for task in lesson["tasks"]])
            for lesson in data["lessons"]
        ],
    )


def _cache_file(path: Path) -> Path | None:
    """The cache entry for the pack at ``path`` as its files are now (None: can't stat)."""
    try:
        root = path.resolve()
        files = sorted(root.glob("*.y*ml")) if root.is_dir() else [root]
        stamp = [str(root)] + [f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files]
    except OSError:
        return None
    key = hashlib.sha256("\n".join(stamp).encode()).hexdigest()[:24]
    return cache_root() / "packs" / f"{key}.json"


def cache_root() -> Path:
    """Where tutor keeps what it can make again (pack indexes, parsed pack files)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tutor"


def load_index(path: Path) -> Any:
    """The pack's index from the cache, else the full pack (loaded, validated, and indexed)."""
    cache = _cache_file(path)
    if cache is not None:
        try:
            data = json.loads(cache.read_text(encoding="utf-8"))
            if data.get("format") == INDEX_FORMAT:
                return from_data(data)
        except (OSError, ValueError, KeyError, TypeError):
            pass
    from tutor.pack.loader import load_pack

    pack = load_pack(path)
    if cache is not None:
        try:
            from tutor.workspace.atomic import atomic_write

            cache.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(cache, json.dumps(to_data(pack), ensure_ascii=False))
        except OSError:
            pass  # a read-only home: lists are just slower
    return pack
