"""The ingest pipeline: video file → per-video database, one resumable layer at a time.

Layers and what they depend on::

    scan (decode once: cut detection on thumbnails + JPEG keyframes + text likelihood)
      ├─ segments (shots → clips → chapters)
      ├─ tags, frame_vectors, ocr (per keyframe; OCR only where text is likely)
    speech (audio → Whisper, in chunks split at quiet points)
    text_index (per-clip documents of speech / OCR / tags, embedded, FAISS)

Each layer commits its rows in small transactions together with its progress, so `kill -9` at
any point loses at most one batch, and a rerun continues. A layer whose backend spec or
parameters changed is recomputed, and so is everything downstream of it, nothing else.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, Field

from vidscout.errors import BackendError, VidScoutError
from vidscout.memory.store import (
    VideoStore,
    blob_to_vec,
    content_key,
    fingerprint,
    vec_to_blob,
    write_bytes_atomic,
)
from vidscout.memory.text_regions import text_likelihood
from vidscout.models.base import ASR, OCR, SAMPLE_RATE, ImageTextEmbedder, Tagger, TextEmbedder
from vidscout.retrieval.index import VectorIndex
from vidscout.video.decode import ScanOptions, VideoInfo, load_audio, probe, scan
from vidscout.video.segment import (
    SegmentOptions,
    ShotDetector,
    ShotOptions,
    build_hierarchy,
    clips_from_shots,
    frame_histogram,
    shots_from_cuts,
)

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, float, float], None]
"""Called as (layer name, done, total) while a layer runs."""


class IngestOptions(BaseModel, frozen=True):
    """Algorithm knobs of ingest; each layer fingerprints only the fields it uses."""

    sample_every_s: float = Field(2.0, gt=0, description="Keyframe sampling period (seconds).")
    sample_width: int = Field(640, ge=64, description="Keyframe width for tags/OCR/embeddings (px).")
    shots: ShotOptions = ShotOptions()
    segments: SegmentOptions = SegmentOptions()
    ocr_min_text_score: float = Field(2.0, description="Run OCR on frames with at least this text score.")
    ocr_min_gap_s: float = Field(6.0, description="Within one shot, OCR at most once per this many seconds.")
    ocr_min_score: float = Field(0.6, description="Drop OCR lines below this confidence.")
    asr_chunk_s: float = Field(300.0, gt=10, description="Audio is transcribed in chunks of about this length.")
    top_tags: int = Field(5, ge=1, description="Labels kept per keyframe.")
    batch: int = Field(16, ge=1, description="Frames per model batch and per committed transaction.")
    commit_every_s: float = Field(30.0, gt=0, description="Scan commits its rows every this many video seconds.")


class BackendSet(Protocol):
    """What ingest needs from a backend container (models load lazily on first access)."""

    @property
    def asr(self) -> ASR: ...
    @property
    def ocr(self) -> OCR: ...
    @property
    def tagger(self) -> Tagger: ...
    @property
    def image_text(self) -> ImageTextEmbedder: ...
    @property
    def text_embedder(self) -> TextEmbedder: ...
    def spec(self, role: str) -> str: ...


class LayerReport(BaseModel):
    """What one layer did in this run."""

    name: str
    status: str  # "computed", "resumed", "cached", "skipped"
    seconds: float = 0.0
    stats: dict[str, Any] = {}


class IngestReport(BaseModel):
    """Summary of an ingest run."""

    video: VideoInfo
    store: str
    layers: list[LayerReport]
    wall_s: float
    covered_s: float


def store_dir(videos_dir: Path, video: Path) -> Path:
    """Where the database of ``video`` lives (by content, not by name)."""
    return videos_dir / content_key(video)


@dataclass
class _Ctx:
    video: Path
    info: VideoInfo
    store: VideoStore
    backends: BackendSet
    opts: IngestOptions
    progress: ProgressFn
    reports: list[LayerReport] = field(default_factory=list[LayerReport])
    fps_of: dict[str, str] = field(default_factory=dict[str, str])

    def begin(self, name: str, spec: str, params: dict[str, Any], deps: Sequence[str]) -> str | None:
        """Start or resume a layer; returns its status, or None when it is already complete."""
        fp = fingerprint(spec, params, [self.fps_of[d] for d in deps])
        self.fps_of[name] = fp
        fresh = self.store.begin_layer(name, fp, spec, params)
        state = self.store.layer(name)
        if state is not None and state.done and not fresh:
            self.reports.append(LayerReport(name=name, status="cached", seconds=state.seconds, stats=state.stats))
            return None
        return "computed" if fresh or state is None or state.progress == 0 else "resumed"

    def finish(self, name: str, status: str, t0: float, stats: dict[str, Any]) -> None:
        dt = time.perf_counter() - t0
        self.store.finish_layer(name, stats, add_seconds=dt)
        state = self.store.layer(name)
        self.reports.append(
            LayerReport(name=name, status=status, seconds=state.seconds if state else dt, stats=stats)
        )


def ingest(
    video: Path,
    videos_dir: Path,
    backends: BackendSet,
    *,
    options: IngestOptions | None = None,
    progress: ProgressFn | None = None,
) -> IngestReport:
    """Build (or complete, or update) the database of one video and return what was done.

    Raises `MediaError` before creating anything when the file is not an ingestible video.
    """
    opts = options or IngestOptions()
    t_start = time.perf_counter()
    info = probe(video)  # validates before any directory is made
    root = store_dir(videos_dir, video)
    with VideoStore.open(root, create=True) as store:
        store.set_meta("video", info.model_dump())
        store.set_meta("source_path", str(video.resolve()))
        ctx = _Ctx(video, info, store, backends, opts, progress or (lambda *_: None))
        _scan_layer(ctx)
        _segments_layer(ctx)
        _tags_layer(ctx)
        _frame_vectors_layer(ctx)
        _ocr_layer(ctx)
        _speech_layer(ctx)
        _text_index_layer(ctx)
        covered = float(store.get_meta("covered_s") or info.duration_s)
        store.set_meta("ingest_complete", True)
        return IngestReport(
            video=info, store=str(root), layers=ctx.reports, wall_s=time.perf_counter() - t_start, covered_s=covered
        )


# --- scan -------------------------------------------------------------------------------------


def _scan_layer(ctx: _Ctx) -> None:
    o = ctx.opts
    params = {"every": o.sample_every_s, "width": o.sample_width, "shots": o.shots.model_dump()}
    status = ctx.begin("scan", "pyav", params, [])
    if status is None:
        return
    t0 = time.perf_counter()
    store, info = ctx.store, ctx.info
    state = store.layer("scan")
    done_until = state.progress * info.duration_s if state else 0.0
    # Resume a second early so the cut detector has history; rows before done_until are kept.
    start = max(0.0, done_until - 1.0) if done_until > 0 else 0.0
    detector = ShotDetector(o.shots)
    frames: list[tuple[float, str, float]] = []
    committed: set[float] = set()
    last_t = start
    next_commit = start + o.commit_every_s

    def commit(upto: float, *, final: bool = False) -> None:
        # Cuts younger than min_shot_s may still be retracted as flashes: leave them for later.
        settled = upto if final else upto - o.shots.min_shot_s
        cuts = [c for c in detector.cuts if done_until < c <= settled and c not in committed]
        with store.transaction() as c:
            c.executemany("INSERT OR IGNORE INTO frames (t_s, file, text_score) VALUES (?, ?, ?)", frames)
            c.executemany("INSERT OR IGNORE INTO cuts VALUES (?)", [(t,) for t in cuts])
            store.update_layer(c, "scan", progress=min(1.0, max(settled, 0.0) / info.duration_s))
        committed.update(cuts)
        frames.clear()

    scan_opts = ScanOptions(sample_every_s=o.sample_every_s, sample_width=o.sample_width, start_s=start)
    for fr in scan(ctx.video, scan_opts):
        detector.push(fr.t_s, fr.thumb)
        last_t = fr.t_s
        if fr.image is not None and fr.t_s >= done_until - 1e-6:
            name = f"{fr.t_s:010.3f}.jpg"
            ok, jpg = cv2.imencode(".jpg", cv2.cvtColor(fr.image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])
            if not ok:
                raise BackendError(f"OpenCV could not encode the frame at {fr.t_s:.2f}s as JPEG.")
            write_bytes_atomic(store.root / "frames" / name, jpg.tobytes())
            frames.append((fr.t_s, name, text_likelihood(fr.image)))
        if fr.t_s >= next_commit:
            commit(fr.t_s)
            next_commit = fr.t_s + o.commit_every_s
            ctx.progress("scan", fr.t_s, info.duration_s)
    covered = min(info.duration_s, last_t + 1.0 / info.fps)
    commit(info.duration_s, final=True)
    if covered < info.duration_s - 1.0:
        log.warning("%s: only %.1f of %.1f s could be decoded (truncated or damaged file)",
                    ctx.video, covered, info.duration_s)  # fmt: skip
    store.set_meta("covered_s", covered)
    ctx.progress("scan", info.duration_s, info.duration_s)
    n_frames = store.count("frames")
    ctx.finish("scan", status, t0, {"keyframes": n_frames, "cuts": len(store.cuts()), "covered_s": covered})


# --- segments ---------------------------------------------------------------------------------


def _frame_hist(store: VideoStore, file: str) -> NDArray[np.float32]:
    img = cv2.imread(str(store.root / "frames" / file), cv2.IMREAD_REDUCED_COLOR_8)
    thumb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return frame_histogram(thumb)


def _segments_layer(ctx: _Ctx) -> None:
    status = ctx.begin("segments", "vidscout", ctx.opts.segments.model_dump(), ["scan"])
    if status is None:
        return
    t0 = time.perf_counter()
    store = ctx.store
    covered = float(store.get_meta("covered_s") or ctx.info.duration_s)
    cuts = [c for c in store.cuts() if c < covered]
    frames = store.frames()
    clips = clips_from_shots(shots_from_cuts(cuts, covered), ctx.opts.segments)
    times = np.array([f.t_s for f in frames])
    hists = [_frame_hist(store, f.file) for f in frames]
    feats = np.zeros((len(clips), len(hists[0]) if hists else 1), dtype=np.float32)
    for i, c in enumerate(clips):
        idx = np.nonzero((times >= c.start_s) & (times < c.end_s))[0]
        if len(idx):
            feats[i] = np.mean([hists[j] for j in idx], axis=0)
    segments = build_hierarchy(cuts, covered, clip_features=feats if hists else None, options=ctx.opts.segments)
    with store.transaction() as c:
        c.execute("DELETE FROM segments")
        c.executemany(
            "INSERT INTO segments (level, idx, start_s, end_s, parent) VALUES (?, ?, ?, ?, ?)",
            [(s.level, s.index, s.span.start_s, s.span.end_s, s.parent) for s in segments],
        )
    counts = {lvl: sum(1 for s in segments if s.level == lvl) for lvl in ("shot", "clip", "chapter")}
    ctx.finish("segments", status, t0, counts)


# --- per-keyframe visual layers ---------------------------------------------------------------


def _pending_frames(ctx: _Ctx, table: str, key: str = "frame_id") -> list[tuple[int, float, str, float]]:
    done = {r[0] for r in ctx.store.query(f"SELECT {key} FROM {table}")}  # noqa: S608
    rows = ctx.store.query("SELECT id, t_s, file, text_score FROM frames ORDER BY t_s")
    return [(int(r[0]), float(r[1]), str(r[2]), float(r[3])) for r in rows if r[0] not in done]


def _read_rgb(store: VideoStore, file: str) -> NDArray[np.uint8]:
    img = cv2.imread(str(store.root / "frames" / file), cv2.IMREAD_COLOR)
    if img is None:
        raise BackendError(f"Keyframe {file} is missing from {store.root}; delete the store and re-ingest.")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def _batched_frame_layer(
    ctx: _Ctx, name: str, role: str, params: dict[str, Any], work: Callable[[list[NDArray[np.uint8]]], list[Any]],
    insert: Callable[[Any, int, Any], None],
) -> None:  # fmt: skip
    spec = ctx.backends.spec(role)
    status = ctx.begin(name, spec, params, ["scan"])
    if status is None:
        return
    t0 = time.perf_counter()
    table = {"tags": "tags", "frame_vectors": "frame_vectors"}[name]
    pending = _pending_frames(ctx, table)
    total = ctx.store.count("frames")
    done = total - len(pending)
    for i in range(0, len(pending), ctx.opts.batch):
        chunk = pending[i : i + ctx.opts.batch]
        results = work([_read_rgb(ctx.store, f[2]) for f in chunk])
        with ctx.store.transaction() as c:
            for (fid, *_), res in zip(chunk, results, strict=True):
                insert(c, fid, res)
            done += len(chunk)
            ctx.store.update_layer(c, name, progress=done / max(total, 1))
        ctx.progress(name, done, total)
    ctx.finish(name, status, t0, {"frames": total})


def _tags_layer(ctx: _Ctx) -> None:
    k = ctx.opts.top_tags

    def work(images: list[NDArray[np.uint8]]) -> list[Any]:
        return ctx.backends.tagger.tag(images, top_k=k)

    def insert(c: Any, fid: int, tags: Any) -> None:
        c.execute("INSERT OR REPLACE INTO tags VALUES (?, ?)",
                  (fid, json.dumps([[t.label, round(t.score, 4)] for t in tags])))  # fmt: skip

    _batched_frame_layer(ctx, "tags", "tagger", {"top_k": k}, work, insert)


def _frame_vectors_layer(ctx: _Ctx) -> None:
    def work(images: list[NDArray[np.uint8]]) -> list[Any]:
        return list(ctx.backends.image_text.embed_images(images))

    def insert(c: Any, fid: int, vec: Any) -> None:
        c.execute("INSERT OR REPLACE INTO frame_vectors VALUES (?, ?)", (fid, vec_to_blob(vec)))

    _batched_frame_layer(ctx, "frame_vectors", "image_text", {}, work, insert)
    rows = ctx.store.query("SELECT frame_id, vec FROM frame_vectors ORDER BY frame_id")
    if rows:
        vecs = np.stack([blob_to_vec(r[1]) for r in rows])
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        VectorIndex.build(vecs, ids).save(ctx.store.root / "frames.faiss")


def _ocr_layer(ctx: _Ctx) -> None:
    o = ctx.opts
    params = {"min_text": o.ocr_min_text_score, "gap": o.ocr_min_gap_s, "min_score": o.ocr_min_score}
    status = ctx.begin("ocr", ctx.backends.spec("ocr"), params, ["scan", "segments"])
    if status is None:
        return
    t0 = time.perf_counter()
    store = ctx.store
    state = store.layer("ocr")
    done_until = (state.progress if state else 0.0) * ctx.info.duration_s
    shots = store.segments("shot")
    shot_starts = np.array([s.span.start_s for s in shots]) if shots else np.zeros(1)
    last_read: dict[int, float] = {}
    read = 0
    candidates = [f for f in store.frames() if f.text_score >= o.ocr_min_text_score and f.t_s >= done_until]
    for n, f in enumerate(candidates):
        shot = int(np.searchsorted(shot_starts, f.t_s, side="right")) - 1
        if f.t_s - last_read.get(shot, -math.inf) < o.ocr_min_gap_s:
            continue
        last_read[shot] = f.t_s
        lines = [b for b in ctx.backends.ocr.read(_read_rgb(store, f.file)) if b.score >= o.ocr_min_score]
        read += 1
        with store.transaction() as c:
            c.executemany(
                "INSERT INTO ocr (frame_id, text, score, box) VALUES (?, ?, ?, ?)",
                [(f.id, b.text, b.score, json.dumps(b.box)) for b in lines],
            )
            store.update_layer(c, "ocr", progress=min(1.0, (f.t_s + 1e-3) / ctx.info.duration_s))
        ctx.progress("ocr", n + 1, len(candidates))
    ctx.finish("ocr", status, t0, {"frames_read": read, "candidates": len(candidates), "lines": store.count("ocr")})


# --- speech -----------------------------------------------------------------------------------


def quiet_split_points(audio: NDArray[np.float32], chunk_s: float, *, search_s: float = 8.0) -> list[float]:
    """Chunk boundaries (seconds) near every ``chunk_s``, moved to the quietest 100 ms nearby."""
    dur = len(audio) / SAMPLE_RATE
    win = SAMPLE_RATE // 10
    points: list[float] = []
    t = chunk_s
    while t < dur - 5.0:
        lo, hi = int(max(0, t - search_s) * SAMPLE_RATE), int(min(dur, t + search_s) * SAMPLE_RATE)
        seg = audio[lo:hi]
        n = len(seg) // win
        if n >= 1:
            energy = (seg[: n * win].reshape(n, win) ** 2).mean(axis=1)
            t = (lo + int(np.argmin(energy)) * win + win // 2) / SAMPLE_RATE
        points.append(t)
        t += chunk_s
    return points


def _speech_layer(ctx: _Ctx) -> None:
    if not ctx.info.has_audio:
        ctx.fps_of["speech"] = fingerprint("none", {}, [])
        ctx.reports.append(LayerReport(name="speech", status="skipped", stats={"reason": "no audio stream"}))
        return
    status = ctx.begin("speech", ctx.backends.spec("asr"), {"chunk_s": ctx.opts.asr_chunk_s}, [])
    if status is None:
        return
    t0 = time.perf_counter()
    store, dur = ctx.store, ctx.info.duration_s
    state = store.layer("speech")
    done_until = (state.progress if state else 0.0) * dur
    audio = load_audio(ctx.video)
    audio_s = len(audio) / SAMPLE_RATE
    bounds = [0.0, *quiet_split_points(audio, ctx.opts.asr_chunk_s), audio_s]
    for a, b in zip(bounds, bounds[1:], strict=False):
        if b <= done_until + 1e-6:
            continue
        chunk = audio[int(a * SAMPLE_RATE) : int(b * SAMPLE_RATE)]
        try:
            segs = ctx.backends.asr.transcribe(chunk) if float(np.abs(chunk).max(initial=0.0)) > 1e-4 else []
        except VidScoutError:
            raise
        except Exception as e:
            raise BackendError(f"Speech recognition failed on {a:.0f}-{b:.0f}s: {e}") from e
        with store.transaction() as c:
            c.executemany(
                "INSERT INTO speech (start_s, end_s, text, words, avg_logprob) VALUES (?, ?, ?, ?, ?)",
                [
                    (a + s.start_s, a + s.end_s, s.text.strip(),
                     json.dumps([[w.text, round(a + w.start_s, 3), round(a + w.end_s, 3), round(w.prob, 3)] for w in s.words]),
                     s.avg_logprob)
                    for s in segs if s.text.strip()
                ],
            )  # fmt: skip
            store.update_layer(c, "speech", progress=min(1.0, b / dur))
        ctx.progress("speech", b, audio_s)
    n = store.count("speech")
    spoken = store.query("SELECT COALESCE(SUM(end_s - start_s), 0) FROM speech")[0][0]
    ctx.finish("speech", status, t0, {"utterances": n, "speech_s": round(float(spoken), 1), "audio_s": round(audio_s, 1)})


# --- text index -------------------------------------------------------------------------------


def clip_documents(store: VideoStore) -> list[tuple[int, str, float, float, str]]:
    """Per-clip evidence texts: (segment row id, kind, start_s, end_s, text), kinds speech/ocr/visual."""
    docs: list[tuple[int, str, float, float, str]] = []
    for clip in store.segments("clip"):
        sid = store.segment_id("clip", clip.index)
        a, b = clip.span.start_s, clip.span.end_s
        speech = store.query("SELECT text FROM speech WHERE end_s > ? AND start_s < ? ORDER BY start_s", (a, b))
        if speech:
            docs.append((sid, "speech", a, b, " ".join(r[0] for r in speech)))
        ocr = store.query(
            "SELECT DISTINCT o.text FROM ocr o JOIN frames f ON f.id = o.frame_id WHERE f.t_s >= ? AND f.t_s < ?",
            (a, b),
        )
        if ocr:
            docs.append((sid, "ocr", a, b, " | ".join(r[0] for r in ocr)))
        tags = store.query(
            "SELECT t.tags FROM tags t JOIN frames f ON f.id = t.frame_id WHERE f.t_s >= ? AND f.t_s < ?", (a, b)
        )
        if tags:
            docs.append((sid, "visual", a, b, summarise_tags([json.loads(r[0]) for r in tags])))
    return docs


def summarise_tags(per_frame: Sequence[Sequence[Sequence[Any]]], *, top: int = 5) -> str:
    """Merge per-frame [label, score] lists into one line of the most present labels."""
    mass: dict[str, float] = {}
    for tags in per_frame:
        for label, score in tags:
            mass[str(label)] = mass.get(str(label), 0.0) + float(score)
    best = sorted(mass.items(), key=lambda kv: -kv[1])[:top]
    return ", ".join(label for label, _ in best)


def _text_index_layer(ctx: _Ctx) -> None:
    deps = ["segments", "speech", "ocr", "tags"]
    status = ctx.begin("text_index", ctx.backends.spec("text_embedder"), {}, deps)
    if status is None:
        return
    t0 = time.perf_counter()
    store = ctx.store
    docs = clip_documents(store)
    vecs = ctx.backends.text_embedder.embed_text([d[4] for d in docs]) if docs else np.zeros((0, 1), np.float32)
    with store.transaction() as c:
        c.execute("DELETE FROM docs")
        c.executemany(
            "INSERT INTO docs (segment_id, kind, start_s, end_s, text, vec) VALUES (?, ?, ?, ?, ?, ?)",
            [(*d, vec_to_blob(v)) for d, v in zip(docs, vecs, strict=True)],
        )
    rows = store.query("SELECT id, vec FROM docs ORDER BY id")
    if rows:
        index = VectorIndex.build(np.stack([blob_to_vec(r[1]) for r in rows]), np.array([r[0] for r in rows]))
        index.save(store.root / "text.faiss")
    ctx.finish("text_index", status, t0, {"documents": len(docs)})
