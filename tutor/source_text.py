"""A learner's file as text, decoded the way Python decodes a source file.

Python reads a UTF-8 byte order mark and a PEP 263 coding line
(``# -*- coding: gbk -*-``) before anything else; a file it runs must not be
refused or misread here. A file that cannot be decoded is reported at the
line and column of the first bad byte, as an editor shows them. One place
for this rule: the grader, the session and the CLI all read through it.
Stdlib only.
"""

from __future__ import annotations

import codecs
import io
import re
import tokenize

__all__ = ["decode_source", "SourceDecodeError"]

# PEP 263's own expression for a coding declaration.
_CODING = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


class SourceDecodeError(ValueError):
    """The bytes are not text in the file's encoding; says where, for the learner."""

    def __init__(self, encoding: str, line: int, column: int, declared: bool) -> None:
        self.encoding, self.line, self.column, self.declared = encoding, line, column, declared
        super().__init__(f"line {line}, column {column}: not {encoding} text")


def decode_source(raw: bytes) -> str:
    """The source text of ``raw``: BOM dropped, the declared encoding used (else UTF-8).

    An unknown encoding name in a coding line is a decode error at line 1
    (or 2), as Python reports it.
    """
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    except SyntaxError as exc:  # an unknown coding name, or a first line that is not UTF-8
        name = _declared_name(raw)
        if name is not None:
            raise SourceDecodeError(name, getattr(exc, "lineno", None) or 1, 1, True) from None
        encoding = "utf-8"
    declared = _declared_name(raw) is not None
    if raw.startswith(codecs.BOM_UTF8):
        raw, encoding = raw[len(codecs.BOM_UTF8):], "utf-8"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        column = len(raw[line_start : exc.start].decode(encoding, errors="replace")) + 1
        raise SourceDecodeError(encoding, line, column, declared) from None


def _declared_name(raw: bytes) -> str | None:
    for line in raw.splitlines()[:2]:
        match = _CODING.match(line.decode("latin-1"))
        if match:
            return match.group(1)
    return None
