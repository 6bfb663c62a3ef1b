"""The per-video database: SQLite records (WAL), JPEG keyframes and FAISS files in one directory.

A store is keyed by a content hash of the video file, so renaming or copying a video finds the
same database. Every layer (scan, segments, speech, ocr, tags, embeddings, text index) carries a
manifest row: the backend spec and parameters that produced it, a fingerprint that includes the
fingerprints of the layers it depends on, and whether it finished. Ingest compares fingerprints
to decide what to (re)compute, which makes it incremental and resumable.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Generator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel

from vidscout.errors import ConfigError
from vidscout.types import Segment, SegmentLevel, TimeSpan

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS layers (
  name TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, spec TEXT NOT NULL, params TEXT NOT NULL,
  done INTEGER NOT NULL DEFAULT 0, progress REAL NOT NULL DEFAULT 0, stats TEXT NOT NULL DEFAULT '{}',
  seconds REAL NOT NULL DEFAULT 0, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS frames (
  id INTEGER PRIMARY KEY, t_s REAL NOT NULL UNIQUE, file TEXT NOT NULL, text_score REAL NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS cuts (t_s REAL PRIMARY KEY);
CREATE TABLE IF NOT EXISTS segments (
  id INTEGER PRIMARY KEY, level TEXT NOT NULL, idx INTEGER NOT NULL, start_s REAL NOT NULL,
  end_s REAL NOT NULL, parent INTEGER, UNIQUE(level, idx));
CREATE TABLE IF NOT EXISTS speech (
  id INTEGER PRIMARY KEY, start_s REAL NOT NULL, end_s REAL NOT NULL, text TEXT NOT NULL,
  words TEXT NOT NULL, avg_logprob REAL NOT NULL);
CREATE INDEX IF NOT EXISTS speech_start ON speech(start_s);
CREATE TABLE IF NOT EXISTS ocr (
  id INTEGER PRIMARY KEY, frame_id INTEGER NOT NULL, text TEXT NOT NULL, score REAL NOT NULL,
  box TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ocr_frame ON ocr(frame_id);
CREATE TABLE IF NOT EXISTS ocr_frames (frame_id INTEGER PRIMARY KEY, was_read INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tags (frame_id INTEGER PRIMARY KEY, tags TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS frame_vectors (frame_id INTEGER PRIMARY KEY, vec BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
  id INTEGER PRIMARY KEY, segment_id INTEGER NOT NULL, kind TEXT NOT NULL, start_s REAL NOT NULL,
  end_s REAL NOT NULL, text TEXT NOT NULL, vec BLOB);
CREATE INDEX IF NOT EXISTS docs_segment ON docs(segment_id);
CREATE TABLE IF NOT EXISTS speaker_windows (
  idx INTEGER PRIMARY KEY, speech_id INTEGER NOT NULL, start_s REAL NOT NULL, end_s REAL NOT NULL,
  vec BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS speakers (speech_id INTEGER PRIMARY KEY, speaker TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS captions (
  segment_id INTEGER PRIMARY KEY, start_s REAL NOT NULL, end_s REAL NOT NULL, text TEXT NOT NULL);
"""

# Which tables each layer owns: recomputing a layer clears exactly these.
LAYER_TABLES: dict[str, tuple[str, ...]] = {
    "scan": ("frames", "cuts"),
    "segments": ("segments",),
    "speech": ("speech",),
    "ocr": ("ocr", "ocr_frames"),
    "tags": ("tags",),
    "frame_vectors": ("frame_vectors",),
    "text_index": ("docs",),
    "captions": ("captions",),
    "speakers": ("speaker_windows", "speakers"),
}


class LayerState(BaseModel, frozen=True):
    """One manifest row."""

    name: str
    fingerprint: str
    spec: str
    params: dict[str, Any]
    done: bool
    progress: float
    stats: dict[str, Any]
    seconds: float


