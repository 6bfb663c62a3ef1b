"""The search index of a named library: every member's clip documents and keyframes in one place.

``index.sqlite`` holds the members' documents with an FTS5 table (SQLite's built-in ``bm25()`` ranks them by
their words), their keyframes' times and tags, and which store each slot was copied from.
``text-<generation>.faiss`` and ``frames-<generation>.faiss`` hold the vectors (exact inner product). A row's
id is ``slot << 32 | its id in the video's store``, so one video's rows are one id range: adding, re-ingesting
or removing a video touches only its range. The per-video stores stay the source of truth: `sync_index`
copies what changed from them, and rebuilds the whole index when its files disagree with its rows.

This module is the store of that database, as `vidscout.memory.store` is of each video's: its SQL lives here
and nowhere else, and it reads the video stores through `VideoStore`'s typed methods.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import sqlite3
import time
from collections.abc import Collection, Generator, Iterable, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel

from vidscout.errors import StoreError
from vidscout.memory.entities import search_words
from vidscout.memory.index import VectorIndex
from vidscout.memory.store import StoreLock, VideoStore
from vidscout.text import TOKENS_VERSION

log = logging.getLogger(__name__)

SLOT_SHIFT = 32
"""A row's id is ``slot << SLOT_SHIFT | id in its video's store``."""

DB_FILE = "index.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS videos (
  slot INTEGER PRIMARY KEY, key TEXT NOT NULL, path TEXT NOT NULL, name TEXT NOT NULL, fingerprint TEXT NOT NULL,
  duration_s REAL NOT NULL, sample_period_s REAL NOT NULL, docs INTEGER NOT NULL, frames INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
  id INTEGER PRIMARY KEY, slot INTEGER NOT NULL, clip INTEGER, kind TEXT NOT NULL, start_s REAL NOT NULL,
  end_s REAL NOT NULL, text TEXT NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS docs_fts USING fts5(terms, tokenize = 'unicode61');
CREATE TABLE IF NOT EXISTS frames (
  id INTEGER PRIMARY KEY, slot INTEGER NOT NULL, clip INTEGER, t_s REAL NOT NULL, tags TEXT NOT NULL);
"""

_STORE_LAYERS = ("scan", "segments", "tags", "frame_vectors", "text_index")
"""The layers of a video's store that its rows in the library index are copied from."""


def slot_range(slot: int) -> tuple[int, int]:
    """The half-open id range ``[lo, hi)`` of one slot's rows."""
    return slot << SLOT_SHIFT, (slot + 1) << SLOT_SHIFT


def split_id(row_id: int) -> tuple[int, int]:
    """``(slot, id in the video's store)`` of a library row id."""
    return row_id >> SLOT_SHIFT, row_id & ((1 << SLOT_SHIFT) - 1)


def fts_terms(text: str) -> str:
    """The words FTS5 indexes for ``text``: its `vidscout.text.tokenize` tokens and the kinds of thing it holds.

    Numbers and spellings meet as in a video's own search, and "phone number" is among the terms of "Call 822-7294"
    (`vidscout.memory.entities.search_words`).
    """
    return " ".join(search_words(text))


def fts_query(terms: Iterable[str]) -> str:
    """An FTS5 query matching any of ``terms`` (tokens of `tokenize`: letters and digits only, quoted anyway)."""
    return " OR ".join(f'"{t}"' for t in dict.fromkeys(terms))


class IndexMember(Protocol):
    """What the index needs to know of a library member."""

    @property
    def slot(self) -> int:
        """Its slot (the high bits of its rows' ids)."""
        ...

    @property
    def key(self) -> str:
        """The content key of its store."""
        ...

    @property
    def path(self) -> Path:
        """The video file."""
        ...

    @property
    def name(self) -> str:
        """Its name in listings and for the planner."""
        ...


class IndexedVideo(BaseModel, frozen=True):
    """One video as the index holds it."""

    slot: int
    key: str
    path: Path
    name: str
    fingerprint: str  # of the store layers its rows were copied from
    duration_s: float
    sample_period_s: float  # seconds between keyframes: a frame at t covers [t, t + this)
    docs: int
    frames: int


class DocRow(NamedTuple):
    """A clip document of the index."""

    id: int
    slot: int
    clip: int | None
    kind: str
    start_s: float
    end_s: float
    text: str


