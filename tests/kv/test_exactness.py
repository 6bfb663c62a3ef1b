"""Splicing independently cached segments equals one prefill of the same tokens at the same positions.

Real 0.5B planner weights in float32. The reference is a single forward pass over
``prefix, sink, A, sink, B, question, answer`` at positions 0..N-1 with the attention pattern the
splice implies (each segment sees its sink and itself; the question sees the prefix and both
segments, not the sinks). Tolerance: 1e-3 absolute on logits of magnitude ~30 (measured ~3e-5).
"""

from __future__ import annotations

import torch

from vidscout.kv.model import KVLayers, TransformersKVModel
from vidscout.kv.splice import splice
from vidscout.kv.store import SegmentKV
from vidscout.types import TimeSpan

TOL = 1e-3
PREFIX = "<|im_start|>system\nAnswer from the evidence lines.<|im_end|>\n<|im_start|>user\nEvidence:\n"
SEG_A = '[00:00:40-00:00:48] said: "The secret password for the vault is blue giraffe."\n'
SEG_B = "[00:01:00-00:01:05] on screen: ROOM 214 - CHEMISTRY LAB seen: lab coat, beaker\n"
QUESTION = "Question: What is the secret password?<|im_end|>\n<|im_start|>assistant\n"


def _stack(layers: KVLayers) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.stack([k[0] for k, _ in layers]), torch.stack([v[0] for _, v in layers])


def _segment(model: TransformersKVModel, ids: list[int], sink: list[int], start_pos: int) -> SegmentKV:
    keys, values, key_mean = model.encode(ids, sink=sink, start_pos=start_pos)
    return SegmentKV(
        level="clip", index=0, span=TimeSpan(start_s=0.0, end_s=1.0), start_pos=start_pos,
        keys=keys, values=values, key_mean=key_mean, text_sha256="",
    )  # fmt: skip


def test_spliced_segments_decode_like_one_prefill(kv_model: TransformersKVModel) -> None:
    m = kv_model
    prefix, sink = m.tokenize(PREFIX), m.tokenize("\n")
    a, b, q = m.tokenize(SEG_A), m.tokenize(SEG_B), m.tokenize(QUESTION)
    _, prefix_cache = m.forward(prefix)
    # Both segments are encoded at the same positions, as at ingest; the splice moves B behind A.
    enc_pos = len(prefix) + len(sink)
    seg_a, seg_b = _segment(m, a, sink, enc_pos), _segment(m, b, sink, enc_pos)
    layers, pos = splice(_stack(prefix_cache), [seg_a, seg_b], m.inv_freq, gap=len(sink))
    logits, cache = m.forward(q, past=layers, start_pos=pos)
    answer, rows = m.greedy(logits, cache, start_pos=pos + len(q), max_new_tokens=6)

    tokens = [*prefix, *sink, *a, *sink, *b, *q, *answer]
    n, p, s = len(tokens), len(prefix), len(sink)
    sink_a, a0 = p, p + s
    sink_b = a0 + len(a)
    q0 = sink_b + s + len(b)
    allowed = torch.ones(n, n, dtype=torch.bool).tril()
    allowed[sink_a:q0, :p] = False  # segments were encoded without the prefix
    allowed[sink_b:q0, sink_a:sink_b] = False  # ... and without each other
    allowed[q0:, sink_a:a0] = False  # the sinks are not spliced
    allowed[q0:, sink_b : sink_b + s] = False
    mask = torch.zeros(n, n).masked_fill(~allowed, float("-inf"))[None, None]
    reference, _ = m.forward(tokens, attention_mask=mask)

    spliced = torch.cat([logits, torch.stack(rows[1:])])  # question rows, then one row per decoded token
    expected = reference[q0 : q0 + len(spliced)]
    diff = (spliced - expected).abs().max().item()
    assert diff < TOL, f"max abs logit difference {diff:.2e}"
    assert expected.abs().max().item() > 5.0  # real logits, not an all-zero comparison

    # Without re-rotating B's keys the same comparison fails by orders of magnitude.
    unshifted = [
        (torch.cat([k, seg_a.keys[i][None], seg_b.keys[i][None]], 2),
         torch.cat([v, seg_a.values[i][None], seg_b.values[i][None]], 2))
        for i, (k, v) in enumerate(prefix_cache)
    ]  # fmt: skip
    wrong, _ = m.forward(q, past=unshifted, start_pos=pos)
    assert (wrong - reference[q0 : q0 + len(q)]).abs().max().item() > 100 * TOL


def test_a_segment_cache_does_not_depend_on_where_it_was_encoded(kv_model: TransformersKVModel) -> None:
    m = kv_model
    ids, sink = m.tokenize(SEG_A), m.tokenize("\n")
    k1, v1, mean1 = m.encode(ids, sink=sink, start_pos=20)
    k2, v2, mean2 = m.encode(ids, sink=sink, start_pos=520)
    assert (v1 - v2).abs().max().item() < TOL
    assert (mean1 - mean2).abs().max().item() < TOL
    from vidscout.kv.splice import rope_shift

    assert (rope_shift(k1, 500, m.inv_freq) - k2).abs().max().item() < TOL
