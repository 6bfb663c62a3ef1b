"""FAISS vector indexes keyed by int64 ids: exact for small collections, HNSW for large ones.

Indexes are written atomically (temp file + rename) so a killed process never leaves a torn file.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
from numpy.typing import NDArray

from vidscout._io import atomic_path
from vidscout.errors import StoreError

HNSW_MIN_ROWS = 50_000  # below this, exact inner-product search is fast enough (and exact)


class VectorIndex:
    """Inner-product search over L2-normalised float32 rows with external int64 ids."""

    def __init__(self, index: faiss.Index) -> None:
        self._index = index

    @classmethod
    def build(cls, vectors: NDArray[np.float32], ids: NDArray[np.int64]) -> VectorIndex:
        """Build from rows (n, dim) and their ids (n,); the index type is chosen by size."""
        if vectors.ndim != 2 or len(vectors) != len(ids):
            raise ValueError(f"vectors {vectors.shape} and ids {ids.shape} do not match")
        dim = int(vectors.shape[1])
        if len(vectors) >= HNSW_MIN_ROWS:
            base: faiss.Index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        else:
            base = faiss.IndexFlatIP(dim)
        index = faiss.IndexIDMap2(base)
        if len(vectors):
            index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
        return cls(index)

    @classmethod
    def flat(cls, dim: int) -> VectorIndex:
        """An empty exact index that rows can be added to and removed from by id range (`add`, `remove_range`)."""
        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dim)))

    @classmethod
    def load(cls, path: Path) -> VectorIndex:
        """Read an index written by `save`.

        Raises:
            StoreError: The file is damaged (the next ``vidscout ingest`` of the video rebuilds it).
        """
        try:
            return cls(faiss.read_index(str(path)))
        except RuntimeError as e:
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise StoreError(f"Cannot read FAISS index {path} ({reason}); `vidscout ingest VIDEO` rebuilds it.") from e

    def save(self, path: Path) -> None:
        """Write atomically: a reader sees the old file or the new one, never a partial one."""
        with atomic_path(path) as tmp:
            faiss.write_index(self._index, str(tmp))

    @property
    def size(self) -> int:
        """Number of stored rows."""
        return int(self._index.ntotal)

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return int(self._index.d)

    def add(self, vectors: NDArray[np.float32], ids: NDArray[np.int64]) -> None:
        """Append rows (n, dim) with their ids (n,); ids must not be in the index already."""
        if vectors.ndim != 2 or len(vectors) != len(ids):
            raise ValueError(f"vectors {vectors.shape} and ids {ids.shape} do not match")
        if len(vectors):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))

    def remove_range(self, lo: int, hi: int) -> int:
        """Remove the rows whose ids are in ``[lo, hi)``; returns how many were removed (flat indexes only)."""
        return int(self._index.remove_ids(faiss.IDSelectorRange(lo, hi)))

    def search(self, query: NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        """Top-k (id, inner product) pairs for one query vector, best first."""
        if self.size == 0:
            return []
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        scores, ids = self._index.search(q, min(k, self.size))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
