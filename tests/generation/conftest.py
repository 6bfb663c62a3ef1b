"""Shared fixtures: the shipped embedded generator (loaded once) and its capabilities."""

from __future__ import annotations

from pathlib import Path

import pytest

from vidscout.generation.base import GeneratorCapabilities
from vidscout.generation.embedded import EmbeddedGenerator

REPO = Path(__file__).resolve().parents[2]
STORYBOARD = REPO / "examples" / "four_shots.yaml"


@pytest.fixture(scope="session")
def shipped() -> EmbeddedGenerator:
    return EmbeddedGenerator.load()


@pytest.fixture(scope="session")
def caps(shipped: EmbeddedGenerator) -> GeneratorCapabilities:
    return shipped.capabilities
