"""Scoring on-screen text against planted lines: the footage's own text is left out of precision when given."""

from __future__ import annotations

from pathlib import Path

import pytest

from vidscout.eval.perception import score_text
from vidscout.media.planted import Piece, PlantedSpec, PlantedVideo, TextPlant
from vidscout.memory.store import VideoStore


def test_the_footages_own_text_is_left_out_of_precision(tmp_path: Path) -> None:
    plant = TextPlant(text="GATE B12", start_s=0.5, duration_s=2.0, size_px=32, boxed=True, light=True)
    spec = PlantedSpec(seed=1, size=(640, 360), pieces=[Piece(source="bbb", duration_s=4.0)], bed="silence",
                       texts=[plant])  # fmt: skip
    video = PlantedVideo(path=tmp_path / "v.mp4", spec=spec, cut_times=[], spoken=[])
    with VideoStore.open(tmp_path / "store", create=True) as store:
        store.add_keyframes(
            [(1.0, "0000001.000.jpg", 0.0), (2.0, "0000002.000.jpg", 0.0), (3.0, "0000003.000.jpg", 0.0)]
        )
        ids = {f.t_s: f.id for f in store.frames()}
        read = {ids[1.0]: ["Gate B-12", "UNICEF"], ids[2.0]: ["GATE B12", "Tundra"], ids[3.0]: ["unicef logo"]}
        footage = {ids[1.0]: ["unicef"], ids[2.0]: [], ids[3.0]: ["UNICEF"]}  # the same keyframes, nothing planted
        plain = score_text(store, video, read=read.__getitem__)
        fair = score_text(store, video, read=read.__getitem__, footage=footage)
    assert (plain.read, plain.blocks, plain.correct_blocks, plain.footage_blocks) == (1, 5, 2, 0)
    assert (fair.read, fair.blocks, fair.correct_blocks, fair.footage_blocks) == (1, 5, 2, 2)
    assert plain.precision == plain.precision_all == fair.precision_all == pytest.approx(2 / 5)
    assert fair.precision == pytest.approx(2 / 3)  # "Tundra" is read where neither the plant nor the footage says it
