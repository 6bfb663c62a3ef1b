"""The embedded text-to-video model: a block-causal few-step denoiser with a bounded KV cache.

It belongs to the Self-Forcing / CausVid / LongLive family, scaled down to the procedural world of
`vidscout.generation.world`: frames are 32×32 pixels in 4×4 patches (64 tokens per frame); a block of
frames is denoised in a few steps from pure noise (predict the clean block, re-noise to the next level,
repeat) while attending to a KV cache of earlier *clean* frames. The cache holds a sink (the first block
after the last cut) and a sliding window of recent frames, so memory does not grow with video length.
The prompt enters through adaptive layer norm, so cached keys and values depend on it: on a prompt switch
the cache can be recomputed under the new prompt (LongLive's KV-recache). Attention carries a learned
bias per head over (frame distance, wrapped patch offset), which makes "the patch to my left, one frame
ago" a single learnable number: the world is a torus, and so are the offsets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, Field
from torch import Tensor, nn

from vidscout.generation import world


class ModelConfig(BaseModel, frozen=True):
    """Architecture and schedule of the denoiser (stored in every checkpoint)."""

    size: int = Field(default=world.SIZE, description="Frame side (pixels).")
    patch: int = Field(default=4, description="Patch side (pixels); one token per patch.")
    dim: int = Field(default=128, description="Token width.")
    depth: int = Field(default=4, description="Transformer blocks.")
    heads: int = Field(default=4, description="Attention heads per block.")
    frames_per_block: int = Field(default=1, description="Frames denoised together (one AR step).")
    window_frames: int = Field(default=3, description="Recent frames kept in the KV cache (attention window).")
    sink_frames: int = Field(default=1, description="Frames after the last cut kept as the attention sink.")
    levels: tuple[float, ...] = Field(default=(1.0, 0.75, 0.5, 0.25), description="Trained noise levels.")
    max_dt: int = Field(default=8, description="Frame distances beyond this share one attention-bias bucket.")

    @property
    def grid(self) -> int:
        """Patches per side."""
        return self.size // self.patch

    @property
    def tokens_per_frame(self) -> int:
        """Tokens per frame."""
        return self.grid**2

    @property
    def clean_level(self) -> int:
        """Index of the "clean context" level embedding (after the noise levels)."""
        return len(self.levels)


@dataclass(frozen=True)
class FrameSlot:
    """Where one frame sits in an attention pass: its time (frames), block, and whether it is a sink frame.

    ``noisy`` marks a frame being denoised: it sees clean frames of earlier blocks and its own block's noisy
    frames, never a clean copy of itself (training puts clean and noisy copies of a frame in one pass).
    """

    time: int
    block: int
    sink: bool = False
    noisy: bool = False


def _bias_index(
    config: ModelConfig, queries: tuple[FrameSlot, ...], keys: tuple[FrameSlot, ...]
) -> tuple[Tensor, Tensor]:
    """Flat indices into a (buckets, grid, grid) bias table and the boolean "may attend" mask, (Nq, Nk).

    Tensors are made fresh from cached numpy arrays, so an index built under ``inference_mode`` never
    leaks into a later training step.
    """
    idx, allowed = _bias_index_np(config, queries, keys)
    return torch.from_numpy(idx), torch.from_numpy(allowed)


@lru_cache(maxsize=64)
def _bias_index_np(
    config: ModelConfig, queries: tuple[FrameSlot, ...], keys: tuple[FrameSlot, ...]
) -> tuple[np.ndarray[tuple[int, int], np.dtype[np.int64]], np.ndarray[tuple[int, int], np.dtype[np.bool_]]]:
    g, p = config.grid, config.tokens_per_frame
    n_buckets = 1 + config.max_dt + config.frames_per_block
    pos = np.arange(p)
    row, col = pos // g, pos % g
    d_row = (row[None, :] - row[:, None]) % g  # key minus query, wrapped (the world is a torus)
    d_col = (col[None, :] - col[:, None]) % g
    spatial = d_row * g + d_col  # (P, P)
    idx = np.zeros((len(queries), p, len(keys), p), np.int64)
    allowed = np.zeros((len(queries), p, len(keys), p), bool)
    for qi, q in enumerate(queries):
        for ki, k in enumerate(keys):
            if k.sink and not q.sink:
                bucket, ok = 0, not (q.noisy and k.block == q.block)
            else:
                bucket = 1 + min(max(q.time - k.time + config.frames_per_block - 1, 0), n_buckets - 2)
                if k.noisy:
                    ok = q.noisy and k.block == q.block
                elif q.noisy:
                    ok = k.block < q.block
                else:
                    ok = k.block <= q.block
            idx[qi, :, ki, :] = bucket * p + spatial
            allowed[qi, :, ki, :] = ok
    n_q, n_k = len(queries) * p, len(keys) * p
    return idx.reshape(n_q, n_k), allowed.reshape(n_q, n_k)  # shared through the cache: never written to


class _Block(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        d = config.dim
        self.heads = config.heads
        self.norm1 = nn.LayerNorm(d, elementwise_affine=False)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.norm2 = nn.LayerNorm(d, elementwise_affine=False)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(approximate="tanh"), nn.Linear(4 * d, d))
        self.ada = nn.Linear(d, 6 * d)  # adaLN-Zero (DiT): shift, scale, gate for attention and MLP
        nn.init.zeros_(self.ada.weight)
        nn.init.zeros_(self.ada.bias)
        n_buckets = 1 + config.max_dt + config.frames_per_block
        self.bias = nn.Parameter(torch.zeros(config.heads, n_buckets * config.tokens_per_frame))

    def forward(self, x: Tensor, cond: Tensor, bias: Tensor, past: tuple[Tensor, Tensor] | None) -> tuple[Tensor, ...]:
        """x: (B, F, P, D) tokens; cond: (B, F, 1, D); bias: (H, Nq, Nk). Returns x and this pass's keys, values."""
        b, f, p, d = x.shape
        shift1, scale1, gate1, shift2, scale2, gate2 = self.ada(F.silu(cond)).chunk(6, dim=-1)
        h = (self.norm1(x) * (1 + scale1) + shift1).reshape(b, f * p, d)
        q, k, v = self.qkv(h).view(b, f * p, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k = F.rms_norm(q, (q.shape[-1],)), F.rms_norm(k, (k.shape[-1],))  # QK-norm keeps small models stable
        keys, values = (torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)) if past else (k, v)
        attn = F.scaled_dot_product_attention(q, keys, values, attn_mask=bias.unsqueeze(0))
        x = x + gate1 * self.proj(attn.transpose(1, 2).reshape(b, f, p, d))
        x = x + gate2 * self.mlp(self.norm2(x) * (1 + scale2) + shift2)
        return x, k, v

    def attention_bias(self, bias_idx: Tensor, allowed: Tensor) -> Tensor:
        """The additive attention bias for one layout, (H, Nq, Nk); -inf where attention is not allowed."""
        dev = self.bias.device
        return self.bias[:, bias_idx.to(dev)].masked_fill(~allowed.to(dev), float("-inf"))


