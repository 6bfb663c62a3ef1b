"""Session-scoped real models and small real inputs for the model-backend tests (each model loads once)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from vidscout.models.registry import Backends
from vidscout.settings import Settings
from vidscout.video.decode import SAMPLE_RATE

REPO = Path(__file__).resolve().parents[2]
OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
SENTENCE = "Hello world. Welcome to the video. Now we walk into the kitchen and open the red door."


@pytest.fixture(scope="session")
def models_settings() -> Settings:
    # A persistent data dir so the 491 MB GGUF and the label matrix are assembled once per checkout.
    return Settings(data_dir=REPO / ".cache" / "vidscout-test", profile="embedded")


@pytest.fixture(scope="session")
def backends(models_settings: Settings) -> Backends:
    return Backends(models_settings)


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> NDArray[np.float32]:
    """SENTENCE spoken by espeak-ng, mono float32 at 16 kHz (about 7 s)."""
    if shutil.which("espeak-ng") is None or shutil.which("ffmpeg") is None:
        pytest.skip("needs espeak-ng and ffmpeg (make system)")
    wav = tmp_path_factory.mktemp("speech") / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "130", "-w", str(wav), SENTENCE], check=True)
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(wav), "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "-"],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype=np.float32).copy()


def text_frame(lines: list[str], *, size: tuple[int, int] = (640, 200)) -> NDArray[np.uint8]:
    """White RGB frame with black/red text lines drawn by OpenCV."""
    width, height = size
    img = np.full((height, width, 3), 255, np.uint8)
    for i, line in enumerate(lines):
        colour = (0, 0, 0) if i % 2 == 0 else (200, 0, 0)  # RGB: second line red
        y = int((i + 1) * height / (len(lines) + 0.6))
        cv2.putText(img, line, (20, y), cv2.FONT_HERSHEY_SIMPLEX, 1.4, colour, 3, cv2.LINE_AA)
    return img


def opencv_photo(name: str) -> NDArray[np.uint8]:
    """An RGB sample photo shipped by Debian's opencv-doc, or skip."""
    path = OPENCV_DATA / name
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        pytest.skip(f"{path} missing (apt-get install opencv-doc)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
