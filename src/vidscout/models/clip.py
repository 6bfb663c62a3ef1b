"""A real dual encoder (CLIP or SigLIP) through Hugging Face transformers, for hosts that have the weights.

Spec: ``clip:<hub name or local dir>``, e.g. ``clip:openai/clip-vit-base-patch32`` or
``clip:google/siglip-base-patch16-224``. No CLIP weights ship in PyPI packages (MODELS.md §3), so the
embedded profile uses `ProjectedTagEmbedder` instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from vidscout.errors import BackendError
from vidscout.models._env import hub_hint, missing_package, prepare_runtime, set_torch_threads
from vidscout.models.base import Image, l2_normalise

logger = logging.getLogger(__name__)


class CLIPEmbedder:
    """The `ImageTextEmbedder` protocol over ``AutoModel``/``AutoProcessor`` (CLIPModel or SiglipModel)."""

    def __init__(
        self,
        model: str,
        *,
        name: str = "clip",
        threads: int = 2,
        batch_size: int = 32,
        device: str | None = None,
        offline: bool = False,
    ) -> None:
        """Load the model and its processor.

        Args:
            model: A hub name or a directory saved with ``save_pretrained``.
            name: The spec this backend was built from.
            threads: torch intra-op threads on CPU.
            batch_size: Items per forward pass.
            device: "cuda", "cpu", or None for CUDA when available.
            offline: Load from the local cache only.
        """
        t0 = time.perf_counter()
        prepare_runtime(offline=offline)
        try:
            import torch
            from transformers import AutoModel, AutoProcessor
        except ImportError as e:
            raise missing_package("CLIP (transformers)", "'vidscout[gpu]'") from e
        set_torch_threads(threads)
        self.name = name
        self._torch = torch
        self._batch_size = batch_size
        self._device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.float16 if self._device == "cuda" else torch.float32
        try:
            self._processor: Any = AutoProcessor.from_pretrained(model, local_files_only=offline)
            self._model: Any = AutoModel.from_pretrained(model, dtype=dtype, local_files_only=offline)
        except (OSError, ValueError) as e:
            raise BackendError(
                f"Could not load {model!r} with transformers: {e}. Check the name, or that the hub is "
                "reachable (the embedded profile needs no CLIP: use image_text=projected-tags)." + hub_hint()
            ) from e
        self._model = self._model.to(self._device).eval()
        config = self._model.config
        self._siglip = "siglip" in str(getattr(config, "model_type", ""))
        # CLIP projects into projection_dim; SigLIP's shared space is the text tower's width.
        self.dim = int(getattr(config, "projection_dim", 0) or config.text_config.hidden_size)
        logger.info("Loaded %s in %.2f s on %s", model, time.perf_counter() - t0, self._device)

    def _features(self, out: Any) -> NDArray[np.float32]:
        # transformers 5 returns a ModelOutput whose pooler_output is projected; 4.x returned the tensor.
        tensor = out if isinstance(out, self._torch.Tensor) else out.pooler_output
        return l2_normalise(tensor.float().cpu().numpy())

    def embed_text(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed queries, shape (n, dim) float32, rows L2-normalised."""
        rows = [np.zeros((0, self.dim), dtype=np.float32)]
        padding = "max_length" if self._siglip else True  # SigLIP was trained on fixed-length text
        for start in range(0, len(texts), self._batch_size):
            batch = list(texts[start : start + self._batch_size])
            inputs = self._processor(text=batch, padding=padding, truncation=True, return_tensors="pt")
            with self._torch.inference_mode():
                out = self._model.get_text_features(**{k: v.to(self._device) for k, v in inputs.items()})
            rows.append(self._features(out))
        return np.concatenate(rows)

    def embed_images(self, images: Sequence[Image]) -> NDArray[np.float32]:
        """Embed RGB uint8 frames, shape (n, dim) float32, rows L2-normalised."""
        rows = [np.zeros((0, self.dim), dtype=np.float32)]
        for start in range(0, len(images), self._batch_size):
            batch = [np.asarray(im) for im in images[start : start + self._batch_size]]
            inputs = self._processor(images=batch, return_tensors="pt")
            pixels = inputs["pixel_values"].to(self._device, dtype=self._model.dtype)
            with self._torch.inference_mode():
                out = self._model.get_image_features(pixel_values=pixels)
            rows.append(self._features(out))
        return np.concatenate(rows)
