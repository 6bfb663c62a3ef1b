"""Paths to the annotation data the eval tests read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
# A git worktree is not beside shared/; VIDSCOUT_TEST_SHARED_BENCHMARKS points at it then.
SHARED = Path(os.environ.get("VIDSCOUT_TEST_SHARED_BENCHMARKS") or REPO.parent / "shared" / "benchmarks")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Small real annotation subsets shipped with the tests (see data/ATTRIBUTION.md)."""
    return DATA


@pytest.fixture(scope="session")
def shared_benchmarks() -> Path:
    """The full annotation files next to the checkout; tests using them skip when they are absent."""
    if not (SHARED / "mlvu" / "1_plotQA.json").is_file() or not (SHARED / "lvbench" / "lvbench_clean.json").is_file():
        pytest.skip(f"full benchmark annotations not found at {SHARED} (a sibling 'shared/benchmarks' of the repo)")
    return SHARED


@pytest.fixture(scope="session")
def needle_benchmark(media_cache: Path) -> Path:
    """``needle.json`` of a small real v1 needle benchmark (3 min of Big Buck Bunny, one needle per kind), cached."""
    from vidscout.eval.tasks.needle import make_needle_benchmark

    return make_needle_benchmark(
        media_cache / "needle3", version=1, minutes=3, per_kind={"speech": 1, "text": 1, "image": 1}, seed=0,
        media_cache=media_cache, min_gap_s=30,
    )  # fmt: skip


@pytest.fixture(scope="session")
def needle_v2_benchmark(media_cache: Path) -> Path:
    """``needle.json`` of a small real v2 needle benchmark (6 min of Big Buck Bunny, the short defaults), cached."""
    from vidscout.eval.tasks.needle import make_needle_benchmark

    return make_needle_benchmark(media_cache / "needle2_6", minutes=6, seed=0, media_cache=media_cache)
