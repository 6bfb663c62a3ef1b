"""SegmentSearcher on hand-built stores: real SQLite, real FAISS files, HashEmbedder vectors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from vidscout.errors import ConfigError, StoreError
from vidscout.memory.index import VectorIndex
from vidscout.memory.store import VideoStore
from vidscout.models.testing import HashEmbedder
from vidscout.retrieval.hybrid import SearchOptions, SegmentSearcher
from vidscout.types import TimeSpan

from .builders import build_store

EMB = HashEmbedder(dim=256)

CLIPS = [(0, 30), (30, 60), (60, 90), (90, 120), (120, 150), (150, 180)]
DOCS = [
    (0, "speech", "welcome to the show, today we visit the old harbour"),
    (1, "speech", "bridge bridge bridge over the river"),
    (2, "speech", "he rides across the bridge"),
    (3, "ocr", "EXIT 12 NORTH"),
    (4, "speech", "the recipe needs three eggs and a cup of flour"),
    (4, "visual", "kitchen, stove, pan"),
    (5, "speech", "the train leaves the station at noon"),
]
FRAMES = [
    (10.0, "harbour boats"),
    (40.0, "river water"),
    (70.0, "red bicycle wheel"),
    (100.0, "red bicycle"),
    (130.0, "kitchen stove"),
    (160.0, "train platform"),
]
SPEECH = [
    (0.0, 10.0, "hello and welcome to the old harbour tour today"),
    (120.0, 130.0, "now the recipe needs three eggs and a cup of flour"),
    (200.0, 205.0, "three cheers for everyone"),
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[VideoStore]:
    s = build_store(tmp_path / "v", clips=CLIPS, docs=DOCS, frames=FRAMES, speech=SPEECH, text_embedder=EMB)
    yield s
    s.close()


@pytest.fixture
def searcher(store: VideoStore) -> SegmentSearcher:
    return SegmentSearcher.open(store, text_embedder=EMB, image_text_embedder=EMB)


def test_exact_phrase_ranks_its_clip_first_with_bm25_and_with_dense(searcher: SegmentSearcher) -> None:
    query = "three eggs and a cup of flour"
    for hits in (searcher.rank_bm25(query), searcher.rank_text(query), searcher.search(query)):
        assert hits[0].clip == 4
        assert hits[0].span == TimeSpan(start_s=120, end_s=150)
        assert "three eggs" in hits[0].text
    assert searcher.rank_bm25(query)[0].source == "bm25"
    assert searcher.rank_text(query)[0].source == "text"
    assert searcher.search(query)[0].sources[:2] == ("text", "bm25")


def test_fusion_beats_each_ranker_alone(searcher: SegmentSearcher) -> None:
    # Clip 2 has the bridge in its speech and the red bicycle in its frame, but each ranker alone
    # prefers another clip: BM25 and dense text the bridge-heavy clip 1, frames the plain red
    # bicycle of clip 3.
    query = "red bicycle bridge"
    assert [h.clip for h in searcher.rank_bm25(query)][:2] == [1, 2]
    assert [h.clip for h in searcher.rank_text(query)][:2] == [1, 2]
    assert [h.clip for h in searcher.rank_frames(query)][:2] == [3, 2]
    fused = searcher.search(query)
    assert fused[0].clip == 2
    assert set(fused[0].sources) == {"text", "bm25", "frame"}
    assert fused[0].frame_id is not None and fused[0].doc_id is not None
    assert fused[0].text == "he rides across the bridge"


def test_frame_hits_cover_one_sample_period_of_their_clip(searcher: SegmentSearcher) -> None:
    hits = searcher.rank_frames("red bicycle")
    assert [(h.clip, h.span.start_s, h.span.end_s) for h in hits] == [(3, 100, 102), (2, 70, 72)]
    assert hits[0].text == "red, bicycle"  # the keyframe's tags
    only_frames = searcher.search("red bicycle", kinds=["frame"])
    assert [h.clip for h in only_frames] == [3, 2] and {h.kind for h in only_frames} == {"frame"}


def test_window_filter(searcher: SegmentSearcher) -> None:
    assert searcher.search("bridge")[0].clip == 1
    window = TimeSpan(start_s=60, end_s=120)
    hits = searcher.search("bridge", window=window)
    assert hits[0].clip == 2
    assert all(h.span.overlaps(window) for h in hits)
    assert searcher.search("train station", window=window) == []


def test_kinds_filter(searcher: SegmentSearcher) -> None:
    hits = searcher.search("exit 12 north kitchen", kinds=["ocr"])
    assert [(h.clip, h.kind) for h in hits] == [(3, "ocr")]


def test_diversity_spreads_neighbouring_results(tmp_path: Path) -> None:
    clips = [(float(a), float(a + 5)) for a in range(0, 30, 5)] + [(100.0, 110.0)]
    docs = [(i, "speech", f"eggs recipe part {i}") for i in range(len(clips))]
    frames = [(float(t), "red bicycle") for t in (0, 2, 4, 6, 8, 60)]
    with build_store(tmp_path / "v", clips=clips, docs=docs, frames=frames, text_embedder=EMB) as store:
        s = SegmentSearcher.open(store, text_embedder=EMB, image_text_embedder=EMB)
        spread = s.search("eggs recipe", kinds=["speech"])
        # Six 5-s clips in [0, 30) keep at most one per 10 s; the clip at 100 s always stays.
        assert 3 <= len(spread) <= 4 and 6 in {h.clip for h in spread}
        assert all(abs(a.span.start_s - b.span.start_s) >= 10 for a in spread for b in spread if a is not b)
        assert len(s.search("eggs recipe", kinds=["speech"], options=SearchOptions(min_gap_s=0))) == 7
        item = SearchOptions(fuse_by="item", min_gap_s=10)
        frames_hits = s.search("red bicycle", kinds=["frame"], options=item)
        starts = sorted(h.span.start_s for h in frames_hits)  # equal scores: any one of 0..8 s
        assert len(starts) == 2 and starts[0] <= 8 and starts[1] == 60
        every = s.search("red bicycle", kinds=["frame"], options=item.model_copy(update={"min_gap_s": 0}))
        assert sorted(h.span.start_s for h in every) == [0, 2, 4, 6, 8, 60]


def test_missing_or_stale_indexes_are_errors_and_no_embedders_fall_back_to_bm25(store: VideoStore) -> None:
    # A store whose FAISS file is gone would silently lose a ranker: say so, and what rebuilds it.
    frames = (store.root / "frames.faiss").read_bytes()
    (store.root / "frames.faiss").unlink()
    with pytest.raises(StoreError, match=r"frames\.faiss is missing .*vidscout ingest"):
        SegmentSearcher.open(store, text_embedder=EMB, image_text_embedder=EMB)
    (store.root / "frames.faiss").write_bytes(frames[: len(frames) // 2])
    with pytest.raises(StoreError, match=r"Cannot read FAISS index .*frames\.faiss"):
        SegmentSearcher.open(store, text_embedder=EMB, image_text_embedder=EMB)
    (store.root / "frames.faiss").write_bytes(frames)
    text = VectorIndex.load(store.root / "text.faiss")
    VectorIndex.build(np.zeros((1, text.dim), np.float32), np.array([1])).save(store.root / "text.faiss")
    with pytest.raises(StoreError, match=r"text\.faiss holds 1 vectors but docs has 7 rows"):
        SegmentSearcher.open(store, text_embedder=EMB)
    (store.root / "text.faiss").unlink()
    hits = SegmentSearcher.open(store).search("three eggs")  # no embedders at all: BM25 alone
    assert hits[0].clip == 4 and hits[0].sources == ("bm25",)
    assert SegmentSearcher.open(store).search("train")[0].clip == 5


def test_wrong_embedder_and_empty_query_are_config_errors(store: VideoStore, searcher: SegmentSearcher) -> None:
    with pytest.raises(ConfigError, match="256-d vectors"):
        SegmentSearcher.open(store, text_embedder=HashEmbedder(dim=32))
    with pytest.raises(ConfigError, match="empty"):
        searcher.search("  ")


def test_transcript_search_returns_utterances_with_word_times(searcher: SegmentSearcher) -> None:
    hits = searcher.search_transcript("three eggs")
    assert [h.span.start_s for h in hits] == [120, 200]
    best = hits[0]
    assert best.text.startswith("now the recipe") and best.score > hits[1].score
    # 11 words evenly over 10 s: "three" is word 4, "eggs" word 5.
    assert best.match is not None
    assert best.match.start_s == pytest.approx(120 + 4 * 10 / 11, abs=1e-3)
    assert best.match.end_s == pytest.approx(120 + 6 * 10 / 11, abs=1e-3)
    assert best.words[5].text == "eggs"
    window = TimeSpan(start_s=150, end_s=300)
    assert [h.span.start_s for h in searcher.search_transcript("three eggs", window=window)] == [200]
    assert searcher.search_transcript("zebra") == []


def test_speech_in_window(searcher: SegmentSearcher) -> None:
    got = searcher.speech_in(TimeSpan(start_s=125, end_s=210))
    assert [u.span.start_s for u in got] == [120, 200]
    assert got[0].words[0].text == "now" and got[0].score == 0
    assert searcher.speech_in(TimeSpan(start_s=10, end_s=120)) == []  # half-open: touching only
