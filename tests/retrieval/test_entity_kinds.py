"""A question that names the kind of thing it wants (a phone number, a discount) finds the line that holds one.

Real SQLite store, documents built by ingest's own `clip_documents`, BM25 search through `SegmentSearcher`. The reader
side is in tests/agent/test_reader.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vidscout.memory.documents import clip_documents
from vidscout.memory.entities import kinds_in, with_kinds
from vidscout.memory.library_index import fts_terms
from vidscout.memory.store import VideoStore
from vidscout.models.base import SpeechSegment, TextBox, Word
from vidscout.retrieval.hybrid import SegmentSearcher
from vidscout.types import Segment, TimeSpan


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("Call 822-7294", ["phone number"]),
        ("(020) 7946 0958", ["phone number"]),
        ("+44 20 7946 0958", ["phone number"]),
        ("SALE 97% OFF", ["discount"]),
        ("SALE 48%OFF", ["discount"]),  # the recogniser often loses the space after "%"
        ("Tickets for the cobalt concert cost $3.", ["price"]),
        ("Tickets cost 12 dollars", ["price"]),
        ("The museum closes early on Thursday", ["day"]),
        ("Opens 12 May", ["date"]),
        ("deadline 2024-05-01", ["date"]),
        ("mail info@example.com", ["email address"]),
        ("WWW.BIGBUCKBUNNY.ORG", ["website"]),
        # Numbers that are not phone numbers, discounts or prices.
        ("Flight LK 1144 to Nairobi", []),
        ("Code 3377", []),
        ("ROOM 424", []),
        ("1990-2000", []),
        ("ISBN 978-3-16-148410-0", []),
        ("40% chance of rain", []),
        ("The bakery opens every morning at 9:30", []),  # clock times are not a kind (see `KINDS`)
        ("Sale ends soon", []),
        ("Score 4 - 2", []),
    ],
)
def test_kinds_in(text: str, kinds: list[str]) -> None:
    assert kinds_in(text) == kinds


def test_with_kinds_writes_them_after_the_line_and_the_library_index_holds_them() -> None:
    assert with_kinds("Call 822-7294") == "Call 822-7294 (phone number)"
    assert with_kinds("Code 3377") == "Code 3377"
    assert fts_terms("Call 822-7294").split() == ["call", "822", "7294", "phone", "number"]


CLIPS = [(0.0, 20.0), (20.0, 40.0), (40.0, 60.0), (60.0, 80.0)]
SIGNS = {10.0: "Call 822-7294", 30.0: "SALE 97% OFF", 50.0: "GATE K28", 70.0: "Code 3377"}
SAID = [(22.0, 26.0, "The museum closes early on Thursday because of the storm."),
        (42.0, 46.0, "Our next train to Vienna leaves from platform nine.")]  # fmt: skip


def _said(a: float, b: float, text: str) -> SpeechSegment:
    """An utterance whose words are spread evenly over [a, b]."""
    words = text.split()
    step = (b - a) / len(words)
    timed = tuple(Word(text=w, start_s=a + i * step, end_s=a + (i + 1) * step) for i, w in enumerate(words))
    return SpeechSegment(text=text, start_s=a, end_s=b, words=timed)


def _store(root: Path) -> VideoStore:
    store = VideoStore.open(root, create=True)
    with store.transaction():
        store.replace_segments(
            [Segment(level="clip", index=i, span=TimeSpan(start_s=a, end_s=b)) for i, (a, b) in enumerate(CLIPS)]
        )
        store.add_keyframes([(t, f"{t:010.3f}.jpg", 0.0) for t in range(0, 80, 2)])
        ids = {f.t_s: f.id for f in store.frames()}
        for t, text in SIGNS.items():
            for shown in (t, t + 2.0):
                store.add_ocr(ids[shown], [TextBox(text=text, score=0.99, box=(0.3, 0.4, 0.7, 0.5))])
        store.add_utterances([_said(a, b, text) for a, b, text in SAID])
        docs = clip_documents(store)
        store.replace_documents(docs, np.zeros((len(docs), 4), np.float32))
    return store


def test_a_question_naming_the_kind_finds_the_line_that_holds_one(tmp_path: Path) -> None:
    with _store(tmp_path / "v") as store:
        ocr = {d[2]: d[4] for d in clip_documents(store) if d[1] == "ocr"}
        assert ocr[0.0] == "Call 822-7294"  # the documents hold the lines as read; search adds their kinds
        searcher = SegmentSearcher.open(store)  # no embedders: BM25 alone, where only shared words count
        phone = searcher.search("At what time does the phone number appear on screen?", top_k=3)
        assert phone[0].kind == "ocr" and phone[0].span.start_s == 0.0
        assert phone[0].at == TimeSpan(start_s=10.0, end_s=14.0)  # the keyframes that show it, not the whole clip
        assert phone[0].text == "Call 822-7294"  # shown as read: no answer copies "(phone number)"
        discount = searcher.search("How big is the discount advertised on screen?", top_k=3)
        assert discount[0].kind == "ocr" and discount[0].span.start_s == 20.0
        day = searcher.search_transcript("On which day will the museum close early?")
        assert day[0].text.startswith("The museum closes early on Thursday")
        # A line without a kind is found by its own words only.
        assert searcher.search("Which gate is shown?", top_k=1)[0].span.start_s == 40.0
