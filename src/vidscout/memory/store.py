"""The per-video database: SQLite records (WAL), JPEG keyframes and FAISS files in one directory.

A store is keyed by a content hash of the video file, so renaming or copying a video finds the
same database. Every layer (scan, segments, speech, ocr, tags, embeddings, text index) carries a
manifest row: the backend spec and parameters that produced it, a fingerprint that includes the
fingerprints of the layers it depends on, and whether it finished. Ingest compares fingerprints
to decide what to (re)compute, which makes it incremental and resumable.

``<store>/ingest.lock`` (`StoreLock`) keeps writers apart from each other and from readers.
`VideoStore` is the only code that knows the schema: layers, tools and the library read and write through its
typed methods (``tests/test_layers.py`` fails on SQL anywhere else).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sqlite3
import threading
import time
import weakref
from collections.abc import Generator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, ClassVar, Literal, NamedTuple

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel

from vidscout.errors import ConfigError, StoreError
from vidscout.models.base import FrameFacts, SpeechSegment, TextBox, Word
from vidscout.types import Segment, SegmentLevel, TimeSpan

SCHEMA_VERSION = 2
"""v2: speech rows are unique by (start_s, end_s, text) and OCR lines by (frame_id, box, text); v1 stores
are migrated in place by the next ingest (duplicates dropped, the layers read from them completed again)."""

LOCK_FILE = "ingest.lock"
PIXELS_DIR = "pixels"
"""Lossless keyframes the scan leaves for the OCR layer (`VideoStore.pixels_path`); gone once it has read them."""
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

KeyframeLayer = Literal["tags", "frame_vectors", "image_vectors"]
"""The layers that hold one row per keyframe, computed together over batches of keyframes."""

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


class SpeechRow(NamedTuple):
    """One stored utterance; its words carry their own times (seconds from the start of the video)."""

    id: int
    start_s: float
    end_s: float
    text: str
    words: tuple[Word, ...]


class SpeakerTurn(NamedTuple):
    """An utterance's span and the speaker label it was given."""

    start_s: float
    end_s: float
    speaker: str


class SpeakerWindow(NamedTuple):
    """A short window of one utterance and its voice embedding, shape (dim,) float32."""

    speech_id: int
    start_s: float
    end_s: float
    vec: NDArray[np.float32]


class DocumentRow(NamedTuple):
    """One evidence document of the text index (its vector lives in ``text.faiss`` under ``id``)."""

    id: int
    segment_id: int
    kind: str
    start_s: float
    end_s: float
    text: str


class KeyframeVector(NamedTuple):
    """A keyframe with its image-text vector (``frames.faiss``) and its labels, best first (None: not tagged)."""

    id: int
    t_s: float
    vec: NDArray[np.float32]
    labels: list[tuple[str, float]] | None


class ShotFactsRow(NamedTuple):
    """The facts of one shot's keyframes merged (`vidscout.models.visual_facts.summarise_facts`)."""

    shot: int
    start_s: float
    end_s: float
    facts: BaseModel


def _words(blob: str) -> tuple[Word, ...]:
    """Parse the speech table's word JSON: ``[[text, start_s, end_s, prob], ...]``."""
    rows: list[list[Any]] = json.loads(blob) if blob else []
    return tuple(
        Word(text=str(r[0]), start_s=float(r[1]), end_s=float(r[2]), prob=float(r[3]) if len(r) > 3 else 1.0)
        for r in rows
    )


def _speech_row(r: Sequence[Any]) -> SpeechRow:
    return SpeechRow(id=int(r[0]), start_s=r[1], end_s=r[2], text=str(r[3]), words=_words(r[4]))


def _labels(blob: str) -> list[tuple[str, float]]:
    return [(str(a), float(b)) for a, b in json.loads(blob)]


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


_connections_here: dict[str, int] = {}
"""How many connections this process holds to each database file (by resolved path); see `VideoStore.open`."""
_connections_lock = threading.Lock()


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


LAYER_ORDER = ("scan", "segments", "tags", "frame_vectors", "image_vectors", "visual_facts", "ocr", "speech",
               "speakers", "captions", "text_index")  # fmt: skip
"""The layers in the order ingest builds them on one thread (on two, the audio layers and then the visual facts run
beside the others)."""


def build_rank(name: str) -> int:
    """A layer's place in `LAYER_ORDER`, as a sort key; any other name sorts after those."""
    return LAYER_ORDER.index(name) if name in LAYER_ORDER else len(LAYER_ORDER)


