"""The visual_facts and image_vectors layers on a planted video, and what reads them: documents, browse,
chapters, zoom_in, image search and the recurrences tool; the layer resumes after kill -9."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.db import db_rows
from vidscout.api import Video
from vidscout.media.planted import PHOTO_DIR, Piece, PlantedSpec, build_planted
from vidscout.memory.build import IngestOptions, ingest, store_dir
from vidscout.memory.chapters import chapter_summaries
from vidscout.memory.store import VideoStore
from vidscout.memory.visual import detection_plan, span_facts, span_phrases
from vidscout.models.registry import Backends
from vidscout.retrieval.images import group_appearances
from vidscout.settings import Settings
from vidscout.tools.browse import browse_range
from vidscout.tools.default import default_tools
from vidscout.tools.recurrences import RecurrencesResult
from vidscout.tools.registry import ToolContext, VideoDeps
from vidscout.types import TimeSpan
from vidscout.video.decode import frames_at

REPO = Path(__file__).resolve().parents[2]
PIECES = [  # (piece, what it is) in video order; 23 s
    (Piece(source="photo", photo="starry_night.jpg", duration_s=4.0), "starry"),
    (Piece(source="vtest", start_s=10.0, duration_s=6.0), "street"),
    (Piece(source="card:0x1e3cc8", duration_s=4.0), "blue card"),
    (Piece(source="photo", photo="starry_night.jpg", duration_s=4.0), "starry"),
    (Piece(source="pan:right", photo="fruits.jpg", duration_s=5.0), "pan"),
]
OPTIONS = IngestOptions(batch=2)


def _spans() -> dict[str, list[TimeSpan]]:
    out: dict[str, list[TimeSpan]] = {}
    t = 0.0
    for piece, name in PIECES:
        out.setdefault(name, []).append(TimeSpan(start_s=t, end_s=t + piece.duration_s))
        t += piece.duration_s
    return out


@pytest.fixture(scope="module")
def video(media_cache: Path) -> Path:
    spec = PlantedSpec(seed=0, size=(640, 360), pieces=[p for p, _ in PIECES], bed="silence")
    return build_planted(spec, media_cache / "visual_layer.mp4", cache=media_cache).path


@pytest.fixture(scope="module")
def settings() -> Settings:
    # A persistent data dir for model caches (the projected embedder's label matrix takes 7 s to build).
    return Settings(data_dir=REPO / ".cache" / "vidscout-test")


@pytest.fixture(scope="module")
def backends(settings: Settings) -> Backends:
    return Backends(settings)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Where this module's databases live."""
    return Settings(data_dir=tmp_path_factory.mktemp("visual-home"))


@pytest.fixture(scope="module")
def videos(video: Path, backends: Backends, home: Settings) -> Path:
    ingest(video, home.videos_dir, backends, options=OPTIONS)
    return home.videos_dir


@pytest.fixture(scope="module")
def store(video: Path, videos: Path) -> Iterator[VideoStore]:
    with VideoStore.open(store_dir(videos, video)) as s:
        yield s


@pytest.fixture(scope="module")
def ctx(video: Path, store: VideoStore, backends: Backends) -> ToolContext:
    return ToolContext(VideoDeps.open(video, store, backends))


def _inner(span: TimeSpan) -> tuple[float, float]:
    """The piece's keyframes (each keyframe shows the piece holding its time; the first one is at the cut)."""
    return span.start_s - 0.02, span.end_s - 0.05


def test_every_keyframe_and_shot_has_facts_and_they_are_right(store: VideoStore) -> None:
    assert store.count("visual_frames") == store.count("frames") > 0
    assert store.count("visual_shots") == len(store.segments("shot"))
    stats = store.layer("visual_facts")
    assert stats is not None and stats.done and stats.stats["detector_runs"] >= len(PIECES)
    spans = _spans()
    street = span_facts(store, *_inner(spans["street"][0]))
    assert street.people >= 2 and ("moving", 1.0) in street.motion
    assert span_phrases(store, *_inner(spans["blue card"][0]))[:2] == ["mostly blue", "still picture, nothing moves"]
    for starry in spans["starry"]:
        facts = span_facts(store, *_inner(starry))
        assert facts.colours[0][0] == "blue" and facts.people == 0 and facts.motion == (("static", 1.0),)
    assert "camera pans right" in span_phrases(store, *_inner(spans["pan"][0]))