class TinyARDenoiser(nn.Module):
    """Predicts clean frames from noisy ones, given the prompt, the noise level and cached context.

    Frames are float tensors in [-1, 1], (B, F, 3, S, S). A prompt is 4 word indices (colour, shape,
    direction, background) into `world.VOCABULARY`, (B, 4) int64. Levels index ``config.levels`` (or
    ``config.clean_level`` for clean context frames), (B, F) int64.
    """

    def __init__(self, config: ModelConfig) -> None:
        """Build an untrained model for ``config``."""
        super().__init__()
        self.config = config
        d, pp = config.dim, 3 * config.patch**2
        self.embed = nn.Linear(pp, d)
        self.pos = nn.Parameter(torch.randn(config.tokens_per_frame, d) * 0.02)
        self.words = nn.ModuleList(nn.Embedding(len(world.VOCABULARY[f]), d) for f in world.FIELDS)
        self.level = nn.Embedding(len(config.levels) + 1, d)
        self.blocks = nn.ModuleList(_Block(config) for _ in range(config.depth))
        self.norm = nn.LayerNorm(d, elementwise_affine=False)
        self.ada_out = nn.Linear(d, 2 * d)
        self.out = nn.Linear(d, pp)
        self._memo: dict[tuple[tuple[FrameSlot, ...], tuple[FrameSlot, ...]], list[Tensor]] = {}
        nn.init.zeros_(self.ada_out.weight)
        nn.init.zeros_(self.ada_out.bias)

    def _patchify(self, frames: Tensor) -> Tensor:
        b, f, c = frames.shape[:3]
        p, g = self.config.patch, self.config.grid
        x = frames.reshape(b, f, c, g, p, g, p).permute(0, 1, 3, 5, 2, 4, 6)
        return x.reshape(b, f * g * g, c * p * p)

    def _unpatchify(self, tokens: Tensor, n_frames: int) -> Tensor:
        b = tokens.shape[0]
        p, g = self.config.patch, self.config.grid
        x = tokens.reshape(b, n_frames, g, g, 3, p, p).permute(0, 1, 4, 2, 5, 3, 6)
        return x.reshape(b, n_frames, 3, g * p, g * p)

    def conditioning(self, prompts: Tensor, levels: Tensor) -> Tensor:
        """Per-frame conditioning vectors, (B, F, D)."""
        words = sum((emb(prompts[:, i]) for i, emb in enumerate(self.words)), torch.zeros((), device=prompts.device))
        return words[:, None, :] + self.level(levels)

    def forward(
        self,
        frames: Tensor,
        prompts: Tensor,
        levels: Tensor,
        slots: Sequence[FrameSlot],
        *,
        past_slots: Sequence[FrameSlot] = (),
        past: Sequence[tuple[Tensor, Tensor]] | None = None,
    ) -> tuple[Tensor, list[tuple[Tensor, Tensor]]]:
        """Denoise ``frames`` (placed at ``slots``) attending to themselves and to cached ``past`` frames.

        Returns:
            The predicted clean frames, (B, F, 3, S, S), and per block this pass's keys and values,
            each (B, H, F·P, hd), for the cache.
        """
        cfg = self.config
        b, n_frames, p = frames.shape[0], frames.shape[1], cfg.tokens_per_frame
        x = (self.embed(self._patchify(frames)) + self.pos.repeat(n_frames, 1)).view(b, n_frames, p, cfg.dim)
        cond = self.conditioning(prompts, levels).unsqueeze(2)  # (B, F, 1, D): one modulation per frame
        layout = _normalise(cfg, tuple(slots), tuple(past_slots))
        biases = self._memo.get(layout) if not self.training else None
        if biases is None:
            bias_idx, allowed = _bias_index(cfg, *layout)
            biases = [blk.attention_bias(bias_idx, allowed) for blk in self.blocks]  # pyright: ignore[reportCallIssue]
            if not self.training and not torch.is_grad_enabled():
                if len(self._memo) >= 32:  # bounded: a sliding window reuses a handful of layouts
                    del self._memo[next(iter(self._memo))]
                self._memo[layout] = biases
        new_kv: list[tuple[Tensor, Tensor]] = []
        for i, block in enumerate(self.blocks):
            x, k, v = block(x, cond, biases[i], past[i] if past else None)
            new_kv.append((k, v))
        shift, scale = self.ada_out(F.silu(cond)).chunk(2, dim=-1)
        out = self.out(self.norm(x) * (1 + scale) + shift).reshape(b, n_frames * p, -1)
        return self._unpatchify(out, n_frames), new_kv

    def train(self, mode: bool = True) -> TinyARDenoiser:
        """Switch mode; the inference-time bias memo is dropped (parameters may change)."""
        self._memo.clear()
        return super().train(mode)


