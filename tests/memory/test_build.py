"""Ingest end to end on real media with the real embedded models."""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.db import db_rows
from vidscout.api import Video
from vidscout.media import samples
from vidscout.memory.build import IngestOptions, ingest, store_dir
from vidscout.memory.store import VideoStore
from vidscout.memory.summary import describe_store
from vidscout.models.registry import Backends
from vidscout.settings import Settings


@pytest.fixture(scope="module")
def backends(tmp_path_factory: pytest.TempPathFactory) -> Backends:
    return Backends(Settings(data_dir=tmp_path_factory.mktemp("weights-data")))


@pytest.fixture(scope="module")
def speech_clip(media_cache: Path) -> tuple[Path, list[tuple[float, float, str]]]:
    """Real footage (vtest.avi) with two LibriVox utterances at known times."""
    clips = samples.librivox_clips()[:2]
    return samples.speech_video(samples.vtest(media_cache), clips, media_cache / "speech_vtest.mp4")


def _segments_cover(store: VideoStore, duration: float) -> None:
    for level in ("shot", "clip", "chapter"):
        segs = store.segments(level)  # type: ignore[arg-type]
        assert segs, level
        assert segs[0].span.start_s == 0.0
        assert segs[-1].span.end_s == pytest.approx(duration, abs=0.1)
        assert all(a.span.end_s == pytest.approx(b.span.start_s) for a, b in itertools.pairwise(segs))
        assert [s.index for s in segs] == list(range(len(segs)))


def test_ingest_builds_every_layer_and_a_rerun_is_cached(
    tmp_path: Path, backends: Backends, speech_clip: tuple[Path, list[tuple[float, float, str]]]
) -> None:
    video, truth = speech_clip
    settings = Settings(data_dir=tmp_path)
    report = ingest(video, settings.videos_dir, backends)
    status = {layer.name: layer.status for layer in report.layers}
    assert status == dict.fromkeys(
        [
            "scan",
            "segments",
            "tags",
            "frame_vectors",
            "image_vectors",
            "visual_facts",
            "ocr",
            "speech",
            "speakers",
            "text_index",
        ],
        "computed",
    )
    with VideoStore.open(store_dir(settings.videos_dir, video)) as store:
        info = describe_store(store)
        _segments_cover(store, report.covered_s)
    assert info["complete"]
    assert info["versions"]["faster-whisper"] and info["versions"]["av"]
    assert {layer["name"]: layer["spec"] for layer in info["layers"]}["speech"] == "faster-whisper:base"
    assert info["keyframes"] == pytest.approx(report.video.duration_s / 2.0, abs=1)
    assert info["indexes"]["frames"] == info["keyframes"]
    assert info["indexes"]["text"] >= 2
    # The LibriVox words come back, at the times they were placed.
    spoken = " ".join(s["text"].lower() for s in info["speech"]["segments"])
    for start, end, text in truth:
        words = [w for w in text.lower().split() if len(w) > 4]
        hits = sum(w in spoken for w in words)
        assert hits >= 0.6 * len(words), (text, spoken)
        assert any(s["start_s"] < end and s["end_s"] > start for s in info["speech"]["segments"])
    again = ingest(video, settings.videos_dir, backends)
    assert {layer.status for layer in again.layers} == {"cached"}
    # A database built by an older recipe of one layer is brought up to date when the video is opened.
    db = store_dir(settings.videos_dir, video) / "db.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE layers SET fingerprint = 'older recipe' WHERE name = 'text_index'")
        conn.execute("DELETE FROM docs")
    with Video.open(video, settings=settings, backends=backends) as opened:
        fresh = {layer.name: layer.fingerprint for layer in opened.store.layers()}
        assert db_rows(opened.store, "SELECT COUNT(*) FROM docs")[0][0] == info["indexes"]["text"]
    assert fresh["text_index"] != "older recipe"