class FrameRecord(BaseModel, frozen=True):
    """A sampled analysis frame stored as a JPEG in the store's ``frames/`` directory."""

    id: int
    t_s: float
    file: str
    text_score: float


def content_key(path: Path) -> str:
    """A 16-hex-digit key from the file size and 1 MiB samples at 17 evenly spaced offsets.

    Hashing whole multi-GB files costs seconds per GB; sampled hashing is constant-time and still
    changes with any re-encode, trim or different file.
    """
    size = path.stat().st_size
    h = hashlib.sha256(str(size).encode())
    chunk = 1 << 20
    with open(path, "rb") as f:
        if size <= 17 * chunk:
            h.update(f.read())
        else:
            for i in range(17):
                f.seek((size - chunk) * i // 16)
                h.update(f.read(chunk))
    return h.hexdigest()[:16]


def fingerprint(spec: str, params: dict[str, Any], deps: Sequence[str]) -> str:
    """Stable id of a layer's inputs: its backend spec, its parameters, its dependencies' ids."""
    blob = json.dumps({"spec": spec, "params": params, "deps": list(deps)}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def vec_to_blob(v: NDArray[np.float32]) -> bytes:
    """Store a float32 vector as bytes."""
    return np.ascontiguousarray(v, dtype=np.float32).tobytes()


def blob_to_vec(b: bytes) -> NDArray[np.float32]:
    """Inverse of `vec_to_blob`."""
    return np.frombuffer(b, dtype=np.float32).copy()


class VideoStore:
    """One video's database directory. Open with `VideoStore.open`; close when done."""

    def __init__(self, root: Path, conn: sqlite3.Connection) -> None:
        self.root = root
        self._conn = conn

    @classmethod
    def open(cls, root: Path, *, create: bool = False) -> VideoStore:
        """Open (or, with ``create``, make) the store at ``root``."""
        db = root / "db.sqlite"
        if not db.exists() and not create:
            raise ConfigError(f"No vidscout database at {root}; run `vidscout ingest VIDEO` first.")
        (root / "frames").mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(db), timeout=30.0, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(_SCHEMA)
        store = cls(root, conn)
        version = store.get_meta("schema_version")
        if version is None:
            store.set_meta("schema_version", SCHEMA_VERSION)
        elif version != SCHEMA_VERSION:
            raise ConfigError(f"{root} was written by schema v{version}; delete it and re-ingest.")
        return store

    def close(self) -> None:
        """Close the SQLite connection."""
        self._conn.close()

    def __enter__(self) -> VideoStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Generator[sqlite3.Connection]:
        """All-or-nothing writes: a crash inside leaves the database as it was before."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # --- metadata and manifest -------------------------------------------------------------

    def get_meta(self, key: str) -> Any:
        """A JSON value from the meta table, or None."""
        row = self._conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def set_meta(self, key: str, value: Any) -> None:
        """Set a JSON value in the meta table."""
        self._conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def layer(self, name: str) -> LayerState | None:
        """The manifest row of a layer, or None when it was never started."""
        row = self._conn.execute(
            "SELECT name, fingerprint, spec, params, done, progress, stats, seconds FROM layers WHERE name=?",
            (name,),
        ).fetchone()
        if row is None:
            return None
        return LayerState(
            name=row[0], fingerprint=row[1], spec=row[2], params=json.loads(row[3]), done=bool(row[4]),
            progress=row[5], stats=json.loads(row[6]), seconds=row[7],
        )  # fmt: skip

    def layers(self) -> list[LayerState]:
        """All manifest rows."""
        names = [r[0] for r in self._conn.execute("SELECT name FROM layers ORDER BY rowid")]
        return [s for n in names if (s := self.layer(n)) is not None]

    def begin_layer(self, name: str, fp: str, spec: str, params: dict[str, Any]) -> bool:
        """Prepare a layer for computing; returns True when it must (re)start from scratch.

        Same fingerprint and unfinished: resume (rows kept). Different fingerprint: the layer's
        rows are deleted in the same transaction that records the new manifest row.
        """
        current = self.layer(name)
        if current is not None and current.fingerprint == fp:
            return False
        with self.transaction() as c:
            for table in LAYER_TABLES[name]:
                c.execute(f"DELETE FROM {table}")
            c.execute(
                "INSERT OR REPLACE INTO layers (name, fingerprint, spec, params, done, progress, stats,"
                " seconds, updated_at) VALUES (?, ?, ?, ?, 0, 0, '{}', 0, ?)",
                (name, fp, spec, json.dumps(params, sort_keys=True), time.time()),
            )
        return True

    def update_layer(self, c: sqlite3.Connection, name: str, *, progress: float, add_seconds: float = 0.0) -> None:
        """Record progress inside the caller's transaction (with the rows it belongs to)."""
        c.execute(
            "UPDATE layers SET progress=?, seconds=seconds+?, updated_at=? WHERE name=?",
            (progress, add_seconds, time.time(), name),
        )

    def finish_layer(self, name: str, stats: dict[str, Any], *, add_seconds: float = 0.0) -> None:
        """Mark a layer complete with its summary statistics."""
        self._conn.execute(
            "UPDATE layers SET done=1, progress=1, stats=?, seconds=seconds+?, updated_at=? WHERE name=?",
            (json.dumps(stats), add_seconds, time.time(), name),
        )

    def drop_layer(self, name: str) -> None:
        """Remove a layer's rows and manifest entry (a layer that was turned off)."""
        with self.transaction() as c:
            for table in LAYER_TABLES[name]:
                c.execute(f"DELETE FROM {table}")
            c.execute("DELETE FROM layers WHERE name=?", (name,))

    # --- reads -----------------------------------------------------------------------------

    def frames(self) -> list[FrameRecord]:
        """All sampled frames in time order."""
        rows = self._conn.execute("SELECT id, t_s, file, text_score FROM frames ORDER BY t_s")
        return [FrameRecord(id=r[0], t_s=r[1], file=r[2], text_score=r[3]) for r in rows]

    def frame_path(self, frame: FrameRecord) -> Path:
        """Absolute path of a frame's JPEG."""
        return self.root / "frames" / frame.file

    def cuts(self) -> list[float]:
        """Detected cut times, seconds."""
        return [r[0] for r in self._conn.execute("SELECT t_s FROM cuts ORDER BY t_s")]

    def segments(self, level: SegmentLevel | None = None) -> list[Segment]:
        """Segments of one level (or all), in time order."""
        q = "SELECT level, idx, start_s, end_s, parent FROM segments"
        rows = (
            self._conn.execute(q + " WHERE level=? ORDER BY idx", (level,))
            if level
            else self._conn.execute(q + " ORDER BY level, idx")
        )
        return [Segment(level=r[0], index=r[1], span=TimeSpan(start_s=r[2], end_s=r[3]), parent=r[4]) for r in rows]

    def segment_id(self, level: SegmentLevel, index: int) -> int:
        """Row id of a segment."""
        row = self._conn.execute("SELECT id FROM segments WHERE level=? AND idx=?", (level, index)).fetchone()
        if row is None:
            raise KeyError(f"no {level} {index}")
        return int(row[0])

    def speakers(self) -> dict[int, str]:
        """Speaker label (``S1``, ``S2``, ...) per speech row id.

        Empty when fewer than two voices were found, so single-speaker videos are not cluttered with labels.
        """
        rows = self._conn.execute("SELECT speech_id, speaker FROM speakers").fetchall()
        labels = {int(r[0]): str(r[1]) for r in rows}
        return labels if len(set(labels.values())) >= 2 else {}

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Read-only SQL for layers and tools that need their own views of the records."""
        return list(self._conn.execute(sql, params))

    def count(self, table: str) -> int:
        """Rows in one of the store's tables."""
        if table not in {t for ts in LAYER_TABLES.values() for t in ts}:
            raise ValueError(f"unknown table {table}")
        return int(self._conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write a file so that readers never see a partial one."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
