from __future__ import annotations

from vidscout.memory.chapters import _wrap, heuristic_title


def test_title_prefers_on_screen_text_then_speech_then_tags() -> None:
    assert heuristic_title("we open the door", ["A", "THE PEACH OPEN MOVIE PROJECT"], "hare") == (
        "THE PEACH OPEN MOVIE PROJECT"
    )
    assert heuristic_title("and now we open the red door to the kitchen", [], "hare") == "and now we open the red door…"
    assert heuristic_title("", ["x"], "hare, wallaby") == "Hare"
    assert heuristic_title("", [], "") == "Untitled"


def test_wrap_keeps_lines_within_width() -> None:
    lines = _wrap("a title that is rather long for one line of the sheet", 20)
    assert all(len(line) <= 20 for line in lines) and " ".join(lines).startswith("a title")