def test_changing_one_backend_recomputes_only_that_layer_and_its_dependents(
    tmp_path: Path, backends: Backends, speech_clip: tuple[Path, list[tuple[float, float, str]]]
) -> None:
    video, _ = speech_clip
    ingest(video, tmp_path, backends, options=IngestOptions(top_tags=5))
    report = ingest(video, tmp_path, backends, options=IngestOptions(top_tags=3))
    status = {layer.name: layer.status for layer in report.layers}
    assert status["tags"] == "computed"
    assert status["text_index"] == "computed"  # its documents include the tags
    assert {status[n] for n in ("scan", "segments", "frame_vectors", "ocr", "speech", "speakers")} == {"cached"}
    with VideoStore.open(store_dir(tmp_path, video)) as store:
        tags = db_rows(store, "SELECT tags FROM tags")
    assert tags and all(len(json.loads(t[0])) <= 3 for t in tags)


def _rows(root: Path, video: Path) -> dict[str, object]:
    with VideoStore.open(store_dir(root, video)) as s:
        return {
            "speech": db_rows(s, "SELECT start_s, end_s, text FROM speech ORDER BY start_s"),
            "speakers": db_rows(s, "SELECT speech_id, speaker FROM speakers ORDER BY speech_id"),
            "ocr": db_rows(s, "SELECT frame_id, text FROM ocr ORDER BY frame_id, id"),
            "facts": db_rows(s, "SELECT frame_id, facts FROM visual_frames ORDER BY frame_id"),
            "docs": db_rows(s, "SELECT segment_id, kind, text FROM docs ORDER BY id"),
            "layers": sorted((x.name, x.fingerprint, x.done) for x in s.layers()),
        }


def test_the_audio_thread_builds_the_same_database_as_one_thread(
    tmp_path: Path, backends: Backends, speech_clip: tuple[Path, list[tuple[float, float, str]]]
) -> None:
    video, _ = speech_clip
    calls: list[tuple[str, str, float]] = []

    def progress(layer: str, done: float, total: float) -> None:
        calls.append((threading.current_thread().name, layer, done))

    one = ingest(video, tmp_path / "one", backends, options=IngestOptions(parallel_audio=False))
    two = ingest(video, tmp_path / "two", backends, options=IngestOptions(parallel_audio=True), progress=progress)
    assert [x.name for x in two.layers] == [x.name for x in one.layers]  # reported in the same order
    # The caller's progress is called on the caller's thread only (an MCP server's callback works nowhere else),
    # the audio layers' included, each layer's in order.
    assert {name for name, _, _ in calls} == {threading.current_thread().name}
    for layer in ("speech", "speakers", "visual_facts", "ocr"):  # the facts run on the second thread too
        done = [d for _, name, d in calls if name == layer]
        assert done and done == sorted(done), layer
    assert _rows(tmp_path / "two", video) == _rows(tmp_path / "one", video)
    assert _rows(tmp_path / "one", video)["speech"]


@pytest.mark.parametrize("failing", ["scan", "ocr"])  # the second thread starts before the scan
def test_a_failing_frame_layer_stops_the_second_thread_and_the_next_ingest_completes(
    tmp_path: Path, backends: Backends, speech_clip: tuple[Path, list[tuple[float, float, str]]], failing: str
) -> None:
    video, _ = speech_clip

    def cancel(layer: str, done: float, total: float) -> None:
        if layer == failing:  # a caller's progress callback may cancel an ingest by raising
            raise RuntimeError("cancelled by the caller")

    with pytest.raises(RuntimeError, match="cancelled by the caller"):
        ingest(video, tmp_path, backends, progress=cancel, options=IngestOptions(commit_every_s=2.0))
    assert not [t for t in threading.enumerate() if t.name == "vidscout-branch"]
    report = ingest(video, tmp_path, backends)
    status = {layer.name: layer.status for layer in report.layers}
    assert status[failing] == "resumed" and status["text_index"] == "computed"
    with VideoStore.open(store_dir(tmp_path, video)) as s:
        assert all(x.done for x in s.layers())
        assert s.count("speech") > 0


