"""Atomic file writes: readers (and a rerun after ``kill -9``) see the old file or the new one, never a part."""

from __future__ import annotations

import os
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(out: Path) -> Generator[Path]:
    """A temporary sibling of ``out`` for the caller to write, moved over ``out`` when the block succeeds.

    It keeps ``out``'s suffix, so tools that guess a format from the name (ffmpeg, numpy) still can; it is
    removed when the block fails.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.partial{out.suffix}")
    try:
        yield tmp
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(out: Path, data: bytes | str) -> None:
    """Write ``data`` (text as UTF-8) to ``out`` atomically."""
    with atomic_path(out) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
