"""Diarization clustering and the DER metric, on literal inputs (no audio, no model)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from numpy.typing import NDArray

from vidscout.errors import ConfigError
from vidscout.memory.diarize import (
    DiarizeOptions,
    _max_weight_matching,  # pyright: ignore[reportPrivateUsage]
    diarization_error_rate,
    diarize,
    score_diarization,
    speaker_turns,
    split_regions,
)

REF = [(0.0, 10.0, "alice"), (10.0, 20.0, "bob")]


# --- DER --------------------------------------------------------------------------------------------


def test_der_is_zero_for_a_relabelled_perfect_hypothesis() -> None:
    assert diarization_error_rate(REF, [(0.0, 10.0, "S2"), (10.0, 20.0, "S1")]) == 0.0


def test_der_one_speaker_for_two_is_confusion_outside_the_collar() -> None:
    score = score_diarization(REF, [(0.0, 20.0, "S1")])
    # The collar removes 0.25 s either side of 0, 10 and 20: 19 s scored, bob's 9.5 s confused.
    assert score.reference_s == pytest.approx(19.0)
    assert score.confusion_s == pytest.approx(9.5)
    assert score.missed_s == score.false_alarm_s == 0.0
    assert score.rate == pytest.approx(0.5)
    assert diarization_error_rate(REF, [(0.0, 20.0, "S1")], collar_s=0.0) == pytest.approx(0.5)


def test_der_missed_and_false_alarm() -> None:
    hyp = [(0.0, 5.0, "x"), (20.0, 25.0, "x")]
    score = score_diarization(REF, hyp, collar_s=0.0)
    assert (score.missed_s, score.false_alarm_s, score.confusion_s) == (15.0, 5.0, 0.0)
    assert score.rate == pytest.approx(1.0)


def test_collar_forgives_small_boundary_errors_only() -> None:
    late = [(0.0, 10.2, "a"), (10.2, 20.0, "b")]
    assert diarization_error_rate(REF, late, collar_s=0.25) == 0.0
    assert diarization_error_rate(REF, late, collar_s=0.0) == pytest.approx(0.2 / 20.0)


def test_overlapping_reference_speech_counts_each_speaker() -> None:
    ref = [(0.0, 10.0, "a"), (5.0, 10.0, "b")]  # 5 s of overlap: 15 s of reference speech
    score = score_diarization(ref, [(0.0, 10.0, "x")], collar_s=0.0)
    assert score.reference_s == 15.0
    assert score.missed_s == 5.0 and score.confusion_s == 0.0


def test_mapping_is_optimal_not_greedy() -> None:
    # Greedy would give "x" to "a" (largest overlap, 6 s) and lose 5 s of "b"; optimal maps x->b, y->a.
    ref = [(0.0, 6.0, "a"), (6.0, 11.0, "b"), (11.0, 15.0, "a")]
    hyp = [(0.0, 6.0, "x"), (6.0, 11.0, "x"), (11.0, 15.0, "y")]
    score = score_diarization(ref, hyp, collar_s=0.0)
    assert score.mapping == {"a": "y", "b": "x"}
    assert score.confusion_s == 6.0


def test_no_reference_speech() -> None:
    assert diarization_error_rate([], []) == 0.0
    assert math.isinf(diarization_error_rate([], [(0.0, 1.0, "x")]))


def test_max_weight_matching_matches_brute_force() -> None:
    rng = np.random.default_rng(7)
    for n, m in [(1, 1), (2, 3), (3, 2), (4, 4), (5, 3), (3, 6)]:
        for _ in range(20):
            w = rng.integers(0, 9, size=(n, m)).astype(float)
            got = sum(w[r, c] for r, c in _max_weight_matching(w))
            k = min(n, m)
            best = max(
                sum(w[r, c] for r, c in zip(rows, cols, strict=True))
                for rows in itertools.combinations(range(n), k)
                for cols in itertools.permutations(range(m), k)
            )
            assert got == best


# --- clustering -------------------------------------------------------------------------------------


def _voices(rows: list[int], *, noise: float = 0.25, seed: int = 0) -> NDArray[np.float32]:
    """Unit vectors near one of three orthogonal 'voices' per row."""
    rng = np.random.default_rng(seed)
    base = np.eye(3, 16)
    x = base[rows] + noise * rng.standard_normal((len(rows), 16)) / 4
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_speakers_numbered_by_first_appearance() -> None:
    regions = [(0.0, 2.0), (2.5, 4.5), (5.0, 7.0), (7.5, 9.5), (10.0, 12.0), (12.5, 14.5)]
    labels = diarize(regions, _voices([2, 0, 2, 1, 0, 1]), options=DiarizeOptions(min_speaker_s=0))
    assert labels == ["S1", "S2", "S1", "S3", "S2", "S3"]


def test_labels_follow_input_order_not_time_order() -> None:
    regions = [(10.0, 12.0), (0.0, 2.0), (5.0, 7.0)]
    labels = diarize(regions, _voices([0, 1, 0]), options=DiarizeOptions(min_speaker_s=0))
    assert labels == ["S2", "S1", "S2"]


def test_short_region_takes_the_nearest_confident_neighbour() -> None:
    regions = [(0.0, 3.0), (3.1, 3.5), (6.0, 9.0), (20.0, 23.0)]
    emb = _voices([0, 1, 1, 0])  # the 0.4 s region sounds like voice 1, but it is too short to trust
    labels = diarize(regions, emb, options=DiarizeOptions(min_speaker_s=0))
    assert labels == ["S1", "S1", "S2", "S1"]


def test_empty_embedding_rows_are_never_clustered() -> None:
    regions = [(0.0, 3.0), (4.0, 7.0), (8.0, 11.0)]
    emb = _voices([0, 0, 1])
    emb[2] = 0.0
    assert diarize(regions, emb) == ["S1", "S1", "S1"]


def test_threshold_decides_the_number_of_speakers() -> None:
    regions = [(float(k), k + 1.5) for k in range(0, 12, 2)]
    emb = _voices([0, 1, 2, 0, 1, 2])
    assert len(set(diarize(regions, emb, options=DiarizeOptions(min_speaker_s=0)))) == 3
    assert len(set(diarize(regions, emb, options=DiarizeOptions(threshold=-1.0)))) == 1
    assert len(set(diarize(regions, emb, options=DiarizeOptions(min_speaker_s=0, max_speakers=2)))) == 2


def test_small_speakers_are_absorbed() -> None:
    regions = [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0), (6.0, 7.5), (8.0, 10.0)]
    emb = _voices([0, 0, 0, 1, 2])  # voices 1 and 2 speak for under 3 s each
    kept = diarize(regions, emb, options=DiarizeOptions(min_speaker_s=0))
    absorbed = diarize(regions, emb, options=DiarizeOptions(min_speaker_s=3.0))
    assert len(set(kept)) == 3
    assert absorbed[:4] == ["S1"] * 4 and len(set(absorbed)) == 1


def test_diarize_rejects_bad_input() -> None:
    with pytest.raises(ConfigError, match="one embedding row per region"):
        diarize([(0.0, 1.0)], np.zeros((2, 4), np.float32))
    with pytest.raises(ConfigError, match="ends before"):
        diarize([(2.0, 1.0)], np.ones((1, 4), np.float32))
    assert diarize([], np.zeros((0, 4), np.float32)) == []


# --- region helpers ---------------------------------------------------------------------------------


def test_split_regions_into_equal_parts() -> None:
    assert split_regions([(0.0, 6.0), (7.0, 8.0), (10.0, 14.5)], max_s=2.0) == [
        (0.0, 2.0), (2.0, 4.0), (4.0, 6.0), (7.0, 8.0), (10.0, 11.5), (11.5, 13.0), (13.0, 14.5),
    ]  # fmt: skip
    with pytest.raises(ConfigError):
        split_regions([(0.0, 1.0)], max_s=0.0)


def test_speaker_turns_join_one_speakers_regions() -> None:
    regions = [(3.0, 4.0), (0.0, 1.0), (1.2, 2.0), (5.0, 6.0)]
    assert speaker_turns(regions, ["S2", "S1", "S1", "S2"], join_gap_s=0.5) == [
        (0.0, 2.0, "S1"),
        (3.0, 4.0, "S2"),
        (5.0, 6.0, "S2"),
    ]
    assert speaker_turns(regions, ["S2", "S1", "S1", "S2"], join_gap_s=1.0)[-1] == (3.0, 6.0, "S2")
