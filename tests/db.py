"""Raw reads of a per-video database for tests that compare whole tables (the library reads through `VideoStore`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from typing import Any

from vidscout.memory.store import VideoStore


def db_rows(store: VideoStore, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """The rows of one SQL query, read on a connection of its own (read-only)."""
    uri = f"file:{store.root / 'db.sqlite'}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        return list(conn.execute(sql, params))
