from __future__ import annotations

import itertools

import numpy as np
import pytest

from vidscout.types import TimeSpan
from vidscout.video.segment import (
    SegmentOptions,
    ShotDetector,
    ShotOptions,
    build_hierarchy,
    chapters_from_clips,
    clips_from_shots,
    frame_histogram,
    histogram_distance,
    is_cut_distance,
    shots_from_cuts,
)


def _solid(rgb: tuple[int, int, int], noise: float = 0.0, seed: int = 0) -> np.ndarray:
    img = np.full((36, 64, 3), rgb, dtype=np.float32)
    if noise:
        img += np.random.default_rng(seed).normal(0, noise, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def test_histogram_distance_is_zero_for_equal_and_one_for_disjoint() -> None:
    red, blue = frame_histogram(_solid((220, 20, 20))), frame_histogram(_solid((20, 20, 220)))
    assert histogram_distance(red, red) == 0.0
    assert histogram_distance(red, blue) == pytest.approx(1.0)


def test_adaptive_gate_needs_both_threshold_and_ratio() -> None:
    opts = ShotOptions(threshold=0.35, ratio=3.0)
    assert is_cut_distance(0.9, [0.05] * 10, opts)
    assert not is_cut_distance(0.3, [0.05] * 10, opts)  # below the absolute threshold
    assert not is_cut_distance(0.6, [0.3] * 10, opts)  # busy footage: not 3x the baseline


def test_detector_finds_cuts_between_noisy_shots_and_respects_min_shot_length() -> None:
    det = ShotDetector(ShotOptions(min_shot_s=0.5))
    colours = [(200, 40, 40), (40, 200, 40), (40, 40, 200), (200, 200, 40)]
    t = 0.0
    for shot, rgb in enumerate(colours):
        for i in range(25):  # 1 s per shot at 25 fps, sensor noise on every frame
            det.push(t, _solid(rgb, noise=6.0, seed=shot * 100 + i))
            t += 0.04
    assert det.cuts == pytest.approx([1.0, 2.0, 3.0])


def test_detector_ignores_a_flash_shorter_than_the_minimum_shot() -> None:
    det = ShotDetector(ShotOptions(min_shot_s=0.6))
    frames = [(200, 40, 40)] * 20 + [(40, 200, 40)] * 20 + [(40, 40, 200)] * 2 + [(40, 200, 40)] * 20
    for i, rgb in enumerate(frames):
        det.push(i * 0.04, _solid(rgb))
    assert det.cuts == pytest.approx([0.8])


def test_shots_cover_the_video_without_gaps() -> None:
    shots = shots_from_cuts([5.0, 2.0, 0.0, 12.0, 30.0], 12.0)
    assert [(s.start_s, s.end_s) for s in shots] == [(0.0, 2.0), (2.0, 5.0), (5.0, 12.0)]


def test_clips_merge_tiny_shots_and_split_long_ones() -> None:
    shots = [TimeSpan(start_s=a, end_s=b) for a, b in [(0, 0.5), (0.5, 10), (10, 11), (11, 75)]]
    clips = clips_from_shots(shots, SegmentOptions(min_clip_s=2.0, max_clip_s=30.0))
    spans = [(round(c.start_s, 3), round(c.end_s, 3)) for c in clips]
    assert spans == [(0, 11), (11, 32.333), (32.333, 53.667), (53.667, 75)]
    assert all(c.duration_s <= 30.0 for c in clips)


def test_chapters_split_at_the_strongest_boundary_in_the_window() -> None:
    clips = [TimeSpan(start_s=10.0 * i, end_s=10.0 * (i + 1)) for i in range(24)]  # 240 s
    scores = [0.0] * 23
    scores[6] = 0.9  # between clip 6 and 7 -> boundary at 70 s
    groups = chapters_from_clips(clips, scores, SegmentOptions(chapter_min_s=60, chapters_target=4))
    assert groups[0] == (0, 7)
    assert groups[-1][1] == 24
    assert all(b > a for a, b in groups)
    assert [g[0] for g in groups[1:]] == [g[1] for g in groups[:-1]]


def test_hierarchy_levels_nest_and_cover_the_video() -> None:
    segs = build_hierarchy([3.0, 40.0, 41.0, 95.0], 130.0, options=SegmentOptions(chapter_min_s=30))
    for level in ("shot", "clip", "chapter"):
        spans = [s.span for s in segs if s.level == level]
        assert spans[0].start_s == 0.0 and spans[-1].end_s == 130.0
        assert all(a.end_s == b.start_s for a, b in itertools.pairwise(spans))
    chapters = [s.span for s in segs if s.level == "chapter"]
    for s in segs:
        if s.level != "chapter":
            assert s.parent is not None
            mid = (s.span.start_s + s.span.end_s) / 2
            assert chapters[s.parent].contains(mid)
