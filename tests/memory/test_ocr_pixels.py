"""The OCR layer reads the keyframes as decoded, not their stored JPEGs, which blur small text past reading."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vidscout.media.planted import Piece, PlantedSpec, TextPlant, build_planted
from vidscout.memory.build import IngestOptions, ingest, store_dir
from vidscout.memory.store import PIXELS_DIR, VideoStore
from vidscout.models.ocr import RapidOCR
from vidscout.models.registry import Backends
from vidscout.settings import Settings
from vidscout.text import normalise_words


def test_small_text_of_an_hd_video_is_read_from_the_decoded_keyframes(media_cache: Path, tmp_path: Path) -> None:
    spec = _small_text_spec()
    video = _small_text_video(media_cache)
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
        # What the layer read before: the stored 640 px JPEGs, at their own size, lose the dark line on some keyframes.
        ocr = RapidOCR(read_width=640)
        from_jpegs = []
        for f in shown:
            jpeg = cv2.imread(str(store.root / "frames" / f.file))
            assert jpeg is not None
            image = np.asarray(cv2.cvtColor(jpeg, cv2.COLOR_BGR2RGB), dtype=np.uint8)
            from_jpegs.append({w for line in ocr.read(image) for w in normalise_words(line.text)})
    lost = sum(not want[0] <= got for got in from_jpegs)
    if lost == 0:
        pytest.fail("the JPEG keyframes read as well as the decoded ones: this test no longer shows the difference")


def test_kept_lossless_keyframes_read_as_a_second_decode_does(media_cache: Path, tmp_path: Path) -> None:
    # The scan's PNGs spare OCR a second decode; a store without them (ocr_keep_pixels=False, or scanned before
    # they existed) decodes again. Both must read the same lines, and no PNG may outlive the OCR layer.
    video = _small_text_video(media_cache)
    backends = Backends(Settings(data_dir=tmp_path / "data"))
    lines: dict[bool, list[tuple[float, str]]] = {}
    for keep in (True, False):
        videos = tmp_path / f"keep_{keep}"
        report = ingest(video, videos, backends, options=IngestOptions(ocr_keep_pixels=keep))
        ocr = next(layer for layer in report.layers if layer.name == "ocr")
        with VideoStore.open(store_dir(videos, video)) as store:
            times = {f.id: f.t_s for f in store.frames()}
            lines[keep] = sorted((times[line.frame_id], line.text) for line in store.ocr_lines())
            assert not (store.root / PIXELS_DIR).exists()
            assert ocr.stats["frames_decoded_again"] == (0 if keep else len(times))
    assert lines[True], "nothing was read: the comparison shows nothing"
    assert lines[True] == lines[False]


def test_a_missing_lossless_keyframe_is_decoded_from_the_video(media_cache: Path, tmp_path: Path) -> None:
    # The scan finished, then some PNGs were lost (killed mid-write, a disk cleaner): those frames are decoded.
    video = _small_text_video(media_cache)
    backends = Backends(Settings(data_dir=tmp_path / "data"))

    def stop_after_the_scan(layer: str, done: float, total: float) -> None:
        if layer not in ("scan", "segments"):
            raise RuntimeError("stopped after the scan")

    with pytest.raises(RuntimeError, match="stopped after the scan"):
        ingest(video, tmp_path, backends, progress=stop_after_the_scan)
    with VideoStore.open(store_dir(tmp_path, video)) as store:
        frames = store.frames()
        kept = [store.pixels_path(f.file) for f in frames]
    assert all(p.is_file() for p in kept)
    first = cv2.imread(str(kept[0]))
    assert first is not None and first.shape[:2] == (540, 960)  # the OCR's width (ocr_width), not the keyframes'
    for p in kept[2:4]:
        p.unlink()
    # One kept at another width (a scan for another ocr_width) is decoded again too.
    cv2.imwrite(str(kept[4]), cv2.resize(first, (640, 360), interpolation=cv2.INTER_AREA))
    report = ingest(video, tmp_path, backends)
    ocr = next(layer for layer in report.layers if layer.name == "ocr")
    assert ocr.stats["frames_decoded_again"] == 3
    assert not kept[0].parent.exists()
    # Killed after the OCR layer finished but before its PNGs were deleted: the next ingest deletes them.
    kept[0].parent.mkdir()
    kept[0].write_bytes(b"left over")
    report = ingest(video, tmp_path, backends)
    assert next(layer for layer in report.layers if layer.name == "ocr").status == "cached"
    assert not kept[0].parent.exists()


def _small_text_spec() -> PlantedSpec:
    # 24 px and 20 px bare outlined lines on 1280x720 street footage: 12 and 10 px in the 640 px keyframes.
    return PlantedSpec(
        seed=0, size=(1280, 720), pieces=[Piece(source="vtest", start_s=20.0, duration_s=12.0)], bed="silence",
        texts=[
            TextPlant(text="Dr. Okafor - Perth", start_s=1.0, duration_s=10.0, size_px=24, boxed=False, light=False,
                      outline=True, position="top", font="DejaVuSans.ttf"),
            TextPlant(text="Platform 7 - Lisbon", start_s=1.0, duration_s=10.0, size_px=20, boxed=False, light=True,
                      outline=True, position="bottom", font="DejaVuSerif.ttf"),
        ],
        speech=[],
    )  # fmt: skip


def _small_text_video(media_cache: Path) -> Path:
    return build_planted(_small_text_spec(), media_cache / "small_text_720p.mp4", cache=media_cache).path