class FrameRow(NamedTuple):
    """A keyframe of the index, with its visual tags as text."""

    id: int
    slot: int
    clip: int | None
    t_s: float
    tags: str


class IndexSync(BaseModel):
    """What `sync_index` changed."""

    added: list[int] = []  # slots copied in
    removed: list[int] = []  # slots dropped (a removed video, or the old copy of a changed one)
    rebuilt: bool = False  # the whole index was rebuilt (new, or its files disagreed with its rows)
    why_rebuilt: str = ""
    retokenized: int = 0  # documents whose search terms were made again (they were made by an older `tokenize`)
    videos: int = 0
    docs: int = 0
    frames: int = 0
    seconds: float = 0.0


def store_fingerprint(store: VideoStore) -> str | None:
    """Id of what the index copies from a store (its layers' fingerprints); None when the store is incomplete."""
    if not store.get_meta("ingest_complete"):
        return None
    layers = {s.name: s for s in store.layers()}
    if any(name not in layers or not layers[name].done for name in _STORE_LAYERS):
        return None
    blob = json.dumps([layers[name].fingerprint for name in _STORE_LAYERS])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _connect(root: Path, *, write: bool) -> sqlite3.Connection:
    db = root / DB_FILE
    if not write and not db.is_file():
        raise StoreError(f"{root} has no library index yet; run `vidscout ingest DIR --library {root.name}`.")
    conn = sqlite3.connect(str(db), timeout=30.0, isolation_level=None, check_same_thread=False)
    try:
        if write:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
        else:
            conn.execute("PRAGMA query_only=ON")
    except sqlite3.DatabaseError as e:
        conn.close()
        raise StoreError(
            f"The library index {db} is damaged ({e}); delete it and rerun `vidscout ingest --library`."
        ) from e
    return conn


def _meta(conn: sqlite3.Connection) -> dict[str, Any]:
    return {str(k): json.loads(v) for k, v in conn.execute("SELECT key, value FROM meta")}


def _videos(conn: sqlite3.Connection) -> dict[int, IndexedVideo]:
    rows = conn.execute(
        "SELECT slot, key, path, name, fingerprint, duration_s, sample_period_s, docs, frames FROM videos ORDER BY slot"
    )
    return {
        int(r[0]): IndexedVideo(
            slot=r[0],
            key=r[1],
            path=Path(r[2]),
            name=r[3],
            fingerprint=r[4],
            duration_s=r[5],
            sample_period_s=r[6],
            docs=r[7],
            frames=r[8],
        )
        for r in rows
    }


def _faiss_files(root: Path, generation: int) -> dict[str, Path]:
    return {"docs": root / f"text-{generation}.faiss", "frames": root / f"frames-{generation}.faiss"}


def _load_vectors(root: Path, conn: sqlite3.Connection, meta: dict[str, Any]) -> dict[str, VectorIndex | None]:
    """The FAISS files of the current generation, checked against their tables' row counts.

    Raises:
        StoreError: A file is missing, unreadable, or holds another number of vectors than its table has rows.
    """
    loaded: dict[str, VectorIndex | None] = {}
    for table, path in _faiss_files(root, int(meta.get("generation", 0))).items():
        rows = int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
        if not path.exists():
            if rows:
                raise StoreError(f"{path.name} is missing ({table} has {rows} rows)")
            loaded[table] = None
            continue
        index = VectorIndex.load(path)
        if index.size != rows:
            raise StoreError(f"{path.name} holds {index.size} vectors but {table} has {rows} rows")
        loaded[table] = index
    return loaded


