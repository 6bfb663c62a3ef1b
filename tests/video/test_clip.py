"""`sample_clip` / `decode_sample`: the sampling is planned from packets, and skipping groups of pictures
returns exactly the frames a full decode would (frames spell their index, so each is checked by content)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from tests.assetgen import H, W, index_pattern, indexed_video, read_index
from vidscout.errors import MediaError
from vidscout.video.clip import decode_clip, decode_sample, encode_clip, sample_clip

FPS = 24


def _open_gop_video(path: Path, n_frames: int = 240) -> Path:
    """Open GOPs, B-pyramid, a keyframe every 30 frames: leading B-frames refer to the previous group."""
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp.mp4")
    with av.open(str(tmp), "w") as c:
        s = c.add_stream("libx264", rate=FPS)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        s.options = {"crf": "18", "x264-params": "open-gop=1:keyint=30:min-keyint=30:bframes=3:b-pyramid=normal:"
                                                 "scenecut=0"}  # fmt: skip
        for i in range(n_frames):
            for pkt in s.encode(av.VideoFrame.from_ndarray(index_pattern(i), format="rgb24")):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    tmp.rename(path)
    return path


@pytest.fixture(scope="module", params=["closed", "open"])
def clip_bytes(request: pytest.FixtureRequest, assets_dir: Path) -> bytes:
    if request.param == "closed":
        return indexed_video(assets_dir / "indexed_24fps.mp4").read_bytes()  # B-frames, a keyframe every 2 s
    return _open_gop_video(assets_dir / "indexed_open_gop.mp4").read_bytes()


@pytest.mark.parametrize(("num_frames", "fps"), [(1, None), (3, None), (8, None), (32, None), (-1, 3.0), (5, 0.5)])
def test_sampled_frames_are_the_frames_at_their_times(clip_bytes: bytes, num_frames: int, fps: float | None) -> None:
    sample = sample_clip(clip_bytes, num_frames=num_frames, fps=fps)
    frames, times = decode_sample(clip_bytes, sample)
    assert [read_index(f) for f in frames] == [round(t * FPS) for t in times]
    assert times == list(sample.times_s) and len(frames) == len(sample.keys)
    assert all(f.shape == (H, W, 3) for f in frames)


def test_the_plan_counts_frames_and_pixels_before_decoding(clip_bytes: bytes) -> None:
    sample = sample_clip(clip_bytes, num_frames=8)
    assert sample.n_frames == 240 and sample.duration_s == pytest.approx(239 / FPS)
    assert sample.pixels == 8 * W * H and sample.decode_pixels == 240 * W * H
    assert sample.times_s[0] == 0.0 and sample.times_s[-1] == pytest.approx(239 / FPS)
    # Evenly spread over the frames, as vLLM's loader picks them (np.linspace, rounded).
    assert [round(t * FPS) for t in sample.times_s] == np.linspace(0, 239, 8).round().astype(int).tolist()


def test_every_frame_when_uncapped(clip_bytes: bytes) -> None:
    frames, times = decode_clip(clip_bytes, num_frames=-1)
    assert [read_index(f) for f in frames] == list(range(240))
    assert times[1] == pytest.approx(1 / FPS)


def test_a_huge_fps_does_not_spin() -> None:
    data = encode_clip([np.full((32, 48, 3), 40 * i, np.uint8) for i in range(4)], 2.0)
    _, times = decode_clip(data, num_frames=-1, fps=1e12)
    assert times == [0.0, 0.5, 1.0, 1.5]


def test_bytes_that_are_not_a_video() -> None:
    with pytest.raises(MediaError, match="not a decodable video"):
        sample_clip(b"\0" * 1000, num_frames=4)
