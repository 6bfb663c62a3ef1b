"""Per-clip evidence documents (speech, on-screen text, visual tags) for the text index."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from vidscout.memory.store import VideoStore


def clip_documents(store: VideoStore) -> list[tuple[int, str, float, float, str]]:
    """Per-clip evidence texts: (segment row id, kind, start_s, end_s, text), kinds speech/ocr/visual."""
    docs: list[tuple[int, str, float, float, str]] = []
    for clip in store.segments("clip"):
        sid = store.segment_id("clip", clip.index)
        a, b = clip.span.start_s, clip.span.end_s
        speech = store.query("SELECT text FROM speech WHERE end_s > ? AND start_s < ? ORDER BY start_s", (a, b))
        if speech:
            docs.append((sid, "speech", a, b, " ".join(r[0] for r in speech)))
        ocr = store.query(
            "SELECT DISTINCT o.text FROM ocr o JOIN frames f ON f.id = o.frame_id WHERE f.t_s >= ? AND f.t_s < ?",
            (a, b),
        )
        if ocr:
            docs.append((sid, "ocr", a, b, " | ".join(r[0] for r in ocr)))
        tags = store.query(
            "SELECT t.tags FROM tags t JOIN frames f ON f.id = t.frame_id WHERE f.t_s >= ? AND f.t_s < ?",
            (a, b),
        )
        if tags:
            docs.append((sid, "visual", a, b, summarise_tags([json.loads(r[0]) for r in tags])))
    return docs


def summarise_tags(per_frame: Sequence[Sequence[Sequence[Any]]], *, top: int = 5) -> str:
    """Merge per-frame [label, score] lists into one line of the most present labels."""
    mass: dict[str, float] = {}
    for tags in per_frame:
        for label, score in tags:
            mass[str(label)] = mass.get(str(label), 0.0) + float(score)
    best = sorted(mass.items(), key=lambda kv: -kv[1])[:top]
    return ", ".join(label for label, _ in best)