def test_facts_reach_documents_search_browse_and_chapters(store: VideoStore, ctx: ToolContext) -> None:
    visual = " | ".join(r[0] for r in db_rows(store, "SELECT text FROM docs WHERE kind = 'visual'"))
    for words in ("at least", "people", "mostly blue", "still picture", "camera pans right", "things move"):
        assert words in visual, (words, visual)
    street = _spans()["street"][0]
    hit = ctx.searcher.search("people", top_k=1, kinds=["visual"])[0]
    assert hit.span.overlaps(street), hit
    listing = browse_range(store, TimeSpan(start_s=0.0, end_s=ctx.duration_s), ctx.duration_s).to_observation()
    assert "looks: " in listing and "people" in listing, listing
    looks = [p for c in chapter_summaries(store) for p in c.looks]
    assert any("people" in p for p in looks), looks


def test_image_search_finds_every_appearance_of_a_photo(
    video: Path, videos: Path, home: Settings, backends: Backends
) -> None:
    starry = _spans()["starry"]
    with Video.open(video, settings=home, backends=backends, ingest_options=OPTIONS) as handle:
        found = handle.search_image(PHOTO_DIR / "starry_night.jpg")
        frame = handle.search_image(frames_at(video, [(starry[1].start_s + starry[1].end_s) / 2])[0], top_k=2)
    by_time = sorted(found[:2], key=lambda a: a.span.start_s)
    assert [a.span.overlaps(s) for a, s in zip(by_time, starry, strict=True)] == [True, True], found
    assert found[1].score > 0.6 and all(f.score < found[1].score - 0.1 for f in found[2:]), found
    assert {a.span.overlaps(starry[0]) or a.span.overlaps(starry[1]) for a in frame} == {True}
    assert frame[0].score > 0.9


def test_recurrences_counts_the_photo_twice_and_the_street_once(ctx: ToolContext) -> None:
    tools = default_tools()
    spans = _spans()
    first = spans["starry"][0]
    outcome = tools.call("recurrences", {"at": "00:00:02"}, ctx)
    assert outcome.ok, outcome.observation
    result = outcome.result
    assert isinstance(result, RecurrencesResult) and result.count == 2
    assert [i.appearance.span.overlaps(s) for i, s in zip(result.items, spans["starry"], strict=True)] == [True, True]
    lines = outcome.observation.splitlines()
    assert lines[0].startswith("The picture on screen at 00:00:02 (") and lines[0].endswith(
        "is shown 2 times, in time order:"
    )
    assert "<- the one at 00:00:02" in lines[1] and "then: " in lines[1] and first.start_s == 0.0
    street = tools.call("recurrences", {"at": "00:00:07"}, ctx)
    assert street.ok and "is shown once" in street.observation, street.observation


def test_recurrences_fix_it_errors(ctx: ToolContext, store: VideoStore, tmp_path: Path, backends: Backends) -> None:
    tools = default_tools()
    late = tools.call("recurrences", {"at": "01:00:00"}, ctx)
    assert not late.ok and "outside the video (00:00:00 to 00:00:23)" in late.observation
    garbled = tools.call("recurrences", {"at": "noon"}, ctx)
    assert not garbled.ok and garbled.observation.startswith("Error: invalid arguments for recurrences: at:")
    copy = tmp_path / "store"
    shutil.copytree(store.root, copy, ignore=shutil.ignore_patterns("ingest.lock"))
    with VideoStore.open(copy, create=True) as writable:
        writable.drop_layer("image_vectors")
    with VideoStore.open(copy) as older:
        old_ctx = ToolContext(VideoDeps.open(ctx.video, older, backends, info=ctx.info))
        missing = tools.call("recurrences", {"at": "00:00:02"}, old_ctx)
    assert not missing.ok and "Picture matching is not available" in missing.observation
    assert "Use search with a few words" in missing.observation


