"""Shot (cut) detection on tiny thumbnails, and the shot → clip → chapter hierarchy.

The detector is a colour-histogram detector with an adaptive gate: a frame-to-frame histogram
distance must be large in absolute terms *and* large against the recent distances, which keeps
fast motion and encoder noise from counting as cuts (the failure mode of plain content detectors).
It runs on the thumbnails of the one decode pass shared with frame sampling.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel

from vidscout.types import Segment, TimeSpan

_HIST_BINS = (16, 4, 4)  # hue, saturation, value bins of the joint histogram


class ShotOptions(BaseModel, frozen=True):
    """Knobs of the cut detector."""

    threshold: float = 0.35  # min histogram distance (0..1, half L1) for a cut
    ratio: float = 3.0  # ... and at least this many times the recent median distance
    window: int = 12  # frames of recent history for the adaptive gate
    min_shot_s: float = 0.6  # no two cuts closer than this (seconds)


class SegmentOptions(BaseModel, frozen=True):
    """Knobs of the clip and chapter levels."""

    min_clip_s: float = 2.0  # merge shots shorter than this into a neighbour (seconds)
    max_clip_s: float = 30.0  # split longer shots so evidence stays specific (seconds)
    chapter_min_s: float = 60.0  # chapters are at least this long unless the video is shorter
    chapters_target: int = 12  # aim for about this many chapters on long videos
    chapter_max_s: float = 600.0  # ... but no chapter longer than this (seconds)


def frame_histogram(thumb: NDArray[np.uint8]) -> NDArray[np.float32]:
    """Joint HSV histogram of an RGB thumbnail, normalised to sum 1, flattened."""
    hsv = cv2.cvtColor(thumb, cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, list(_HIST_BINS), [0, 180, 0, 256, 0, 256])
    flat = hist.reshape(-1).astype(np.float32)
    return flat / max(float(flat.sum()), 1.0)


def histogram_distance(a: NDArray[np.float32], b: NDArray[np.float32]) -> float:
    """Half the L1 distance of two normalised histograms: 0 identical, 1 disjoint."""
    return 0.5 * float(np.abs(a - b).sum())


@dataclass
class ShotDetector:
    """Streaming cut detector: `push` every decoded frame in order, then read `cuts`."""

    options: ShotOptions = field(default_factory=ShotOptions)
    cuts: list[float] = field(default_factory=list[float])
    _prev: NDArray[np.float32] | None = None
    _recent: deque[float] = field(default_factory=lambda: deque[float](maxlen=64))
    _last_cut_s: float = -1e9
    _before_cut: NDArray[np.float32] | None = None

    def push(self, t_s: float, thumb: NDArray[np.uint8]) -> bool:
        """Feed one frame; returns True when a cut is placed at ``t_s``.

        A cut is retracted (removed from `cuts`) when, within ``min_shot_s``, the picture returns
        to what it was before the cut: a flash or a one-frame glitch, not a new shot.
        """
        hist = frame_histogram(thumb)
        prev, self._prev = self._prev, hist
        if prev is None:
            return False
        if self._before_cut is not None:
            if t_s - self._last_cut_s >= self.options.min_shot_s:
                self._before_cut = None
            elif histogram_distance(self._before_cut, hist) < 0.5 * self.options.threshold:
                self.cuts.pop()
                self._last_cut_s = self.cuts[-1] if self.cuts else -1e9
                self._before_cut = None
                return False
        d = histogram_distance(prev, hist)
        is_cut = is_cut_distance(d, list(self._recent)[-self.options.window :], self.options) and (
            t_s - self._last_cut_s >= self.options.min_shot_s
        )
        # A cut's own distance would inflate the baseline for the next shot: keep it out.
        if is_cut:
            self.cuts.append(t_s)
            self._last_cut_s = t_s
            self._before_cut = prev
        else:
            self._recent.append(d)
        return is_cut


def is_cut_distance(d: float, recent: Sequence[float], options: ShotOptions) -> bool:
    """The adaptive gate: absolute threshold plus a ratio against the recent median distance."""
    if d < options.threshold:
        return False
    if not recent:
        return True
    baseline = float(np.median(np.asarray(recent, dtype=np.float32)))
    return d >= options.ratio * max(baseline, 0.02)


def detect_shots(
    times_s: Sequence[float], thumbs: Sequence[NDArray[np.uint8]], options: ShotOptions | None = None
) -> list[float]:
    """Cut times (seconds) for a sequence of frames; convenience wrapper over `ShotDetector`."""
    det = ShotDetector(options or ShotOptions())
    for t, th in zip(times_s, thumbs, strict=True):
        det.push(t, th)
    return det.cuts


def shots_from_cuts(cuts_s: Sequence[float], duration_s: float) -> list[TimeSpan]:
    """Turn cut times into consecutive spans covering [0, duration_s)."""
    bounds = [0.0, *sorted(c for c in cuts_s if 0.0 < c < duration_s), duration_s]
    return [TimeSpan(start_s=a, end_s=b) for a, b in itertools.pairwise(bounds) if b > a]


def clips_from_shots(shots: Sequence[TimeSpan], options: SegmentOptions | None = None) -> list[TimeSpan]:
    """Merge tiny shots into neighbours and split long shots into near-equal pieces."""
    opts = options or SegmentOptions()
    merged: list[TimeSpan] = []
    for shot in shots:
        if merged and (shot.duration_s < opts.min_clip_s or merged[-1].duration_s < opts.min_clip_s):
            merged[-1] = TimeSpan(start_s=merged[-1].start_s, end_s=shot.end_s)
        else:
            merged.append(shot)
    clips: list[TimeSpan] = []
    for span in merged:
        n = max(1, int(np.ceil(span.duration_s / opts.max_clip_s - 1e-9)))
        step = span.duration_s / n
        for i in range(n):
            end = span.end_s if i == n - 1 else span.start_s + (i + 1) * step
            clips.append(TimeSpan(start_s=span.start_s + i * step, end_s=end))
    return clips


def chapters_from_clips(
    clips: Sequence[TimeSpan],
    boundary_scores: Sequence[float] | None = None,
    options: SegmentOptions | None = None,
) -> list[tuple[int, int]]:
    """Group consecutive clips into chapters; returns (first_clip, last_clip_exclusive) pairs.

    ``boundary_scores[i]`` scores the boundary between clip i and i+1 (higher = better place to
    split, e.g. visual dissimilarity or a speech pause). Chapters aim at total/chapters_target
    seconds, never shorter than chapter_min_s nor longer than chapter_max_s; inside that window the
    highest-scoring boundary wins.
    """
    opts = options or SegmentOptions()
    if not clips:
        return []
    total = clips[-1].end_s - clips[0].start_s
    target = min(max(total / opts.chapters_target, opts.chapter_min_s), opts.chapter_max_s)
    lo_s, hi_s = 0.6 * target, min(1.6 * target, opts.chapter_max_s)
    scores = list(boundary_scores) if boundary_scores is not None else [0.0] * (len(clips) - 1)
    groups: list[tuple[int, int]] = []
    start = 0
    while start < len(clips):
        best, best_key = len(clips), (-1.0, 0.0)
        for end in range(start + 1, len(clips)):  # candidate: split before clip `end`
            length = clips[end - 1].end_s - clips[start].start_s
            if length < lo_s:
                continue
            if length > hi_s:
                break
            key = (scores[end - 1], -abs(length - target))
            if key > best_key:
                best, best_key = end, key
        rest = clips[-1].end_s - clips[best - 1].end_s if best < len(clips) else 0.0
        if best < len(clips) and rest < lo_s:
            best = len(clips)  # a short tail joins the last chapter
        if best == len(clips) and clips[-1].end_s - clips[start].start_s > hi_s + target:
            # No boundary in the window (e.g. one huge clip run): split where the window ends.
            end = start + 1
            while end < len(clips) and clips[end].end_s - clips[start].start_s <= target:
                end += 1
            best = end
        groups.append((start, best))
        start = best
    return groups


def build_hierarchy(
    cuts_s: Sequence[float],
    duration_s: float,
    *,
    clip_features: NDArray[np.float32] | None = None,
    options: SegmentOptions | None = None,
) -> list[Segment]:
    """Shots, clips and chapters for a video, each level in time order.

    Shots and clips link to the chapter that holds their midpoint. ``clip_features`` (one row per
    clip, any descriptor) picks chapter boundaries where consecutive clips differ most; it must
    have one row per clip as `clips_from_shots` returns them.
    """
    opts = options or SegmentOptions()
    shots = shots_from_cuts(cuts_s, duration_s)
    clips = clips_from_shots(shots, opts)
    scores = clip_boundary_scores(clip_features) if clip_features is not None else None
    groups = chapters_from_clips(clips, scores, opts)
    chapter_of_clip = {c: gi for gi, (a, b) in enumerate(groups) for c in range(a, b)}
    out: list[Segment] = []
    for gi, (a, b) in enumerate(groups):
        out.append(
            Segment(level="chapter", index=gi, span=TimeSpan(start_s=clips[a].start_s, end_s=clips[b - 1].end_s))
        )
    for ci, clip in enumerate(clips):
        out.append(Segment(level="clip", index=ci, span=clip, parent=chapter_of_clip[ci]))
    for si, shot in enumerate(shots):
        mid = 0.5 * (shot.start_s + shot.end_s)
        parent = next((ci for ci, c in enumerate(clips) if c.start_s <= mid < c.end_s), len(clips) - 1)
        out.append(Segment(level="shot", index=si, span=shot, parent=chapter_of_clip[parent]))
    return out


def clip_boundary_scores(features: NDArray[np.float32]) -> list[float]:
    """Dissimilarity (1 - cosine) between consecutive clip descriptors, one per boundary."""
    f = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    return [float(1.0 - f[i] @ f[i + 1]) for i in range(len(f) - 1)]
