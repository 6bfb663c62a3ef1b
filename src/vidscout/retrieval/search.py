"""Pure ranking functions: reciprocal rank fusion, time windows, temporal diversity, snippets.

Also the `Hit` and `Utterance` result types. No IO here; everything is tested with literals.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, Field

from vidscout.models.base import Word
from vidscout.text import tokenize
from vidscout.types import TimeSpan

HitSource = Literal["text", "bm25", "frame", "fused"]
"""Which ranker produced a hit: dense text, BM25, dense frame (text→image), or their fusion."""

HitKind = Literal["speech", "ocr", "visual", "frame"]
"""What the evidence is: a clip's speech / on-screen text / visual-tag document, or one keyframe."""

HOW_FOUND: dict[HitKind, str] = {"speech": "said", "ocr": "on screen", "visual": "seen", "frame": "seen"}
"""Each kind of evidence in the words evidence lines and tool observations use ("said", "on screen", "seen")."""

HitKey = Callable[["Hit"], Hashable]
"""Decides which hits of different rankings are the same result when fusing."""

MAX_OTHERS = 2
"""Most other documents a fused hit carries (`Hit.others`)."""

_WORDED: frozenset[HitKind] = frozenset({"speech", "ocr"})
"""The kinds whose documents are words said or shown, which `Hit.others` carries (tags and frames are not)."""


class Hit(BaseModel, frozen=True):
    """One ranked piece of evidence with its place in the video."""

    source: HitSource
    kind: HitKind
    span: TimeSpan = Field(description="Where the evidence is: a clip's span, or [t, t + sample period).")
    score: float = Field(description="Cosine (text, frame), BM25, or RRF sum (fused); higher is better.")
    clip: int | None = Field(default=None, description="Index of the clip holding the evidence.")
    doc_id: int | None = Field(default=None, description="Row id in the store's docs table.")
    frame_id: int | None = Field(default=None, description="Row id in the store's frames table.")
    text: str = Field(default="", description="Evidence text or a snippet of it (tags for frames).")
    at: TimeSpan | None = Field(
        default=None,
        description="Where inside ``span`` the query's words are said or shown (the utterance, or the keyframes "
        "showing the text); None when not located.",
    )
    sources: tuple[HitSource, ...] = Field(
        default=(), description="For fused hits: the rankers that found it, strongest first."
    )
    others: tuple[Hit, ...] = Field(
        default=(),
        description="For hits fused by clip: the clip's other speech and on-screen text documents the rankers "
        "found, strongest first (at most `MAX_OTHERS`). ``text`` is the strongest contributor's alone, so a clip "
        "ranked by its visual tags still shows the words said or shown in it.",
    )


def hit_key(hit: Hit) -> Hashable:
    """Identity of the underlying item: the same doc or frame found by two rankers is one result."""
    if hit.doc_id is not None:
        return ("doc", hit.doc_id)
    if hit.frame_id is not None:
        return ("frame", hit.frame_id)
    return ("span", hit.kind, hit.span.start_s, hit.span.end_s)


def clip_key(hit: Hit) -> Hashable:
    """Identity of the clip holding the evidence, so speech, OCR and frame evidence reinforce each other."""
    return ("clip", hit.clip) if hit.clip is not None else hit_key(hit)


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[Hit]],
    *,
    k: float = 60.0,
    weights: Sequence[float] | None = None,
    key: HitKey = hit_key,
) -> list[Hit]:
    """Fuse ranked lists by reciprocal rank: ``score(d) = sum_r w_r / (k + rank_r(d))``, ranks from 1.

    Ranks, not scores, are combined, so rankers with incomparable scales (cosine, BM25) mix
    without calibration. Within one ranking only the best-ranked hit of each key counts.

    Args:
        rankings: Hit lists, each best first.
        k: Damping constant; larger values flatten the difference between rank 1 and rank 10.
        weights: One non-negative weight per ranking (default all 1.0); a weight of 0 ignores it.
        key: Which hits are the same result (`hit_key`: same doc/frame; `clip_key`: same clip).

    Returns:
        Fused hits, best first (ties: earlier in time). Each is the contributor with the largest
        weighted share, re-labelled ``source="fused"``, with the union of contributors' spans, the
        best doc id, frame id and text among them, ``sources`` listing the rankers, and ``others``:
        the speech and on-screen text documents of the same key other than its own, by their best
        share (any rank of any ranking counts there, not only the key's best in each).

    Raises:
        ValueError: ``weights`` does not have one entry per ranking, or one is negative.
    """
    ws = [1.0] * len(rankings) if weights is None else [float(w) for w in weights]
    if len(ws) != len(rankings):
        raise ValueError(f"{len(ws)} weights for {len(rankings)} rankings")
    if any(w < 0 for w in ws):
        raise ValueError(f"weights must be non-negative, got {ws}")
    totals: dict[Hashable, float] = {}
    shares: dict[Hashable, list[tuple[float, int, Hit]]] = {}
    members: dict[Hashable, list[tuple[float, int, Hit]]] = {}
    for r, (ranking, w) in enumerate(zip(rankings, ws, strict=True)):
        if w == 0:
            continue
        seen: set[Hashable] = set()
        for rank, hit in enumerate(ranking, start=1):
            hk = key(hit)
            share = w / (k + rank)
            members.setdefault(hk, []).append((share, r, hit))
            if hk in seen:
                continue
            seen.add(hk)
            totals[hk] = totals.get(hk, 0.0) + share
            shares.setdefault(hk, []).append((share, r, hit))
    fused = [_merge(sorted(shares[hk], key=lambda s: (-s[0], s[1])), totals[hk], members[hk]) for hk in totals]
    return sorted(fused, key=lambda h: (-h.score, h.span.start_s, h.span.end_s))


