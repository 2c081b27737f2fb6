"""Where the built-in course lives: ``lessons/`` in the repository, ``tutor/lessons`` once installed."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def builtin_course() -> Path:
    return Path(str(files("tutor.lessons")))
