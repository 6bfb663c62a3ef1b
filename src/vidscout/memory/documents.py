"""Per-clip evidence documents (speech, on-screen text, captions, visual tags and facts) for the text index."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any, NamedTuple

from vidscout.memory.store import OcrLine, VideoStore
from vidscout.memory.text_regions import Box, text_blocks
from vidscout.memory.visual import span_phrases
from vidscout.text import tokenize
from vidscout.types import TimeSpan


class SpanEvidence(NamedTuple):
    """What the database holds over one time span."""

    speech: list[str]  # utterances overlapping the span, in time order
    ocr: list[tuple[str, float]]  # distinct on-screen text blocks (best score) on keyframes in the span, in time order
    tags: list[list[list[Any]]]  # per keyframe: [[label, score], ...]
    captions: list[str]  # Video-LLM captions of the clips overlapping the span, in time order
    facts: tuple[str, ...] = ()  # visual facts of its keyframes in words ("at least 3 people", "mostly green")


def span_evidence(store: VideoStore, start_s: float, end_s: float, *, frame_margin_s: float = 0.0) -> SpanEvidence:
    """Speech, OCR lines and tags over [start_s, end_s); keyframes may be taken ``frame_margin_s`` wider."""
    labels = store.speakers()
    speech = store.utterances(start_s, end_s)
    window = (start_s - frame_margin_s, end_s + frame_margin_s)
    return SpanEvidence(
        speech=[f"{labels[u.id]}: {u.text}" if u.id in labels else u.text for u in speech],
        ocr=ocr_blocks(store.ocr_lines(*window)),
        tags=[[[label, score] for label, score in row.labels] for row in store.tag_rows(*window)],
        captions=store.captions(start_s, end_s),
        facts=tuple(span_phrases(store, *window)),
    )


def ocr_blocks(lines: Sequence[OcrLine]) -> list[tuple[str, float]]:
    """Distinct text blocks of OCR lines (in time order), best score each.

    Each frame's lines are laid out into blocks (`vidscout.memory.text_regions.text_blocks`); a block seen
    on several keyframes is listed once, where it first appears.
    """
    best: dict[str, float] = {}
    names: dict[str, str] = {}
    frame: list[tuple[str, float, Box]] = []
    current: object = None

    def flush() -> None:
        for text, score in text_blocks(frame):
            # The same sign read twice ("Dr.Alvarez -Vienna", "Dr. Alvarez-Vienna") is one block.
            key = " ".join(tokenize(text)) or text
            name = names.setdefault(key, text)
            best[name] = max(best.get(name, 0.0), score)

    for line in lines:
        if line.frame_id != current:
            flush()
            frame, current = [], line.frame_id
        frame.append((line.text, line.score, line.box))
    flush()
    return list(best.items())


def speech_per_span(store: VideoStore, spans: Sequence[TimeSpan]) -> list[str]:
    """The utterances said in each of ``spans`` (sorted, disjoint), as one text per span.

    Each utterance goes whole to the one span holding most of its words (by word midpoint; by time overlap
    when it has no word times). A sentence across a cut stays in one piece, and an utterance that only
    touches a span (Whisper pads segment ends) does not land in it.
    """
    starts = [s.start_s for s in spans]
    parts: list[list[str]] = [[] for _ in spans]

    def place(t: float) -> int | None:
        i = bisect.bisect_right(starts, t) - 1
        return i if i >= 0 and t < spans[i].end_s else None

    labels = store.speakers()
    last: dict[int, str | None] = {}
    for sid, start, end, text, words in store.utterances():
        weight: dict[int, float] = {}
        for w in words:
            i = place((w.start_s + w.end_s) / 2)
            if i is not None:
                weight[i] = weight.get(i, 0.0) + 1.0
        if not weight:
            for i, sp in enumerate(spans):
                shared = min(end, sp.end_s) - max(start, sp.start_s)
                if shared > 0:
                    weight[i] = shared
        if weight:
            i = max(weight, key=lambda i: (weight[i], -i))
            label = labels.get(sid)
            # A label where the speaker changes, not before every utterance of one speaker.
            who = f"{label}: " if label and label != last.get(i) else ""
            last[i] = label
            parts[i].append(f"{who}{text}")
    return [" ".join(p) for p in parts]


def clip_documents(store: VideoStore) -> list[tuple[int, str, float, float, str]]:
    """Per-clip evidence texts: (segment row id, kind, start_s, end_s, text), kinds speech/ocr/visual.

    A clip's speech is the utterances said mostly inside it (`speech_per_span`), so a speech hit's span is
    where the words are. Its visual document holds the captions, the tags and the visual facts.
    """
    docs: list[tuple[int, str, float, float, str]] = []
    clips = store.segments("clip")
    speech = speech_per_span(store, [c.span for c in clips])
    for clip, said in zip(clips, speech, strict=True):
        sid = store.segment_id("clip", clip.index)
        a, b = clip.span.start_s, clip.span.end_s
        ev = span_evidence(store, a, b)
        if said:
            docs.append((sid, "speech", a, b, said))
        if ev.ocr:
            docs.append((sid, "ocr", a, b, " | ".join(text for text, _ in ev.ocr)))
        visual = [
            *ev.captions,
            *([summarise_tags(ev.tags)] if ev.tags else []),
            *([", ".join(ev.facts)] if ev.facts else []),
        ]
        if visual:
            docs.append((sid, "visual", a, b, " | ".join(visual)))
    return docs


def summarise_tags(per_frame: Sequence[Sequence[Sequence[Any]]], *, top: int = 5) -> str:
    """Merge per-frame [label, score] lists into one line of the most present labels."""
    mass: dict[str, float] = {}
    for tags in per_frame:
        for label, score in tags:
            mass[str(label)] = mass.get(str(label), 0.0) + float(score)
    best = sorted(mass.items(), key=lambda kv: -kv[1])[:top]
    return ", ".join(label for label, _ in best)
