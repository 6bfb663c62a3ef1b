"""Carrying over the text of lines that only moved: rolling credits rendered with ffmpeg, read by RapidOCR."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from vidscout.eval.rolling import RollSpec, build_roll, draw_roll, score_roll
from vidscout.media import samples
from vidscout.memory.build import IngestOptions, ingest, store_dir
from vidscout.memory.moved_text import MovedLines
from vidscout.memory.store import VideoStore
from vidscout.models.base import Image
from vidscout.models.ocr import RapidOCR
from vidscout.models.registry import Backends
from vidscout.settings import Settings
from vidscout.text import normalise_words
from vidscout.video.decode import ScanOptions, scan


@pytest.fixture(scope="module")
def ocr() -> RapidOCR:
    return RapidOCR()


def _keyframes(video: Path) -> list[tuple[float, Image]]:
    return [(f.t_s, f.image) for f in scan(video, ScanOptions(sample_every_s=2.0)) if f.image is not None]


def _roll(seed: int, **update: object) -> RollSpec:
    spec = draw_roll(random.Random(seed), n_lines=14, background="black")
    # Fast enough to be short, slow enough that most lines are on two keyframes.
    return spec.model_copy(update={"speed_px_s": 60.0, "size_px": 20, "pitch_px": 36, **update})


def test_moved_lines_keep_their_text_and_are_not_recognised_again(ocr: RapidOCR, media_cache: Path) -> None:
    spec = _roll(11)
    video = build_roll(spec, media_cache / "rolling", cache=media_cache)
    carry = MovedLines(ocr)
    every: dict[float, list[str]] = {}
    moved: dict[float, list[str]] = {}
    for t, image in _keyframes(video):
        every[t] = [b.text for b in ocr.read(image)]
        moved[t] = [b.text for b in carry.read(image)]
    a, b = score_roll(spec, every), score_roll(spec, moved)
    # Line for line on each keyframe, carrying returns what reading every line returns: a neighbour's text
    # carried onto a line would show here even where the words-based score could not tell.
    lines = [(t, line) for t, got in every.items() for line in got]
    same = sum(line in moved[t] for t, line in lines)
    assert same >= 0.95 * len(lines), [(t, line, moved[t]) for t, line in lines if line not in moved[t]]
    assert a.recall >= 0.9 and b.recall >= a.recall - 0.05, (a.missed, b.missed)
    assert b.precision >= a.precision - 0.05
    assert carry.carried >= 0.3 * (carry.carried + carry.recognised), (carry.carried, carry.recognised)


def test_a_line_that_changes_in_place_is_read_again(ocr: RapidOCR, media_cache: Path) -> None:
    # Line 6 turns into its own letters reversed while rolling, where the old one was: the same glyphs, so
    # the same box; only the pixels tell the two apart.
    spec = _roll(12)
    new = spec.lines[6][::-1]
    spec = spec.model_copy(update={"swap": (6, new, 6.9)})
    video = build_roll(spec, media_cache / "rolling", cache=media_cache)
    frames = _keyframes(video)
    assert any(spec.visible(6, t) and t < 6.9 for t, _ in frames)
    assert any(spec.visible(6, t) and t > 6.9 for t, _ in frames)

    def new_name_read(carry: MovedLines) -> bool:
        lines = {t: [b.text for b in carry.read(image)] for t, image in frames}
        return any(new in line for t, got in lines.items() if t > 6.9 for line in got)

    assert new_name_read(MovedLines(ocr))
    # Without the pixel check the old name would have been carried over: the check is what catches it.
    assert not new_name_read(MovedLines(ocr, min_match=-1.0))


def test_ingest_carries_moved_lines_and_the_option_rebuilds_only_the_text_layers(
    media_cache: Path, tmp_path: Path
) -> None:
    spec = _roll(11)
    video = build_roll(spec, media_cache / "rolling", cache=media_cache)
    backends = Backends(Settings(data_dir=tmp_path / "data"))

    def planted_read() -> tuple[int, int]:
        with VideoStore.open(store_dir(tmp_path, video)) as store:
            by_time: dict[float, list[str]] = {}
            for line in store.ocr_lines():
                by_time.setdefault(line.t_s, []).append(line.text)
            times = [f.t_s for f in store.frames()]
        score = score_roll(spec, {t: by_time.get(t, []) for t in times})
        return score.read, score.planted

    carried = ingest(video, tmp_path, backends)
    ocr = next(layer for layer in carried.layers if layer.name == "ocr")
    assert ocr.stats["lines_carried"] > 0, ocr.stats
    read_carried = planted_read()
    every = ingest(video, tmp_path, backends, options=IngestOptions(ocr_carry_moved_lines=False))
    status = {layer.name: layer.status for layer in every.layers}
    assert status["ocr"] == status["text_index"] == "computed"
    assert all(status[n] != "computed" for n in ("scan", "segments", "tags", "visual_facts", "speech")), status
    assert "lines_carried" not in next(layer for layer in every.layers if layer.name == "ocr").stats
    read_every = planted_read()
    assert read_every[0] >= 0.9 * read_every[1]
    assert read_carried[0] >= read_every[0] - 1, (read_carried, read_every)


def test_rows_split_at_other_gaps_keep_their_words(media_cache: Path) -> None:
    # Big Buck Bunny's rolling credits: rows of names that the detector splits at different gaps from one
    # keyframe to the next. Carried as the last keyframe grouped them, every keyframe still holds the words
    # that reading every line finds there, and no others. Read at their own 640 px: enlarged (`READ_WIDTH`), the
    # detector boxes these rows whole on every keyframe and there is nothing to regroup.
    ocr = RapidOCR(read_width=640)
    frames: list[Image] = []
    for f in scan(samples.big_buck_bunny(media_cache), ScanOptions(sample_every_s=2.0, start_s=538.0)):
        if f.image is not None:
            frames.append(f.image)
        if len(frames) == 4:
            break
    carry = MovedLines(ocr)
    for image in frames:
        every = Counter(w for line in ocr.read(image) for w in normalise_words(line.text))
        moved = Counter(w for line in carry.read(image) for w in normalise_words(line.text))
        assert every.total() > 300
        assert (every & moved).total() >= 0.97 * every.total(), every - moved
        assert (every & moved).total() >= 0.97 * moved.total(), moved - every
    assert carry.regrouped >= 20, (carry.regrouped, carry.carried, carry.recognised)
