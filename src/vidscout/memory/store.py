"""The per-video database: SQLite records (WAL), JPEG keyframes and FAISS files in one directory.

A store is keyed by a content hash of the video file, so renaming or copying a video finds the
same database. Every layer (scan, segments, speech, ocr, tags, embeddings, text index) carries a
manifest row: the backend spec and parameters that produced it, a fingerprint that includes the
fingerprints of the layers it depends on, and whether it finished. Ingest compares fingerprints
to decide what to (re)compute, which makes it incremental and resumable.

``<store>/ingest.lock`` (`StoreLock`) keeps writers apart from each other and from readers.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Generator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel

from vidscout.errors import ConfigError, StoreError
from vidscout.types import Segment, SegmentLevel, TimeSpan

SCHEMA_VERSION = 2
"""v2: speech rows are unique by (start_s, end_s, text) and OCR lines by (frame_id, box, text); v1 stores
are migrated in place by the next ingest (duplicates dropped, the layers read from them completed again)."""

LOCK_FILE = "ingest.lock"
_SQLITE_MAGIC = b"SQLite format 3\x00"

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
  words TEXT NOT NULL, avg_logprob REAL NOT NULL, UNIQUE(start_s, end_s, text) ON CONFLICT IGNORE);
CREATE INDEX IF NOT EXISTS speech_start ON speech(start_s);
CREATE TABLE IF NOT EXISTS ocr (
  id INTEGER PRIMARY KEY, frame_id INTEGER NOT NULL, text TEXT NOT NULL, score REAL NOT NULL,
  box TEXT NOT NULL, UNIQUE(frame_id, box, text) ON CONFLICT IGNORE);
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
CREATE TABLE IF NOT EXISTS visual_frames (frame_id INTEGER PRIMARY KEY, facts TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS visual_shots (
  shot INTEGER PRIMARY KEY, start_s REAL NOT NULL, end_s REAL NOT NULL, facts TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS image_vectors (frame_id INTEGER PRIMARY KEY, vec BLOB NOT NULL);
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
    "visual_facts": ("visual_frames", "visual_shots"),
    "image_vectors": ("image_vectors",),
}

# The FAISS file each layer writes from its rows: (file name, table whose row count it must equal).
LAYER_INDEXES: dict[str, tuple[str, str]] = {
    "frame_vectors": ("frames.faiss", "frame_vectors"),
    "text_index": ("text.faiss", "docs"),
    "image_vectors": ("images.faiss", "image_vectors"),
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


class OcrLine(BaseModel, frozen=True):
    """One line of on-screen text read on one keyframe; ``box`` is (x0, y0, x1, y1) in [0, 1]."""

    frame_id: int
    t_s: float
    text: str
    score: float
    box: tuple[float, float, float, float]


class TagRow(BaseModel, frozen=True):
    """The visual labels of one keyframe, best first."""

    frame_id: int
    t_s: float
    labels: list[tuple[str, float]]


def _box(blob: str) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = (float(v) for v in json.loads(blob))
    return (x0, y0, x1, y1)


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


class StoreLock:
    """``fcntl.flock`` on ``<store>/ingest.lock``: exclusive while ingest writes, shared while readers read.

    Readers holding it shared never see a half-built layer, and an ingest that must change the store
    waits for them. Locks belong to an open file, so two handles in one process exclude each other as two
    processes do, and the kernel drops a killed process's lock (``kill -9`` leaves no stale lock).
    """

    # The shared locks this process holds (weakly: a lock dropped unclosed is released with its file). Waiting
    # for the exclusive lock while one of them is held would wait forever; `refuse_if_read_here` says so.
    _readers: ClassVar[weakref.WeakSet[StoreLock]] = weakref.WeakSet()
    _guard: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, root: Path) -> None:
        self.root = root
        self._file: IO[bytes] | None = None

    def try_acquire(self, *, exclusive: bool) -> bool:
        """Take (or convert to) the lock without waiting; True when it is held."""
        return self._lock(exclusive=exclusive, wait=False)

    def acquire(self, *, exclusive: bool) -> None:
        """Take (or convert to) the lock, waiting as long as it takes."""
        self._lock(exclusive=exclusive, wait=True)

    def release(self) -> None:
        """Drop the lock (idempotent)."""
        self._reading(False)
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def refuse_if_read_here(self) -> None:
        """Raise `StoreError` when this process holds the store open for reading (so an exclusive wait never ends)."""
        root = self.root.resolve()
        with StoreLock._guard:
            reading = any(lock.root.resolve() == root for lock in StoreLock._readers if lock is not self)
        if reading:
            raise StoreError(
                f"{self.root} is open for reading in this process (an open vidscout.Video) and must be rebuilt "
                "for this ingest; close it first."
            )

    def _lock(self, *, exclusive: bool, wait: bool) -> bool:
        if self._file is None:
            self.root.mkdir(parents=True, exist_ok=True)
            self._file = open(self.root / LOCK_FILE, "a+b")  # noqa: SIM115 (held until release)
        # flock(2) converts a held lock by dropping it first, so count it as dropped until the new one is held.
        self._reading(False)
        try:
            fcntl.flock(
                self._file.fileno(), (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | (0 if wait else fcntl.LOCK_NB)
            )
        except BlockingIOError:
            return False
        self._reading(not exclusive)
        return True

    def _reading(self, shared: bool) -> None:
        with StoreLock._guard:
            if shared:
                StoreLock._readers.add(self)
            else:
                StoreLock._readers.discard(self)


def damaged_store_error(root: Path, reason: str, *, video: Path | None = None) -> StoreError:
    """The one-line error for a damaged database: what is wrong, and how to rebuild without losing it."""
    target = f'"{video}"' if video is not None else "VIDEO"
    return StoreError(
        f"The vidscout database in {root} is damaged ({reason}). Run `vidscout ingest {target} --rebuild`: it moves "
        f"the store aside to {root.name}.damaged-<time> (nothing is deleted) and builds it again."
    )


def is_corruption(e: sqlite3.Error) -> bool:
    """Whether an SQLite error means a damaged file (rather than, say, a busy or read-only database)."""
    code = getattr(e, "sqlite_errorcode", None)
    return type(e) is sqlite3.DatabaseError or code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def _check_file(db: Path) -> str | None:
    """Cheap checks of ``db`` before SQLite reads it: the header's magic, and its page count against the size."""
    size = db.stat().st_size
    if size == 0:
        return None  # SQLite treats an empty file as a new, empty database
    with open(db, "rb") as f:
        head = f.read(100)
    if not head.startswith(_SQLITE_MAGIC) or len(head) < 100:
        return "db.sqlite is not an SQLite database: its header is overwritten"
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(head[28:32], "big")
    size_is_valid = head[24:28] == head[92:96]  # the in-header size is trusted only when these agree (file format)
    wal = db.with_name(db.name + "-wal")
    # Pages still in the write-ahead log may lie past the end of the main file until a checkpoint.
    wal_pending = wal.exists() and wal.stat().st_size > 0
    if size_is_valid and not wal_pending and size < pages * page_size:
        return f"db.sqlite is truncated: {size} of {pages * page_size} bytes"
    return None


