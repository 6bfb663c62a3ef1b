"""Matching words as a speech recogniser mishears them (`vidscout.text.near`, `near_share`).

The misheard lines are Whisper base's own output on the planted dev videos' espeak speech.
"""

from __future__ import annotations

import doctest

import pytest

import vidscout.text
from vidscout.text import near, near_share


@pytest.mark.parametrize(
    ("word", "heard"),
    [
        ("walnut", "The secret password and summit wall hut."),  # one word heard as two
        ("Ivanova", "Captain Imanova found the map near the old summit bridge."),
        ("Quinlan", "Doctor Quaylin will arrive on Monday morning."),
        ("fountain", "Please meet me at the Mabel Founty at 11 o'clock."),
    ],
)
def test_a_misheard_word_is_near_what_was_heard_and_other_words_of_its_kind_are_not(word: str, heard: str) -> None:
    assert near(word, heard) >= 0.6
    for other in ("Rossi", "Petrov", "Jensen", "Castillo", "granite", "copper"):
        assert near(other, heard) < 0.45, other


def test_a_stretch_starts_and_ends_with_whole_words() -> None:
    assert near("lima", "A climate report.") < 0.5  # inside a longer word
    assert near("lima", "The flight to Lima boards now.") == 1.0
    assert near("walnut", "wall hut") == pytest.approx(1 - 2 / 6)  # "walnut" -> "wallhut": one swap, one letter more
    assert near("", "anything") == 0.0 and near("walnut", "") == 0.0


def test_near_share_counts_held_words_fully_misheard_ones_partly_and_numbers_exactly() -> None:
    line = "Doctor Quaylin will arrive on Monday morning."
    assert near_share("Monday", line) == 1.0
    assert 0.6 < near_share("Quinlan", line) < 1.0
    assert near_share("Doctor Quinlan", line, skip={"doctor"}) == near_share("Quinlan", line)
    assert near_share("Tuesday", "Tickets for the concert cost 12 dollars.") < 0.5
    assert near_share("13", "Tickets cost 12 dollars.") == 0.0  # a number is right or wrong
    assert near_share("the", line) == 0.0  # no word of its own


def test_the_module_s_examples_hold() -> None:
    assert doctest.testmod(vidscout.text).failed == 0
