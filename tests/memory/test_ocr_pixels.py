"""The OCR layer reads the keyframes as decoded, not their stored JPEGs, which blur small text past reading."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vidscout.media.planted import Piece, PlantedSpec, TextPlant, build_planted
from vidscout.memory.build import ingest, store_dir
from vidscout.memory.store import VideoStore
from vidscout.models.registry import Backends
from vidscout.settings import Settings
from vidscout.text import normalise_words


def test_small_text_of_an_hd_video_is_read_from_the_decoded_keyframes(media_cache: Path, tmp_path: Path) -> None:
    # 24 px and 20 px bare outlined lines on 1280x720 street footage: 12 and 10 px in the 640 px keyframes.
    spec = PlantedSpec(
        seed=0, size=(1280, 720), pieces=[Piece(source="vtest", start_s=20.0, duration_s=12.0)], bed="silence",
        texts=[
            TextPlant(text="Dr. Okafor - Perth", start_s=1.0, duration_s=10.0, size_px=24, boxed=False, light=False,
                      outline=True, position="top", font="DejaVuSans.ttf"),
            TextPlant(text="Platform 7 - Lisbon", start_s=1.0, duration_s=10.0, size_px=20, boxed=False, light=True,
                      outline=True, position="bottom", font="DejaVuSerif.ttf"),
        ],
        speech=[],
    )  # fmt: skip
    video = build_planted(spec, media_cache / "small_text_720p.mp4", cache=media_cache).path
    backends = Backends(Settings(data_dir=tmp_path / "data"))
    report = ingest(video, tmp_path, backends)
    assert next(layer for layer in report.layers if layer.name == "ocr").status == "computed"
    want = [set(normalise_words(p.text)) for p in spec.texts]
    with VideoStore.open(store_dir(tmp_path, video)) as store:
        shown = [f for f in store.frames() if 2.0 <= f.t_s <= 10.0]
        by_frame: dict[int, set[str]] = {}
        for line in store.ocr_lines():
            by_frame.setdefault(line.frame_id, set()).update(normalise_words(line.text))
        assert len(shown) == 5
        for f in shown:  # every keyframe holds both lines, word for word
            assert all(words <= by_frame.get(f.id, set()) for words in want), (f.t_s, by_frame.get(f.id))
        # What the layer read before: the stored JPEGs lose the dark line on some keyframes.
        ocr = backends.ocr
        from_jpegs = []
        for f in shown:
            jpeg = cv2.imread(str(store.root / "frames" / f.file))
            assert jpeg is not None
            image = np.asarray(cv2.cvtColor(jpeg, cv2.COLOR_BGR2RGB), dtype=np.uint8)
            from_jpegs.append({w for line in ocr.read(image) for w in normalise_words(line.text)})
    lost = sum(not want[0] <= got for got in from_jpegs)
    if lost == 0:
        pytest.fail("the JPEG keyframes read as well as the decoded ones: this test no longer shows the difference")
