"""Errors a user can fix, each with the place to fix it.

The CLI turns these into one line per problem and exit code 2; nothing else in
the program decides how a user mistake is shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Location:
    file: Path
    line: int = 0  # 1-based; 0 when the whole file is meant
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{max(self.column, 1)}"
        return str(self.file)


@dataclass(frozen=True)
class Problem:
    where: Location | None
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class UserError(Exception):
    """A mistake in what the user gave us (a file, an option, a pack): exit 2."""

    def __init__(self, problems: list[Problem] | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(None, problems)]
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class PackError(UserError):
    """A pack that breaks the lesson format, with every problem found."""


def report(exc: UserError) -> int:
    """Print a user mistake the one way the CLI does (a line per problem, on stderr); the exit code."""
    import sys

    for problem in exc.problems:
        print(f"tutor: {problem}", file=sys.stderr)
    return 2
