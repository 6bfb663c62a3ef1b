"""Reading the visual facts layer: which keyframes the detectors examine, and the facts of a span in words.

The layer itself is written by `vidscout.memory.build`; this module holds what it and the readers (clip
documents, browse, chapters, tools) share.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from vidscout.memory.store import VideoStore
from vidscout.models.base import FrameFacts
from vidscout.models.visual_facts import SpanFacts, fact_phrases, summarise_facts


def detection_plan(times_s: Sequence[float], shot_starts_s: Sequence[float], *, every_s: float) -> set[int]:
    """Indices of the keyframes the (slow) people and face detectors examine.

    The first keyframe of every shot, then the next one at least ``every_s`` after the last examined one
    in the same shot. It depends on the keyframe times and cuts alone, so a resumed layer examines the
    same keyframes as a clean run.
    """
    plan: set[int] = set()
    last_shot, last_t = -1, 0.0
    for i, t in enumerate(times_s):
        shot = bisect.bisect_right(shot_starts_s, t) - 1
        if shot != last_shot or t - last_t >= every_s - 1e-6:
            plan.add(i)
            last_shot, last_t = shot, t
    return plan


def has_visual_facts(store: VideoStore) -> bool:
    """Whether the store holds the visual facts layer (older stores do not have its tables)."""
    return store.layer("visual_facts") is not None


def facts_between(store: VideoStore, start_s: float, end_s: float) -> list[FrameFacts]:
    """The stored facts of the keyframes in [start_s, end_s), in time order."""
    if not has_visual_facts(store):
        return []
    return store.facts_between(start_s, end_s)


def span_facts(store: VideoStore, start_s: float, end_s: float, *, frame_margin_s: float = 0.0) -> SpanFacts:
    """The merged facts of the keyframes in a span (taken ``frame_margin_s`` wider), with whether text was read."""
    a, b = start_s - frame_margin_s, end_s + frame_margin_s
    facts = summarise_facts(facts_between(store, a, b))
    return facts.model_copy(update={"text": True}) if store.has_ocr_text(a, b) else facts


def span_phrases(store: VideoStore, start_s: float, end_s: float, *, frame_margin_s: float = 0.0) -> list[str]:
    """The facts of a span in plain words ("at least 3 people", "mostly green", "camera pans left", ...)."""
    return fact_phrases(span_facts(store, start_s, end_s, frame_margin_s=frame_margin_s))
