from __future__ import annotations

import pytest

from vidscout.models.base import Word
from vidscout.retrieval.hybrid import SearchOptions
from vidscout.retrieval.search import (
    Hit,
    HitKind,
    HitSource,
    clip_index_at,
    clip_key,
    diversify,
    filter_kinds,
    filter_window,
    hit_key,
    in_window,
    match_span,
    minmax_normalise,
    reciprocal_rank_fusion,
    snippet,
    temporal_distance,
)
from vidscout.types import TimeSpan


def span(a: float, b: float) -> TimeSpan:
    return TimeSpan(start_s=a, end_s=b)


def doc(
    i: int,
    a: float,
    b: float,
    *,
    source: HitSource = "text",
    score: float = 1.0,
    clip: int | None = None,
    kind: HitKind = "speech",
    text: str = "",
) -> Hit:
    return Hit(source=source, kind=kind, span=span(a, b), score=score, clip=clip, doc_id=i, text=text)


def frame(i: int, t: float, *, clip: int | None = None, score: float = 0.3) -> Hit:
    return Hit(source="frame", kind="frame", span=span(t, t + 2), score=score, clip=clip, frame_id=i)


def test_rrf_sums_reciprocal_ranks() -> None:
    a, b, c = doc(1, 0, 10), doc(2, 10, 20), doc(3, 20, 30)
    fused = reciprocal_rank_fusion([[a, b, c], [b.model_copy(update={"source": "bm25"}), c]], k=60)
    assert [h.doc_id for h in fused] == [2, 3, 1]
    assert fused[0].score == pytest.approx(1 / 62 + 1 / 61)
    assert fused[1].score == pytest.approx(1 / 63 + 1 / 62)
    assert fused[2].score == pytest.approx(1 / 61)
    assert fused[0].source == "fused"
    assert fused[0].sources == ("bm25", "text")  # the larger share (rank 1 in bm25) first
    assert fused[2].sources == ("text",)


def test_rrf_weights_and_validation() -> None:
    a, b = doc(1, 0, 10), doc(2, 10, 20)
    assert [h.doc_id for h in reciprocal_rank_fusion([[a, b], [b, a]], weights=[1.0, 2.0])] == [2, 1]
    assert [h.doc_id for h in reciprocal_rank_fusion([[a, b], [b]], weights=[1.0, 0.0])] == [1, 2]
    assert reciprocal_rank_fusion([]) == []
    with pytest.raises(ValueError, match="2 weights for 1"):
        reciprocal_rank_fusion([[a]], weights=[1.0, 1.0])
    with pytest.raises(ValueError, match="non-negative"):
        reciprocal_rank_fusion([[a]], weights=[-1.0])


def test_rrf_counts_only_the_best_rank_of_a_key_per_ranking() -> None:
    a = doc(1, 0, 10)
    fused = reciprocal_rank_fusion([[a, a, doc(2, 10, 20)]])
    assert [h.score for h in fused] == pytest.approx([1 / 61, 1 / 63])


def test_rrf_by_clip_merges_modalities_and_keeps_the_evidence() -> None:
    speech = doc(7, 30, 60, clip=2, text="three eggs")
    ocr = doc(8, 30, 60, clip=2, kind="ocr", source="bm25", text="EGGS 2.99")
    shot = frame(40, 42.0, clip=2)
    other = frame(41, 100.0, clip=5)
    fused = reciprocal_rank_fusion([[speech], [ocr], [other, shot]], key=clip_key)
    assert [h.clip for h in fused] == [2, 5]
    top = fused[0]
    assert top.score == pytest.approx(1 / 61 + 1 / 61 + 1 / 62)
    assert (top.kind, top.doc_id, top.frame_id, top.text) == ("speech", 7, 40, "three eggs")
    assert top.span == span(30, 60)
    assert top.sources == ("text", "bm25", "frame")
    # A frame-only clip keeps the frame's own span, and hits without a clip fall back to the item.
    assert fused[1].span == span(100, 102)
    assert clip_key(doc(1, 0, 1)) == ("doc", 1)


