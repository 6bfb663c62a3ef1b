"""Render a directed plan: drive a `Generator` block by block, verify shots, write mp4 + JSON sidecar + strip.

Frames stream to ffmpeg (H.264) as they are accepted, so the writer's memory does not grow with length.
With verification on, each shot is rendered, inspected (the embedded world's oracle, or any
`ShotInspector`, e.g. one over vidscout's Video-LLM), and regenerated from its first block with a new
seed when it fails: a checkpointable session returns to the shot's first block boundary.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, Field

from vidscout.errors import BackendError, ConfigError
from vidscout.generation import world
from vidscout.generation.base import (
    CheckpointableSession,
    FrameChunk,
    Generator,
    GeneratorKnobs,
    GeneratorSession,
    TimelineSegment,
)
from vidscout.generation.director import DirectorResult
from vidscout.generation.metrics import RenderMetrics, measure
from vidscout.models.base import VideoLLM

Frames = NDArray[np.uint8]


class ShotCheck(BaseModel, frozen=True):
    """An inspector's verdict on one rendered shot."""

    passed: bool
    score: float = Field(ge=0, le=1)
    detail: str = ""


class ShotInspector(Protocol):
    """Looks at a rendered shot and says whether it shows its prompt."""

    name: str

    def inspect(self, frames: Frames, prompt: str) -> ShotCheck:
        """Judge ``frames`` (n, H, W, 3) uint8 against ``prompt``."""
        ...


class OracleInspector:
    """The embedded world's exact oracle: passes when at least ``threshold`` of the four fields read back."""

    name = "oracle"

    def __init__(self, threshold: float = 0.75) -> None:
        """Args: threshold: fraction of (colour, shape, direction, background) that must match."""
        self.threshold = threshold

    def inspect(self, frames: Frames, prompt: str) -> ShotCheck:
        """Read the shot back and compare with the prompt."""
        reading = world.read_shot(frames)
        score = reading.score(world.parse_prompt(prompt))
        wrong = [f for f, ok in reading.matches(world.parse_prompt(prompt)).items() if not ok]
        detail = f"read {reading.model_dump()}" + (f"; wrong: {', '.join(wrong)}" if wrong else "")
        return ShotCheck(passed=score >= self.threshold, score=score, detail=detail)


class VideoLLMInspector:
    """Asks vidscout's Video-LLM whether the shot shows its prompt (for free-text generators)."""

    name = "video-llm"

    def __init__(self, video_llm: VideoLLM, *, frames: int = 4) -> None:
        """Args: video_llm: the understanding model; frames: how many frames of the shot it sees."""
        self.video_llm = video_llm
        self.frames = frames

    def inspect(self, frames: Frames, prompt: str) -> ShotCheck:
        """One yes/no question about evenly spaced frames of the shot."""
        idx = np.linspace(0, len(frames) - 1, min(self.frames, len(frames))).round().astype(int)
        question = f'Does this clip show: "{prompt}"? Answer "yes" or "no", then one short reason.'
        reply = self.video_llm.describe([frames[i] for i in idx], [float(i) for i in idx], question).strip()
        yes = reply.lower().lstrip("\"'* ").startswith("yes")
        return ShotCheck(passed=yes, score=1.0 if yes else 0.0, detail=reply[:200])


class VerifyOptions(BaseModel, frozen=True):
    """The verify-and-regenerate loop."""

    retries: int = Field(default=2, ge=0, description="Regenerations per failing shot (new seed each).")


class ShotAttempt(BaseModel, frozen=True):
    """One render of one shot, as the inspector judged it."""

    shot_id: str
    attempt: int
    seed: int | None
    check: ShotCheck


class RenderReport(BaseModel):
    """Everything the JSON sidecar holds."""

    backend: str
    video: str
    fps: float
    width: int
    height: int
    seed: int
    knobs: dict[str, Any]
    segments: list[dict[str, Any]]
    n_frames: int
    duration_s: float
    wall_s: float
    achieved_fps: float
    realtime_factor: float  # video seconds per wall second (>1: faster than real time)
    block_latency_s: list[float]
    notes: list[str]
    attempts: list[ShotAttempt] = []
    metrics: RenderMetrics | None = None
    plan: dict[str, Any] = {}