def _normalise(
    config: ModelConfig, slots: tuple[FrameSlot, ...], past: tuple[FrameSlot, ...]
) -> tuple[tuple[FrameSlot, ...], tuple[FrameSlot, ...]]:
    """Make a layout relative to its first query frame, so layouts recur along a long video (memo hits).

    Only frame distances enter the bias, and distances beyond ``max_dt`` share one bucket; sink frames seen
    from non-sink queries ignore distance altogether.
    """
    fpb = config.frames_per_block
    base = min(s.time for s in slots) // fpb * fpb
    floor = -(config.max_dt + 2 * fpb)

    def norm(s: FrameSlot) -> FrameSlot:
        t = max(s.time - base, floor)
        return FrameSlot(time=t, block=t // fpb, sink=s.sink, noisy=s.noisy)

    return tuple(norm(s) for s in slots), tuple(norm(s) for s in (*past, *slots))


def prompt_tensor(prompt: world.WorldPrompt) -> Tensor:
    """A prompt as the model's (1, 4) word-index tensor."""
    return torch.tensor([[prompt.index(f) for f in world.FIELDS]], dtype=torch.long)


def schedule(config: ModelConfig, steps: int) -> list[int]:
    """Indices of the trained noise levels a ``steps``-step sampler visits, highest noise first."""
    n = len(config.levels)
    if not 1 <= steps <= n:
        raise ValueError(f"steps must be in 1..{n} (the trained levels)")
    return sorted({round(i * (n - 1) / max(steps - 1, 1)) for i in range(steps)}) if steps > 1 else [0]


@dataclass
class CachedFrame:
    """One clean frame in the cache: its pixels (kept for recache) and per-block keys and values."""

    time: int
    pixels: Tensor  # (3, S, S) in [-1, 1]
    kv: list[tuple[Tensor, Tensor]]  # per block: (H, P, hd) each


@dataclass
class KVCache:
    """The bounded context: up to ``sink_frames`` frames after the last cut, then a sliding window."""

    sink_frames: int
    window_frames: int
    sink: list[CachedFrame] = field(default_factory=list[CachedFrame])
    window: list[CachedFrame] = field(default_factory=list[CachedFrame])
    _stacked: list[tuple[Tensor, Tensor]] | None = None

    def reset(self) -> None:
        """Forget everything (a cut): the next block becomes the new sink."""
        self.sink, self.window, self._stacked = [], [], None

    @property
    def frames(self) -> list[CachedFrame]:
        """Sink frames, then window frames, in time order."""
        return [*self.sink, *self.window]

    def slots(self, frames_per_block: int) -> tuple[FrameSlot, ...]:
        """The cached frames as attention slots (the sink flagged)."""
        return tuple(
            FrameSlot(time=f.time, block=f.time // frames_per_block, sink=i < len(self.sink))
            for i, f in enumerate(self.frames)
        )

    def add(self, frames: Sequence[CachedFrame]) -> None:
        """Append newly generated frames: fill the sink first, then slide the window."""
        for f in frames:
            if len(self.sink) < self.sink_frames:
                self.sink.append(f)
            else:
                self.window.append(f)
        del self.window[: max(len(self.window) - self.window_frames, 0)]
        self._stacked = None

    def stacked(self) -> list[tuple[Tensor, Tensor]] | None:
        """Per block, all cached keys and values concatenated along tokens, (1, H, N, hd); None if empty."""
        frames = self.frames
        if not frames:
            return None
        if self._stacked is None:
            depth = len(frames[0].kv)
            self._stacked = [
                (
                    torch.cat([f.kv[i][0] for f in frames], dim=1).unsqueeze(0),
                    torch.cat([f.kv[i][1] for f in frames], dim=1).unsqueeze(0),
                )
                for i in range(depth)
            ]
        return self._stacked

    def nbytes(self) -> int:
        """Bytes held by cached keys, values and pixels."""
        return sum(f.pixels.numel() * 4 + sum(k.numel() * 4 + v.numel() * 4 for k, v in f.kv) for f in self.frames)


def split_kv(kv: Sequence[tuple[Tensor, Tensor]], n_frames: int) -> list[list[tuple[Tensor, Tensor]]]:
    """Split one pass's per-block (1, H, F·P, hd) keys/values into per-frame (H, P, hd) entries."""
    out: list[list[tuple[Tensor, Tensor]]] = [[] for _ in range(n_frames)]
    for k, v in kv:
        for i, (kf, vf) in enumerate(zip(k[0].chunk(n_frames, dim=1), v[0].chunk(n_frames, dim=1), strict=True)):
            out[i].append((kf.contiguous(), vf.contiguous()))
    return out


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def timestep_noise(x0: Tensor, level: float, noise: Tensor) -> Tensor:
    """Rectified-flow interpolation: ``(1 - level)·x0 + level·noise``."""
    return (1.0 - level) * x0 + level * noise


def to_unit(frames: Tensor) -> Tensor:
    """uint8-range float frames (B, F, S, S, 3) → model range [-1, 1], channels first."""
    return frames.permute(0, 1, 4, 2, 3) / 127.5 - 1.0


def to_uint8(frames: Tensor) -> np.ndarray[tuple[int, ...], np.dtype[np.uint8]]:
    """Model-range frames (F, 3, S, S) → uint8 RGB (F, S, S, 3)."""
    x = ((frames.clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).numpy()


def param_megabytes(model: nn.Module, *, bytes_per_param: int = 2) -> float:
    """Checkpoint size in MB when stored at ``bytes_per_param`` (fp16: 2)."""
    return count_parameters(model) * bytes_per_param / 1e6