def _merge(contributors: Sequence[tuple[float, int, Hit]], score: float,
           members: Sequence[tuple[float, int, Hit]] = ()) -> Hit:  # fmt: skip
    """One fused hit from its contributors, strongest first; ``members``: every hit of its key, for ``others``."""
    hits = [c[2] for c in contributors]
    shown = next((h for h in hits if h.text), hits[0])
    others: dict[int, Hit] = {}
    for _, _, hit in sorted(members, key=lambda m: (-m[0], m[1])):
        if hit.kind in _WORDED and hit.doc_id is not None and hit.doc_id not in (shown.doc_id, *others):
            others[hit.doc_id] = hit.model_copy(update={"others": ()})
    best = hits[0]
    span = TimeSpan(start_s=min(h.span.start_s for h in hits), end_s=max(h.span.end_s for h in hits))
    sources = tuple(dict.fromkeys(s for h in hits for s in (h.sources or (h.source,))))
    return best.model_copy(
        update={
            "source": "fused",
            "span": span,
            "score": score,
            "doc_id": next((h.doc_id for h in hits if h.doc_id is not None), None),
            "frame_id": next((h.frame_id for h in hits if h.frame_id is not None), None),
            "text": shown.text,
            "sources": sources,
            "others": tuple(others.values())[:MAX_OTHERS],
        }
    )


def in_window(span: TimeSpan, window: TimeSpan) -> bool:
    """True when ``span`` shares time with ``window``; an instant counts when it lies inside the other."""
    if span.duration_s == 0:
        return window.contains(span.start_s) or span.start_s == window.start_s
    if window.duration_s == 0:
        return span.contains(window.start_s)
    return span.overlaps(window)


def filter_window(hits: Iterable[Hit], window: TimeSpan | None) -> list[Hit]:
    """The hits whose spans overlap ``window``, in their order; all of them when ``window`` is None."""
    return list(hits) if window is None else [h for h in hits if in_window(h.span, window)]


def filter_kinds(hits: Iterable[Hit], kinds: Iterable[HitKind] | None) -> list[Hit]:
    """The hits of the given kinds, in their order; all of them when ``kinds`` is None."""
    if kinds is None:
        return list(hits)
    wanted = set(kinds)
    return [h for h in hits if h.kind in wanted]


def temporal_distance(a: TimeSpan, b: TimeSpan) -> float:
    """Seconds between the spans' centres, or 0 when they share time (the same moment twice)."""
    if in_window(a, b):
        return 0.0
    return abs((a.start_s + a.end_s) - (b.start_s + b.end_s)) / 2


def diversify(hits: Sequence[Hit], *, min_gap_s: float, top_k: int | None = None) -> list[Hit]:
    """Greedy suppression of repeats: drop a hit near a kept one that says the same (`_alike`).

    Walks ``hits`` best first, so a suppressed hit always lost to a better one nearby; kept hits
    stay in input order. Suppressed hits are not used to fill up to ``top_k``: a few spread-out
    results serve a search better than ten neighbouring seconds of the same sign or tags.

    A neighbour with other evidence is kept: the clip where a doctor's arrival is said stays beside the
    clip before it, whose sign and keyframes the frame ranker lifted above it (its frames' spans run into
    the next clip, so the two clips' spans touched).

    Args:
        hits: Hits, best first.
        min_gap_s: Minimum `temporal_distance` between kept hits that are alike, seconds. Alike hits that
            share time with a kept one are always dropped, so 0 removes only same-moment repeats.
        top_k: Stop after this many kept hits (None: no limit).
    """
    kept: list[Hit] = []
    for hit in hits:
        if top_k is not None and len(kept) >= top_k:
            break
        near = [k for k in kept if (d := temporal_distance(hit.span, k.span)) == 0 or d < min_gap_s]
        if not any(_alike(hit, k) for k in near):
            kept.append(hit)
    return kept