def move_aside(root: Path) -> Path:
    """Move every file of a store but its lock into ``<root>.damaged-<local time>``; returns that directory."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    dest = root.with_name(f"{root.name}.damaged-{stamp}")
    n = 1
    while dest.exists():
        n += 1
        dest = root.with_name(f"{root.name}.damaged-{stamp}-{n}")
    dest.mkdir(parents=True)
    for entry in sorted(root.iterdir()):
        if entry.name != LOCK_FILE:
            os.replace(entry, dest / entry.name)
    return dest


class VideoStore:
    """One video's database directory. Open with `VideoStore.open`; close when done."""

    def __init__(self, root: Path, conn: sqlite3.Connection, *, lock: StoreLock | None = None) -> None:
        self.root = root
        self._conn = conn
        self._lock = lock

    @classmethod
    def open(
        cls, root: Path, *, create: bool = False, lock: StoreLock | None = None, video: Path | None = None
    ) -> VideoStore:
        """Open the store at ``root`` for reading (SQLite ``query_only``) or, with ``create``, for writing.

        Writers make the store when it is missing and migrate one from an older schema; ingest opens
        it so while it holds the exclusive `StoreLock`. Readers open it as it is (an older schema reads
        the same) and never write.

        Args:
            root: The store directory.
            create: Open for writing, making the store if needed.
            lock: A `StoreLock` the store takes over: it is released when the store is closed.
            video: The video file, named in error messages.

        Raises:
            ConfigError: There is no database (reading).
            StoreError: The database is damaged, or was written by a newer vidscout.
        """
        db = root / "db.sqlite"
        if not db.exists() and not create:
            raise ConfigError(f"No vidscout database at {root}; run `vidscout ingest VIDEO` first.")
        if db.exists() and (why := _check_file(db)) is not None:
            raise damaged_store_error(root, why, video=video)
        if create:
            (root / "frames").mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(db), timeout=30.0, isolation_level=None, check_same_thread=False)
        try:
            store = cls(root, conn, lock=lock)
            store._prepare(write=create)
        except sqlite3.DatabaseError as e:
            conn.close()
            if is_corruption(e):
                raise damaged_store_error(root, f"{db.name}: {e}", video=video) from e
            raise
        except BaseException:
            conn.close()
            raise
        return store

    def _prepare(self, *, write: bool) -> None:
        c = self._conn
        has_meta = c.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone() is not None
        version = self.get_meta("schema_version") if has_meta else None
        if isinstance(version, int) and version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.root} was written by a newer vidscout (schema v{version}; this one knows v{SCHEMA_VERSION}). "
                "Upgrade vidscout, or run `vidscout ingest VIDEO --rebuild` to move it aside and rebuild it."
            )
        if not write:
            if not has_meta:
                raise ConfigError(f"{self.root} holds no vidscout database yet; run `vidscout ingest VIDEO` first.")
            c.execute("PRAGMA query_only=ON")
            return
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA synchronous=NORMAL")
        if isinstance(version, int) and version < SCHEMA_VERSION:
            self._migrate(version)
        c.executescript(_SCHEMA)
        if version is None:
            self.set_meta("schema_version", SCHEMA_VERSION)

    def _migrate(self, version: int) -> None:
        """Bring a store of an older schema up to `SCHEMA_VERSION` in one transaction, keeping its rows."""
        if version != 1:
            raise StoreError(f"{self.root} has unknown schema v{version}; run `vidscout ingest VIDEO --rebuild`.")
        c = self._conn
        # executescript would commit the transaction halfway; run the statements one by one instead.
        ddl = {stmt.split("(")[0].split()[-1]: stmt for stmt in _SCHEMA.split(";") if "CREATE TABLE" in stmt}
        with self.transaction():
            before = sum(int(c.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for t in ("speech", "ocr"))
            for table in ("speech", "ocr"):
                c.execute(f"ALTER TABLE {table} RENAME TO {table}_v1")
                c.execute(ddl[table])
                c.execute(f"INSERT INTO {table} SELECT * FROM {table}_v1 ORDER BY id")  # duplicates are ignored
                c.execute(f"DROP TABLE {table}_v1")
            after = sum(int(c.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for t in ("speech", "ocr"))
            if after < before:
                # Statistics and documents were computed from the duplicates: complete those layers again.
                c.execute("UPDATE layers SET done=0 WHERE name NOT IN ('scan', 'segments')")
            self.set_meta("schema_version", SCHEMA_VERSION)

    @property
    def schema_version(self) -> int | None:
        """The schema the database was written with (`SCHEMA_VERSION` once a writer opened it)."""
        version = self.get_meta("schema_version")
        return int(version) if isinstance(version, int) else None

    def close(self) -> None:
        """Close the SQLite connection and release the store's lock, if it holds one."""
        self._conn.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

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

    def reopen_layer(self, name: str, *, from_start: bool = False) -> None:
        """Mark a finished layer unfinished, keeping its rows, so the next ingest completes it again.

        With ``from_start`` its progress restarts at 0 too (the scan rewrites every keyframe it decodes).
        """
        extra = ", progress=0" if from_start else ""
        self._conn.execute(f"UPDATE layers SET done=0{extra}, updated_at=? WHERE name=?", (time.time(), name))

    # --- checks ----------------------------------------------------------------------------

    def damaged_layers(self) -> dict[str, str]:
        """Finished layers whose files disagree with their rows, as {layer: what is wrong}.

        Checks that every keyframe JPEG of the scan exists, and that each FAISS file of `LAYER_INDEXES`
        exists, reads, and holds as many vectors as its table has rows (none: no file, or an empty one).
        """
        done = {s.name for s in self.layers() if s.done}
        problems: dict[str, str] = {}
        if "scan" in done:
            frames = self.frames()
            missing = [f.file for f in frames if not self.frame_path(f).is_file()]
            if missing:
                problems["scan"] = f"{len(missing)} of {len(frames)} keyframe JPEGs are missing (frames/{missing[0]})"
        for layer, (file, table) in LAYER_INDEXES.items():
            if layer in done and (why := self._index_problem(file, table)) is not None:
                problems[layer] = why
        return problems

    def _index_problem(self, file: str, table: str) -> str | None:
        from vidscout.memory.index import VectorIndex  # faiss loads only where an index is read

        rows = self.count(table)
        path = self.root / file
        if not path.exists():
            return None if rows == 0 else f"{file} is missing ({table} has {rows} rows)"
        try:
            size = VectorIndex.load(path).size
        except StoreError:
            return f"{file} is unreadable"
        return None if size == rows else f"{file} holds {size} vectors but {table} has {rows} rows"

    def quick_check(self) -> list[str]:
        """SQLite's ``PRAGMA quick_check`` (reads every page: O(size)); an empty list when the file is sound."""
        try:
            rows = [str(r[0]) for r in self._conn.execute("PRAGMA quick_check")]
        except sqlite3.DatabaseError as e:
            if not is_corruption(e):
                raise
            return [str(e)]
        return [] if rows == ["ok"] else rows

    # --- reads -----------------------------------------------------------------------------

    def ocr_lines(self, start_s: float = 0.0, end_s: float = float("inf")) -> list[OcrLine]:
        """OCR lines of the keyframes in [start_s, end_s), in time then reading order."""
        rows = self._conn.execute(
            "SELECT o.frame_id, f.t_s, o.text, o.score, o.box FROM ocr o JOIN frames f ON f.id = o.frame_id"
            " WHERE f.t_s >= ? AND f.t_s < ? ORDER BY f.t_s, o.id",
            (start_s, end_s if end_s != float("inf") else 1e18),
        )
        return [OcrLine(frame_id=r[0], t_s=r[1], text=r[2], score=r[3], box=_box(r[4])) for r in rows]

    def tag_rows(self, start_s: float = 0.0, end_s: float = float("inf")) -> list[TagRow]:
        """Visual labels of the keyframes in [start_s, end_s), in time order."""
        rows = self._conn.execute(
            "SELECT t.frame_id, f.t_s, t.tags FROM tags t JOIN frames f ON f.id = t.frame_id"
            " WHERE f.t_s >= ? AND f.t_s < ? ORDER BY f.t_s",
            (start_s, end_s if end_s != float("inf") else 1e18),
        )
        return [TagRow(frame_id=r[0], t_s=r[1], labels=[(str(a), float(b)) for a, b in json.loads(r[2])]) for r in rows]

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