def test_search_s_default_fusion_keeps_a_clip_both_text_rankers_put_first_in_the_top_six() -> None:
    # Twelve clips of visual labels that every ranker lists (the frame ranker lists nearly every clip), and one sign
    # both text rankers put first but no frame matches ("SALE 70% OFF" for "How big is the discount?").
    sign = doc(0, 0, 8, clip=0, kind="ocr")
    labels = [doc(c, 10 * c, 10 * c + 8, clip=c, kind="visual") for c in range(1, 13)]
    words = [h.model_copy(update={"source": "bm25"}) for h in [sign, *labels]]
    frames = [frame(c, 10.0 * c, clip=c) for c in range(1, 13)]
    o = SearchOptions()
    rankings, weights = [[sign, *labels], words, frames], [o.text_weight, o.bm25_weight, o.frame_weight]

    def place(k: float) -> int:
        return [h.clip for h in reciprocal_rank_fusion(rankings, k=k, weights=weights, key=clip_key)].index(0)

    assert place(o.rrf_k) < 6
    assert place(60.0) == 12  # at k = 60, being listed by all three rankers beat being first in two


def test_rrf_ties_break_by_time() -> None:
    late, early = doc(1, 50, 60), doc(2, 0, 10)
    assert [h.doc_id for h in reciprocal_rank_fusion([[late], [early]])] == [2, 1]


def test_window_and_kind_filters() -> None:
    hits = [doc(1, 0, 10), frame(2, 10.0), doc(3, 20, 30, kind="ocr"), frame(4, 40.0)]
    assert [h.span.start_s for h in filter_window(hits, span(9, 21))] == [0, 10, 20]
    assert filter_window(hits, None) == hits
    assert [h.span.start_s for h in filter_window(hits, span(11, 11))] == [10]  # an instant
    assert filter_window(hits, span(30, 40)) == []  # half-open: touching is not overlapping
    assert [h.doc_id for h in filter_kinds(hits, ["ocr"])] == [3]
    assert filter_kinds(hits, None) == hits
    assert in_window(span(5, 5), span(5, 9)) and not in_window(span(9, 9), span(5, 9))


def test_temporal_distance() -> None:
    assert temporal_distance(span(0, 10), span(5, 15)) == 0
    assert temporal_distance(span(0, 2), span(10, 12)) == 10
    assert temporal_distance(span(0, 30), span(30, 32)) == 16  # centres 15 and 31
    assert temporal_distance(span(4, 4), span(0, 10)) == 0


def test_diversify_suppresses_neighbours_of_better_hits() -> None:
    hits = [frame(1, 100.0), frame(2, 102.0), frame(3, 300.0), frame(4, 96.0), frame(5, 130.0)]
    assert [h.frame_id for h in diversify(hits, min_gap_s=10)] == [1, 3, 5]
    assert [h.frame_id for h in diversify(hits, min_gap_s=10, top_k=2)] == [1, 3]
    assert [h.frame_id for h in diversify(hits, min_gap_s=0)] == [1, 2, 3, 4, 5]  # none overlap
    same = [doc(1, 0, 30, clip=0), doc(2, 0, 30, clip=0, kind="ocr"), doc(3, 30, 60, clip=1)]
    assert [h.doc_id for h in diversify(same, min_gap_s=0)] == [1, 3]  # same moment twice
    assert diversify([], min_gap_s=5) == []


def test_diversify_keeps_a_neighbour_with_other_evidence() -> None:
    # The clip where the arrival is said stays beside the sign's clip the frame ranker lifted above it.
    def hit(i: int, a: float, b: float, kind: HitKind, text: str) -> Hit:
        return Hit(source="fused", kind=kind, span=span(a, b), score=1.0 / i, clip=i, doc_id=i, text=text)

    sign = hit(1, 151.8, 162.0, "ocr", "Dr. Okafor - Nairobi")
    said = hit(2, 161.5, 164.8, "speech", "S3: Doctor Castillo will arrive on Saturday morning.")
    again = hit(3, 164.8, 168.0, "ocr", "Dr. Okafor - Nairobi | Gate 4")  # the same sign on the next clip
    tags = hit(4, 140.0, 150.0, "visual", "website, menu | text on screen")
    other_tags = hit(5, 134.0, 140.0, "visual", "Chihuahua, bolo tie | mostly black")  # the scene's other guesses
    far = hit(6, 300.0, 304.0, "ocr", "Dr. Okafor - Nairobi")
    kept = diversify([sign, said, again, tags, other_tags, far], min_gap_s=10)
    assert [h.doc_id for h in kept] == [1, 2, 4, 6]


