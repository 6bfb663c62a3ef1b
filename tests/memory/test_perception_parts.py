"""Pure parts of the perception layers: utterances cut at pauses, OCR lines laid out in blocks, picture change."""

from __future__ import annotations

import numpy as np

from vidscout.memory.build import picture_change
from vidscout.memory.speech import split_at_pauses
from vidscout.memory.text_regions import text_blocks
from vidscout.models.base import SpeechSegment, Word


def _seg(words: list[tuple[str, float, float]]) -> SpeechSegment:
    return SpeechSegment(
        text=" ".join(w for w, _, _ in words),
        start_s=words[0][1] - 0.4,  # Whisper pads segment bounds
        end_s=words[-1][2] + 0.4,
        words=tuple(Word(text=w, start_s=a, end_s=b) for w, a, b in words),
    )


def test_utterances_are_cut_at_long_pauses_and_bounded_by_their_words() -> None:
    joined = _seg([("Hello", 19.6, 19.9), ("there.", 20.0, 20.4), ("Goodbye", 95.1, 95.6), ("now.", 95.7, 96.2)])
    out = split_at_pauses([joined], max_pause_s=1.0)
    assert [(u.text, u.start_s, u.end_s) for u in out] == [("Hello there.", 19.6, 20.4), ("Goodbye now.", 95.1, 96.2)]
    assert [len(u.words) for u in out] == [2, 2]
    # A short pause keeps one utterance, with its original text and bounds tightened to the words.
    kept = split_at_pauses([_seg([("one", 1.0, 1.3), ("two", 1.9, 2.2)])], max_pause_s=1.0)
    assert len(kept) == 1 and kept[0].text == "one two" and (kept[0].start_s, kept[0].end_s) == (1.0, 2.2)
    bare = SpeechSegment(text="no words", start_s=0.0, end_s=3.0)
    assert split_at_pauses([bare], max_pause_s=1.0) == [bare]


def test_credits_lines_stay_together_and_columns_apart() -> None:
    lines = [
        ("SACHA GOEDEGEBURE", 0.9, (0.30, 0.42, 0.70, 0.50)),
        ("Director", 0.95, (0.44, 0.35, 0.56, 0.40)),
        ("Left column", 0.9, (0.05, 0.80, 0.25, 0.84)),
        ("Right column", 0.8, (0.70, 0.80, 0.92, 0.84)),
        ("GATE B22", 0.9, (0.05, 0.05, 0.20, 0.10)),
        ("BOARDING", 0.9, (0.21, 0.05, 0.35, 0.10)),  # the same row, a word-gap away
    ]
    assert text_blocks(lines) == [
        ("GATE B22 BOARDING", 0.9),
        ("Director / SACHA GOEDEGEBURE", 0.9),
        ("Left column", 0.9),
        ("Right column", 0.8),
    ]
    # Big Buck Bunny's credits (boxes as RapidOCR read them at 08:12): each name stays with the role beside it.
    table = [
        ("Peach Open Movie Team", 0.98, (0.311, 0.219, 0.691, 0.294)),
        ("SACHA GOEDEGEBURE", 0.99, (0.234, 0.364, 0.513, 0.419)),
        ("Director", 0.99, (0.552, 0.364, 0.661, 0.422)),
        ("ANDREAS GORALCZYK", 0.99, (0.231, 0.425, 0.511, 0.483)),
        ("Art Director", 0.99, (0.550, 0.422, 0.705, 0.489)),
    ]
    assert text_blocks(table) == [
        ("Peach Open Movie Team / SACHA GOEDEGEBURE Director / ANDREAS GORALCZYK Art Director", 0.98)
    ]
    assert text_blocks([]) == []


def test_picture_change_sees_a_small_caption_the_frame_mean_misses() -> None:
    rng = np.random.default_rng(0)
    frame = rng.uniform(40, 200, size=(54, 96)).astype(np.float32)
    noisy = frame + rng.normal(0, 1.5, size=frame.shape).astype(np.float32)  # compression noise
    caption = frame.copy()
    caption[46:49, 35:60] = 255.0  # a 16 px caption on a 640 px frame, seen at 96 px
    assert picture_change(frame, noisy) < 3.0
    assert picture_change(frame, caption) > 20.0
    assert float(np.abs(caption - frame).mean()) < 3.0  # the whole-frame mean alone would miss it