class LibraryIndex:
    """A library's index opened for searching: read-only SQLite, the FAISS files in memory. Close when done."""

    def __init__(
        self,
        root: Path,
        conn: sqlite3.Connection,
        videos: dict[int, IndexedVideo],
        text_index: VectorIndex | None,
        frame_index: VectorIndex | None,
    ) -> None:
        self.root = root
        self._conn = conn
        self.videos = videos
        self.text_index = text_index
        self.frame_index = frame_index

    @classmethod
    def open(cls, root: Path) -> LibraryIndex:
        """Open the index of the library at ``root`` (waiting while an update writes it).

        Raises:
            StoreError: There is no index yet, or its files disagree with its rows (the message says how to fix).
        """
        lock = StoreLock(root)
        lock.acquire(exclusive=False)
        try:
            conn = _connect(root, write=False)
            try:
                meta = _meta(conn)
                vectors = _load_vectors(root, conn, meta)
                videos = _videos(conn)
                if meta.get("tokens") != TOKENS_VERSION:
                    log.warning("The search terms of library %s were made by another vidscout version; run "
                                "`vidscout ingest --library %s` to make them again.", root.name, root.name)  # fmt: skip
            except StoreError as e:
                conn.close()
                raise StoreError(f"The index of library {root.name} is out of step: {e}. "
                                 f"Run `vidscout ingest --library {root.name}` to rebuild it.") from e  # fmt: skip
        finally:
            lock.release()
        return cls(root, conn, videos, vectors["docs"], vectors["frames"])

    def close(self) -> None:
        """Close the SQLite connection."""
        self._conn.close()

    def __enter__(self) -> LibraryIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def count(self, table: str) -> int:
        """Rows of ``docs`` or ``frames``."""
        if table not in ("docs", "frames"):
            raise ValueError(f"unknown table {table}")
        return int(self._conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    def bm25(
        self, terms: Sequence[str], k: int, *, kinds: Collection[str] | None = None, slot: int | None = None
    ) -> list[tuple[int, float]]:
        """Up to ``k`` (document id, score) pairs for query tokens, best first: FTS5's ``bm25()``, negated.

        Args:
            terms: Query tokens (`vidscout.text.tokenize`); a document matching any of them is a candidate.
            k: How many to return.
            kinds: Only documents of these kinds.
            slot: Only the documents of one video.
        """
        if not terms:
            return []
        where, params = ["docs_fts MATCH ?"], [fts_query(terms)]
        if slot is not None:
            where.append("f.rowid >= ? AND f.rowid < ?")
            params += list(slot_range(slot))
        join = ""
        if kinds is not None:
            join = " JOIN docs d ON d.id = f.rowid"
            where.append(f"d.kind IN ({','.join('?' * len(kinds))})")
            params += list(kinds)
        sql = (f"SELECT f.rowid, bm25(docs_fts) AS s FROM docs_fts f{join} WHERE {' AND '.join(where)} "
               "ORDER BY s, f.rowid LIMIT ?")  # fmt: skip
        return [(int(r[0]), -float(r[1])) for r in self._conn.execute(sql, [*params, k])]

    def docs(self, ids: Collection[int]) -> dict[int, DocRow]:
        """The documents with these ids (ids no longer in the index are left out)."""
        return {r.id: r for r in self._rows("SELECT id, slot, clip, kind, start_s, end_s, text FROM docs", ids, DocRow)}

    def frames(self, ids: Collection[int]) -> dict[int, FrameRow]:
        """The keyframes with these ids (ids no longer in the index are left out)."""
        return {r.id: r for r in self._rows("SELECT id, slot, clip, t_s, tags FROM frames", ids, FrameRow)}

    def all_doc_texts(self) -> list[tuple[int, str]]:
        """Every document's (id, text), in id order (for measuring other text rankers on the same corpus)."""
        return [(int(r[0]), str(r[1])) for r in self._conn.execute("SELECT id, text FROM docs ORDER BY id")]

    def _rows(self, select: str, ids: Collection[int], row: Any) -> list[Any]:
        out: list[Any] = []
        wanted = list(ids)
        for i in range(0, len(wanted), 500):  # SQLite's default limit on bound parameters is 999 (older builds)
            part = wanted[i : i + 500]
            out += [row(*r) for r in self._conn.execute(f"{select} WHERE id IN ({','.join('?' * len(part))})", part)]
        return out


# --- writing --------------------------------------------------------------------------------------


class _Copied(NamedTuple):
    video: IndexedVideo
    docs: list[tuple[Any, ...]]  # (id, slot, clip, kind, start_s, end_s, text)
    doc_vecs: NDArray[np.float32] | None
    frames: list[tuple[Any, ...]]  # (id, slot, clip, t_s, tags)
    frame_vecs: NDArray[np.float32] | None


def _clip_at(starts: Sequence[float], t_s: float) -> int | None:
    i = bisect.bisect_right(starts, t_s) - 1
    return i if i >= 0 else None


def _copy_store(member: IndexMember, store: VideoStore, fingerprint: str) -> _Copied:
    """One video's rows and vectors, with library ids."""
    lo, _ = slot_range(member.slot)
    clip_of_row = store.segment_row_ids("clip")
    starts = [s.span.start_s for s in store.segments("clip")]
    docs: list[tuple[Any, ...]] = []
    doc_vecs: list[NDArray[np.float32]] = []
    for d, vec in zip(store.documents(), store.document_vectors(), strict=True):
        clip = clip_of_row.get(d.segment_id, _clip_at(starts, float(d.start_s)))
        a = max(0.0, float(d.start_s))
        docs.append((lo + d.id, member.slot, clip, d.kind, a, max(a, float(d.end_s)), d.text))
        if vec is not None:
            doc_vecs.append(vec)
    if doc_vecs and len(doc_vecs) != len(docs):
        raise StoreError(f"{store.root}: {len(docs) - len(doc_vecs)} documents have no vector; re-ingest the video.")
    frames: list[tuple[Any, ...]] = []
    frame_vecs: list[NDArray[np.float32]] = []
    for k in store.keyframe_vectors():
        labels = ", ".join(label for label, _ in k.labels) if k.labels else ""
        frames.append((lo + k.id, member.slot, _clip_at(starts, k.t_s), k.t_s, labels))
        frame_vecs.append(k.vec)
    scan = store.layer("scan")
    every = scan.params.get("every") if scan else None
    covered = store.get_meta("covered_s")
    info = store.get_meta("video") or {}
    video = IndexedVideo(
        slot=member.slot, key=member.key, path=member.path, name=member.name, fingerprint=fingerprint,
        duration_s=float(covered or info.get("duration_s") or 0.0),
        sample_period_s=float(every) if isinstance(every, int | float) and every > 0 else 2.0,
        docs=len(docs), frames=len(frames),
    )  # fmt: skip
    return _Copied(
        video,
        docs,
        np.stack(doc_vecs) if doc_vecs else None,
        frames,
        np.stack(frame_vecs) if frame_vecs else None,
    )


def _read_member(member: IndexMember, videos_dir: Path) -> _Copied:
    """Copy a member's rows out of its store, holding the store's shared lock (no ingest writes meanwhile)."""
    root = videos_dir / member.key
    if not (root / "db.sqlite").is_file():
        raise StoreError(f"{member.path}: its database {root} is missing; run `vidscout ingest` on it.")
    lock = StoreLock(root)
    lock.acquire(exclusive=False)
    with VideoStore.open(root, lock=lock, video=member.path) as store:
        fp = store_fingerprint(store)
        if fp is None:
            raise StoreError(f"{member.path}: its database is not complete; run `vidscout ingest` on it.")
        return _copy_store(member, store, fp)


def _peek_fingerprint(member: IndexMember, videos_dir: Path) -> str | None:
    root = videos_dir / member.key
    if not (root / "db.sqlite").is_file():
        return None
    with VideoStore.open(root, video=member.path) as store:
        return store_fingerprint(store)


def sync_index(root: Path, members: Sequence[IndexMember], videos_dir: Path, *, rebuild: bool = False) -> IndexSync:
    """Bring the index at ``root`` in line with ``members``: copy in new or changed videos, drop the others.

    The caller holds the library's exclusive `StoreLock`. New FAISS files are written under the next
    generation before the SQLite transaction that points at them commits, so a crash at any point leaves
    the previous index whole; the files of older generations are removed afterwards.

    Args:
        root: The library directory.
        members: The videos the index must hold (each with a complete store under ``videos_dir``).
        videos_dir: Where the per-video stores live.
        rebuild: Copy every member again, whatever the index holds.

    Raises:
        StoreError: A member's store is missing or incomplete, or members were embedded by different models.
    """
    t0 = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    conn = _connect(root, write=True)
    try:
        meta = _meta(conn)
        indexed = _videos(conn)
        why = "a rebuild was asked for" if rebuild else ("new index" if "generation" not in meta else "")
        vectors: dict[str, VectorIndex | None] = {"docs": None, "frames": None}
        if not why:
            try:
                vectors = _load_vectors(root, conn, meta)
            except StoreError as e:
                why = str(e)
        wanted = {m.slot: m for m in members}
        by_key: dict[str, str | None] = {}
        for m in wanted.values():
            if m.key not in by_key:
                by_key[m.key] = _peek_fingerprint(m, videos_dir)
        fps = {slot: by_key[m.key] for slot, m in wanted.items()}
        if why:
            removed, added = sorted(indexed), sorted(wanted)
        else:
            removed = sorted(
                s for s, v in indexed.items()
                if s not in wanted or wanted[s].key != v.key or fps[s] != v.fingerprint or wanted[s].path != v.path
            )  # fmt: skip
            added = sorted(s for s in wanted if s not in indexed or s in removed)
        retokenized = 0 if why or meta.get("tokens") == TOKENS_VERSION else _retokenize(conn)
        if not removed and not added:
            docs, frames = sum(v.docs for v in indexed.values()), sum(v.frames for v in indexed.values())
            return IndexSync(retokenized=retokenized, videos=len(indexed), docs=docs, frames=frames,
                             seconds=time.perf_counter() - t0)  # fmt: skip
        copies = [_read_member(wanted[s], videos_dir) for s in added]
        for table in ("docs", "frames"):
            index = vectors[table]
            if index is not None:
                for slot in removed:
                    index.remove_range(*slot_range(slot))
        vectors = _add_vectors(vectors, copies)
        generation = int(meta.get("generation", 0)) + 1
        for table, path in _faiss_files(root, generation).items():
            index = vectors[table]
            if index is not None and index.size:
                index.save(path)
        with _transaction(conn):
            for slot in removed:
                lo, hi = slot_range(slot)
                conn.execute("DELETE FROM docs WHERE id >= ? AND id < ?", (lo, hi))
                conn.execute("DELETE FROM docs_fts WHERE rowid >= ? AND rowid < ?", (lo, hi))
                conn.execute("DELETE FROM frames WHERE id >= ? AND id < ?", (lo, hi))
                conn.execute("DELETE FROM videos WHERE slot = ?", (slot,))
            for c in copies:
                conn.executemany("INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?)", c.docs)
                conn.executemany("INSERT INTO docs_fts (rowid, terms) VALUES (?, ?)",
                                 [(d[0], fts_terms(d[6])) for d in c.docs])  # fmt: skip
                conn.executemany("INSERT INTO frames VALUES (?, ?, ?, ?, ?)", c.frames)
                v = c.video
                conn.execute(
                    "INSERT INTO videos VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (v.slot, v.key, str(v.path), v.name, v.fingerprint, v.duration_s, v.sample_period_s, v.docs,
                     v.frames),
                )  # fmt: skip
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (json.dumps(generation),))
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('tokens', ?)", (json.dumps(TOKENS_VERSION),))
        _remove_stale_files(root, generation)
        return IndexSync(
            added=added, removed=removed, rebuilt=bool(why), why_rebuilt=why, retokenized=retokenized,
            videos=len(wanted),
            docs=int(conn.execute("SELECT COUNT(*) FROM docs").fetchone()[0]),
            frames=int(conn.execute("SELECT COUNT(*) FROM frames").fetchone()[0]), seconds=time.perf_counter() - t0,
        )  # fmt: skip
    finally:
        conn.close()