ALIKE_SHARE = 0.5
"""Two hits of one kind say the same when this share of the shorter one's words is in the other (`_alike`)."""


def _alike(a: Hit, b: Hit) -> bool:
    """Whether ``a`` repeats ``b``: the same clip, or the same kind with mostly the same words.

    Seen neighbours (tags, frames) always count as repeats: the tags of one scene vary from clip to clip.
    """
    if a.clip is not None and a.clip == b.clip:
        return True
    if a.kind != b.kind:
        return False
    if a.kind not in _WORDED:
        return True
    wa, wb = set(tokenize(a.text)), set(tokenize(b.text))
    if not wa or not wb:
        return True
    return len(wa & wb) >= ALIKE_SHARE * min(len(wa), len(wb))


def minmax_normalise(hits: Sequence[Hit]) -> list[Hit]:
    """Copies of ``hits`` with scores rescaled to [0, 1] (all 1.0 when every score is equal)."""
    if not hits:
        return []
    lo, hi = min(h.score for h in hits), max(h.score for h in hits)
    scale = hi - lo
    return [h.model_copy(update={"score": (h.score - lo) / scale if scale > 0 else 1.0}) for h in hits]


def clip_index_at(clip_starts: Sequence[float], t_s: float) -> int | None:
    """Index of the clip containing ``t_s`` given the clips' sorted start times (None before the first)."""
    i = bisect.bisect_right(clip_starts, t_s) - 1
    return i if i >= 0 else None


_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def snippet(text: str, terms: Iterable[str], *, width: int = 200) -> str:
    """At most about ``width`` characters of ``text`` around the first occurrence of one of ``terms``.

    ``terms`` are lower-case tokens (as from `vidscout.retrieval.bm25.tokenize`). Cuts fall on
    word boundaries and are marked with ``…``; without a match the text's beginning is shown.
    """
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    wanted = set(tokenize(" ".join(terms)))  # raw words or tokens alike
    pos = next((m.start() for m in _WORD.finditer(text) if wanted & set(tokenize(m.group()))), 0)
    start = max(0, min(pos - width // 3, len(text) - width))
    end = min(len(text), start + width)
    if start > 0:
        cut = text.find(" ", start)
        start = cut + 1 if 0 <= cut < pos else start
    if end < len(text):
        cut = text.rfind(" ", start, end)
        end = cut if cut > start else end
    return ("…" if start > 0 else "") + text[start:end] + ("…" if end < len(text) else "")


class Utterance(BaseModel, frozen=True):
    """One transcribed utterance with word times, as returned by transcript search."""

    id: int = Field(description="Row id in the store's speech table.")
    span: TimeSpan
    text: str
    words: tuple[Word, ...] = ()
    speaker: str | None = Field(default=None, description="Speaker label (S1, S2...) when the video has several.")
    score: float = Field(default=0.0, description="BM25 score for the query (0 when not searched).")
    match: TimeSpan | None = Field(
        default=None, description="Where the query's words are said, from word times (None: unknown)."
    )


def match_span(words: Sequence[Word], terms: Iterable[str], *, max_skip: int = 2) -> TimeSpan | None:
    """The time of the best run of query words inside an utterance.

    Matched words (any token in ``terms``) separated by at most ``max_skip`` other words form a
    run; the run covering the most distinct terms wins (ties: the earlier one).

    Args:
        words: The utterance's words with their times.
        terms: Query tokens (see `tokenize`).
        max_skip: Unmatched words allowed inside one run.
    """
    wanted = set(tokenize(" ".join(terms)))  # raw words or tokens alike
    found = [(i, set(tokenize(w.text)) & wanted) for i, w in enumerate(words)]
    found = [(i, ts) for i, ts in found if ts]
    if not found:
        return None
    runs: list[list[tuple[int, set[str]]]] = [[found[0]]]
    for item in found[1:]:
        if item[0] - runs[-1][-1][0] <= max_skip + 1:
            runs[-1].append(item)
        else:
            runs.append([item])
    best = max(runs, key=lambda run: len(set[str]().union(*(ts for _, ts in run))))
    first, last = words[best[0][0]], words[best[-1][0]]
    return TimeSpan(start_s=first.start_s, end_s=max(first.start_s, last.end_s))
