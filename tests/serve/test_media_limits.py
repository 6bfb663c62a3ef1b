"""Decoding request media under caps: a real 10-minute 1080p data URL in bounded memory (peak RSS measured
in a fresh process), and media over the per-request / per-video caps refused before anything is decoded."""

from __future__ import annotations

import base64
import json
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.serve.conftest import REPO
from vidscout.errors import MediaError
from vidscout.serve.media import FULL_HD, MediaLimits, PixelTally, collect_frames, load_image, load_video
from vidscout.serve.protocol import ChatRequest
from vidscout.video.clip import encode_clip

FFMPEG = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]

# Runs in a fresh interpreter: peak RSS before the call is the imports plus the payload; after, the decode.
CHILD = """
import base64, json, resource, sys
from vidscout.serve.media import MediaLimits, load_video
url = "data:video/mp4;base64," + base64.b64encode(open(sys.argv[1], "rb").read()).decode()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
frames, times = load_video(url, {}, MediaLimits(num_frames=int(sys.argv[2])))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"growth_kb": after - before, "times": times, "shapes": sorted({f.shape for f in frames})}))
"""


@pytest.fixture(scope="module")
def ten_minutes_1080p(assets_dir: Path) -> Path:
    """600 s of 1920x1080 at 25 fps (15,000 frames, ~0.6 MB): a 10 s segment looped without re-encoding."""
    path = assets_dir / "ten_minutes_1080p25.mp4"
    if path.exists():
        return path
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg builds the 10-minute clip")
    seg = path.with_suffix(".seg.mp4")
    scene = "color=c=0x3366aa:s=1920x1080:r=25:d=10"
    subprocess.run([*FFMPEG, "-f", "lavfi", "-i", scene, "-c:v", "libx264", "-preset", "ultrafast", "-g", "250",
                    "-pix_fmt", "yuv420p", str(seg)], check=True)  # fmt: skip
    tmp = path.with_suffix(".tmp.mp4")
    subprocess.run([*FFMPEG, "-stream_loop", "59", "-i", str(seg), "-c", "copy", str(tmp)], check=True)
    seg.unlink()
    tmp.rename(path)
    return path


def test_a_ten_minute_1080p_data_url_decodes_in_bounded_memory(ten_minutes_1080p: Path) -> None:
    # Keeping every frame, as decoding did before, needs 15,000 x 6.2 MB = 93 GB for this 0.6 MB file.
    env = {"PYTHONPATH": str(REPO / "src"), "OMP_WAIT_POLICY": "PASSIVE", "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-c", CHILD, str(ten_minutes_1080p), "8"], capture_output=True, text=True,
                       env=env, timeout=300, check=False)  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    frames_mb = 8 * FULL_HD * 3 / 2**20  # the 8 frames returned: 47 MB
    growth_mb = out["growth_kb"] / 1024
    assert growth_mb < frames_mb + 200, f"peak RSS grew {growth_mb:.0f} MB for {frames_mb:.0f} MB of frames"
    assert out["shapes"] == [[1080, 1920, 3]]
    assert out["times"][0] == 0.0 and out["times"][-1] == pytest.approx(599.96, abs=0.05)
    assert np.diff(out["times"]) == pytest.approx(599.96 / 7, abs=0.05)  # evenly spread over the 10 minutes


def _mp4_url(width: int, height: int, n: int = 10) -> str:
    frames = [np.full((height, width, 3), 10 * i, np.uint8) for i in range(n)]
    return "data:video/mp4;base64," + base64.b64encode(encode_clip(frames, 5.0)).decode()


def _png_url(width: int, height: int) -> str:
    """A PNG whose header declares ``width`` x ``height`` over a few bytes of pixel data (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    png = b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    return "data:image/png;base64," + base64.b64encode(png).decode()


def test_a_video_over_the_request_cap_is_refused_before_decoding() -> None:
    limits = MediaLimits(num_frames=8, max_pixels=4 * 320 * 240)
    with pytest.raises(MediaError, match=r"would decode to 8 frame\(s\) of 320x240 \(0\.6M pixels\); at most "
                                         r"0\.3M pixels may be decoded per request\. Send fewer frames.*"
                                         r"`--max-request-pixels`"):  # fmt: skip
        load_video(_mp4_url(320, 240), {}, limits)
    frames, _ = load_video(_mp4_url(320, 240), {"num_frames": 4}, limits)  # the request may ask for fewer
    assert len(frames) == 4


def test_a_long_video_is_refused_before_decoding() -> None:
    with pytest.raises(MediaError, match=r"holds 10 frames of 320x240 \(2 s, 0\.0G pixels to decode\).*"
                                         r"`--max-decode-pixels`"):  # fmt: skip
        load_video(_mp4_url(320, 240), {}, MediaLimits(max_decode_pixels=9 * 320 * 240))


def test_an_image_that_declares_a_huge_size_is_refused_before_decoding() -> None:
    # 12000 x 12000 RGB would be 432 MB; the file is 80 bytes.
    with pytest.raises(MediaError, match=r"an image of 12000x12000 \(144\.0M pixels\); at most 66\.4M"):
        load_image(_png_url(12000, 12000), MediaLimits())
    with pytest.raises(MediaError, match="does not decode as an image"):  # past what the decoder reads at all
        load_image(_png_url(40000, 40000), MediaLimits())


def test_the_cap_counts_all_media_of_a_request_and_reserves_each_part() -> None:
    ok, jpg = cv2.imencode(".jpg", np.zeros((240, 320, 3), np.uint8))
    assert ok
    image = {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64," + base64.b64encode(jpg).decode()}}
    video = {"type": "video_url", "video_url": {"url": _mp4_url(320, 240)}}
    req = ChatRequest.model_validate({"messages": [{"role": "user", "content": [image, image, video]}],
                                      "media_io_kwargs": {"video": {"num_frames": 4}}})  # fmt: skip
    reserved: list[int] = []
    tally = PixelTally(6 * 320 * 240, reserved.append)
    frames = collect_frames(req.messages, req.media_io_kwargs, MediaLimits(), tally=tally)
    assert len(frames.images) == 6 and reserved == [76800, 76800, 4 * 76800] and tally.used == 6 * 76800
    tight = PixelTally(5 * 320 * 240, reserved.append)
    with pytest.raises(MediaError, match=r"4 frame\(s\) of 320x240 \(0\.3M pixels on top of 0\.2M pixels for the "
                                         r"request's other media\)"):  # fmt: skip
        collect_frames(req.messages, req.media_io_kwargs, MediaLimits(), tally=tight)
    assert tight.used == 2 * 76800  # what was reserved before the refusal, for the caller to release
