"""Per-clip speech documents hold the utterances said mostly inside their clip (real SQLite store)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vidscout.memory.documents import clip_documents, speech_per_span
from vidscout.memory.store import VideoStore
from vidscout.models.base import SpeechSegment, Word
from vidscout.types import Segment, TimeSpan

CLIPS = [(0.0, 35.875), (35.875, 39.75), (39.75, 47.0), (47.0, 60.0)]


def _store(root: Path, speech: list[tuple[float, float, str, list[list[Any]]]]) -> VideoStore:
    store = VideoStore.open(root, create=True)
    with store.transaction():
        store.replace_segments(
            [Segment(level="clip", index=i, span=TimeSpan(start_s=a, end_s=b)) for i, (a, b) in enumerate(CLIPS)]
        )
        store.add_utterances([
            SpeechSegment(text=text, start_s=a, end_s=b,
                          words=tuple(Word(text=str(t), start_s=float(w0), end_s=float(w1), prob=float(pr))
                                      for t, w0, w1, pr in words))
            for a, b, text, words in speech
        ])  # fmt: skip
    return store


def test_each_utterance_is_in_the_one_clip_holding_most_of_its_words(tmp_path: Path) -> None:
    # Whisper pads the segment: it starts 50 ms before the cut at 39.75 while the first word is at 39.8;
    # the second utterance runs across the cut at 47.0 with 3 of its 4 words before it.
    password = [["The", 39.8, 40.3, 0.5], ["secret", 40.3, 40.7, 0.9], ["password", 40.7, 41.3, 0.9],
                ["is", 41.3, 41.6, 0.9], ["giraffe.", 41.6, 42.4, 0.9]]  # fmt: skip
    across = [["meet", 45.0, 45.5, 0.9], ["me", 45.5, 46.0, 0.9], ["at", 46.5, 47.1, 0.9], ["noon", 47.2, 48.0, 0.9]]
    speech = [(39.7, 43.6, "The secret password is giraffe.", password), (44.9, 48.0, "meet me at noon", across),
              (1.0, 37.0, "an untimed line", [])]  # fmt: skip
    with _store(tmp_path / "v", speech) as store:
        spans = [TimeSpan(start_s=a, end_s=b) for a, b in CLIPS]
        assert speech_per_span(store, spans) == [
            "an untimed line", "", "The secret password is giraffe. meet me at noon", "",
        ]  # fmt: skip
        docs = [(d[1], d[2], d[4]) for d in clip_documents(store)]
    assert ("speech", 39.75, "The secret password is giraffe. meet me at noon") in docs
    assert not any(kind == "speech" and start == 35.875 for kind, start, _ in docs)  # touched by 50 ms: nothing
