"""Shared fixtures: offline, quiet-threaded environment; generated and fetched media."""

from __future__ import annotations

import os

# Before any torch / onnxruntime / ctranslate2 import: spinning OpenMP threads on a busy 2-core
# machine made inference 10-40x slower; and no test may reach a model hub.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import assetgen

REPO = Path(__file__).resolve().parent.parent
ASSETS = REPO / "tests" / "assets"


@pytest.fixture(scope="session")
def assets_dir() -> Path:
    ASSETS.mkdir(parents=True, exist_ok=True)
    return ASSETS


@pytest.fixture(scope="session")
def media_cache() -> Path:
    d = REPO / ".cache" / "media"
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture(scope="session")
def indexed_video(assets_dir: Path) -> Path:
    return assetgen.indexed_video(assets_dir / "indexed_24fps.mp4")


@pytest.fixture(autouse=True)
def no_error_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail any test that logged at ERROR or above (a swallowed failure is still a failure)."""
    yield
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert not errors, f"logged errors: {[r.getMessage() for r in errors]}"