class VideoStore:
    """One video's database directory. Open with `VideoStore.open`; close when done."""

    def __init__(self, root: Path, conn: sqlite3.Connection, *, lock: StoreLock | None = None) -> None:
        self.root = root
        self._conn = conn
        self._lock = lock
        self._held: str | None = None  # this connection's entry in `_connections_here`

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
        key = str(db.resolve())
        with _connections_lock:
            # Reading the header opens and closes the file, and closing any descriptor of a file drops every
            # POSIX lock this process holds on it, the shared lock of an open SQLite connection included; then
            # another process closing its connection takes the file for itself and checkpoints and deletes the
            # write-ahead log under that connection, whose later commits are lost. So the header is checked
            # only while this process has no connection to the file (the first one checked it).
            if db.exists() and not _connections_here.get(key) and (why := _check_file(db)) is not None:
                raise damaged_store_error(root, why, video=video)
            if create:
                (root / "frames").mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(db), timeout=30.0, isolation_level=None, check_same_thread=False)
            _connections_here[key] = _connections_here.get(key, 0) + 1
        store = cls(root, conn, lock=lock)
        store._held = key
        try:
            store._prepare(write=create)
        except sqlite3.DatabaseError as e:
            store._close_connection()
            if is_corruption(e):
                raise damaged_store_error(root, f"{db.name}: {e}", video=video) from e
            raise
        except BaseException:
            store._close_connection()
            raise
        return store

    def _close_connection(self) -> None:
        self._conn.close()
        if self._held is not None:
            with _connections_lock:
                left = _connections_here.get(self._held, 1) - 1
                if left > 0:
                    _connections_here[self._held] = left
                else:
                    _connections_here.pop(self._held, None)
            self._held = None

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
        self._close_connection()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> VideoStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Generator[None]:
        """All-or-nothing writes: a crash inside leaves the database as it was before.

        The store's writers called inside join this transaction; called alone, each one is its own.
        """
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    @contextmanager
    def _write(self) -> Generator[sqlite3.Connection]:
        """The connection inside a transaction: the caller's `transaction`, or one of its own."""
        if self._conn.in_transaction:
            yield self._conn
            return
        with self.transaction():
            yield self._conn

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
        """All manifest rows, in the order ingest builds them (`LAYER_ORDER`; any other name after those).

        Not in the order rows were written: the audio layers are built on a second thread, so which layer
        began first varies from run to run.
        """
        names = [r[0] for r in self._conn.execute("SELECT name FROM layers ORDER BY rowid")]
        names.sort(key=build_rank)  # stable: unknown names keep their written order
        return [s for n in names if (s := self.layer(n)) is not None]

    def begin_layer(self, name: str, fp: str, spec: str, params: dict[str, Any]) -> bool:
        """Prepare a layer for computing; returns True when it must (re)start from scratch.

        Same fingerprint and unfinished: resume (rows kept). Different fingerprint: the layer's
        rows are deleted in the same transaction that records the new manifest row.
        """
        current = self.layer(name)
        if current is not None and current.fingerprint == fp:
            return False
        with self._write() as c:
            for table in LAYER_TABLES[name]:
                c.execute(f"DELETE FROM {table}")
            c.execute(
                "INSERT OR REPLACE INTO layers (name, fingerprint, spec, params, done, progress, stats,"
                " seconds, updated_at) VALUES (?, ?, ?, ?, 0, 0, '{}', 0, ?)",
                (name, fp, spec, json.dumps(params, sort_keys=True), time.time()),
            )
        return True

    def update_layer(self, name: str, *, progress: float, add_seconds: float = 0.0) -> None:
        """Record progress; inside a `transaction`, it commits with the rows it belongs to."""
        self._conn.execute(
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
        with self._write() as c:
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
        return [TagRow(frame_id=r[0], t_s=r[1], labels=_labels(r[2])) for r in rows]

    def frames(self) -> list[FrameRecord]:
        """All sampled frames in time order."""
        rows = self._conn.execute("SELECT id, t_s, file, text_score FROM frames ORDER BY t_s")
        return [FrameRecord(id=r[0], t_s=r[1], file=r[2], text_score=r[3]) for r in rows]

    def frame_path(self, frame: FrameRecord) -> Path:
        """Absolute path of a frame's JPEG."""
        return self.root / "frames" / frame.file

    def pixels_path(self, file: str) -> Path:
        """Where the lossless PNG of the keyframe stored as ``file`` is kept until the OCR layer has read it."""
        return self.root / PIXELS_DIR / (Path(file).stem + ".png")

    def has_pixels(self) -> bool:
        """Whether lossless keyframes are kept (`pixels_path`)."""
        return (self.root / PIXELS_DIR).is_dir()

    def drop_pixels(self) -> None:
        """Delete every kept lossless keyframe."""
        shutil.rmtree(self.root / PIXELS_DIR, ignore_errors=True)

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

    def count(self, table: str) -> int:
        """Rows in one of the store's tables."""
        if table not in {t for ts in LAYER_TABLES.values() for t in ts}:
            raise ValueError(f"unknown table {table}")
        return int(self._conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    def frames_between(self, start_s: float, end_s: float) -> list[FrameRecord]:
        """The keyframes in [start_s, end_s), in time order."""
        rows = self._conn.execute(
            "SELECT id, t_s, file, text_score FROM frames WHERE t_s >= ? AND t_s < ? ORDER BY t_s", (start_s, end_s)
        )
        return [FrameRecord(id=r[0], t_s=r[1], file=r[2], text_score=r[3]) for r in rows]

    def nearest_frame(self, t_s: float) -> FrameRecord | None:
        """The keyframe nearest to ``t_s``, or None when there are none."""
        row = self._conn.execute(
            "SELECT id, t_s, file, text_score FROM frames ORDER BY ABS(t_s - ?) LIMIT 1", (t_s,)
        ).fetchone()
        return None if row is None else FrameRecord(id=row[0], t_s=row[1], file=row[2], text_score=row[3])

    def frame_times(self) -> dict[int, float]:
        """Time (seconds) of every keyframe by its row id, in row order."""
        return {int(r[0]): float(r[1]) for r in self._conn.execute("SELECT id, t_s FROM frames")}

    def frames_without(self, layer: KeyframeLayer) -> set[int]:
        """Keyframes (row ids) that have no row yet in a per-keyframe layer."""
        rows = self._conn.execute(f"SELECT id FROM frames WHERE id NOT IN (SELECT frame_id FROM {layer})")
        return {int(r[0]) for r in rows}

    def segment_row_ids(self, level: SegmentLevel) -> dict[int, int]:
        """The segments of one level as {row id: index}."""
        rows = self._conn.execute("SELECT id, idx FROM segments WHERE level=?", (level,))
        return {int(r[0]): int(r[1]) for r in rows}

    def utterances(
        self, start_s: float | None = None, end_s: float | None = None, *, closed: bool = False
    ) -> list[SpeechRow]:
        """The utterances overlapping [start_s, end_s] (all without bounds), in time order.

        Args:
            start_s: Window start, seconds (None: the whole video).
            end_s: Window end, seconds (None: the whole video).
            closed: Also take utterances that only touch the window's ends.
        """
        cols, order = "SELECT id, start_s, end_s, text, words FROM speech", "ORDER BY start_s, id"
        if start_s is None or end_s is None:
            rows = self._conn.execute(f"{cols} {order}")
        elif closed:
            rows = self._conn.execute(f"{cols} WHERE end_s >= ? AND start_s <= ? {order}", (start_s, end_s))
        else:
            rows = self._conn.execute(f"{cols} WHERE end_s > ? AND start_s < ? {order}", (start_s, end_s))
        return [_speech_row(r) for r in rows]

    def speech_seconds(self) -> float:
        """Total length of the utterances, seconds."""
        return float(self._conn.execute("SELECT COALESCE(SUM(end_s - start_s), 0) FROM speech").fetchone()[0])

    def speaker_turns(self) -> list[SpeakerTurn]:
        """Every labelled utterance's span and speaker (none in stores older than the speakers layer)."""
        if not self._has_table("speakers"):
            return []
        rows = self._conn.execute(
            "SELECT s.start_s, s.end_s, k.speaker FROM speech s JOIN speakers k ON k.speech_id = s.id"
        )
        return [SpeakerTurn(float(r[0]), float(r[1]), str(r[2])) for r in rows]

    def speaker_window_indexes(self) -> set[int]:
        """Indexes of the speaker windows already embedded."""
        return {int(r[0]) for r in self._conn.execute("SELECT idx FROM speaker_windows")}

    def speaker_windows(self) -> list[SpeakerWindow]:
        """The embedded speaker windows, in index order."""
        rows = self._conn.execute("SELECT speech_id, start_s, end_s, vec FROM speaker_windows ORDER BY idx")
        return [SpeakerWindow(int(r[0]), float(r[1]), float(r[2]), blob_to_vec(r[3])) for r in rows]

    def ocr_decisions(self) -> dict[int, bool]:
        """Per keyframe the OCR layer decided on: whether it was read (False: it kept an earlier frame's lines)."""
        return {int(r[0]): bool(r[1]) for r in self._conn.execute("SELECT frame_id, was_read FROM ocr_frames")}

    def ocr_frames_read(self) -> int:
        """Keyframes the OCR read (rather than keeping an earlier frame's lines)."""
        return int(self._conn.execute("SELECT COUNT(*) FROM ocr_frames WHERE was_read = 1").fetchone()[0])

    def has_ocr_text(self, start_s: float, end_s: float) -> bool:
        """Whether any keyframe in [start_s, end_s) has on-screen text."""
        row = self._conn.execute(
            "SELECT 1 FROM ocr o JOIN frames f ON f.id = o.frame_id WHERE f.t_s >= ? AND f.t_s < ? LIMIT 1",
            (start_s, end_s),
        ).fetchone()
        return row is not None

    def frequent_ocr_texts(self, start_s: float, end_s: float, *, limit: int) -> list[str]:
        """The ``limit`` OCR lines read on most keyframes in [start_s, end_s) (ties: the earliest first)."""
        rows = self._conn.execute(
            "SELECT o.text FROM ocr o JOIN frames f ON f.id = o.frame_id WHERE f.t_s >= ? AND f.t_s < ?"
            " GROUP BY o.text ORDER BY COUNT(*) DESC, MIN(f.t_s) LIMIT ?",
            (start_s, end_s, limit),
        )
        return [str(r[0]) for r in rows]

    def tags_of(self, frame_ids: Sequence[int]) -> dict[int, list[tuple[str, float]]]:
        """The visual labels (best first) of the given keyframes that have them."""
        marks = ",".join("?" * len(frame_ids))
        rows = self._conn.execute(f"SELECT frame_id, tags FROM tags WHERE frame_id IN ({marks})", list(frame_ids))
        return {int(r[0]): _labels(r[1]) for r in rows}

    def keyframe_from(self, t_s: float) -> tuple[float, list[tuple[str, float]] | None] | None:
        """The first keyframe at or after ``t_s``: its time and labels (None: not tagged); None when there is none."""
        row = self._conn.execute(
            "SELECT f.t_s, t.tags FROM frames f LEFT JOIN tags t ON t.frame_id = f.id WHERE f.t_s >= ? ORDER BY f.t_s"
            " LIMIT 1",
            (t_s,),
        ).fetchone()
        if row is None:
            return None
        return float(row[0]), (_labels(row[1]) if row[1] else None)

    def image_vectors_of(self, frame_ids: Sequence[int]) -> list[NDArray[np.float32]]:
        """The image vectors of the given keyframes that have one, by keyframe id."""
        marks = ",".join("?" * len(frame_ids))
        rows = self._conn.execute(f"SELECT vec FROM image_vectors WHERE frame_id IN ({marks})", list(frame_ids))
        return [blob_to_vec(r[0]) for r in rows]

    def frame_facts(self) -> dict[int, FrameFacts]:
        """The visual facts of every keyframe that has them, by keyframe id."""
        rows = self._conn.execute("SELECT frame_id, facts FROM visual_frames")
        return {int(r[0]): FrameFacts.model_validate_json(r[1]) for r in rows}

    def facts_between(self, start_s: float, end_s: float) -> list[FrameFacts]:
        """The visual facts of the keyframes in [start_s, end_s), in time order."""
        rows = self._conn.execute(
            "SELECT v.facts FROM visual_frames v JOIN frames f ON f.id = v.frame_id"
            " WHERE f.t_s >= ? AND f.t_s < ? ORDER BY f.t_s",
            (start_s, end_s),
        )
        return [FrameFacts.model_validate_json(r[0]) for r in rows]

    def captions(self, start_s: float, end_s: float) -> list[str]:
        """The clip captions overlapping (start_s, end_s), in time order."""
        rows = self._conn.execute(
            "SELECT text FROM captions WHERE end_s > ? AND start_s < ? ORDER BY start_s", (start_s, end_s)
        )
        return [str(r[0]) for r in rows]

    def captioned_segments(self) -> set[int]:
        """Row ids of the clips that have a caption."""
        return {int(r[0]) for r in self._conn.execute("SELECT segment_id FROM captions")}

    def documents(self) -> list[DocumentRow]:
        """The text index's documents, by id."""
        rows = self._conn.execute("SELECT id, segment_id, kind, start_s, end_s, text FROM docs ORDER BY id")
        return [DocumentRow(int(r[0]), int(r[1]), str(r[2]), r[3], r[4], str(r[5])) for r in rows]

    def document_vectors(self) -> list[NDArray[np.float32] | None]:
        """The vectors of the text index's documents, by id as `documents` (None: a document without one)."""
        rows = self._conn.execute("SELECT vec FROM docs ORDER BY id")
        return [None if r[0] is None else blob_to_vec(r[0]) for r in rows]

    def keyframe_vectors(self) -> list[KeyframeVector]:
        """The keyframes that have an image-text vector, by id, with their labels."""
        rows = self._conn.execute(
            "SELECT f.id, f.t_s, v.vec, t.tags FROM frames f JOIN frame_vectors v ON v.frame_id = f.id"
            " LEFT JOIN tags t ON t.frame_id = f.id ORDER BY f.id"
        )
        return [
            KeyframeVector(int(r[0]), float(r[1]), blob_to_vec(r[2]), _labels(r[3]) if r[3] else None) for r in rows
        ]

    def _has_table(self, name: str) -> bool:
        row = self._conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone()
        return row is not None

    # --- writes, one or a few per layer (inside a `transaction`, they commit with it) ------------

    def add_keyframes(self, frames: Sequence[tuple[float, str, float]], cuts: Sequence[float] = ()) -> None:
        """Scan rows: keyframes as (t_s, JPEG file name, text likelihood) and cut times; stored ones are kept."""
        with self._write() as c:
            c.executemany("INSERT OR IGNORE INTO frames (t_s, file, text_score) VALUES (?, ?, ?)", frames)
            c.executemany("INSERT OR IGNORE INTO cuts VALUES (?)", [(t,) for t in cuts])

    def replace_segments(self, segments: Sequence[Segment]) -> None:
        """Replace every segment (shots, clips, chapters)."""
        with self._write() as c:
            c.execute("DELETE FROM segments")
            c.executemany(
                "INSERT INTO segments (level, idx, start_s, end_s, parent) VALUES (?, ?, ?, ?, ?)",
                [(s.level, s.index, s.span.start_s, s.span.end_s, s.parent) for s in segments],
            )

    def write_tags(self, rows: Sequence[tuple[int, Sequence[tuple[str, float]]]]) -> None:
        """Set the labels (best first, as (label, score)) of keyframes given by id."""
        with self._write() as c:
            values = [(fid, json.dumps([[label, score] for label, score in labels])) for fid, labels in rows]
            c.executemany("INSERT OR REPLACE INTO tags VALUES (?, ?)", values)

    def write_vectors(
        self, layer: Literal["frame_vectors", "image_vectors"], rows: Sequence[tuple[int, NDArray[np.float32]]]
    ) -> None:
        """Set one per-keyframe vector layer's vectors of keyframes given by id."""
        with self._write() as c:
            c.executemany(f"INSERT OR REPLACE INTO {layer} VALUES (?, ?)", [(i, vec_to_blob(v)) for i, v in rows])

    def write_frame_facts(self, rows: Sequence[tuple[int, FrameFacts]]) -> None:
        """Set the visual facts of keyframes given by id."""
        values = [(fid, facts.model_dump_json(exclude_defaults=True)) for fid, facts in rows]
        with self._write() as c:
            c.executemany("INSERT OR REPLACE INTO visual_frames VALUES (?, ?)", values)

    def replace_shot_facts(self, rows: Sequence[ShotFactsRow]) -> None:
        """Replace the merged visual facts of every shot."""
        with self._write() as c:
            c.execute("DELETE FROM visual_shots")
            c.executemany(
                "INSERT INTO visual_shots VALUES (?, ?, ?, ?)",
                [(r.shot, r.start_s, r.end_s, r.facts.model_dump_json(exclude_defaults=True)) for r in rows],
            )

    def add_ocr(self, frame_id: int, lines: Sequence[TextBox]) -> None:
        """The lines read on a keyframe (possibly none), recording that it was read."""
        with self._write() as c:
            c.executemany(
                "INSERT INTO ocr (frame_id, text, score, box) VALUES (?, ?, ?, ?)",
                [(frame_id, b.text, b.score, json.dumps(b.box)) for b in lines],
            )
            c.execute("INSERT INTO ocr_frames VALUES (?, ?)", (frame_id, 1))

    def reuse_ocr(self, frame_id: int, *, from_frame: int) -> None:
        """Give a keyframe the lines of an earlier one that shows the same picture, recording it was not read."""
        with self._write() as c:
            c.execute(
                "INSERT INTO ocr (frame_id, text, score, box)"
                " SELECT ?, text, score, box FROM ocr WHERE frame_id = ? ORDER BY id",
                (frame_id, from_frame),
            )
            c.execute("INSERT INTO ocr_frames VALUES (?, ?)", (frame_id, 0))

    def add_utterances(self, utterances: Sequence[SpeechSegment], *, offset_s: float = 0.0) -> None:
        """Add utterances whose times count from ``offset_s`` seconds into the video (duplicates are ignored)."""
        with self._write() as c:
            c.executemany(
                "INSERT INTO speech (start_s, end_s, text, words, avg_logprob) VALUES (?, ?, ?, ?, ?)",
                [_speech_values(u, offset_s=offset_s) for u in utterances],
            )

    def add_speaker_windows(self, rows: Sequence[tuple[int, int, float, float, NDArray[np.float32]]]) -> None:
        """Add embedded speaker windows as (index, speech row id, start_s, end_s, voice vector)."""
        with self._write() as c:
            c.executemany(
                "INSERT INTO speaker_windows (idx, speech_id, start_s, end_s, vec) VALUES (?, ?, ?, ?, ?)",
                [(i, sid, a, b, vec_to_blob(v)) for i, sid, a, b, v in rows],
            )

    def replace_speakers(self, labels: Mapping[int, str]) -> None:
        """Replace the speaker label of every utterance, as {speech row id: label}."""
        with self._write() as c:
            c.execute("DELETE FROM speakers")
            c.executemany("INSERT INTO speakers (speech_id, speaker) VALUES (?, ?)", list(labels.items()))

    def add_caption(self, segment_id: int, span: TimeSpan, text: str) -> None:
        """Set the caption of one clip (by segment row id)."""
        with self._write() as c:
            c.execute("INSERT INTO captions VALUES (?, ?, ?, ?)", (segment_id, span.start_s, span.end_s, text))

    def replace_documents(self, docs: Sequence[tuple[int, str, float, float, str]], vecs: NDArray[np.float32]) -> None:
        """Replace the text index's documents, (segment row id, kind, start_s, end_s, text), and vectors (n, dim)."""
        with self._write() as c:
            c.execute("DELETE FROM docs")
            c.executemany(
                "INSERT INTO docs (segment_id, kind, start_s, end_s, text, vec) VALUES (?, ?, ?, ?, ?, ?)",
                [(*d, vec_to_blob(v)) for d, v in zip(docs, vecs, strict=True)],
            )

    def write_index(self, layer: str) -> None:
        """Write the FAISS file of a layer of `LAYER_INDEXES` from its rows; with no rows, remove a stale one."""
        from vidscout.memory.index import VectorIndex  # faiss loads only where an index is written

        file, table = LAYER_INDEXES[layer]
        key = "id" if table == "docs" else "frame_id"
        rows = self._conn.execute(f"SELECT {key}, vec FROM {table} ORDER BY {key}").fetchall()
        if not rows:
            (self.root / file).unlink(missing_ok=True)
            return
        vecs = np.stack([blob_to_vec(r[1]) for r in rows])
        VectorIndex.build(vecs, np.array([r[0] for r in rows], dtype=np.int64)).save(self.root / file)


def _speech_values(u: SpeechSegment, *, offset_s: float) -> tuple[float, float, str, str, float]:
    """A speech table row: times shifted by ``offset_s``, words as ``[[text, start_s, end_s, prob], ...]`` JSON."""
    words = [[w.text, round(offset_s + w.start_s, 3), round(offset_s + w.end_s, 3), round(w.prob, 3)] for w in u.words]
    return (offset_s + u.start_s, offset_s + u.end_s, u.text.strip(), json.dumps(words), u.avg_logprob)
