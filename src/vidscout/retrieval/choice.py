"""Multiple choice by retrieval alone: no LLM, the baseline every agent run is compared with.

Two cases:

- Every option is a time (``"00:12:30"``, ``"12:30"``): the question's top search hit places the
  event, and the option nearest to that hit's span wins.
- Otherwise each option is scored against the evidence (speech, on-screen text, tag labels) of the
  question's top hits: the share of the option's words found there (a word said or shown that the recognisers got
  wrong counts as much as it is close: `vidscout.text.near_share`), weighted by hit rank, plus the dense
  similarity of option and evidence; a visual term adds how well the option alone matches the best keyframe, so
  "which of these is shown" questions can be answered from frames.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

from vidscout.choices import option_distances, time_options
from vidscout.errors import ConfigError
from vidscout.memory.documents import span_evidence
from vidscout.memory.store import VideoStore
from vidscout.models.base import TextEmbedder
from vidscout.retrieval.hybrid import SegmentSearcher
from vidscout.retrieval.search import Hit
from vidscout.text import NEAR_MIN, near_share, overlap
from vidscout.types import TimeSpan

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


def choose_time(times: Sequence[float], hits: Sequence[Hit]) -> Choice:
    """The option nearest to the top hit's span (first option when there is no hit)."""
    if not hits:
        return Choice(index=0, scores=[0.0] * len(times), evidence=[], mode="time")
    span = hits[0].at or hits[0].span
    scores = [-d for d in option_distances(times, [span])]
    return Choice(index=int(np.argmax(scores)), scores=scores, evidence=[span], mode="time")


def evidence_texts(store: VideoStore, span: TimeSpan) -> tuple[str, str]:
    """What ``span`` holds as text, read once (keyframes taken 1 s wider): everything, and what is said or shown.

    The first joins speech, on-screen lines, captions and tag labels. The second is speech and on-screen lines
    alone: the words a recogniser may have got wrong, which an option may match as heard (`near_share`). A label the
    tagger chose ("bison") is not a misheard "Lisbon".
    """
    ev = span_evidence(store, span.start_s, span.end_s, frame_margin_s=1.0)
    heard = [*ev.speech, *(text for text, _ in ev.ocr)]
    labels = {str(label) for frame in ev.tags for label, _ in frame}
    return " ".join([*heard, *ev.captions, *sorted(labels)]), " ".join(heard)


def choose_content(
    options: Sequence[str],
    hits: Sequence[Hit],
    store: VideoStore,
    *,
    text_embedder: TextEmbedder | None,
    frame_scores: Sequence[float] | None = None,
) -> Choice:
    """Score each option against the evidence of ``hits`` (see the module docstring)."""
    read = [evidence_texts(store, h.span) for h in hits]  # (everything, said or shown) per hit
    weights = [1.0 / (1.0 + RANK_DECAY * r) for r in range(len(hits))]
    dense = np.zeros((len(options), len(hits)), np.float32)
    if text_embedder is not None and hits:
        vecs = text_embedder.embed_text([*options, *(everything for everything, _ in read)])
        dense = np.clip(vecs[: len(options)] @ vecs[len(options) :].T, 0.0, 1.0)
    scores: list[float] = []
    for i, option in enumerate(options):
        words = [max(overlap(option, t), near_share(option, h, least=NEAR_MIN)) for t, h in read]
        per_hit = [w * (words[j] + DENSE_WEIGHT * float(dense[i, j])) for j, w in enumerate(weights)]
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
    hits: Sequence[Hit] | None = None,
) -> Choice:
    """Pick one of ``options`` for ``question`` from the database alone.

    Args:
        question: The question.
        options: Option texts, A first.
        searcher: The video's searcher.
        store: The video's database.
        text_embedder: Embeds options and evidence for the dense term (None: word overlap alone).
        top_k: Hits of the question whose evidence is read.
        hits: The question's hits when the caller already searched (``top_k`` of them).

    Raises:
        ConfigError: The question has no words, or there are no options.
    """
    if not options:
        raise ConfigError("Retrieval can only answer multiple-choice questions; give the options.")
    hits = searcher.search(question, top_k=top_k) if hits is None else hits
    times = time_options(options)
    if times is not None:
        return choose_time(times, hits)
    frame_scores = [max((h.score for h in searcher.rank_frames(o)), default=0.0) for o in options]
    return choose_content(options, hits, store, text_embedder=text_embedder, frame_scores=frame_scores)
