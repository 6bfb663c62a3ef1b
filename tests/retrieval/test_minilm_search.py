"""Dense search with the real embedded text model (all-MiniLM-L6-v2) finds paraphrases."""

from __future__ import annotations

from pathlib import Path

import pytest

from vidscout.models.registry import make_text_embedder
from vidscout.retrieval.hybrid import SearchOptions, SegmentSearcher
from vidscout.settings import Settings

from .builders import build_store

pytest.importorskip("sentence_transformers")

DOCS = [
    "the train leaves the station at noon",
    "the recipe needs three eggs and a cup of flour",
    "the striker scores a late goal in the football match",
    "how to change a punctured bicycle tyre",
    "the weather will be sunny and warm tomorrow",
]


def test_minilm_paraphrase_query_finds_the_recipe(tmp_path: Path) -> None:
    embedder = make_text_embedder("minilm", Settings(data_dir=tmp_path))
    clips = [(i * 30.0, i * 30.0 + 30.0) for i in range(len(DOCS))]
    docs = [(i, "speech", text) for i, text in enumerate(DOCS)]
    with build_store(tmp_path / "v", clips=clips, docs=docs, text_embedder=embedder) as store:
        searcher = SegmentSearcher.open(store, text_embedder=embedder)
        query = "where do they talk about cooking eggs"
        dense = searcher.rank_text(query)
        assert dense[0].text == DOCS[1]
        assert dense[0].score > 0.4 and all(h.score < dense[0].score - 0.2 for h in dense[1:])
        # No shared word with "cooking" or "talk": dense alone (BM25 weight 0) still finds it.
        assert searcher.search("cooking breakfast", options=SearchOptions(bm25_weight=0))[0].clip == 1
        assert searcher.search(query)[0].clip == 1
