"""Options by retrieval alone (`vidscout.retrieval.choice.choose`) when the recogniser misheard the answer.

Hand-built stores (real SQLite, FAISS and MiniLM). The misheard lines are Whisper base's own output on planted dev
videos; the tag labels are EfficientNet's on their footage.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vidscout.models.registry import make_text_embedder
from vidscout.retrieval.choice import choose
from vidscout.retrieval.hybrid import SegmentSearcher
from vidscout.settings import Settings

from .builders import build_store

pytest.importorskip("sentence_transformers")

SPEECH = [
    (10.0, 14.0, "S1: Doctor Quaylin will arrive on Monday morning."),
    (40.0, 44.0, "S2: Our next train to Viennese from Platform 3."),
    (70.0, 74.0, "S1: The secret password and summit wall hut."),
]
FRAMES = [(11.0, "bison hay"), (41.0, "bison llama"), (71.0, "padlock hourglass")]


@pytest.mark.parametrize(
    ("question", "options", "right"),
    [
        ("Which doctor is due to arrive on Monday?", ["Rossi", "Petrov", "Quinlan", "Castillo"], 2),
        ("What password does the speaker give?", [f"summit {w}" for w in ("walnut", "granite", "pepper", "raven")], 0),
        # A tag label close to an option ("bison", "Lisbon") is the tagger's word, not a misheard one.
        ("What is the destination of the train leaving from platform three?", ["Lisbon", "Vienna", "Cairo", "Lima"], 1),
    ],
)
def test_the_option_the_recogniser_misheard_is_chosen(
    tmp_path: Path, question: str, options: list[str], right: int
) -> None:
    embedder = make_text_embedder("minilm", Settings(data_dir=tmp_path))
    clips = [(0.0, 30.0), (30.0, 60.0), (60.0, 90.0)]
    docs = [(i, "speech", text) for i, (_, _, text) in enumerate(SPEECH)]
    with build_store(tmp_path / "v", clips=clips, docs=docs, frames=FRAMES, speech=SPEECH,
                     text_embedder=embedder) as store:  # fmt: skip
        searcher = SegmentSearcher.open(store, text_embedder=embedder)
        choice = choose(question, options, searcher, store, text_embedder=embedder)
        assert choice.index == right, (options, choice.scores)
