"""The keyframes ingest samples, decoded at the width its OCR layer reads them: what the OCR benches read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from vidscout.memory.build import IngestOptions
from vidscout.video.decode import ScanOptions, scan


def ocr_keyframes(video: Path, *, start_s: float = 0.0) -> Iterator[tuple[float, NDArray[np.uint8]]]:
    """(time, RGB pixels) of each keyframe from ``start_s`` on, at `IngestOptions.ocr_width` as ingest reads it."""
    o = IngestOptions()
    opts = ScanOptions(sample_every_s=o.sample_every_s, sample_width=o.sample_width, detail_width=o.ocr_width,
                       thumbs=False, start_s=start_s)  # fmt: skip
    for fr in scan(video, opts):
        if fr.image is not None:
            yield fr.t_s, fr.detail if fr.detail is not None else fr.image
