"""Generated test media whose ground truth is known by construction (frame indices, cut times)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

BITS = 12
W, H = 320, 240


def index_pattern(i: int) -> np.ndarray:
    """An RGB frame whose 12 vertical bars spell the frame index in binary (white = 1)."""
    img = np.zeros((H, W, 3), dtype=np.uint8)
    bar = W // BITS
    for b in range(BITS):
        if (i >> b) & 1:
            img[:, b * bar : (b + 1) * bar] = 255
    img[:8] = (i * 37) % 256  # a little extra change per frame so the encoder has work to do
    return img


def read_index(img: np.ndarray) -> int:
    """Inverse of `index_pattern` (robust to compression noise and rescaling)."""
    h, w = img.shape[:2]
    bar = w / BITS
    gray = img[h // 4 : 3 * h // 4].mean(axis=(0, 2))
    return sum(1 << b for b in range(BITS) if gray[int((b + 0.5) * bar)] > 127)


def indexed_video(path: Path, *, n_frames: int = 240, fps: int = 24, gop: int = 48) -> Path:
    """H.264 mp4 with B-frames, frame i showing `index_pattern(i)`."""
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp.mp4")
    with av.open(str(tmp), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        s.options = {"g": str(gop), "bf": "2", "crf": "18", "sc_threshold": "0"}
        for i in range(n_frames):
            for pkt in s.encode(av.VideoFrame.from_ndarray(index_pattern(i), format="rgb24")):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    tmp.rename(path)
    return path
