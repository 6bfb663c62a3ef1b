"""Multiple choice by retrieval alone: no LLM, the baseline every agent run is compared with.

Two cases:

- Every option is a time (``"00:12:30"``, ``"12:30"``): the question's top search hit places the
  event, and the option nearest to that hit's span wins.
- Otherwise each option is scored against the evidence (speech, on-screen text, tag labels) of the
  question's top hits: the share of the option's words found there, weighted by hit rank, plus the
  dense similarity of option and evidence; a visual term adds how well the option alone matches the
  best keyframe, so "which of these is shown" questions can be answered from frames.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

from vidscout.errors import ConfigError
from vidscout.memory.documents import span_evidence
from vidscout.memory.store import VideoStore
from vidscout.models.base import TextEmbedder
from vidscout.retrieval.bm25 import tokenize
from vidscout.retrieval.hybrid import SegmentSearcher
from vidscout.retrieval.search import Hit
from vidscout.tools.registry import parse_time
from vidscout.types import TimeSpan

_TIME = re.compile(r"^\s*(\d{1,2}:)?\d{1,2}:\d{2}(\.\d+)?\s*$")
DENSE_WEIGHT = 0.5
"""Weight of the option-evidence cosine next to the word overlap (0-1)."""
FRAME_WEIGHT = 0.5
"""Weight of the option's best keyframe cosine."""
RANK_DECAY = 0.25
"""Hit at rank r (0 first) counts ``1 / (1 + RANK_DECAY * r)``."""


class Choice(BaseModel, frozen=True):
    """The option retrieval picked, its scores, and the spans it read."""

    index: int
    scores: list[float]
    evidence: list[TimeSpan]
    mode: str  # "time" or "content"


def time_options(options: Sequence[str]) -> list[float] | None:
    """The options as seconds when every one is a clock time, else None."""
    if not options or not all(_TIME.match(o) for o in options):
        return None
    return [parse_time(o.strip()) for o in options]


def span_distance(t_s: float, span: TimeSpan) -> float:
    """Seconds from ``t_s`` to ``span`` (0 inside it)."""
    return max(span.start_s - t_s, 0.0, t_s - span.end_s)


def option_distances(times: Sequence[float], spans: Sequence[TimeSpan]) -> list[float]:
    """Seconds from each clock-time option to the nearest of ``spans`` (``spans`` must not be empty)."""
    return [min(span_distance(t, s) for s in spans) for t in times]


def choose_time(times: Sequence[float], hits: Sequence[Hit]) -> Choice:
    """The option nearest to the top hit's span (first option when there is no hit)."""
    if not hits:
        return Choice(index=0, scores=[0.0] * len(times), evidence=[], mode="time")
    span = hits[0].span
    scores = [-d for d in option_distances(times, [span])]
    return Choice(index=int(np.argmax(scores)), scores=scores, evidence=[span], mode="time")


def overlap(option: str, evidence: str) -> float:
    """Share of the option's words (tokenised as for BM25) that occur in ``evidence``; 0 for a wordless option."""
    words = set(tokenize(option))
    return len(words & set(tokenize(evidence))) / len(words) if words else 0.0


def evidence_text(store: VideoStore, span: TimeSpan) -> str:
    """Speech, on-screen lines, captions and tag labels over ``span`` (keyframes taken 1 s wider), as one text."""
    ev = span_evidence(store, span.start_s, span.end_s, frame_margin_s=1.0)
    labels = {str(label) for frame in ev.tags for label, _ in frame}
    return " ".join([*ev.speech, *(text for text, _ in ev.ocr), *ev.captions, *sorted(labels)])


def choose_content(
    options: Sequence[str],
    hits: Sequence[Hit],
    store: VideoStore,
    *,
    text_embedder: TextEmbedder | None,
    frame_scores: Sequence[float] | None = None,
) -> Choice:
    """Score each option against the evidence of ``hits`` (see the module docstring)."""
    texts = [evidence_text(store, h.span) for h in hits]
    weights = [1.0 / (1.0 + RANK_DECAY * r) for r in range(len(hits))]
    dense = np.zeros((len(options), len(hits)), np.float32)
    if text_embedder is not None and hits:
        vecs = text_embedder.embed_text([*options, *texts])
        dense = np.clip(vecs[: len(options)] @ vecs[len(options) :].T, 0.0, 1.0)
    scores: list[float] = []
    for i, option in enumerate(options):
        per_hit = [w * (overlap(option, t) + DENSE_WEIGHT * float(dense[i, j]))
                   for j, (w, t) in enumerate(zip(weights, texts, strict=True))]  # fmt: skip
        visual = FRAME_WEIGHT * frame_scores[i] if frame_scores is not None else 0.0
        scores.append(max(per_hit, default=0.0) + visual)
    return Choice(index=int(np.argmax(scores)), scores=scores, evidence=[h.span for h in hits], mode="content")


def choose(
    question: str,
    options: Sequence[str],
    searcher: SegmentSearcher,
    store: VideoStore,
    *,
    text_embedder: TextEmbedder | None,
    top_k: int = 5,
) -> Choice:
    """Pick one of ``options`` for ``question`` from the database alone.

    Raises:
        ConfigError: The question has no words, or there are no options.
    """
    if not options:
        raise ConfigError("Retrieval can only answer multiple-choice questions; give the options.")
    hits = searcher.search(question, top_k=top_k)
    times = time_options(options)
    if times is not None:
        return choose_time(times, hits)
    frame_scores = [max((h.score for h in searcher.rank_frames(o)), default=0.0) for o in options]
    return choose_content(options, hits, store, text_embedder=text_embedder, frame_scores=frame_scores)
