"""Spaces the recogniser lost between capitalised words, put back by the dictionary (`split_glued`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vidscout.errors import ConfigError
from vidscout.media import samples
from vidscout.models.ocr import RapidOCR
from vidscout.models.ocr_words import split_glued
from vidscout.models.registry import make_ocr
from vidscout.settings import Settings
from vidscout.text import tokenize
from vidscout.video.decode import frames_at


@pytest.mark.parametrize(
    ("read", "meant"),
    [
        ("CHARACTERMODELING", "CHARACTER MODELING"),
        ("COLORGUIDEARTWORK", "COLOR GUIDE ARTWORK"),
        ("COLOR GRADING AND FILMTRANSFER SUPPORT", "COLOR GRADING AND FILM TRANSFER SUPPORT"),
        ("SPECIALTHANKS TO", "SPECIAL THANKS TO"),
        ("GATEF70", "GATE F70"),  # a gate's code keeps its letter
        ("GATEZ80 · Exit", "GATE Z80 · Exit"),
    ],
)
def test_glued_capitals_are_split_into_common_words(read: str, meant: str) -> None:
    assert split_glued(read) == meant


@pytest.mark.parametrize(
    "read",
    [
        "Carsten Hassan Romain",  # names in small letters stay whole ("Cars ten", "Has san")
        "Adam Crossan·Adam Eickhoff",
        "CrossanAdam",  # two names glued: no dictionary knows them
        "SACHA GOEDEGEBURE",  # a name in capitals that no pair of common words makes
        "STORYBOARDING",  # a word with an ending ("storyboard" + "ing")
        "DCMASTERING",  # "DC" is shorter than a part may be
        "www.blendernation.com",
        "Score 6 - 9",
    ],
)
def test_words_names_and_lower_case_runs_are_left_alone(read: str) -> None:
    assert split_glued(read) == read


def test_search_finds_the_words_of_a_split_line() -> None:
    assert set(tokenize("film transfer")) <= set(tokenize(split_glued("FILMTRANSFER")))
    assert "film" not in tokenize("FILMTRANSFER")


def test_big_buck_bunnys_credits_are_read_with_their_spaces(media_cache: Path, tmp_path: Path) -> None:
    """At 526 s the recogniser reads the credit "FILM TRANSFER" as one word on the 960-px keyframe."""
    frame = next(iter(frames_at(samples.big_buck_bunny(media_cache), [526.0], width=960)))
    as_read = make_ocr("rapidocr?split_glued=false", Settings(data_dir=tmp_path))
    assert "FILMTRANSFER" in [line.text for line in as_read.read(frame)]
    lines = [line.text for line in RapidOCR().read(frame)]
    assert "FILM TRANSFER" in lines and "FILMTRANSFER" not in lines, lines
    with pytest.raises(ConfigError, match="split_glued='maybe' must be true or false"):
        make_ocr("rapidocr?split_glued=maybe", Settings(data_dir=tmp_path))
