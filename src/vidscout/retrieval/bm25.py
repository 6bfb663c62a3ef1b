"""Okapi BM25 over short documents (clip evidence, utterances), tokenised by `vidscout.text.tokenize`.

An immutable in-memory index: build it once from texts, then score queries. Numpy only.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, Field

from vidscout.text import tokenize


class BM25Options(BaseModel, frozen=True):
    """Okapi BM25 parameters."""

    k1: float = Field(default=1.2, ge=0.0)  # term-frequency saturation: 0 counts presence only
    b: float = Field(default=0.75, ge=0.0, le=1.0)  # length normalisation: 0 none, 1 full (per avg length)


class BM25Index:
    """Okapi BM25 scores of tokenised documents.

    ``score(D, Q) = sum_q idf(q) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * |D| / avgdl))`` over the
    distinct query tokens q, with ``idf(q) = ln((N - n_q + 0.5) / (n_q + 0.5) + 1)``: the
    non-negative (Lucene) variant, so a term present in most documents still adds a little
    instead of subtracting.
    """

    def __init__(self, docs: Sequence[Sequence[str]], *, options: BM25Options | None = None) -> None:
        """Index documents given as token lists (see `tokenize`); positions are document ids."""
        self.options = options or BM25Options()
        self._lengths = np.array([len(d) for d in docs], dtype=np.float64)
        self._avgdl = float(self._lengths.mean()) if len(docs) and self._lengths.sum() > 0 else 1.0
        postings: dict[str, tuple[list[int], list[int]]] = {}
        for i, doc in enumerate(docs):
            for term, tf in Counter(doc).items():
                ids, tfs = postings.setdefault(term, ([], []))
                ids.append(i)
                tfs.append(tf)
        self._postings = {
            t: (np.array(ids, dtype=np.int64), np.array(tfs, dtype=np.float64)) for t, (ids, tfs) in postings.items()
        }

    @classmethod
    def from_texts(cls, texts: Sequence[str], *, options: BM25Options | None = None) -> BM25Index:
        """Index raw texts with `tokenize`."""
        return cls([tokenize(t) for t in texts], options=options)

    def __len__(self) -> int:
        return len(self._lengths)

    def idf(self, term: str) -> float:
        """Inverse document frequency of one token (0 for an empty index)."""
        n = len(self._lengths)
        df = len(self._postings[term][0]) if term in self._postings else 0
        return math.log((n - df + 0.5) / (df + 0.5) + 1.0) if n else 0.0

    def scores(self, query: Sequence[str]) -> NDArray[np.float64]:
        """BM25 score of every document for the query tokens (repeats count once), shape (n,)."""
        k1, b = self.options.k1, self.options.b
        out = np.zeros(len(self._lengths), dtype=np.float64)
        norm = k1 * (1.0 - b + b * self._lengths / self._avgdl)
        for term in dict.fromkeys(query):
            if term not in self._postings:
                continue
            ids, tfs = self._postings[term]
            out[ids] += self.idf(term) * tfs * (k1 + 1.0) / (tfs + norm[ids])
        return out

    def top(
        self, query: str | Sequence[str], k: int, *, allowed: NDArray[np.bool_] | None = None
    ) -> list[tuple[int, float]]:
        """Up to ``k`` (document id, score) pairs with a positive score, best first (ties: lower id).

        Args:
            query: Raw text (tokenised here) or tokens.
            k: How many to return.
            allowed: Optional mask of shape (n,); documents where it is False are skipped.
        """
        tokens = tokenize(query) if isinstance(query, str) else query
        s = self.scores(tokens)
        keep = s > 0 if allowed is None else (s > 0) & allowed
        ids = np.nonzero(keep)[0]
        order = ids[np.argsort(-s[ids], kind="stable")][:k]
        return [(int(i), float(s[i])) for i in order]
