"""Which segment caches a question gets: ranking (external or internal) and selection under a token budget.

External retrieval ranks clips with the database's own hybrid search (`SegmentSearcher`); internal
retrieval follows ReKV: the question's mean query vector against each segment's mean key vector,
per layer with heads concatenated, averaged over layers (see `internal_scores`). Both are pure
functions here; the model and file IO live in `vidscout.kv.answer`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from vidscout.retrieval.hybrid import SegmentSearcher


@dataclass(frozen=True)
class Ranked:
    """A segment index with its retrieval score (higher is better)."""

    index: int
    score: float


def external_ranking(searcher: SegmentSearcher, question: str, *, candidates: int) -> list[Ranked]:
    """Clip indices ranked by hybrid search (speech, OCR, tags, frames), best first, each once."""
    seen: set[int] = set()
    out: list[Ranked] = []
    for hit in searcher.search(question, top_k=candidates):
        if hit.clip is not None and hit.clip not in seen:
            seen.add(hit.clip)
            out.append(Ranked(hit.clip, float(hit.score)))
    return out


def internal_scores(query: torch.Tensor, key_means: torch.Tensor) -> torch.Tensor:
    """Relevance of segments to a question from the model's own vectors (ReKV's internal retrieval).

    Per layer, the dot product of the question's mean query with each segment's mean key (heads
    concatenated) is standardised across the segments, then layers are averaged. ReKV uses the
    cosine; on the 0.5B planner's text caches the raw cosine ranked at chance (the keys share a
    large common component from the k_proj bias), and standardising per layer stops the layers with
    the largest norms from deciding alone (tests/kv/test_answer.py measures the top-1 hit rate).

    Args:
        query: (layers, kv_heads, head_dim) mean pre-RoPE query of the question.
        key_means: (segments, layers, kv_heads, head_dim) mean pre-RoPE key per segment.

    Returns:
        (segments,) scores, higher is more relevant; only their order is meaningful.
    """
    q = query.float().flatten(1)  # (layers, heads*dim)
    k = key_means.float().flatten(2)  # (segments, layers, heads*dim)
    dots = (k * q.unsqueeze(0)).sum(-1)  # (segments, layers)
    if dots.shape[0] < 2:
        return dots.mean(dim=1)
    z = (dots - dots.mean(dim=0)) / dots.std(dim=0).clamp_min(1e-6)
    return z.mean(dim=1)


def rank_by_scores(indices: Sequence[int], scores: torch.Tensor) -> list[Ranked]:
    """Pair ``indices`` with ``scores`` and sort best first (ties by index, so runs repeat)."""
    pairs = [Ranked(i, float(s)) for i, s in zip(indices, scores.tolist(), strict=True)]
    return sorted(pairs, key=lambda r: (-r.score, r.index))


def select_under_budget(
    ranking: Sequence[Ranked], n_tokens: Mapping[int, int], *, top_k: int, budget_tokens: int
) -> list[int]:
    """Take segments in rank order while they fit ``budget_tokens`` (at most ``top_k``), then sort by time.

    A segment too big for the remaining budget is skipped and smaller, lower-ranked ones may still
    fill it. Returns indices in ascending order (time order for clips).
    """
    chosen: list[int] = []
    used = 0
    for r in ranking:
        if len(chosen) >= top_k:
            break
        n = n_tokens[r.index]
        if r.index in chosen or used + n > budget_tokens:
            continue
        chosen.append(r.index)
        used += n
    return sorted(chosen)
