"""The in-process model for KV tests: the 0.5B planner GGUF, converted once into the shared test cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from vidscout.kv.model import TransformersKVModel, load_kv_model
from vidscout.settings import Settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def kv_settings() -> Settings:
    # The same weights dir as tests/models, so the GGUF is assembled and converted once per checkout.
    return Settings(data_dir=REPO / ".cache" / "vidscout-test", threads=2)


@pytest.fixture(scope="session")
def kv_model(kv_settings: Settings) -> TransformersKVModel:
    return load_kv_model("gguf:qwen2.5-coder-0.5b", kv_settings)