class VideoWriter:
    """Streams RGB frames into an H.264 mp4 through the ffmpeg CLI, upscaling by ``scale`` (nearest)."""

    def __init__(self, path: Path, width: int, height: int, fps: float, *, scale: int = 1) -> None:
        """Start ffmpeg.

        Raises:
            BackendError: ffmpeg is not installed.
        """
        exe = shutil.which("ffmpeg")
        if exe is None:
            raise BackendError("ffmpeg is not installed; `apt-get install ffmpeg` (or `make system`).")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.width, self.height = path, width, height
        vf = f"scale={width * scale}:{height * scale}:flags=neighbor" if scale > 1 else "null"
        cmd = [exe, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
               "-r", f"{fps:g}", "-i", "-", "-vf", vf, "-c:v", "libx264", "-preset", "veryfast", "-crf", "16",
               "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(path)]  # fmt: skip
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)

    def write(self, frames: Frames) -> None:
        """Append frames, (n, H, W, 3) uint8."""
        if frames.shape[1:] != (self.height, self.width, 3):
            raise ConfigError(f"frames of shape {frames.shape[1:]} for a {self.width}x{self.height} video")
        stdin: IO[bytes] | None = self._proc.stdin
        assert stdin is not None
        stdin.write(np.ascontiguousarray(frames).tobytes())

    def close(self) -> None:
        """Finish the file.

        Raises:
            BackendError: ffmpeg failed (its message is included).
        """
        _, err = self._proc.communicate()
        if self._proc.returncode != 0:
            raise BackendError(f"ffmpeg could not write {self.path}: {err.decode(errors='replace').strip()}")


