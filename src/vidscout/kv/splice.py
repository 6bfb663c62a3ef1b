"""Splice independently computed segment caches into one context, fixing rotary positions.

A key cached at position ``p`` carries the rotation ``R(p)`` of RoPE; placing it at slot ``p + d``
needs ``R(p + d) = R(d) R(p)``, i.e. one more rotation by the delta ``d``. Values carry no position
and are copied as they are. Everything here is pure torch on (layers, heads, tokens, dim) tensors.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from vidscout.kv.store import SegmentKV


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """The (-x2, x1) half swap of the "rotate half" RoPE layout (Llama, Qwen, Mistral)."""
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rope_shift(keys: torch.Tensor, delta: int, inv_freq: torch.Tensor) -> torch.Tensor:
    """Move post-RoPE ``keys`` (..., tokens, dim) from their positions to positions + ``delta``.

    Args:
        keys: Keys after RoPE, any leading dims, last dim = head_dim.
        delta: Position offset (may be negative); 0 returns ``keys`` unchanged.
        inv_freq: The model's (head_dim / 2) rotary inverse frequencies.

    Returns:
        Keys as if computed at the shifted positions, in ``keys``' dtype.
    """
    if delta == 0:
        return keys
    # The angle in float64: delta * inv_freq reaches 1e4+ radians for long videos, where float32
    # loses the low bits that the cosines depend on.
    angle = inv_freq.to(torch.float64) * float(delta)
    emb = torch.cat((angle, angle))
    cos = emb.cos().to(torch.float32)
    sin = emb.sin().to(torch.float32)
    k = keys.to(torch.float32)
    return (k * cos + rotate_half(k) * sin).to(keys.dtype)


def slot_starts(base_pos: int, lengths: Sequence[int], *, gap: int = 0) -> list[int]:
    """Positions at which consecutive segments of ``lengths`` tokens start after ``base_pos``.

    ``gap`` positions are left free before each segment (where its dropped sink tokens sat).
    """
    starts: list[int] = []
    pos = base_pos
    for n in lengths:
        starts.append(pos + gap)
        pos += gap + n
    return starts


def splice(
    prefix: tuple[torch.Tensor, torch.Tensor],
    segments: Sequence[SegmentKV],
    inv_freq: torch.Tensor,
    *,
    base_pos: int | None = None,
    gap: int = 0,
) -> tuple[list[tuple[torch.Tensor, torch.Tensor]], int]:
    """Concatenate the prefix and ``segments`` (in the given order) into per-layer (keys, values).

    Args:
        prefix: The shared prefix's (layers, heads, P, dim) keys and values at positions 0..P-1.
        segments: Caches to place one after another starting at ``base_pos``.
        inv_freq: The model's rotary inverse frequencies.
        base_pos: Where the first segment's slot begins (default: right after the prefix).
        gap: Free positions before each segment (the length of the sink it was encoded after), so
            the layout equals one sequence ``prefix, sink, seg1, sink, seg2, ...`` without the sinks.

    Returns:
        A list over layers of (1, heads, tokens, dim) keys and values, ready for a transformers
        cache, and the position of the first token after the spliced context.
    """
    pk, pv = prefix
    start = pk.shape[2] if base_pos is None else base_pos
    starts = slot_starts(start, [s.n_tokens for s in segments], gap=gap)
    keys = [pk] + [rope_shift(s.keys, slot - s.start_pos, inv_freq) for s, slot in zip(segments, starts, strict=True)]
    values = [pv] + [s.values for s in segments]
    k_all = torch.cat(keys, dim=2)
    v_all = torch.cat(values, dim=2)
    layers = [(k_all[i].unsqueeze(0), v_all[i].unsqueeze(0)) for i in range(k_all.shape[0])]
    end = starts[-1] + segments[-1].n_tokens if segments else start
    return layers, end