_INGEST = """
import sys
from pathlib import Path
from vidscout.memory.build import IngestOptions, ingest
from vidscout.models.registry import Backends
from vidscout.settings import Settings
settings = Settings(data_dir=Path(sys.argv[3]))
ingest(Path(sys.argv[1]), Path(sys.argv[2]), Backends(settings),
       options=IngestOptions(commit_every_s=2.0, asr_chunk_s=20.0, batch=4))
"""


def _progress(db: Path, layer: str) -> float:
    if not db.exists():
        return 0.0
    try:
        with sqlite3.connect(str(db), timeout=1.0) as c:
            row = c.execute("SELECT progress, done FROM layers WHERE name=?", (layer,)).fetchone()
    except sqlite3.Error:
        return 0.0
    return 0.0 if row is None or row[1] else float(row[0])


@pytest.mark.parametrize("layer", ["scan", "ocr", "speech", "speakers"])
def test_kill_9_mid_ingest_then_rerun_gives_the_same_database(
    tmp_path: Path, media_cache: Path, backends: Backends, layer: str
) -> None:
    clips = samples.librivox_clips()
    video, _ = samples.speech_video(samples.vtest(media_cache), clips, media_cache / "speech_vtest_all.mp4")
    killed_dir, clean_dir, weights = tmp_path / "killed", tmp_path / "clean", tmp_path / "w"
    db = store_dir(killed_dir, video) / "db.sqlite"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    args = [sys.executable, "-c", _INGEST, str(video), str(killed_dir), str(weights)]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while _progress(db, layer) == 0.0:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline, f"{layer} never started"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = _progress(db, layer)
    assert 0.0 < partial < 1.0

    subprocess.run(args, env=env, check=True, capture_output=True)
    opts = IngestOptions(commit_every_s=2.0, asr_chunk_s=20.0, batch=4)
    ingest(video, clean_dir, Backends(Settings(data_dir=weights)), options=opts)

    def snapshot(root: Path) -> dict[str, object]:
        with VideoStore.open(store_dir(root, video)) as s:
            return {
                "frames": db_rows(s, "SELECT t_s, file FROM frames ORDER BY t_s"),
                "cuts": s.cuts(),
                "segments": db_rows(s, "SELECT level, idx, start_s, end_s, parent FROM segments ORDER BY level, idx"),
                "speech": db_rows(s, "SELECT start_s, end_s, text FROM speech ORDER BY start_s"),
                "tags": db_rows(s, "SELECT frame_id, tags FROM tags ORDER BY frame_id"),
                "ocr": db_rows(s, "SELECT frame_id, text FROM ocr ORDER BY frame_id, id"),
                "facts": db_rows(s, "SELECT frame_id, facts FROM visual_frames ORDER BY frame_id"),
                "ocr_frames": db_rows(s, "SELECT frame_id, was_read FROM ocr_frames ORDER BY frame_id"),
                "speakers": db_rows(s, "SELECT speech_id, speaker FROM speakers ORDER BY speech_id"),
                "docs": db_rows(s, "SELECT segment_id, kind, text FROM docs ORDER BY id"),
                "layers": [(x.name, x.done) for x in s.layers()],
            }

    resumed, clean = snapshot(killed_dir), snapshot(clean_dir)
    # Per table, the first rows that differ (resumed, clean): a bare dict comparison hides them behind "...".
    differing = {name: _first_differences(resumed[name], rows) for name, rows in clean.items() if resumed[name] != rows}
    assert not differing, f"layer stopped: {layer} at {partial:.3f}; stores kept in {tmp_path}: {differing}"


def _first_differences(resumed: object, clean: object, *, most: int = 3) -> list[object]:
    if not isinstance(resumed, list) or not isinstance(clean, list):
        return [resumed, clean]
    rows = [(i, a, b) for i, (a, b) in enumerate(itertools.zip_longest(resumed, clean)) if a != b]
    return [f"{len(resumed)} vs {len(clean)} rows", *rows[:most]]
