"""A crawl's line, cut by the picture's edge on every keyframe, is completed from frames between keyframes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import pytest

from vidscout.media.planted import Piece, PlantedSpec, TextPlant, build_planted
from vidscout.memory.build import ingest, store_dir
from vidscout.memory.crawl_text import Crawls, completes, cut_side, sweeps
from vidscout.memory.store import VideoStore
from vidscout.models.base import TextBox
from vidscout.models.registry import Backends
from vidscout.settings import Settings
from vidscout.video.decode import frames_at

ASPECT = 360 / 640


def _line(text: str, x0: float, x1: float, y0: float = 0.45, y1: float = 0.55) -> TextBox:
    return TextBox(text=text, score=0.9, box=(x0, y0, x1, y1))


def _reader(
    readings: dict[float, list[TextBox]], asked: list[float]
) -> Callable[[list[float]], Iterator[list[TextBox]]]:
    """Readings of the frames at given times from ``readings`` (none elsewhere), each time asked noted in ``asked``."""

    def read(times: list[float]) -> Iterator[list[TextBox]]:
        for t in times:
            asked.append(t)
            yield readings.get(t, [])

    return read


def _cut(line: TextBox) -> str | None:
    return cut_side(line, aspect=ASPECT)


def _completes(piece: TextBox, whole: TextBox) -> bool:
    return completes(piece, whole, aspect=ASPECT)


def test_a_line_is_cut_by_one_side_edge_or_by_none() -> None:
    assert _cut(_line("Chapter 4: The Co", 0.4, 1.0)) == "right"
    assert _cut(_line("pper Lantern", 0.0, 0.5)) == "left"
    assert _cut(_line("Chapter 4", 0.2, 0.6)) is None
    assert _cut(_line("a ticker wider than the picture", 0.0, 1.0)) is None  # never whole: nothing to find
    # Within half its height of the edge: its first word may have just left ("Dr." of a 52 px line, 7 px in).
    assert _cut(_line("Moreau - Denver", 0.011, 0.59, 0.74, 0.89)) == "left"
    assert _cut(_line("LIVE", 0.05, 0.1, 0.1, 0.2)) is None


def test_the_rest_of_a_line_is_looked_for_on_its_side_nearest_first_then_on_the_other() -> None:
    # Right to left first (a line cut on the right is still coming in), then left to right.
    assert sweeps(10.0, "right", every_s=2.0, step_s=0.5) == ([10.5, 11.0, 11.5], [9.5, 9.0, 8.5])
    assert sweeps(10.0, "left", every_s=2.0, step_s=0.5) == ([9.5, 9.0, 8.5], [10.5, 11.0, 11.5])
    assert sweeps(0.5, "left", every_s=2.0, step_s=0.5) == ([0.0], [1.0, 1.5, 2.0])
    assert sweeps(10.0, "right", every_s=2.0, step_s=2.0) == ([], [])


def test_only_a_whole_line_of_the_same_band_holding_the_piece_completes_it() -> None:
    piece = _line("Chapter 4: The Co", 0.4, 1.0)
    assert _completes(piece, _line("Chapter 4: The Copper Lantern", 0.1, 0.9))
    assert _completes(piece, _line("Chapter 4: The Copper Lantern", 0.1, 0.9, 0.47, 0.58))  # read a little lower
    assert not _completes(piece, _line("Chapter 4: The Copper Lantern", 0.1, 0.9, 0.7, 0.8))  # another band
    assert not _completes(piece, _line("Chapter 4: The Copper Lan", 0.3, 1.0))  # still cut
    assert not _completes(piece, _line("Platform 7 for Lisbon trains", 0.1, 0.9))  # another line
    assert not _completes(piece, _line("Chapter", 0.3, 0.6))  # shorter than the piece
    denver = _line("Denver", 0.0, 0.27, 0.74, 0.89)
    assert not _completes(denver, _line("Moreau - Denver", 0.011, 0.59, 0.74, 0.89))  # "Dr." has left
    assert _completes(denver, _line("Dr. Moreau - Denver", 0.21, 0.92, 0.74, 0.89))


@pytest.mark.parametrize(("side", "name"), [("right", "crawl_640.mp4"), ("left", "crawl_ltr_640.mp4")])
def test_ingest_stores_a_crawl_whole_that_no_keyframe_shows_whole(
    media_cache: Path, tmp_path: Path, side: Literal["right", "left"], name: str
) -> None:
    # Crossing the 640 px picture in 3 s, the line is whole for ~0.4 s around 4.5 s; keyframes are at 4 s and 6 s.
    # From the right (right to left) the rest is found after the keyframe; from the left, only on the other side.
    text = "Chapter 4: The Copper Lantern"
    spec = PlantedSpec(
        seed=0, size=(640, 360), pieces=[Piece(source="vtest", start_s=40.0, duration_s=10.0)], bed="silence",
        texts=[TextPlant(text=text, start_s=3.0, duration_s=3.0, size_px=32, boxed=False, light=True, outline=True,
                         position="middle", crawl=True, crawl_from=side, font="DejaVuSans.ttf")],
        speech=[],
    )  # fmt: skip
    video = build_planted(spec, media_cache / name, cache=media_cache).path
    backends = Backends(Settings(data_dir=tmp_path / "data"))
    keyframe = frames_at(video, [4.0], width=640)[0]
    piece = [line.text for line in backends.ocr.read(keyframe)]
    if any(line == text for line in piece):
        pytest.fail(f"the keyframe shows the whole line ({piece}): this test no longer needs the frames between")
    report = ingest(video, tmp_path, backends)
    ocr = next(layer for layer in report.layers if layer.name == "ocr")
    assert ocr.stats["crawl_lines_completed"] >= 1
    assert ocr.stats["crawl_frames_read"] <= (3 if side == "right" else 6)
    with VideoStore.open(store_dir(tmp_path, video)) as store:
        lines = [(line.t_s, line.text) for line in store.ocr_lines()]
    assert (4.0, text) in [(round(t, 1), got) for t, got in lines], lines


def test_a_band_given_up_is_not_followed_again_while_a_ticker_runs_in_it() -> None:
    # A ticker: every keyframe shows pieces cut by the right edge, and no frame between shows a whole line.
    crawls = Crawls(every_s=2.0, step_s=0.5, aspect=ASPECT)
    asked: list[float] = []

    def still_cut(times: list[float]) -> Iterator[list[TextBox]]:
        for s in times:
            asked.append(s)
            yield [_line("News of the day and more news of", 0.0, 1.0)]

    for t in (10.0, 12.0, 14.0, 16.0):
        out = crawls.complete([_line("News of the d", 0.5, 1.0)], t, still_cut)
        assert [line.text for line in out] == ["News of the d"]
    # Followed (both ways) at the first two keyframes, `GIVE_UP_AFTER`; then no more while the ticker runs.
    assert asked == [10.5, 11.0, 11.5, 9.5, 9.0, 8.5, 12.5, 13.0, 13.5, 11.5, 11.0, 10.5]
    crawls.complete([_line("Weather", 0.3, 0.6)], 18.0, still_cut)  # the band holds no cut line: followed again
    crawls.complete([_line("Sport: the c", 0.5, 1.0)], 20.0, still_cut)
    assert asked[12:] == [20.5, 21.0, 21.5, 19.5, 19.0, 18.5]
    assert (crawls.followed, crawls.completed) == (3, 0)


def test_a_crawl_whole_only_after_the_next_keyframe_is_followed_there_too() -> None:
    # "Saff" enters at 38 s and nothing up to 39.5 s shows it whole; at 40 s its second word is cut, and whole at
    # 40.5 s (frames read off a real 48 px crawl, perception seed 790356).
    crawls = Crawls(every_s=2.0, step_s=0.5, aspect=ASPECT)
    readings = {
        38.5: [_line("affron", 0.7, 1.0)],
        39.0: [_line("Saffron Tu", 0.54, 1.0)],
        39.5: [_line("Saffron Tundr", 0.41, 1.0)],
        40.5: [_line("Saffron", 0.16, 0.5), _line("Tundra 59", 0.53, 0.95)],
    }
    read = _reader(readings, [])
    assert [line.text for line in crawls.complete([_line("Saff", 0.77, 1.0)], 38.0, read)] == ["Saff"]
    out = crawls.complete([_line("Saffron", 0.29, 0.63), _line("Tundra 5", 0.67, 1.0)], 40.0, read)
    assert [line.text for line in out] == ["Saffron", "Tundra 59"]
    assert (crawls.followed, crawls.completed) == (2, 1)


def test_a_crawl_moving_left_to_right_is_completed_from_before_the_keyframe() -> None:
    # Cut on the right edge, but leaving there: the frames after the keyframe show less of it, those before all.
    crawls = Crawls(every_s=2.0, step_s=0.5, aspect=ASPECT)
    readings = {
        10.5: [_line("Chapter 4: The", 0.6, 1.0)],
        9.5: [_line("Chapter 4: The Copper Lan", 0.3, 1.0)],
        9.0: [_line("Chapter 4: The Copper Lantern", 0.15, 0.9)],
    }
    asked: list[float] = []
    read = _reader(readings, asked)

    out = crawls.complete([_line("Chapter 4: The Co", 0.4, 1.0)], 10.0, read)
    assert [line.text for line in out] == ["Chapter 4: The Copper Lantern"]
    assert asked == [10.5, 11.0, 11.5, 9.5, 9.0]  # its own side first, then nearest first on the other


def test_a_whole_line_found_between_keyframes_replaces_the_piece_in_its_place() -> None:
    crawls = Crawls(every_s=2.0, step_s=0.5, aspect=ASPECT)
    readings = {
        10.5: [_line("Chapter 4: The Copp", 0.2, 1.0)],
        11.0: [_line("Chapter 4: The Copper Lantern", 0.1, 0.8)],
    }
    out = crawls.complete([_line("Chapter 4: The Co", 0.4, 1.0), _line("LIVE", 0.05, 0.1, 0.1, 0.2)], 10.0,
                          _reader(readings, []))  # fmt: skip
    assert [(line.text, line.box[0]) for line in out] == [("Chapter 4: The Copper Lantern", 0.4), ("LIVE", 0.05)]
    assert (crawls.followed, crawls.completed) == (1, 1)


def test_a_crawl_whole_only_between_two_frames_read_is_found_between_them() -> None:
    # Read off a real 37 px crawl (perception seed 498235): cut on the right at 49.0 s, on the left at 49.5 s, whole
    # in between. A piece of under three letters ("Dr." at 48 s) is not followed: it would match too many lines.
    crawls = Crawls(every_s=2.0, step_s=0.5, aspect=ASPECT)
    readings = {
        49.0: [_line("Dr. Nakamura - Nairok", 0.27, 1.0, 0.05, 0.17)],
        49.5: [_line("r. Nakamura - Nairobi", 0.0, 0.73, 0.05, 0.17)],
        49.25: [_line("Dr. Nakamura - Nairobi", 0.13, 0.87, 0.05, 0.17)],
    }
    asked: list[float] = []
    read = _reader(readings, asked)

    assert [line.text for line in crawls.complete([_line("Dr.", 0.89, 1.0, 0.05, 0.19)], 48.0, read)] == ["Dr."]
    assert asked == [] and crawls.followed == 0
    out = crawls.complete([_line("ura - Nairobi", 0.0, 0.42, 0.05, 0.18)], 50.0, read)
    assert [line.text for line in out] == ["Dr. Nakamura - Nairobi"]
    assert asked == [49.5, 49.0, 49.25]  # crossed between 49.0 and 49.5: the middle is read, nothing further


def test_where_no_frame_shows_the_line_clear_of_both_edges_its_longest_reading_is_kept() -> None:
    # Read off a real 51 px monospaced crawl (perception seed 916277): "52" enters a wide space after "Quartz", so
    # "Copper Quartz" 41 px from the right edge is not yet the whole line, and no frame read shows all of it
    # `CLEARANCE` clear of both edges: the longest reading clear of the edges themselves replaces the piece.
    crawls = Crawls(every_s=2.0, step_s=0.5, aspect=ASPECT)
    band = (0.05, 0.23)
    readings = {
        62.5: [_line("Copper Quar", 0.459, 0.998, *band)],
        63.0: [_line("Copper Quartz", 0.283, 0.936, *band)],
        63.5: [_line("Copper Quartz", 0.039, 0.767, *band)],
        63.25: [_line("Copper Quartz. 52", 0.192, 0.975, *band)],
        63.375: [_line("Copper Quartz: 52", 0.153, 0.941, *band)],
    }
    out = crawls.complete([_line("Copper", 0.637, 0.948, *band)], 62.0, _reader(readings, []))
    assert [line.text for line in out] == ["Copper Quartz. 52"]