def _retokenize(conn: sqlite3.Connection) -> int:
    """Make every document's FTS5 terms again with this version's `tokenize`, in one transaction; how many."""
    with _transaction(conn):
        rows = conn.execute("SELECT id, text FROM docs").fetchall()
        conn.execute("DELETE FROM docs_fts")
        conn.executemany("INSERT INTO docs_fts (rowid, terms) VALUES (?, ?)", [(i, fts_terms(t)) for i, t in rows])
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('tokens', ?)", (json.dumps(TOKENS_VERSION),))
    return len(rows)


def _add_vectors(vectors: dict[str, VectorIndex | None], copies: Sequence[_Copied]) -> dict[str, VectorIndex | None]:
    out = dict(vectors)
    for table in ("docs", "frames"):
        for c in copies:
            vecs = c.doc_vecs if table == "docs" else c.frame_vecs
            rows = c.docs if table == "docs" else c.frames
            if vecs is None:
                continue
            index = out[table]
            if index is None:
                index = out[table] = VectorIndex.flat(int(vecs.shape[1]))
            if index.dim != vecs.shape[1]:
                raise StoreError(
                    f"{c.video.path} has {vecs.shape[1]}-d {table} vectors but the library's are {index.dim}-d: its "
                    "members were ingested with different models. Rerun `vidscout ingest --library` with one profile."
                )
            index.add(vecs, np.array([r[0] for r in rows], dtype=np.int64))
    return out


def _remove_stale_files(root: Path, generation: int) -> None:
    keep = set(_faiss_files(root, generation).values())
    for path in root.glob("*.faiss"):
        if path not in keep:
            path.unlink(missing_ok=True)


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Generator[sqlite3.Connection]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
