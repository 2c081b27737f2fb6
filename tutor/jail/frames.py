"""Length-prefixed frames: a JSON header and an opaque blob.

The one message format between the grader, the zygote and the child's result
channel. Standard library only, so the grader can start its workers before it
pays for importing torch.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any, BinaryIO


class WireError(ValueError):
    """A payload or frame that does not describe a valid value: refused before use."""


HEADER = struct.Struct("<II")  # header length, blob length


def pack_frame(header: dict[str, Any], blob: bytes = b"") -> bytes:
    """One message as bytes: a JSON header and an opaque blob, length-prefixed."""
    raw = json.dumps(header, separators=(",", ":")).encode()
    return HEADER.pack(len(raw), len(blob)) + raw + blob


def write_frame_header(out: int, header: dict[str, Any], blob_length: int) -> None:
    """The start of a frame whose ``blob_length`` bytes the caller writes next (by splice)."""
    raw = json.dumps(header, separators=(",", ":")).encode()
    _write_all(out, HEADER.pack(len(raw), blob_length) + raw)


def _write_all(out: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(out, view)
        view = view[written:]


def write_frame(out: BinaryIO | int, header: dict[str, Any], blob: bytes = b"") -> None:
    """One message: a JSON header and an opaque blob, length-prefixed."""
    data = pack_frame(header, blob)
    if isinstance(out, int):
        _write_all(out, data)
    else:
        out.write(data)
        out.flush()


def read_frame(stream: BinaryIO) -> tuple[dict[str, Any], bytes] | None:
    """The next frame from a trusted stream (grader <-> zygote), or None at its end."""
    head = _read_exact(stream, HEADER.size)
    if head is None:
        return None
    hlen, blen = HEADER.unpack(head)
    raw = _read_exact(stream, hlen)
    blob = _read_exact(stream, blen) if blen else b""
    if raw is None or blob is None:
        return None
    return json.loads(raw), blob


def _read_exact(stream: BinaryIO, n: int) -> bytes | None:
    chunks = []
    while n:
        chunk = stream.read(n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def split_frames(data: bytes, *, max_frames: int = 10_000) -> list[tuple[dict[str, Any], bytes]]:
    """Cut an untrusted byte stream into frames (see ``scan_frames``)."""
    return scan_frames(data, max_frames=max_frames)[0]


def scan_frames(data: bytes, *, max_frames: int = 10_000,
                max_header: int = 64 << 20) -> tuple[list[tuple[dict[str, Any], bytes]], int]:
    """Complete frames at the start of ``data``, and how many bytes they took.

    Refuses any frame whose header is not a JSON object; a truncated tail is
    left unconsumed (more may come, or the writer died mid-frame).
    """
    frames = []
    pos = 0
    while pos + HEADER.size <= len(data) and len(frames) < max_frames:
        hlen, blen = HEADER.unpack_from(data, pos)
        if hlen > max_header:
            raise WireError("a result frame header is too large")
        end = pos + HEADER.size + hlen + blen
        if end > len(data):
            break
        start = pos + HEADER.size
        try:
            header = json.loads(data[start : start + hlen])
        except (ValueError, RecursionError):
            raise WireError("a result frame is not JSON") from None
        if not isinstance(header, dict):
            raise WireError("a result frame is not an object")
        frames.append((header, data[start + hlen : end]))
        pos = end
    return frames, pos