def test_minmax_normalise() -> None:
    out = minmax_normalise([doc(1, 0, 1, score=3.0), doc(2, 0, 1, score=1.0), doc(3, 0, 1, score=2.0)])
    assert [h.score for h in out] == [1.0, 0.0, 0.5]
    assert [h.score for h in minmax_normalise([doc(1, 0, 1, score=7.0)])] == [1.0]
    assert minmax_normalise([]) == []


def test_clip_index_at() -> None:
    starts = [0.0, 12.5, 40.0]
    assert [clip_index_at(starts, t) for t in (0.0, 12.4, 12.5, 39.9, 500.0)] == [0, 0, 1, 1, 2]
    assert clip_index_at([5.0], 1.0) is None


def test_snippet_centres_on_the_first_query_word() -> None:
    text = " ".join(f"w{i}" for i in range(100)) + " the EGGS are here " + " ".join(f"z{i}" for i in range(100))
    s = snippet(text, ["eggs"], width=60)
    assert "EGGS" in s and s.startswith("…") and s.endswith("…")
    assert len(s) <= 62
    assert snippet("short  text\nhere", ["x"]) == "short text here"
    assert snippet(text, ["nothing"], width=30).startswith("w0 w1")


def test_match_span_finds_where_the_words_are_said() -> None:
    said = " Eggs are good. Now the recipe needs three eggs, and flour."
    words = [Word(text=w, start_s=i, end_s=i + 0.5) for i, w in enumerate(said.split(" ")[1:])]
    # "recipe needs three eggs" (words 5-8) beats the lone "Eggs" at word 0.
    assert match_span(words, ["recipe", "three", "eggs"]) == span(5, 8.5)
    assert match_span(words, ["eggs"]) == span(0, 0.5)  # tie: the earlier run
    assert match_span(words, ["zebra"]) is None
    assert match_span([], ["eggs"]) is None


def test_a_hit_fused_by_clip_carries_the_clip_s_other_speech_and_on_screen_text() -> None:
    # A clip ranked first by its visual tags ("text on screen") still brings the sign BM25 found in it.
    span = TimeSpan(start_s=220.0, end_s=228.0)
    tags = Hit(source="text", kind="visual", span=span, clip=33, doc_id=1, score=0.3, text="menu | text on screen")
    sign = Hit(source="bm25", kind="ocr", span=span, clip=33, doc_id=2, score=7.6, text="Call 313-4057")
    said = Hit(source="bm25", kind="speech", span=span, clip=33, doc_id=3, score=2.0, text="S1: Please call me.")
    more = Hit(source="bm25", kind="ocr", span=span, clip=33, doc_id=5, score=1.0, text="call")
    gate = Hit(source="bm25", kind="ocr", span=TimeSpan(start_s=0, end_s=4), clip=0, doc_id=4, score=9.0, text="GATE")
    fused = reciprocal_rank_fusion([[tags, gate], [gate, sign, tags, said, more]], k=20, key=clip_key)
    clip = next(h for h in fused if h.clip == 33)
    assert clip.kind == "visual" and clip.text == tags.text  # text rank 1 (1/21) outweighs BM25 rank 2 (1/22)
    assert clip.score == pytest.approx(1 / 21 + 1 / 22)  # each ranking counts its best hit of the clip once
    assert [o.doc_id for o in clip.others] == [2, 3]  # strongest first, not its own document, at most two
    assert next(h for h in fused if h.clip == 0).others == ()
    assert all(h.others == () for h in reciprocal_rank_fusion([[tags], [sign, tags]], k=20, key=hit_key))
