"""Who spoke when: cluster speech regions by voice embedding, and score the result (DER). Pure, no IO.

Regions are ``(start_s, end_s)``; speaker turns are ``(start_s, end_s, speaker)``. Embeddings are the
rows a `SpeakerEmbedder` returns for the regions' audio.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, Field

from vidscout.errors import ConfigError

Region = tuple[float, float]
Turn = tuple[float, float, str]


class DiarizeOptions(BaseModel, frozen=True):
    """Knobs for `diarize`.

    The defaults are calibrated on regions of 1-2 s (``split_regions(max_s=2.0)``) embedded by the
    resemblyzer encoder; bench/diarize_eval.py measures them.
    """

    # Average-linkage clustering merges two groups while the mean cosine similarity of their regions is
    # at least this (unitless, -1..1). Higher splits voices into more speakers; lower merges similar ones.
    # Longer regions embed more steadily and want a higher value: about 0.8 for 4-7 s regions.
    threshold: float = Field(default=0.67, ge=-1.0, le=1.0)
    # Regions shorter than this (seconds) carry too little voice for a stable embedding: they are left out
    # of clustering and take the speaker of the nearest clustered region in time.
    min_embed_s: float = Field(default=1.0, ge=0.0)
    # A speaker whose clustered regions add up to less than this (seconds) is dissolved: each of its regions
    # joins the most similar remaining speaker. Removes the one-window "speakers" that a window straddling
    # a change of voice creates; 0 keeps every cluster.
    min_speaker_s: float = Field(default=3.0, ge=0.0)
    # Upper bound on speakers found; merging goes on below the threshold until at most this many remain.
    # None: no bound, the threshold alone decides.
    max_speakers: int | None = Field(default=None, ge=1)


def diarize(
    regions: Sequence[Region], embeddings: NDArray[np.float32], *, options: DiarizeOptions | None = None
) -> list[str]:
    """Label each speech region with a speaker, ``S1``, ``S2``, … numbered by first appearance in time.

    The number of speakers is not given: regions long enough to embed reliably are clustered by
    average linkage on cosine similarity until no two groups are similar enough; the rest take the
    label of the nearest clustered region in time (distance between the intervals). Give it regions
    of one length scale, 1-2 s by default (see `DiarizeOptions.threshold`): cut longer speech with
    `split_regions` first, which also lets a change of speaker inside an ASR segment show.

    Args:
        regions: Speech regions in seconds, in any order, each presumed to hold one voice.
        embeddings: One L2-normalised row per region, shape (len(regions), dim); an all-zero row
            (no audio) never joins the clustering.
        options: Threshold and short-region handling.

    Returns:
        A label per region, in the order of ``regions``.

    Raises:
        ConfigError: The embeddings do not have one row per region, or a region ends before it starts.
    """
    options = options or DiarizeOptions()
    n = len(regions)
    if embeddings.ndim != 2 or embeddings.shape[0] != n:
        raise ConfigError(f"diarize needs one embedding row per region: {n} regions, embeddings {embeddings.shape}")
    if any(e < s for s, e in regions):
        raise ConfigError("diarize got a region that ends before it starts")
    if n == 0:
        return []
    usable = np.linalg.norm(embeddings, axis=1) > 0.5
    confident = [i for i in range(n) if usable[i] and regions[i][1] - regions[i][0] >= options.min_embed_s]
    if not confident:  # all short: cluster what there is rather than call everything one speaker
        confident = [i for i in range(n) if usable[i]]
    cluster = [-1] * n
    if confident:
        x = embeddings[confident].astype(np.float64)
        groups = _average_linkage(x, options.threshold, options.max_speakers)
        durations = np.array([regions[i][1] - regions[i][0] for i in confident])
        groups = _absorb_small(x, groups, durations, options.min_speaker_s)
        for i, g in zip(confident, groups, strict=True):
            cluster[i] = g
        for i in range(n):
            if cluster[i] < 0:
                cluster[i] = cluster[_nearest_in_time(regions[i], [(regions[j], j) for j in confident])]
    else:
        cluster = [0] * n
    order = sorted(range(n), key=lambda i: (regions[i][0], regions[i][1]))
    names: dict[int, str] = {}
    for i in order:
        names.setdefault(cluster[i], f"S{len(names) + 1}")
    return [names[c] for c in cluster]


def split_regions(regions: Sequence[Region], *, max_s: float) -> list[Region]:
    """Cut each region longer than ``max_s`` seconds into equal consecutive parts no longer than it.

    Use on ASR segments before embedding, so a segment in which the speaker changes is not given
    one voice.
    """
    if max_s <= 0:
        raise ConfigError(f"split_regions needs max_s > 0, got {max_s}")
    out: list[Region] = []
    for start, end in regions:
        parts = max(1, math.ceil((end - start) / max_s - 1e-9))
        step = (end - start) / parts
        out.extend((start + k * step, end if k == parts - 1 else start + (k + 1) * step) for k in range(parts))
    return out


def speaker_turns(regions: Sequence[Region], labels: Sequence[str], *, join_gap_s: float = 0.0) -> list[Turn]:
    """Merge time-ordered regions of one speaker into turns when the gap between them is at most ``join_gap_s``."""
    if len(regions) != len(labels):
        raise ConfigError(f"speaker_turns got {len(regions)} regions and {len(labels)} labels")
    turns: list[Turn] = []
    for (start, end), label in sorted(zip(regions, labels, strict=True)):
        if turns and turns[-1][2] == label and start - turns[-1][1] <= join_gap_s:
            turns[-1] = (turns[-1][0], max(end, turns[-1][1]), label)
        else:
            turns.append((start, end, label))
    return turns


class DiarizationScore(BaseModel, frozen=True):
    """Diarization error components in seconds of scored reference time (NIST md-eval definitions)."""

    reference_s: float  # reference speech, counted once per speaker talking (overlap counts twice)
    missed_s: float  # reference speech with fewer hypothesis speakers than reference speakers
    false_alarm_s: float  # hypothesis speech beyond the number of reference speakers
    confusion_s: float  # speech given to a hypothesis speaker not mapped to the reference speaker
    mapping: dict[str, str] = Field(default_factory=dict[str, str])  # reference speaker -> hypothesis speaker

    @property
    def rate(self) -> float:
        """DER: (missed + false alarm + confusion) / reference time; 0 or inf when there is no reference."""
        errors = self.missed_s + self.false_alarm_s + self.confusion_s
        if self.reference_s <= 0:
            return 0.0 if errors <= 0 else math.inf
        return errors / self.reference_s


def score_diarization(
    reference: Sequence[Turn], hypothesis: Sequence[Turn], *, collar_s: float = 0.25
) -> DiarizationScore:
    """Compare speaker turns with the reference under the optimal one-to-one speaker mapping.

    Args:
        reference: True turns ``(start_s, end_s, speaker)``; they may overlap.
        hypothesis: Predicted turns; labels need not match the reference's.
        collar_s: Time not scored on each side of every reference turn boundary (seconds), so a
            boundary off by less than this costs nothing. md-eval's ``-c 0.25``; pyannote's
            ``collar=0.5`` (it splits its collar over both sides).

    Returns:
        The error components; `DiarizationScore.rate` is the DER.
    """
    if collar_s < 0:
        raise ConfigError(f"collar_s must be >= 0, got {collar_s}")
    pieces = _scored_pieces(reference, hypothesis, collar_s)
    ref_names = sorted({spk for _, _, spk in reference})
    hyp_names = sorted({spk for _, _, spk in hypothesis})
    overlap = np.zeros((len(ref_names), len(hyp_names)))
    r_index = {s: i for i, s in enumerate(ref_names)}
    h_index = {s: i for i, s in enumerate(hyp_names)}
    for dur, ref, hyp in pieces:
        for r in ref:
            for h in hyp:
                overlap[r_index[r], h_index[h]] += dur
    pairs = _max_weight_matching(overlap) if overlap.size else []
    mapping = {ref_names[r]: hyp_names[h] for r, h in pairs if overlap[r, h] > 0}
    total = missed = false_alarm = confusion = 0.0
    for dur, ref, hyp in pieces:
        n_ref, n_hyp = len(ref), len(hyp)
        correct = sum(1 for r in ref if mapping.get(r) in hyp)
        total += dur * n_ref
        missed += dur * max(0, n_ref - n_hyp)
        false_alarm += dur * max(0, n_hyp - n_ref)
        confusion += dur * (min(n_ref, n_hyp) - correct)
    return DiarizationScore(
        reference_s=total, missed_s=missed, false_alarm_s=false_alarm, confusion_s=confusion, mapping=mapping
    )


def diarization_error_rate(reference: Sequence[Turn], hypothesis: Sequence[Turn], *, collar_s: float = 0.25) -> float:
    """DER of ``hypothesis`` against ``reference``: see `score_diarization` (0.0 is perfect; can exceed 1)."""
    return score_diarization(reference, hypothesis, collar_s=collar_s).rate


# --- helpers -----------------------------------------------------------------------------------------


def _average_linkage(x: NDArray[np.float64], threshold: float, max_groups: int | None) -> list[int]:
    """A group id per row of unit vectors ``x``, by average-linkage agglomeration on cosine similarity.

    The most similar pair of groups merges while its mean pairwise similarity is at least ``threshold``,
    or while more than ``max_groups`` groups remain.
    """
    n = x.shape[0]
    sim = x @ x.T
    np.fill_diagonal(sim, -np.inf)
    size = np.ones(n)
    # Each group's most similar other group. A merged group's similarity to k lies between k's similarities
    # to its two parts, so only rows whose best partner took part in a merge need a rescan: ~O(n^2) overall.
    best = sim.argmax(axis=1)
    best_sim = sim[np.arange(n), best]
    owner = np.arange(n)  # row -> group id (the surviving row of its group)
    remaining = n
    while remaining > 1:
        a = int(np.argmax(best_sim))
        b = int(best[a])
        if best_sim[a] < threshold and (max_groups is None or remaining <= max_groups):
            break
        # Lance-Williams update for average linkage: the merged group's mean similarity to every other.
        merged = (size[a] * sim[a] + size[b] * sim[b]) / (size[a] + size[b])
        sim[a], sim[:, a] = merged, merged
        sim[b], sim[:, b] = -np.inf, -np.inf
        sim[a, a] = -np.inf
        size[a] += size[b]
        owner[owner == b] = a
        best_sim[b] = -np.inf
        stale = np.flatnonzero((best == a) | (best == b))
        stale = np.union1d(stale[best_sim[stale] > -np.inf], [a])
        best[stale] = sim[stale].argmax(axis=1)
        best_sim[stale] = sim[stale, best[stale]]
        remaining -= 1
    return owner.tolist()


def _absorb_small(
    x: NDArray[np.float64], groups: list[int], durations: NDArray[np.float64], min_total_s: float
) -> list[int]:
    """Move the rows of groups shorter than ``min_total_s`` in all to the most similar kept group (mean cosine)."""
    ids = np.asarray(groups)
    totals = {g: float(durations[ids == g].sum()) for g in set(groups)}
    kept = [g for g in totals if totals[g] >= min_total_s]
    if not kept or len(kept) == len(totals):
        return groups
    sims = np.stack([(x @ x[ids == g].T).mean(axis=1) for g in kept], axis=1)  # (rows, kept groups)
    best = np.asarray(kept)[np.argmax(sims, axis=1)]
    return [g if totals[g] >= min_total_s else int(best[i]) for i, g in enumerate(groups)]


def _nearest_in_time(region: Region, candidates: Sequence[tuple[Region, int]]) -> int:
    """The id of the candidate region closest in time to ``region`` (gap 0 when they overlap or touch)."""
    start, end = region

    def gap(candidate: tuple[Region, int]) -> tuple[float, float]:
        (s, e), _ = candidate
        return (max(0.0, s - end, start - e), s)  # ties: the earlier region

    return min(candidates, key=gap)[1]


def _scored_pieces(
    reference: Sequence[Turn], hypothesis: Sequence[Turn], collar_s: float
) -> list[tuple[float, frozenset[str], frozenset[str]]]:
    """Sweep all boundaries: (duration, reference speakers, hypothesis speakers) per scored elementary piece."""
    events: list[tuple[float, int, int, str]] = []  # (time, track 0 ref / 1 hyp / 2 collar, +1 or -1, speaker)
    for track, turns in ((0, reference), (1, hypothesis)):
        for s, e, spk in turns:
            if e < s:
                raise ConfigError(f"A turn ends before it starts: {(s, e, spk)}")
            if e > s:
                events += [(s, track, +1, spk), (e, track, -1, spk)]
    if collar_s > 0:
        for s, e, _ in reference:
            for t in (s, e):
                events += [(t - collar_s, 2, +1, ""), (t + collar_s, 2, -1, "")]
    events.sort(key=lambda ev: ev[0])
    active: tuple[Counter[str], Counter[str]] = (Counter(), Counter())
    in_collar = 0
    pieces: list[tuple[float, frozenset[str], frozenset[str]]] = []
    i = 0
    while i < len(events):
        t = events[i][0]
        while i < len(events) and events[i][0] == t:
            _, track, delta, spk = events[i]
            if track == 2:
                in_collar += delta
            else:
                active[track][spk] += delta
            i += 1
        if i < len(events) and in_collar == 0:
            ref = frozenset(k for k, c in active[0].items() if c > 0)
            hyp = frozenset(k for k, c in active[1].items() if c > 0)
            if ref or hyp:
                pieces.append((events[i][0] - t, ref, hyp))
    return pieces


def _max_weight_matching(weights: NDArray[np.float64]) -> list[tuple[int, int]]:
    """Row-column pairs of a one-to-one assignment maximising the summed weight (Hungarian algorithm)."""
    transposed = weights.shape[0] > weights.shape[1]
    cost = -(weights.T if transposed else weights)  # rows <= columns from here on
    n, m = cost.shape
    u, v = np.zeros(n + 1), np.zeros(m + 1)
    owner = np.zeros(m + 1, dtype=int)  # owner[j]: 1-based row assigned to column j (0 = free)
    prev = np.zeros(m + 1, dtype=int)
    for row in range(1, n + 1):
        owner[0] = row
        col = 0
        best = np.full(m + 1, np.inf)
        used = np.zeros(m + 1, dtype=bool)
        while owner[col] != 0:
            used[col] = True
            r = owner[col]
            reduced = cost[r - 1] - u[r] - v[1:]
            better = ~used[1:] & (reduced < best[1:])
            best[1:][better] = reduced[better]
            prev[1:][better] = col
            free = np.where(used[1:], np.inf, best[1:])
            nxt = int(np.argmin(free)) + 1
            delta = free[nxt - 1]
            u[owner[used]] += delta
            v[used] -= delta
            best[~used] -= delta
            col = nxt
        while col:  # flip the augmenting path back to its start
            back = prev[col]
            owner[col] = owner[back]
            col = back
    pairs = [(int(owner[j]) - 1, j - 1) for j in range(1, m + 1) if owner[j]]
    return sorted((c, r) for r, c in pairs) if transposed else sorted(pairs)
