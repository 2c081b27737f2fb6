"""The read-only allow-list Landlock grants: interpreter directories (never tutor*), a few system paths."""

from __future__ import annotations

import functools
import os
import re
import site
import sys
import sysconfig
from pathlib import Path
from typing import Iterable

#: Never readable by learner code: the installed package holds the lessons'
#: reference solutions (also its editable-install finder and metadata).
_HIDDEN = re.compile(r"(^|[_.\-])(torch_)?tutor([_.\-]|$)", re.IGNORECASE)

#: The /proc/self entries a child reads (its own limits, sizes, threads and
#: fds). Not ``mem``, ``pagemap``, ``environ`` or the rest: the child's own
#: memory is inherited from the worker and must not be read back by address.
PROC_SELF_READS: tuple[str, ...] = tuple(
    f"/proc/self/{name}" for name in
    ("status", "stat", "statm", "maps", "cmdline", "comm", "limits", "cgroup", "fd", "task"))

#: Devices, proc and sys entries torch and CPython read after start-up.
#: Nothing here is secret.
SYSTEM_READS: tuple[str, ...] = (
    "/dev/null", "/dev/zero", "/dev/urandom", "/dev/random", "/dev/full",
    *PROC_SELF_READS, "/proc/cpuinfo", "/proc/meminfo", "/proc/stat",
    "/sys/devices/system/cpu", "/sys/devices/system/node",
    "/etc/localtime", "/usr/share/zoneinfo",
)


def _is_hidden(name: str) -> bool:
    return bool(_HIDDEN.search(name))


def _interpreter_dirs() -> list[Path]:
    """The stdlib and site-packages directories of this interpreter.

    Only sys.path entries that live under the interpreter's prefixes, or are
    site-packages directories, count: sys.path may also hold the current
    directory or a repository root (pytest adds one), which must never
    become readable wholesale.
    """
    prefixes = {Path(p).resolve() for p in
                (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    sites = set()
    for getter in (site.getsitepackages, lambda: [site.getusersitepackages()]):
        try:
            sites.update(Path(p).resolve() for p in getter())
        except Exception:
            continue
    paths = sysconfig.get_paths()
    candidates = [paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")]
    candidates += sys.path
    dirs: list[Path] = []
    for entry in candidates:
        if not entry:
            continue
        path = Path(entry).resolve()
        under_prefix = any(path == p or p in path.parents for p in prefixes)
        if (under_prefix or path in sites) and path.exists() and path not in dirs:
            dirs.append(path)
    return dirs


_PACKAGE_DIRS = frozenset({"site-packages", "dist-packages"})


def _descend(entry: Path, holes: set[Path]) -> bool:
    """Whether ``entry`` may hide an excluded name one level down: a package
    directory (a stdlib dir holds the base interpreter's site-packages) or
    a listed directory, or a parent of one."""
    if entry.name in _PACKAGE_DIRS or entry in holes:
        return entry.is_dir()
    return entry in _ancestors(frozenset(holes))


@functools.lru_cache(maxsize=8)
def _ancestors(holes: frozenset[Path]) -> frozenset[Path]:
    return frozenset(a for h in holes for a in h.parents)


def _needs_split(directory: Path, holes: set[Path]) -> bool:
    """True when allowing ``directory`` whole would allow an excluded name."""
    try:
        entries = list(directory.iterdir())
    except OSError:
        return False
    return any(_is_hidden(e.name) for e in entries) or any(
        _descend(e, holes) and _needs_split(e, holes) for e in entries)


def _expand(directory: Path, holes: set[Path]) -> list[Path]:
    """``directory`` itself, or its entries minus excluded ones, recursively.

    Splitting only where needed keeps the Landlock rule count (and apply()
    time) low: the stdlib stays one rule, site-packages becomes one rule per
    entry.
    """
    if not directory.is_dir():
        return [] if _is_hidden(directory.name) else [directory]
    if not _needs_split(directory, holes):
        return [directory]
    result: list[Path] = []
    for entry in sorted(directory.iterdir()):
        if _is_hidden(entry.name):
            continue
        if _descend(entry, holes) and _needs_split(entry, holes):
            result += _expand(entry, holes)
        else:
            result.append(entry)
    return result


def default_read_only(python_paths: Iterable[str | os.PathLike[str]] | None = None,
                      ) -> tuple[Path, ...]:
    """Read-only allow-list for a child: interpreter directories (each
    entry except anything named tutor*/torch_tutor*) plus SYSTEM_READS.

    ``python_paths`` defaults to this interpreter's stdlib and site-packages
    directories. Pass only interpreter directories: a directory that holds a
    ``tutor`` entry is opened up entry by entry, so passing a repository
    root would expose its lessons and checks.
    """
    dirs = [Path(p).resolve() for p in python_paths] if python_paths is not None \
        else _interpreter_dirs()
    holes = set(dirs)
    result: list[Path] = []
    for directory in dirs:
        if any(p == directory or p in directory.parents for p in result):
            continue  # already allowed through an ancestor
        for path in _expand(directory, holes):
            if path not in result:
                result.append(path)
    result += [Path(p) for p in SYSTEM_READS if Path(p) not in result]
    return tuple(result)
