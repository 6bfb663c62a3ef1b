"""The embedded CPU generator: `TinyARDenoiser` behind the `Generator` protocol, and its checkpoint I/O.

A session keeps one `KVCache` (sink + sliding window, so memory is flat in video length), parses each
prompt with the world's grammar, and renders one block per `step` in ``steps`` denoising passes plus
one clean pass that writes the block's keys and values into the cache.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import torch

from vidscout.errors import ConfigError, ModelUnavailableError
from vidscout.generation import world
from vidscout.generation.base import (
    FrameChunk,
    GeneratorCapabilities,
    GeneratorKnobs,
    Timeline,
    Transition,
    stream_timeline,
)
from vidscout.generation.model import (
    CachedFrame,
    FrameSlot,
    KVCache,
    ModelConfig,
    TinyARDenoiser,
    prompt_tensor,
    schedule,
    split_kv,
    timestep_noise,
    to_uint8,
)

CHECKPOINT = Path(__file__).resolve().parent / "weights" / "tiny_ar.pt"
"""The shipped checkpoint (trained by ``python -m vidscout.generation.train``)."""


def save_checkpoint(model: TinyARDenoiser, path: Path, meta: dict[str, Any]) -> None:
    """Write the model in fp16 with its config and training notes (``meta``: JSON-like values only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to(torch.float16) for k, v in model.state_dict().items()}
    tmp = path.with_suffix(".tmp")
    torch.save({"config": model.config.model_dump(), "state_dict": state, "meta": meta}, tmp)
    tmp.replace(path)


def load_checkpoint(path: Path = CHECKPOINT) -> tuple[TinyARDenoiser, dict[str, Any]]:
    """Load a checkpoint written by `save_checkpoint` (fp32 in memory, eval mode).

    Raises:
        ModelUnavailableError: The file does not exist (train one: ``python -m vidscout.generation.train``).
    """
    if not path.exists():
        raise ModelUnavailableError(
            f"No embedded generator checkpoint at {path}; train one with `python -m vidscout.generation.train "
            f"--out {path}`."
        )
    data = cast(dict[str, Any], torch.load(path, map_location="cpu", weights_only=True))
    model = TinyARDenoiser(ModelConfig.model_validate(data["config"]))
    model.load_state_dict({k: v.float() for k, v in data["state_dict"].items()})
    model.eval()
    return model, cast(dict[str, Any], data.get("meta", {}))


@dataclass
class _State:
    cache: KVCache
    prompt: world.WorldPrompt | None
    pending: tuple[world.WorldPrompt, Transition] | None
    frame: int
    block: int
    rng: torch.Generator


