from __future__ import annotations

import pytest

from vidscout.eval.metrics import match_events, normalise_words, word_error_rate
from vidscout.text import join_words


def test_normalisation_drops_case_and_punctuation() -> None:
    assert normalise_words("Mr. Dashwood's  HOUSE, (again)!") == ["mister", "dashwoods", "house", "again"]
    assert word_error_rate("doctor Haddad and mister Petrov", "Dr. Haddad and Mr. Petrov").wer == 0.0
    assert normalise_words("at seven thirty") == normalise_words("at 7:30") == ["at", "7", "30"]


def test_amounts_and_times_meet_as_they_are_said() -> None:
    # Whisper writes "eight dollars" as "$8.00", and its word list splits the cents off ("$8", ".00.").
    heard = join_words(["Tickets", "cost", "$8", ".00."])
    assert heard == "Tickets cost $8.00."
    assert word_error_rate("Tickets cost eight dollars.", heard).wer == 0.0
    assert word_error_rate("Tickets cost eight dollars.", "Tickets cost $8 .00.").wer == 0.0
    assert normalise_words("$8.50") == normalise_words("eight dollars fifty") == ["8", "dollars", "50"]
    assert normalise_words("$1,200.00") == ["1200", "dollars"]
    assert join_words(["at", "7", ":30,", "up", "10", "%", "of", "1", ",000"]) == "at 7:30, up 10% of 1,000"
    assert join_words(["one", ".", "two"]) == "one . two"  # a lone mark is not a number's tail


@pytest.mark.parametrize(
    ("ref", "hyp", "wer", "parts"),
    [
        ("the cat sat", "the cat sat", 0.0, (0, 0, 0)),
        ("the cat sat", "the bat sat", 1 / 3, (1, 0, 0)),
        ("the cat sat on the mat", "the cat sat", 0.5, (0, 3, 0)),
        ("the cat", "oh the cat sat", 1.0, (0, 0, 2)),
        ("a b c d", "b c d e", 0.5, (0, 1, 1)),
        ("", "anything", 1.0, (0, 0, 1)),
    ],
)
def test_word_error_rate_counts_each_edit(ref: str, hyp: str, wer: float, parts: tuple[int, int, int]) -> None:
    r = word_error_rate(ref, hyp)
    assert r.wer == pytest.approx(wer)
    assert (r.substitutions, r.deletions, r.insertions) == parts


def test_event_matching_is_one_to_one_within_tolerance() -> None:
    s = match_events([1.0, 2.0, 10.0], [1.1, 1.2, 2.4, 30.0], tolerance_s=0.5)
    assert (s.tp, s.fp, s.fn) == (2, 2, 1)
    assert s.precision == 0.5 and s.recall == pytest.approx(2 / 3)
    assert match_events([], []).precision == 1.0
