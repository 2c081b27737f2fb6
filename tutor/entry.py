"""The ``tutor`` console script.

``tutor list`` is answered here, before the typer app (and its imports) is
built: listing must stay well under 150 ms. Only the plain forms
(``list``, ``--pack P``, ``--lang L``) take this path; anything else, ``--help``
included, goes to the full CLI, which shows the same list the same way.

The commands that grade (``check``, ``start``, ``grade``) start their sandbox
workers here, first thing, so the worker imports torch while this process
imports the CLI and torch. When the command is over, the process ends with
``os._exit`` once its output is flushed, its threads are done and its
workers are closed: the interpreter's teardown of torch (most of a second)
would only make the learner wait. Every file tutor writes is written
atomically before that point, so nothing is lost.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

GRADING = ("check", "start", "grade")


def _plain_list_args(args: list[str]) -> dict[str, object] | None:
    options: dict[str, object] = {}
    names = {"--pack": "pack", "--lang": "lang"}
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, value = arg.partition("=")
        if name not in names or names[name] in options:
            return None
        if not eq:
            if i + 1 >= len(args):
                return None
            value = args[i + 1]
            i += 1
        if name == "--lang" and value not in ("en", "zh"):
            return None  # let the full CLI say what is wrong
        options[names[name]] = Path(value) if name == "--pack" else value
        i += 1
    return options


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["list"]:
        options = _plain_list_args(args[1:])
        if options is not None:
            from tutor.errors import UserError, report
            from tutor.listing import show_list

            try:
                sys.exit(show_list(**options))  # type: ignore[arg-type]
            except UserError as exc:
                sys.exit(report(exc))
    early = _workers_wanted(args)
    if early is not None:
        from tutor.grading import start

        start.FREEZE_ON_OPEN = True  # this process ends with os._exit: nothing frozen needs collecting
        start.prestart(*early)
    from tutor.cli import main as full

    try:
        full()
    except SystemExit as exc:
        _exit(exc.code)


def _workers_wanted(args: list[str]) -> tuple[str, int] | None:
    """(device, jobs) of the workers a grading command will open, read from its
    options as the CLI reads them; None when it will not grade here.

    A misreading costs only time: ``open_grader`` starts the right workers
    itself and closes these.
    """
    if not args or args[0] not in GRADING or "--help" in args:
        return None
    device, jobs = "cpu", 1
    for i, arg in enumerate(args):
        name, eq, value = arg.partition("=")
        if not eq:
            value = args[i + 1] if i + 1 < len(args) else ""
        if name == "--device":
            device = value
        elif name in ("--jobs", "-j") and args[0] == "grade" and value.isdigit():
            jobs = int(value)
    if args[0] == "check" and _session_running():
        return None  # the running session answers
    return device, jobs


def _session_running() -> bool:
    from tutor.workspace.layout import Workspace

    workspace = Workspace.find(Path.cwd())
    return workspace is not None and workspace.check_socket.exists()


def _exit(code: object) -> None:
    """End the process as ``sys.exit(code)`` would, without the interpreter's teardown."""
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    for thread in threading.enumerate():  # what interpreter shutdown would wait for, too
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    start = sys.modules.get("tutor.grading.start")
    if start is not None:
        start.close_prestarted()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe: nothing more can be said
        status = status or 1
    os._exit(status)
