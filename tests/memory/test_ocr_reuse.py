"""The OCR layer's "same picture" test on real pixels: a small caption appearing on a still photo is read."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.models.conftest import OPENCV_DATA
from vidscout.media.planted import FONT_DIR, TextPlant, drawtext_filter
from vidscout.memory.build import IngestOptions, _grey_thumb, picture_change
from vidscout.video.decode import frames_at


def test_a_small_caption_appearing_on_a_still_photo_is_a_change(tmp_path: Path) -> None:
    """16 px light text on a 1280x720 photo, H.264-encoded, decoded at the OCR's 960 px as ingest reads keyframes."""
    photo = OPENCV_DATA / "messi5.jpg"
    if not photo.exists() or not (FONT_DIR / "DejaVuSans.ttf").exists():
        pytest.skip("opencv-doc photos or DejaVu fonts missing (apt-get install opencv-doc fonts-dejavu-core)")
    caption = TextPlant(text="Platform 3 - Seville", start_s=2.5, duration_s=3.5, size_px=16, boxed=False,
                        light=True, outline=True, position="top", font="DejaVuSans.ttf")  # fmt: skip
    video = tmp_path / "still.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-loop", "1", "-framerate", "24", "-t", "6", "-i", str(photo),
                    "-vf", f"scale=1280:720,{drawtext_filter(caption, 0, tmp_path)}", "-c:v", "libx264",
                    "-pix_fmt", "yuv420p", str(video)], check=True)  # fmt: skip
    before, still, shown = (_grey_thumb(f) for f in frames_at(video, [0.0, 2.0, 4.0], width=960))
    limit = IngestOptions().ocr_reuse_diff
    assert picture_change(before, still) < limit / 2  # the codec's noise on a still picture: the frame is reused
    # The caption appeared: the frame is read. (12x9 cells of 8x6 pixels, the grid before, moved by 5.4: reused.)
    assert picture_change(still, shown) > 1.5 * limit
