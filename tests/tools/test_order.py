"""`order` places an event by the line that says it, also when the recogniser misheard some of its words.

A hand-built store (real SQLite, FAISS and MiniLM); the misheard line is Whisper base's own output on a planted dev
video ("Please meet me at the marble fountain at eleven o'clock." said by espeak).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from vidscout.models.registry import Backends, make_text_embedder
from vidscout.retrieval.hybrid import SegmentSearcher
from vidscout.settings import Settings
from vidscout.tools.default import default_tools
from vidscout.tools.order import OrderResult
from vidscout.tools.registry import ToolContext, VideoDeps
from vidscout.video.decode import VideoInfo

from ..retrieval.builders import build_store

pytest.importorskip("sentence_transformers")

SPEECH = [
    (20.0, 24.0, "S1: The meeting room is on the second floor, next to the lifts."),
    (70.0, 74.0, "S2: The Sierra Bakery opens every morning at 7.30."),
    (150.0, 154.0, "S2: Please meet me at the Mabel Founty at 11 o'clock."),
]


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[ToolContext]:
    settings = Settings(data_dir=tmp_path)
    embedder = make_text_embedder("minilm", settings)
    clips = [(0.0, 50.0), (50.0, 100.0), (100.0, 200.0)]
    docs = [(i, "speech", text) for i, (_, _, text) in enumerate(SPEECH)]
    info = VideoInfo(path="v.mp4", size_bytes=1, duration_s=200.0, fps=25.0, width=64, height=36, n_frames=5000,
                     video_codec="h264", has_audio=True)  # fmt: skip
    with build_store(tmp_path / "v", clips=clips, docs=docs, speech=SPEECH, text_embedder=embedder) as store:
        searcher = SegmentSearcher.open(store, text_embedder=embedder)
        yield ToolContext(VideoDeps.open(Path("v.mp4"), store, Backends(settings), info=info, searcher=searcher))


def test_an_event_whose_words_were_misheard_is_placed_by_the_line_that_sounds_like_it(ctx: ToolContext) -> None:
    events = ["the meeting at the marble fountain", "the sierra bakery's opening time"]
    outcome = default_tools().call("order", {"events": events}, ctx)
    assert outcome.ok, outcome
    result = outcome.result
    assert isinstance(result, OrderResult)
    placed = {p.event: p for p in result.items}
    meeting = placed["the meeting at the marble fountain"]
    assert meeting.span.start_s >= 150.0 and "Founty" in meeting.text, result.to_observation()
    assert meeting.named  # "meet" and "Founty" hold two of its three words, one as heard
    assert [p.event for p in result.items] == events[::-1]
