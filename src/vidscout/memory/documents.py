"""Per-clip evidence documents (speech, on-screen text, captions and visual tags) for the text index."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, NamedTuple

from vidscout.memory.store import VideoStore


class SpanEvidence(NamedTuple):
    """What the database holds over one time span."""

    speech: list[str]  # utterances overlapping the span, in time order
    ocr: list[tuple[str, float]]  # distinct on-screen lines (best score) on keyframes in the span, in time order
    tags: list[list[list[Any]]]  # per keyframe: [[label, score], ...]
    captions: list[str]  # Video-LLM captions of the clips overlapping the span, in time order


def span_evidence(store: VideoStore, start_s: float, end_s: float, *, frame_margin_s: float = 0.0) -> SpanEvidence:
    """Speech, OCR lines and tags over [start_s, end_s); keyframes may be taken ``frame_margin_s`` wider."""
    speech = store.query("SELECT text FROM speech WHERE end_s > ? AND start_s < ? ORDER BY start_s", (start_s, end_s))
    window = (start_s - frame_margin_s, end_s + frame_margin_s)
    ocr = store.query(
        "SELECT o.text, MAX(o.score) FROM ocr o JOIN frames f ON f.id = o.frame_id WHERE f.t_s >= ? AND f.t_s < ?"
        " GROUP BY o.text ORDER BY MIN(f.t_s), MIN(o.id)",
        window,
    )
    tags = store.query(
        "SELECT t.tags FROM tags t JOIN frames f ON f.id = t.frame_id WHERE f.t_s >= ? AND f.t_s < ? ORDER BY f.t_s",
        window,
    )
    captions = store.query(
        "SELECT text FROM captions WHERE end_s > ? AND start_s < ? ORDER BY start_s", (start_s, end_s)
    )
    return SpanEvidence(
        speech=[str(r[0]) for r in speech],
        ocr=[(str(r[0]), float(r[1])) for r in ocr],
        tags=[json.loads(r[0]) for r in tags],
        captions=[str(r[0]) for r in captions],
    )


def clip_documents(store: VideoStore) -> list[tuple[int, str, float, float, str]]:
    """Per-clip evidence texts: (segment row id, kind, start_s, end_s, text), kinds speech/ocr/visual."""
    docs: list[tuple[int, str, float, float, str]] = []
    for clip in store.segments("clip"):
        sid = store.segment_id("clip", clip.index)
        a, b = clip.span.start_s, clip.span.end_s
        ev = span_evidence(store, a, b)
        if ev.speech:
            docs.append((sid, "speech", a, b, " ".join(ev.speech)))
        if ev.ocr:
            docs.append((sid, "ocr", a, b, " | ".join(text for text, _ in ev.ocr)))
        visual = [*ev.captions, summarise_tags(ev.tags)] if ev.tags else ev.captions
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
