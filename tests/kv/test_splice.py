"""Pure parts of KV retrieval: RoPE re-rotation, slot layout, budgeted selection, internal scores, the store."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from vidscout.errors import ConfigError
from vidscout.kv.retrieve import Ranked, internal_scores, rank_by_scores, select_under_budget
from vidscout.kv.splice import rope_shift, slot_starts, splice
from vidscout.kv.store import KVManifest, KVStore, SegmentKV
from vidscout.memory.store import VideoStore
from vidscout.types import TimeSpan

DIM = 8
INV_FREQ = 1.0 / (10000.0 ** (torch.arange(0, DIM, 2, dtype=torch.float32) / DIM))


def _rope(x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """RoPE written out independently: pairs (i, i + D/2) rotated by angle pos * inv_freq[i]."""
    half = DIM // 2
    angle = positions[:, None].double() * INV_FREQ[None, :].double()
    cos, sin = angle.cos().float(), angle.sin().float()
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)


def test_rope_shift_moves_keys_to_new_positions() -> None:
    raw = torch.randn(3, 5, DIM, generator=torch.Generator().manual_seed(0))
    at_10 = _rope(raw, torch.arange(10, 15))
    at_37 = _rope(raw, torch.arange(37, 42))
    assert torch.allclose(rope_shift(at_10, 27, INV_FREQ), at_37, atol=1e-5)
    assert torch.allclose(rope_shift(at_37, -27, INV_FREQ), at_10, atol=1e-5)
    assert not torch.allclose(at_10, at_37, atol=1e-2)  # the shift is not a no-op on this data
    assert rope_shift(at_10, 0, INV_FREQ) is at_10


def test_rope_shift_stays_exact_far_into_an_hour_of_tokens() -> None:
    raw = torch.randn(2, 4, DIM, generator=torch.Generator().manual_seed(1))
    near = _rope(raw, torch.arange(5, 9))
    far = _rope(raw, torch.arange(200_005, 200_009))
    assert torch.allclose(rope_shift(near, 200_000, INV_FREQ), far, atol=2e-4)


def test_slot_starts_leave_the_sink_gap_before_each_segment() -> None:
    assert slot_starts(10, [3, 4, 2]) == [10, 13, 17]
    assert slot_starts(10, [3, 4, 2], gap=1) == [11, 15, 20]
    assert slot_starts(0, []) == []


def _seg(index: int, n: int, start_pos: int, fill: float) -> SegmentKV:
    keys = torch.full((2, 1, n, DIM), fill)
    return SegmentKV(
        level="clip", index=index, span=TimeSpan(start_s=index, end_s=index + 1), start_pos=start_pos,
        keys=keys, values=keys + 100, key_mean=torch.zeros(2, 1, DIM), text_sha256="x",
    )  # fmt: skip


def test_splice_concatenates_in_order_and_reports_the_next_position() -> None:
    prefix = (torch.zeros(2, 1, 4, DIM), torch.zeros(2, 1, 4, DIM))
    a, b = _seg(0, 3, 5, 1.0), _seg(1, 2, 5, 2.0)
    layers, end = splice(prefix, [a, b], INV_FREQ, gap=1)
    assert len(layers) == 2
    k, v = layers[1]
    assert k.shape == (1, 1, 9, DIM) and v.shape == (1, 1, 9, DIM)
    assert end == 4 + 1 + 3 + 1 + 2
    assert torch.equal(v[0, 0, 4:7], a.values[1, 0]) and torch.equal(v[0, 0, 7:], b.values[1, 0])
    assert torch.allclose(k[0, 0, 4:7], a.keys[1, 0])  # a is encoded at 5 and lands at 5: delta 0
    assert torch.allclose(k[0, 0, 7:], rope_shift(b.keys[1, 0], 9 - 5, INV_FREQ))


def test_select_under_budget_takes_rank_order_then_sorts_by_time() -> None:
    ranking = [Ranked(7, 0.9), Ranked(2, 0.8), Ranked(5, 0.7), Ranked(1, 0.6)]
    sizes = {7: 50, 2: 80, 5: 30, 1: 10}
    assert select_under_budget(ranking, sizes, top_k=3, budget_tokens=100) == [1, 5, 7]  # 2 does not fit
    assert select_under_budget(ranking, sizes, top_k=2, budget_tokens=1000) == [2, 7]
    assert select_under_budget(ranking, sizes, top_k=5, budget_tokens=5) == []


def test_internal_scores_standardise_each_layer_then_average() -> None:
    query = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])  # 2 layers, 1 head, dim 2
    means = torch.tensor(
        [
            [[[2.0, 5.0]], [[0.0, 3.0]]],  # dots: layer 0 = 2, layer 1 = 3
            [[[0.0, 1.0]], [[1.0, 0.0]]],  # 0, 0
            [[[1.0, 0.0]], [[9.0, 300.0]]],  # 1, 300: one huge layer must not decide alone
        ]
    )
    scores = internal_scores(query, means)
    # layer 0 z-scores: (1, -1, 0); layer 1: dots (3, 0, 300) -> (-0.569, -0.586, 1.155)
    assert torch.allclose(scores, torch.tensor([0.2157, -0.7930, 0.5773]), atol=1e-3)
    assert [r.index for r in rank_by_scores([10, 11, 12], scores)] == [12, 10, 11]


def _manifest(dtype: str = "float16") -> KVManifest:
    return KVManifest.model_validate(
        {
            "model": "gguf:test", "revision": "abc", "library": "transformers test", "prompt_sha256": "p",
            "dtype": dtype, "n_layers": 2, "n_kv_heads": 1, "head_dim": DIM, "rope_theta": 1e4,
            "prefix_tokens": 4, "max_segment_tokens": 16,
        }
    )  # fmt: skip


@pytest.mark.parametrize(("dtype", "tol"), [("float32", 0.0), ("float16", 2e-3), ("bfloat16", 2e-2), ("int8", 2e-2)])
def test_store_round_trip_per_dtype(tmp_path: Path, dtype: str, tol: float) -> None:
    with VideoStore.open(tmp_path, create=True) as vs:
        kv = KVStore.open(vs, _manifest(dtype))
        seg = replace(_seg(3, 5, 5, 0.0), keys=torch.randn(2, 1, 5, DIM), values=torch.randn(2, 1, 5, DIM))
        written = kv.save_segment(seg)
        assert written == kv.segment_path("clip", 3).stat().st_size > 0
        back = kv.load_segment("clip", 3, torch.float32, text_sha256="x")
        assert back is not None and back.n_tokens == 5 and back.start_pos == 5 and back.span == seg.span
        assert (back.keys - seg.keys).abs().max().item() <= tol * seg.keys.abs().max().item() + 1e-7
        assert (back.values - seg.values).abs().max().item() <= tol * seg.values.abs().max().item() + 1e-7
        assert kv.load_segment("clip", 3, torch.float32, text_sha256="other text") is None
        assert kv.load_segment("clip", 4, torch.float32, text_sha256="x") is None
        assert kv.cached_count() == 1


def test_store_sizes_follow_the_dtype(tmp_path: Path) -> None:
    sizes = {}
    with VideoStore.open(tmp_path, create=True) as vs:
        for dtype in ("float32", "float16", "int8"):
            kv = KVStore.open(vs, _manifest(dtype))
            big = replace(_seg(0, 0, 5, 0.0), keys=torch.randn(2, 1, 400, DIM), values=torch.randn(2, 1, 400, DIM))
            sizes[dtype] = kv.save_segment(big)
    assert sizes["float16"] < 0.55 * sizes["float32"]
    assert sizes["int8"] < 0.7 * sizes["float16"]


def test_store_refuses_a_directory_of_another_model(tmp_path: Path) -> None:
    with VideoStore.open(tmp_path, create=True) as vs:
        kv = KVStore.open(vs, _manifest())
        manifest = json.loads((kv.root / "manifest.json").read_text())
        (kv.root / "manifest.json").write_text(json.dumps({**manifest, "revision": "edited"}))
        with pytest.raises(ConfigError, match="another model"):
            KVStore.open(vs, _manifest())
