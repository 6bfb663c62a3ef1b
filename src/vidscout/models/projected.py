"""A pseudo dual encoder: frames projected into MiniLM's text space through ImageNet class probabilities.

image = normalise(Σᵢ p(class i | frame) · MiniLM("a photo of a <class i>")), text = MiniLM(query).
No CLIP weights ship offline (MODELS.md §3); this retrieves ImageNet-like concepts, not colours or scenes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from vidscout._io import atomic_path
from vidscout.models.base import Image, l2_normalise
from vidscout.models.efficientnet import EfficientNetTagger
from vidscout.models.minilm import MiniLMTextEmbedder

logger = logging.getLogger(__name__)

_PROMPT = "a photo of a {}"  # the template MODELS.md's similarity table was measured with


class ProjectedTagEmbedder:
    """The `ImageTextEmbedder` protocol over a shared `EfficientNetTagger` and `MiniLMTextEmbedder`."""

    def __init__(
        self,
        tagger: EfficientNetTagger,
        text: MiniLMTextEmbedder,
        *,
        cache_dir: Path | None = None,
        name: str = "projected-tags",
    ) -> None:
        """Build (or load from ``cache_dir``) the 1000×384 class-embedding matrix.

        Args:
            tagger: The classifier; pass the instance the tagging role uses so it loads once.
            text: The text embedder; likewise shared with the text role.
            cache_dir: Where the label matrix is cached as ``.npy`` (7 s to compute on 2 cores).
            name: The spec this backend was built from.
        """
        self.name = name
        self.dim = text.dim
        self._tagger = tagger
        self._text = text
        self._labels = _label_matrix(tagger, text, cache_dir)

    def embed_text(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed queries, shape (n, 384) float32, rows L2-normalised."""
        return self._text.embed_text(texts)

    def embed_images(self, images: Sequence[Image]) -> NDArray[np.float32]:
        """Embed RGB frames, shape (n, 384) float32, rows L2-normalised."""
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalise(self._tagger.probabilities(images) @ self._labels)


def _label_matrix(tagger: EfficientNetTagger, text: MiniLMTextEmbedder, cache_dir: Path | None) -> NDArray[np.float32]:
    path = None
    if cache_dir is not None:
        key = re.sub(r"[^A-Za-z0-9.-]+", "_", f"{tagger.name}--{text.name}")
        path = cache_dir / f"labels-{key}.npy"
        if path.is_file():
            matrix = np.load(path)
            if matrix.shape == (len(tagger.synonyms), text.dim):
                return matrix.astype(np.float32, copy=False)
            logger.warning("Ignoring label cache %s with shape %s", path, matrix.shape)
    matrix = text.embed_text([_PROMPT.format(s) for s in tagger.synonyms])
    if path is not None:
        with atomic_path(path) as tmp:
            np.save(tmp, matrix)
    return matrix