def test_zoom_in_reports_facts_and_what_it_cannot_see(ctx: ToolContext) -> None:
    outcome = default_tools().call(
        "zoom_in", {"start": "00:00:05", "end": "00:00:09", "question": "how many people are there?"}, ctx
    )
    assert outcome.ok, outcome.observation
    text = outcome.observation
    assert "looks: at least" in text and "people" in text and "things move, still camera" in text
    assert "Cannot see: no detector for animals or objects beyond ImageNet labels" in text


def test_pure_helpers() -> None:
    # Shots start at 0 and 7; keyframes every 2 s: the first of each shot, then every 4 s within it.
    assert detection_plan([0, 2, 4, 6, 8, 10, 12, 14], [0.0, 7.0], every_s=4.0) == {0, 2, 4, 6}
    # Positions 3,4 (shot 0) | 6 after a one-keyframe gap in shot 0 | 9 (shot 1, after a gap) | 10
    assert group_appearances([3, 4, 6, 9, 10], [0, 0, 0, 1, 1], join_gap=1) == [[0, 1, 2], [3, 4]]
    assert group_appearances([3, 5], [0, 1], join_gap=1) == [[0], [1]]


_INGEST = """
import sys
from pathlib import Path
from vidscout.memory.build import IngestOptions, ingest
from vidscout.models.registry import Backends
from vidscout.settings import Settings
ingest(Path(sys.argv[1]), Path(sys.argv[2]), Backends(Settings(data_dir=Path(sys.argv[3]))),
       options=IngestOptions(batch=2))
"""


def _progress(db: Path, layer: str) -> float:
    try:
        with sqlite3.connect(str(db), timeout=1.0) as c:
            row = c.execute("SELECT progress, done FROM layers WHERE name=?", (layer,)).fetchone()
    except sqlite3.Error:
        return 0.0
    return 0.0 if row is None or row[1] else float(row[0])


def test_kill_9_during_visual_facts_then_rerun_gives_the_same_rows(
    video: Path, videos: Path, settings: Settings, tmp_path: Path
) -> None:
    """``videos`` is the clean run; a second one is killed in the visual_facts layer and run again."""
    killed = tmp_path / "killed"
    db = store_dir(killed, video) / "db.sqlite"
    args = [sys.executable, "-c", _INGEST, str(video), str(killed), str(settings.data_dir)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while not (db.exists() and _progress(db, "visual_facts") > 0.0):
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline, "visual_facts never started"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 0.0 < _progress(db, "visual_facts") < 1.0
    subprocess.run(args, env=env, check=True, capture_output=True)

    def rows(root: Path) -> dict[str, Any]:
        with VideoStore.open(store_dir(root, video)) as s:
            return {
                "frames": db_rows(s, "SELECT f.t_s, v.facts FROM visual_frames v JOIN frames f ON f.id = v.frame_id"
                                  " ORDER BY f.t_s"),
                "shots": db_rows(s, "SELECT * FROM visual_shots ORDER BY shot"),
                "images": db_rows(s, "SELECT f.t_s, i.vec FROM image_vectors i JOIN frames f ON f.id = i.frame_id"
                                  " ORDER BY f.t_s"),
                "docs": db_rows(s, "SELECT kind, text FROM docs ORDER BY id"),
                "layers": [(x.name, x.done) for x in s.layers()],
            }  # fmt: skip

    resumed, clean = rows(killed), rows(videos)
    assert resumed["frames"] == clean["frames"] and resumed["shots"] == clean["shots"]
    assert resumed == clean
