"""Pack files' parsed YAML, kept by content, so loading a pack again skips the parse.

Parsing the built-in course's YAML with positions (``yamlnodes.load``) is most
of loading it, and loading it is on ``tutor check``'s critical path, before
torch. A file's parse depends only on its text, so its result (the data and
its marks) is kept in the user's cache under a hash of the text. The format is
``marshal``: plain data only, nothing in it runs when it is read, and the
loader validates the data as it would a fresh parse. Only files that parsed
without a problem are kept, so every problem is found afresh, with its place.
"""

from __future__ import annotations

import hashlib
import marshal
import sys
from pathlib import Path
from typing import Any

from tutor.pack.index import cache_root

FORMAT = 1

Parsed = tuple[Any, dict[Any, Any], dict[Any, Any], dict[Any, Any]]  # data, value marks, key marks, block marks


def _entry(text: str) -> Path:
    key = hashlib.sha256(f"{FORMAT}:{sys.version_info[:2]}:{text}".encode()).hexdigest()[:32]
    return cache_root() / "parsed" / f"{key}.marshal"


def read(text: str) -> Parsed | None:
    """The kept parse of ``text``, or None (none kept, or unreadable)."""
    try:
        found = marshal.loads(_entry(text).read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if type(found) is not tuple or len(found) != 4 or not all(type(m) is dict for m in found[1:]):
        return None
    return found


def keep(text: str, parsed: Parsed) -> None:
    """Keep the parse of ``text``; quietly not, where the cache cannot be written or holds the value."""
    try:
        blob = marshal.dumps(parsed)
    except ValueError:  # a value marshal cannot hold (a YAML date): parsed each time
        return
    from tutor.workspace.atomic import atomic_write

    entry = _entry(text)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(entry, blob)
    except OSError:
        pass  # a read-only home: loading is just slower
