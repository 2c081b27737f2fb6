"""The ``tutor`` console script.

``tutor list`` is answered here, before the typer app (and its imports) is
built: listing must stay well under 150 ms. Only the plain forms
(``list``, ``--pack P``, ``--lang L``) take this path; anything else, ``--help``
included, goes to the full CLI, which shows the same list the same way.
"""

from __future__ import annotations

import sys
from pathlib import Path


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
    from tutor.cli import main as full

    full()
