"""CPU checks on a rendered timeline: flicker, continuity at ``continue`` switches, cuts at ``cut`` boundaries.

Cuts are found by the project's own detector (`vidscout.video.segment.ShotDetector`), the one ingest uses.
For the embedded world, the oracle (`world.read_shot`) also reads every shot back against its prompt.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel

from vidscout.errors import ConfigError
from vidscout.generation import world
from vidscout.generation.base import Timeline
from vidscout.video.segment import ShotDetector

Frames = NDArray[np.uint8]


class ShotMetrics(BaseModel, frozen=True):
    """Per shot: flicker, and the oracle's reading when the world is the embedded one."""

    shot_id: str
    prompt: str
    start_frame: int
    end_frame: int
    flicker: float  # mean |Δ| between consecutive frames over static (background) pixels, 0..1
    oracle_score: float | None = None  # fraction of colour/shape/direction/background read back right
    oracle_reading: dict[str, str | None] | None = None


class BoundaryMetrics(BaseModel, frozen=True):
    """One shot boundary: how much the picture changes there, and whether the shot detector saw a cut."""

    frame: int
    transition: str
    change: float  # mean |Δ| across the boundary, 0..1
    baseline: float  # median mean |Δ| between consecutive frames just before it
    detected_cut: bool
    sprite_jump_px: float | None = None  # embedded world: how far the sprite's centre moved (torus distance)


class RenderMetrics(BaseModel, frozen=True):
    """Summary checks of one render."""

    shots: tuple[ShotMetrics, ...]
    boundaries: tuple[BoundaryMetrics, ...]
    flicker: float
    cut_recall: float | None  # cut boundaries where the detector placed a cut / cut boundaries
    false_cuts: int  # detected cuts that are not at a cut boundary (continue switches included)
    continue_jump_px: float | None  # embedded world: mean sprite jump at continue switches (world speed: 2 px)
    oracle_score: float | None  # mean over shots
    oracle_chance: float | None


def _mean_abs_diff(a: Frames, b: Frames) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean() / 255.0)


def static_flicker(frames: Frames, *, tolerance: float = 40.0) -> float:
    """Temporal flicker: mean absolute change between consecutive frames over pixels near both frames' median.

    Moving content is excluded (it should change); what is left is background, which should not.
    """
    if len(frames) < 2:
        return 0.0
    f = frames.astype(np.float32)
    median = np.median(f.reshape(len(f), -1, 3), axis=1)[:, None, None, :]
    near = np.sqrt(((f - median) ** 2).sum(-1)) < tolerance
    static = near[1:] & near[:-1]
    diff = np.abs(f[1:] - f[:-1]).mean(-1)
    return float((diff * static).sum() / max(float(static.sum()), 1.0) / 255.0)


def detect_cuts(frames: Frames, fps: float) -> list[int]:
    """Frame indices where the project's shot detector places a cut."""
    det = ShotDetector()
    for i, frame in enumerate(frames):
        det.push(i / fps, frame)
    return [round(t * fps) for t in det.cuts]


def _sprite_jump(a: Frames, b: Frames) -> float | None:
    ra, rb = world.read_frame(a), world.read_frame(b)
    if ra.x is None or rb.x is None or ra.y is None or rb.y is None:
        return None
    dx = (rb.x - ra.x + world.SIZE / 2) % world.SIZE - world.SIZE / 2
    dy = (rb.y - ra.y + world.SIZE / 2) % world.SIZE - world.SIZE / 2
    return float(np.hypot(dx, dy))


def measure(frames: Frames, timeline: Timeline, *, oracle: bool) -> RenderMetrics:
    """Check a render against its timeline; ``oracle`` reads shots back with the embedded world's oracle.

    Raises:
        ConfigError: ``frames`` does not hold the timeline's frame count.
    """
    if len(frames) != timeline.n_frames:
        raise ConfigError(f"{len(frames)} frames for a timeline of {timeline.n_frames}")
    cuts = detect_cuts(frames, timeline.fps)
    shots: list[ShotMetrics] = []
    for seg in timeline.segments:
        run = frames[seg.start_frame : seg.end_frame]
        reading = world.read_shot(run) if oracle else None
        shots.append(ShotMetrics(
            shot_id=seg.shot_id, prompt=seg.prompt, start_frame=seg.start_frame, end_frame=seg.end_frame,
            flicker=static_flicker(run),
            oracle_score=reading.score(world.parse_prompt(seg.prompt)) if reading else None,
            oracle_reading=reading.model_dump() if reading else None,
        ))  # fmt: skip
    boundaries: list[BoundaryMetrics] = []
    for seg in timeline.segments[1:]:
        s = seg.start_frame
        before = [_mean_abs_diff(frames[i - 1], frames[i]) for i in range(max(1, s - 4), s)]
        boundaries.append(BoundaryMetrics(
            frame=s, transition=seg.transition, change=_mean_abs_diff(frames[s - 1], frames[s]),
            baseline=float(np.median(before)) if before else 0.0,
            detected_cut=any(abs(c - s) <= 1 for c in cuts),
            sprite_jump_px=_sprite_jump(frames[s - 1], frames[s]) if oracle else None,
        ))  # fmt: skip
    cut_bounds = [b for b in boundaries if b.transition == "cut"]
    cut_frames = {b.frame for b in cut_bounds}
    jumps = [b.sprite_jump_px for b in boundaries if b.transition == "continue" and b.sprite_jump_px is not None]
    scores = [s.oracle_score for s in shots if s.oracle_score is not None]
    return RenderMetrics(
        shots=tuple(shots),
        boundaries=tuple(boundaries),
        flicker=float(np.mean([s.flicker for s in shots])),
        cut_recall=sum(b.detected_cut for b in cut_bounds) / len(cut_bounds) if cut_bounds else None,
        false_cuts=sum(1 for c in cuts if not any(abs(c - f) <= 1 for f in cut_frames)),
        continue_jump_px=float(np.mean(jumps)) if jumps else None,
        oracle_score=float(np.mean(scores)) if scores else None,
        oracle_chance=world.CHANCE_SCORE if oracle else None,
    )
