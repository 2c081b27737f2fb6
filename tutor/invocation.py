"""The command that runs this tutor, as the learner can type it, for every message that names one.

The README's first command runs ``../.venv/bin/tutor start``; a message saying
"run `tutor start`" would then send the learner to "command not found". So
messages are written with `` `tutor ...` `` and :func:`with_command` puts the
invocation that works in its place: plain ``tutor`` when that is on PATH and
is this tutor, else the path this process was started by. Stdlib only.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from functools import lru_cache

__all__ = ["command", "with_command"]


@lru_cache(maxsize=1)
def command() -> str:
    argv0 = sys.argv[0] if sys.argv else ""
    if os.path.basename(argv0) != "tutor":
        if argv0.endswith(os.path.join("tutor", "__main__.py")):
            return f"{shlex.quote(sys.executable)} -m tutor"
        return "tutor"  # imported by something else (tests, the pytest plugin)
    found = shutil.which("tutor")
    if found and os.path.realpath(found) == os.path.realpath(argv0):
        return "tutor"
    return shlex.quote(argv0)


def with_command(text: str) -> str:
    """``text`` with each `` `tutor `` naming the command that works from the current folder."""
    name = command()
    if name == "tutor" or "`tutor" not in text:
        return text
    return text.replace("`tutor ", f"`{name} ").replace("`tutor`", f"`{name}`")