class EmbeddedSession:
    """A block-by-block stream from the embedded model (see `GeneratorSession`)."""

    def __init__(self, model: TinyARDenoiser, knobs: GeneratorKnobs) -> None:
        """Open a session; ``knobs`` override the model's steps, window and sink."""
        cfg = model.config
        self.model = model
        self.knobs = knobs
        self.levels = schedule(cfg, knobs.steps or len(cfg.levels))
        window = cfg.window_frames if knobs.window_frames is None else knobs.window_frames
        sink = cfg.sink_frames if knobs.sink_frames is None else knobs.sink_frames
        rng = torch.Generator().manual_seed(knobs.seed)
        self._s = _State(KVCache(sink, window), None, None, 0, 0, rng)

    @property
    def cache(self) -> KVCache:
        """The live KV cache (for memory measurements)."""
        return self._s.cache

    def set_prompt(self, text: str, transition: Transition = "continue") -> None:
        """Use ``text`` from the next block on (see `GeneratorSession.set_prompt`)."""
        self._s.pending = (world.parse_prompt(text), transition)

    def _slots(self, n: int, *, noisy: bool) -> tuple[FrameSlot, ...]:
        fpb, t = self.model.config.frames_per_block, self._s.frame
        return tuple(FrameSlot(time=t + i, block=(t + i) // fpb, noisy=noisy) for i in range(n))

    def _recache(self, prompt: world.WorldPrompt) -> None:
        """Recompute every cached frame's keys and values under ``prompt`` (LongLive's KV-recache)."""
        cache, cfg = self._s.cache, self.model.config
        frames = cache.frames
        if not frames:
            return
        slots = cache.slots(cfg.frames_per_block)
        pixels = torch.stack([f.pixels for f in frames]).unsqueeze(0)
        levels = torch.full((1, len(frames)), cfg.clean_level, dtype=torch.long)
        _, kv = self.model(pixels, prompt_tensor(prompt), levels, slots)
        for f, entry in zip(frames, split_kv(kv, len(frames)), strict=True):
            f.kv = entry
        cache.add([])  # drops the stacked copy

    def _apply_pending(self) -> Transition | None:
        s = self._s
        if s.pending is None:
            if s.prompt is None:
                raise ConfigError("Call set_prompt before the first step.")
            return None
        prompt, transition = s.pending
        s.pending = None
        if transition == "cut" or s.prompt is None:
            s.cache.reset()
        elif self.knobs.recache and prompt != s.prompt:
            self._recache(prompt)
        s.prompt = prompt
        return transition

    @torch.inference_mode()
    def step(self) -> FrameChunk:
        """Render the next block (see `GeneratorSession.step`)."""
        t0 = time.perf_counter()
        transition = self._apply_pending()
        s, cfg = self._s, self.model.config
        assert s.prompt is not None  # _apply_pending raised otherwise
        n = cfg.frames_per_block
        slots, past_slots, past = self._slots(n, noisy=True), s.cache.slots(n), s.cache.stacked()
        prompt = prompt_tensor(s.prompt)
        shape = (1, n, 3, cfg.size, cfg.size)
        x = torch.randn(shape, generator=s.rng)
        x0 = x
        for i, li in enumerate(self.levels):
            levels = torch.full((1, n), li, dtype=torch.long)
            x0, _ = self.model(x, prompt, levels, slots, past_slots=past_slots, past=past)
            if i + 1 < len(self.levels):  # re-noise the prediction to the next (lower) level
                x = timestep_noise(x0, cfg.levels[self.levels[i + 1]], torch.randn(shape, generator=s.rng))
        clean = torch.full((1, n), cfg.clean_level, dtype=torch.long)
        _, kv = self.model(x0, prompt, clean, self._slots(n, noisy=False), past_slots=past_slots, past=past)
        s.cache.add([
            CachedFrame(time=s.frame + i, pixels=x0[0, i].clone(), kv=entry)
            for i, entry in enumerate(split_kv(kv, n))
        ])  # fmt: skip
        chunk = FrameChunk(
            block=s.block, start_frame=s.frame, frames=to_uint8(x0[0]), latency_s=time.perf_counter() - t0,
            prompt=s.prompt.text(), transition=transition,
        )  # fmt: skip
        s.frame += n
        s.block += 1
        return chunk

    def checkpoint(self) -> object:
        """A deep copy of the cache, prompt, position and noise state."""
        s = self._s
        rng_state = s.rng.get_state()
        snap = copy.deepcopy(_State(s.cache, s.prompt, s.pending, s.frame, s.block, torch.Generator()))
        snap.rng.set_state(rng_state)
        return snap

    def restore(self, state: object, *, seed: int | None = None) -> None:
        """Return to a `checkpoint` (see `CheckpointableSession.restore`)."""
        if not isinstance(state, _State):
            raise TypeError("restore() takes a value returned by checkpoint()")
        snap = copy.deepcopy(state)
        snap.rng.set_state(state.rng.get_state())
        if seed is not None:
            snap.rng.manual_seed(seed)
        self._s = snap

    def close(self) -> None:
        """Drop the cache."""
        self._s.cache.reset()


class EmbeddedGenerator:
    """The shipped CPU generator over the procedural world (`vidscout.generation.world`)."""

    def __init__(self, model: TinyARDenoiser, *, meta: dict[str, Any] | None = None, threads: int = 2) -> None:
        """Wrap a loaded model; ``threads`` caps torch's intra-op threads."""
        torch.set_num_threads(max(1, min(threads, 2)))
        self.model = model
        self.meta = meta or {}
        self.name = "embedded:tiny-ar"
        cfg = model.config
        self.capabilities = GeneratorCapabilities(
            name=self.name, width=cfg.size, height=cfg.size, fps=world.FPS, frames_per_block=cfg.frames_per_block,
            window_frames=cfg.window_frames, sink_frames=cfg.sink_frames, supports_recache=True, supports_cut=True,
            prompt_style="grammar", prompt_template=world.PROMPT_TEMPLATE, vocabulary=world.VOCABULARY,
            max_entities_per_shot=1, max_seconds=3600.0, default_steps=len(cfg.levels), output_scale=8,
        )  # fmt: skip

    @classmethod
    def load(cls, path: Path = CHECKPOINT, *, threads: int = 2) -> EmbeddedGenerator:
        """Load the shipped (or another) checkpoint."""
        model, meta = load_checkpoint(path)
        return cls(model, meta=meta, threads=threads)

    def open(self, knobs: GeneratorKnobs) -> EmbeddedSession:
        """Start a session."""
        return EmbeddedSession(self.model, knobs)

    def generate(self, timeline: Timeline, knobs: GeneratorKnobs) -> Iterator[FrameChunk]:
        """Render ``timeline`` block by block."""
        session = self.open(knobs)
        try:
            yield from stream_timeline(session, timeline)
        finally:
            session.close()