def storyboard_strip(frames: Frames, segments: tuple[TimelineSegment, ...], *, scale: int, height: int = 160) -> Frames:
    """One middle frame per shot, side by side, each labelled with its shot id and transition."""
    import cv2

    tiles: list[Frames] = []
    for seg in segments:
        frame = frames[(seg.start_frame + seg.end_frame) // 2]
        h, w = frame.shape[:2]
        size = (max(1, round(w * height / h)), height)
        tile = cv2.resize(frame, size, interpolation=cv2.INTER_NEAREST if scale > 1 else cv2.INTER_AREA)
        band = np.full((28, tile.shape[1], 3), 255, np.uint8)
        cv2.putText(band, f"{seg.shot_id} ({seg.transition})", (4, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1,
                    cv2.LINE_AA)  # fmt: skip
        tiles.extend([np.vstack([band, tile]), np.full((height + 28, 4, 3), 255, np.uint8)])
    return np.hstack(tiles[:-1])


def _render_segment(session: GeneratorSession, seg: TimelineSegment, fpb: int) -> Iterator[FrameChunk]:
    session.set_prompt(seg.prompt, seg.transition)
    for _ in range(seg.n_frames // fpb):
        yield session.step()


def render(
    result: DirectorResult,
    generator: Generator,
    knobs: GeneratorKnobs,
    out: Path,
    *,
    inspector: ShotInspector | None = None,
    verify: VerifyOptions | None = None,
    on_block: Callable[[FrameChunk, int], None] | None = None,
    keep_frames: bool = True,
) -> RenderReport:
    """Render ``result.timeline`` to ``out`` (mp4), ``out.with_suffix('.json')`` and ``out.with_suffix('.png')``.

    Args:
        result: The director's plan and timeline.
        generator: Any `Generator`; verification needs a `CheckpointableSession`.
        knobs: Sampling knobs (seed, steps, window, sink, recache).
        out: The mp4 path.
        inspector: Judges each shot; with ``verify``, failing shots are regenerated.
        verify: Regeneration policy; None renders every shot once (still inspected when an inspector is given).
        on_block: Called as ``on_block(chunk, total_blocks)`` after each accepted block (progress bars).
        keep_frames: Keep the native frames for metrics and the strip (off for very long benchmark runs).

    Returns:
        The report that is also written as the JSON sidecar.
    """
    tl, caps = result.timeline, generator.capabilities
    writer = VideoWriter(out, caps.width, caps.height, tl.fps, scale=caps.output_scale)
    kept: list[Frames] = []
    latencies: list[float] = []
    attempts: list[ShotAttempt] = []
    notes = list(result.notes)
    t0 = time.perf_counter()
    try:
        if not caps.streaming:
            chunks = generator.generate(tl, knobs)
            for chunk in chunks:
                writer.write(chunk.frames)
                latencies.append(chunk.latency_s)
                if keep_frames:
                    kept.append(chunk.frames)
                if on_block:
                    on_block(chunk, tl.n_blocks)
        else:
            session = generator.open(knobs)
            try:
                for seg in tl.segments:
                    shot_frames, shot_lat = _render_verified(
                        session, seg, tl.frames_per_block, inspector, verify, knobs.seed, attempts, notes,
                        on_block, tl.n_blocks,
                    )  # fmt: skip
                    writer.write(shot_frames)
                    latencies += shot_lat
                    if keep_frames:
                        kept.append(shot_frames)
            finally:
                session.close()
    finally:
        writer.close()
    wall = time.perf_counter() - t0
    frames = np.concatenate(kept) if kept else None
    metrics = measure(frames, tl, oracle=caps.prompt_style == "grammar") if frames is not None else None
    if frames is not None:
        import cv2

        strip = storyboard_strip(frames, tl.segments, scale=caps.output_scale)
        cv2.imwrite(str(out.with_suffix(".png")), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
    report = RenderReport(
        backend=generator.name, video=out.name, fps=tl.fps, width=caps.width * caps.output_scale,
        height=caps.height * caps.output_scale, seed=knobs.seed, knobs=knobs.model_dump(),
        segments=[{"shot_id": s.shot_id, "prompt": s.prompt, "transition": s.transition,
                   "frames": [s.start_frame, s.end_frame], "start_s": s.start_frame / tl.fps,
                   "end_s": s.end_frame / tl.fps} for s in tl.segments],
        n_frames=tl.n_frames, duration_s=tl.duration_s, wall_s=round(wall, 3),
        achieved_fps=tl.n_frames / wall if wall > 0 else 0.0,
        realtime_factor=tl.duration_s / wall if wall > 0 else 0.0,
        block_latency_s=[round(x, 4) for x in latencies], notes=notes, attempts=attempts, metrics=metrics,
        plan=result.plan.model_dump(mode="json"),
    )  # fmt: skip
    out.with_suffix(".json").write_text(json.dumps(report.model_dump(mode="json"), indent=2))
    return report


def _render_verified(
    session: GeneratorSession,
    seg: TimelineSegment,
    fpb: int,
    inspector: ShotInspector | None,
    verify: VerifyOptions | None,
    seed: int,
    attempts: list[ShotAttempt],
    notes: list[str],
    on_block: Callable[[FrameChunk, int], None] | None,
    total_blocks: int,
) -> tuple[Frames, list[float]]:
    """Render one shot; inspect it; regenerate from its first block while it fails and retries remain."""
    can_retry = verify is not None and inspector is not None and isinstance(session, CheckpointableSession)
    state = session.checkpoint() if can_retry and isinstance(session, CheckpointableSession) else None
    retries = verify.retries if verify is not None and can_retry else 0
    best: tuple[float, Frames, list[float], object] | None = None
    for attempt in range(retries + 1):
        retry_seed: int | None = None
        if attempt and isinstance(session, CheckpointableSession):
            retry_seed = seed * 1000 + attempt * 7919 + seg.start_frame  # distinct, reproducible
            session.restore(state, seed=retry_seed)
        chunks = list(_render_segment(session, seg, fpb))
        frames = np.concatenate([c.frames for c in chunks])
        if inspector is None:
            _report_blocks(chunks, on_block, total_blocks)
            return frames, [c.latency_s for c in chunks]
        check = inspector.inspect(frames, seg.prompt)
        attempts.append(ShotAttempt(shot_id=seg.shot_id, attempt=attempt, seed=retry_seed, check=check))
        after = session.checkpoint() if can_retry and isinstance(session, CheckpointableSession) else None
        if best is None or check.score > best[0]:
            best = (check.score, frames, [c.latency_s for c in chunks], after)
        if check.passed:
            break
        if attempt < retries:
            notes.append(f"shot {seg.shot_id!r} failed {inspector.name} check ({check.score:.2f}: {check.detail}); "
                         f"regenerating from block {seg.start_frame // fpb}")  # fmt: skip
    assert best is not None
    if best[3] is not None and isinstance(session, CheckpointableSession):
        session.restore(best[3])  # continue the video from the kept attempt, not the last one
    blocks = [FrameChunk(block=(seg.start_frame + i) // fpb, start_frame=seg.start_frame + i,
                         frames=best[1][i : i + fpb], latency_s=lat, prompt=seg.prompt, transition=None)
              for i, lat in zip(range(0, seg.n_frames, fpb), best[2], strict=True)]  # fmt: skip
    _report_blocks(blocks, on_block, total_blocks)
    return best[1], best[2]


def _report_blocks(chunks: list[FrameChunk], on_block: Callable[[FrameChunk, int], None] | None, total: int) -> None:
    if on_block is not None:
        for c in chunks:
            on_block(c, total)
