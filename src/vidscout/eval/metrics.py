"""Pure scoring functions: word error rate, and precision/recall of event times."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from vidscout.text import normalise_words


class WER(BaseModel, frozen=True):
    """Word error rate with its parts; ``wer = (sub + dele + ins) / ref_words``."""

    wer: float
    substitutions: int
    deletions: int
    insertions: int
    ref_words: int


def word_error_rate(reference: str, hypothesis: str) -> WER:
    """Levenshtein alignment over normalised words (substitution, deletion, insertion cost 1).

    Words are lower-cased without punctuation and numbers as digits (`vidscout.text.normalise_words`), so
    "seven thirty" and "7:30" are the same two words.
    """
    ref, hyp = normalise_words(reference), normalise_words(hypothesis)
    # dp[j] = (cost, sub, del, ins) aligning ref[:i] with hyp[:j], one row at a time.
    prev = [(j, 0, 0, j) for j in range(len(hyp) + 1)]
    for i in range(1, len(ref) + 1):
        cur = [(i, 0, i, 0)]
        for j in range(1, len(hyp) + 1):
            same = ref[i - 1] == hyp[j - 1]
            d = prev[j - 1]
            diag = (d[0] + (not same), d[1] + (not same), d[2], d[3])
            up = prev[j]
            dele = (up[0] + 1, up[1], up[2] + 1, up[3])
            left = cur[j - 1]
            ins = (left[0] + 1, left[1], left[2], left[3] + 1)
            cur.append(min(diag, dele, ins))
        prev = cur
    cost, sub, dele, ins = prev[-1]
    return WER(wer=cost / max(len(ref), 1), substitutions=sub, deletions=dele, insertions=ins, ref_words=len(ref))


class EventScore(BaseModel, frozen=True):
    """Matching of predicted event times against true ones within a tolerance."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        """Share of predictions that match a true event (1.0 when nothing was predicted)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """Share of true events found (1.0 when there were none)."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def match_events(truth_s: Sequence[float], predicted_s: Sequence[float], *, tolerance_s: float = 0.5) -> EventScore:
    """Greedy one-to-one matching in time order: each true event takes the nearest free prediction."""
    free = sorted(predicted_s)
    tp = 0
    for t in sorted(truth_s):
        best = min(range(len(free)), key=lambda k: abs(free[k] - t), default=None)
        if best is not None and abs(free[best] - t) <= tolerance_s:
            free.pop(best)
            tp += 1
    return EventScore(tp=tp, fp=len(free), fn=len(truth_s) - tp)
