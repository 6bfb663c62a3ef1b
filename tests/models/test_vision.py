"""EfficientNet-Lite0 tags, MiniLM text embeddings and the projected image–text embedder on real photos."""

from __future__ import annotations

import itertools

import numpy as np

from tests.models.conftest import opencv_photo
from vidscout.models.base import ImageEmbedder, ImageTextEmbedder, Tagger, TextEmbedder
from vidscout.models.registry import Backends

PHOTOS = {
    "butterfly.jpg": "a butterfly",
    "baboon.jpg": "a monkey",
    "orange.jpg": "an orange",
    "messi5.jpg": "a football",
}


def test_tagger_labels_real_photos(backends: Backends) -> None:
    tagger = backends.tagger
    assert isinstance(tagger, Tagger)
    tags = tagger.tag([opencv_photo("butterfly.jpg"), opencv_photo("baboon.jpg")], top_k=3)
    assert [len(t) for t in tags] == [3, 3]
    assert tags[0][0].label == "monarch butterfly" and tags[0][0].score > 0.5
    assert tags[1][0].label == "baboon"
    assert all(a.score >= b.score for row in tags for a, b in itertools.pairwise(row))


def test_minilm_similarity_is_sane(backends: Backends) -> None:
    text = backends.text_embedder
    assert isinstance(text, TextEmbedder) and text.dim == 384
    v = text.embed_text(["a dog runs in the park", "a puppy playing on grass", "quarterly tax report"])
    assert v.shape == (3, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2
    assert text.embed_text([]).shape == (0, 384)


def test_projected_embedder_ranks_the_matching_query_first(backends: Backends) -> None:
    emb = backends.image_text
    assert isinstance(emb, ImageTextEmbedder) and emb.dim == 384
    images = emb.embed_images([opencv_photo(name) for name in PHOTOS])
    queries = emb.embed_text(list(PHOTOS.values()))
    assert images.dtype == np.float32 and np.allclose(np.linalg.norm(images, axis=1), 1.0, atol=1e-5)
    sims = images @ queries.T
    assert list(sims.argmax(axis=1)) == [0, 1, 2, 3], sims.round(2)


def test_projected_embedder_shares_models_and_caches_labels(backends: Backends) -> None:
    emb = backends.image_text
    assert emb._tagger is backends.tagger  # type: ignore[attr-defined]  # loaded once, not twice
    assert emb._text is backends.text_embedder  # type: ignore[attr-defined]
    assert list(backends.settings.weights_dir.glob("labels-efficientnet-lite0--minilm.npy"))


def _recropped(image: np.ndarray) -> np.ndarray:
    """The 16:9 centre of a photo at 640x360, JPEG-compressed: how a video shows it."""
    import cv2

    h, w = image.shape[:2]
    s = max(640 / w, 360 / h)
    big = cv2.resize(image, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    y, x = (big.shape[0] - 360) // 2, (big.shape[1] - 640) // 2
    ok, jpg = cv2.imencode(".jpg", big[y : y + 360, x : x + 640], [cv2.IMWRITE_JPEG_QUALITY, 60])
    assert ok
    return np.asarray(cv2.imdecode(jpg, cv2.IMREAD_UNCHANGED), np.uint8)


def test_image_embedder_finds_the_same_picture_recropped_and_recompressed(backends: Backends) -> None:
    emb = backends.image
    assert isinstance(emb, ImageEmbedder) and emb.dim == 1280
    names = [*PHOTOS, "fruits.jpg", "home.jpg", "starry_night.jpg", "HappyFish.jpg"]
    photos = [opencv_photo(n) for n in names]
    queries, shown = emb.embed_images(photos), emb.embed_images([_recropped(p) for p in photos])
    assert np.allclose(np.linalg.norm(shown, axis=1), 1.0, atol=1e-5)
    sims = queries @ shown.T
    same, other = np.diag(sims), sims[~np.eye(len(names), dtype=bool)]
    assert list(sims.argmax(axis=1)) == list(range(len(names))), sims.round(2)
    assert same.min() > 0.65 and other.max() < 0.6, (same.round(2), other.max())
    # One CNN pass serves both roles: the tagger's probabilities of these frames are already remembered.
    assert emb._tagger is backends.tagger  # type: ignore[attr-defined]
