"""CLIPEmbedder on a tiny random-init CLIP saved locally (real weights need a hub; same code path)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vidscout.models.base import ImageTextEmbedder


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    # Character-level BPE (no merges): enough for a real tokenizer round trip without hub files.
    symbols = ["<|startoftext|>", "<|endoftext|>", *"abcdefghijklmnopqrstuvwxyz"]
    symbols += [c + "</w>" for c in "abcdefghijklmnopqrstuvwxyz"]
    vocab = {s: i for i, s in enumerate(symbols)}
    small = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
    config = CLIPConfig(
        text_config={**small, "vocab_size": len(vocab), "max_position_embeddings": 32, "bos_token_id": 0,
                     "eos_token_id": 1, "pad_token_id": 1},
        vision_config={**small, "image_size": 32, "patch_size": 8},
        projection_dim=16,
    )  # fmt: skip
    out = tmp_path_factory.mktemp("clip") / "tiny-clip"
    CLIPModel(config).save_pretrained(out)
    image_processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    CLIPProcessor(image_processor=image_processor, tokenizer=CLIPTokenizer(vocab=vocab, merges=[])).save_pretrained(out)
    return out


def test_clip_embedder_shapes_and_norms(tiny_clip: Path) -> None:
    from vidscout.models.clip import CLIPEmbedder

    emb = CLIPEmbedder(str(tiny_clip), name="clip:tiny", offline=True, batch_size=2)
    assert isinstance(emb, ImageTextEmbedder) and emb.dim == 16
    text = emb.embed_text(["a cat", "a dog", "zebra crossing"])
    rng = np.random.default_rng(0)
    images = emb.embed_images([rng.integers(0, 255, (48, 64, 3), dtype=np.uint8) for _ in range(3)])
    for v in (text, images):
        assert v.shape == (3, 16) and v.dtype == np.float32
        assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(text[0], text[1])
    assert np.allclose(emb.embed_text(["a cat"])[0], text[0], atol=1e-5)  # batching does not change rows
    assert emb.embed_images([]).shape == (0, 16)


def test_missing_model_is_a_backend_error(tmp_path: Path) -> None:
    from vidscout.errors import BackendError
    from vidscout.models.clip import CLIPEmbedder

    with pytest.raises(BackendError, match="projected-tags"):
        CLIPEmbedder(str(tmp_path / "no-such-model"), offline=True)
