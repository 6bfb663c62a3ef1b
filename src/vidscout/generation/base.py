"""The `Generator` contract: a streaming autoregressive session plus one-shot rendering of a timeline.

Frames are RGB ``uint8`` arrays, (n, H, W, 3), at the generator's native size. A session renders one
block of frames per `GeneratorSession.step`; a prompt set with `GeneratorSession.set_prompt` takes
effect at the next block boundary, either continuing the scene (prompt switch, KV recache) or cutting
(cache reset, new sink).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, Field

Transition = Literal["continue", "cut"]


class GeneratorCapabilities(BaseModel, frozen=True):
    """What a generator can render; the director plans within these limits."""

    name: str
    width: int = Field(description="Native frame width (pixels).")
    height: int = Field(description="Native frame height (pixels).")
    fps: float = Field(description="Frames per second of the output.")
    frames_per_block: int = Field(description="Frames rendered per autoregressive step; shots round to blocks.")
    window_frames: int = Field(description="Recent frames the attention window holds.")
    sink_frames: int = Field(description="Frames kept as the attention sink after a cut (0: none).")
    supports_recache: bool = Field(description="A prompt switch can recompute the KV cache under the new prompt.")
    supports_cut: bool = Field(description="A cut resets the cache (new sink) instead of continuing the scene.")
    streaming: bool = Field(default=True, description="`Generator.open` gives a block-by-block session.")
    prompt_style: Literal["grammar", "free"] = Field(
        description="grammar: prompts must follow `prompt_template` with words from `vocabulary`; free: any text."
    )
    prompt_template: str | None = None
    vocabulary: dict[str, tuple[str, ...]] | None = None
    max_entities_per_shot: int | None = Field(default=None, description="None: no limit.")
    max_seconds: float = Field(description="Longest video it renders in one run (seconds).")
    default_steps: int = Field(description="Denoising steps per block by default.")
    output_scale: int = Field(default=1, description="Integer upscale applied when writing video files.")

    @property
    def block_s(self) -> float:
        """Seconds per block."""
        return self.frames_per_block / self.fps


class GeneratorKnobs(BaseModel, frozen=True):
    """Sampling knobs; ``None`` takes the generator's default."""

    steps: int | None = Field(default=None, ge=1, description="Denoising steps per block (fewer: faster, rougher).")
    window_frames: int | None = Field(default=None, ge=0, description="Attention window (frames).")
    sink_frames: int | None = Field(default=None, ge=0, description="Attention sink (frames after a cut).")
    recache: bool = Field(default=True, description="Recompute the KV cache under the new prompt at a switch.")
    seed: int = Field(default=0, description="Seed of the sampling noise.")


class TimelineSegment(BaseModel, frozen=True):
    """One prompt held for a whole number of blocks."""

    shot_id: str
    prompt: str
    start_frame: int = Field(ge=0)
    n_frames: int = Field(gt=0)
    transition: Transition

    @property
    def end_frame(self) -> int:
        """One past the last frame."""
        return self.start_frame + self.n_frames


class Timeline(BaseModel, frozen=True):
    """What a generator renders: consecutive segments, block-aligned, at ``fps``."""

    fps: float
    frames_per_block: int
    segments: tuple[TimelineSegment, ...]

    @property
    def n_frames(self) -> int:
        """Total frames."""
        return self.segments[-1].end_frame if self.segments else 0

    @property
    def n_blocks(self) -> int:
        """Total blocks."""
        return self.n_frames // self.frames_per_block

    @property
    def duration_s(self) -> float:
        """Total seconds."""
        return self.n_frames / self.fps


@dataclass(frozen=True)
class FrameChunk:
    """One rendered block."""

    block: int  # block index from the start of the session
    start_frame: int
    frames: NDArray[np.uint8]  # (frames_per_block, H, W, 3)
    latency_s: float  # wall seconds spent rendering this block
    prompt: str
    transition: Transition | None  # the transition applied at this block's start, if any


@runtime_checkable
class GeneratorSession(Protocol):
    """One open stream of blocks."""

    def set_prompt(self, text: str, transition: Transition = "continue") -> None:
        """Use ``text`` from the next block on; ``cut`` resets the cache there, ``continue`` switches in place.

        Raises:
            ConfigError: The prompt is not one this generator accepts.
        """
        ...

    def step(self) -> FrameChunk:
        """Render the next block."""
        ...

    def close(self) -> None:
        """Release the session's memory."""
        ...


@runtime_checkable
class CheckpointableSession(GeneratorSession, Protocol):
    """A session that can return to an earlier block boundary (for regenerating a failed shot)."""

    def checkpoint(self) -> object:
        """An opaque snapshot of the state at the current block boundary."""
        ...

    def restore(self, state: object, *, seed: int | None = None) -> None:
        """Return to ``state``; ``seed`` reseeds the noise so a retry differs."""
        ...


@runtime_checkable
class Generator(Protocol):
    """A text-to-video generator."""

    name: str
    capabilities: GeneratorCapabilities

    def open(self, knobs: GeneratorKnobs) -> GeneratorSession:
        """Start a streaming session.

        Raises:
            BackendError: The backend renders whole timelines only (``capabilities.streaming`` is False).
        """
        ...

    def generate(self, timeline: Timeline, knobs: GeneratorKnobs) -> Iterator[FrameChunk]:
        """Render ``timeline`` from start to end, block by block where the backend allows."""
        ...


def stream_timeline(session: GeneratorSession, timeline: Timeline) -> Iterator[FrameChunk]:
    """Drive a session through a timeline: set each segment's prompt at its first block, then step."""
    fpb = timeline.frames_per_block
    for segment in timeline.segments:
        session.set_prompt(segment.prompt, segment.transition)
        for _ in range(segment.n_frames // fpb):
            yield session.step()
