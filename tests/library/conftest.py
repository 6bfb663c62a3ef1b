"""Short real videos for the library tests (built once, cached), and models shared by a test module."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from vidscout.media.collection import short_videos
from vidscout.media.needles import Needle, plant_needles

NEEDLE_WORD = "pineapple"
NEEDLE_AT = 6  # the video of the ten that holds the needle


@pytest.fixture(scope="session")
def short_set(media_cache: Path) -> list[Path]:
    """Ten different 6 s videos: Big Buck Bunny and vtest cuts, every third with a spoken sentence."""
    return short_videos(media_cache, media_cache / "library" / "short6", count=10, seconds=6.0)


@pytest.fixture(scope="session")
def needle_video(short_set: list[Path], media_cache: Path) -> Path:
    """Video 6 with the needle said and shown from 1 s on."""
    needles = [
        Needle(kind="speech", text=f"The secret password is {NEEDLE_WORD}.", start_s=1.0),
        Needle(kind="text", text=f"PASSWORD {NEEDLE_WORD.upper()}", start_s=1.0, duration_s=4.0),
    ]
    return plant_needles(short_set[NEEDLE_AT], needles, media_cache / "library" / "needle_06.mp4", size=(640, 360))


def copy_videos(videos: list[Path], folder: Path, *, names: list[str] | None = None) -> list[Path]:
    """Copies of ``videos`` in ``folder`` (so a test may change or delete them)."""
    folder.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    for i, video in enumerate(videos):
        dest = folder / (names[i] if names else video.name)
        shutil.copyfile(video, dest)
        out.append(dest)
    return out
