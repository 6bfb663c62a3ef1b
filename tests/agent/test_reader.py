"""The reader's acceptance rules: an answer or option is kept only when it is on the evidence line it names.

The model is scripted (the rules are logic over its reply, not over what a model knows).
"""

from __future__ import annotations

import json

from vidscout.agent.briefing import briefing_calls
from vidscout.agent.reader import (
    EvidenceLine,
    Reading,
    asks_video_time,
    asks_when,
    closest_lines,
    evidence_lines,
    read,
)
from vidscout.models.testing import ScriptedLLM
from vidscout.retrieval.search import Hit
from vidscout.tools.search import SearchResult
from vidscout.types import TimeSpan

LINES = [
    EvidenceLine(span=TimeSpan(start_s=37.0, end_s=44.0), kind="on screen", text="CODE 7311"),
    EvidenceLine(span=TimeSpan(start_s=500.0, end_s=520.0), kind="seen", text="menu, website, text on screen"),
    EvidenceLine(span=TimeSpan(start_s=90.0, end_s=96.0), kind="said", text="The museum closes early on Monday."),
]
CODES = [("A", "5404"), ("B", "2458"), ("C", "7311"), ("D", "7325")]


def _read(reply: dict[str, object], question: str, options: list[tuple[str, str]] | None = None) -> Reading:
    return read(question, LINES, ScriptedLLM([json.dumps(reply)]), options=options or [])


def test_a_written_answer_holds_only_on_its_line() -> None:
    kept = _read({"line": 3, "answer": "Monday"}, "On which day does the museum close early?")
    assert kept.answer == "Monday" and kept.line == LINES[2] and kept.words == ("monday",)
    moved = _read({"line": 1, "answer": "Monday"}, "On which day does the museum close early?")
    assert moved.answer == "Monday" and moved.line == LINES[2]  # the one line that holds it
    made_up = _read({"line": 3, "answer": "Tuesday"}, "On which day does the museum close early?")
    assert made_up.answer is None and "not on the line" in made_up.why
    replies = [json.dumps({"line": 0, "answer": ""})] * 2  # no line named: asked again with the museum's line alone
    none = read("On which day does the museum close early?", LINES, ScriptedLLM(replies))
    assert none.answer is None and none.line is None


def test_a_when_question_about_a_time_the_video_states_keeps_it_and_says_where_it_is_stated() -> None:
    stated = "When does the museum close early?"
    assert asks_when(stated) and not asks_video_time(stated)
    for question in ("At what time in the video is the museum mentioned?", "When is the train announced?",
                     "When does the gate sign appear?", "What time is the code shown on screen?"):  # fmt: skip
        assert asks_video_time(question), question
    llm = ScriptedLLM([json.dumps({"line": 3, "answer": "Monday"})])
    kept = read(stated, LINES, llm)
    assert kept.answer == "Monday (at 00:01:30 in the video)" and kept.words == ("monday",), kept
    assert "copy the time or day that line states" in str(llm.calls[0][0][0].content)
    moved = _read({"line": 1, "answer": "Monday"}, stated)  # the time is that of the line that holds it
    assert moved.answer == "Monday (at 00:01:30 in the video)" and moved.line == LINES[2], moved
    for reply in ({"line": 3, "answer": ""}, {"line": 3, "answer": "00:01:30-00:01:36"}):  # no day copied
        whole = _read(reply, stated)
        assert whole.answer == "At 00:01:30: The museum closes early on Monday.", whole
    llm = ScriptedLLM([json.dumps({"line": 3, "answer": "Monday"})])
    in_video = read("At what time in the video is the museum closing mentioned?", LINES, llm)
    assert in_video.answer == "At 00:01:30: Monday", in_video
    assert "the answer is that line's time" in str(llm.calls[0][0][0].content)


def test_a_line_shares_the_kind_of_thing_it_holds_with_the_question() -> None:
    # "Call 822-7294" shares no written word with the question, but it is a phone number (`with_kinds`).
    sign = [EvidenceLine(span=TimeSpan(start_s=12.0, end_s=16.0), kind="on screen", text="Call 822-7294")]
    question = "What phone number is shown on screen?"
    kept = read(question, sign, ScriptedLLM([json.dumps({"line": 1, "answer": "822-7294"})]))
    assert kept.answer == "822-7294" and kept.line == sign[0]
    code = [EvidenceLine(span=TimeSpan(start_s=12.0, end_s=16.0), kind="on screen", text="Code 3377")]
    other = read(question, code, ScriptedLLM([json.dumps({"line": 1, "answer": "3377"})]))
    assert other.answer is None and "shares no word" in other.why


def test_an_option_holds_only_on_its_line_and_a_slipped_letter_is_taken_back() -> None:
    question = "Which code is displayed on screen?"
    assert _read({"line": 1, "option": "C"}, question, CODES).option == "C"
    slipped = _read({"line": 1, "option": "D"}, question, CODES)  # the line holds 7311, option C
    assert slipped.option == "C" and slipped.line == LINES[0]
    unsupported = _read({"line": 2, "option": "D"}, question, CODES)  # a line holding no option at all
    assert unsupported.option is None and unsupported.answer is None and "not on the line" in unsupported.why


def test_an_option_the_named_line_does_not_hold_is_taken_from_the_line_that_does() -> None:
    question = "Which code is displayed on screen?"
    moved = _read({"line": 3, "option": "C"}, question, CODES)  # line 3 holds no code; line 1 holds 7311 (C)
    assert moved.option == "C" and moved.line == LINES[0], moved
    nowhere = _read({"line": 3, "option": "D"}, question, CODES)  # no line holds 7325
    assert nowhere.option is None and "not on the line" in nowhere.why


def test_a_clock_time_option_holds_when_it_falls_in_the_line_s_span() -> None:
    times = [("A", "00:00:37"), ("B", "00:06:24"), ("C", "00:07:40"), ("D", "00:12:07")]
    question = "At what time does the code appear on screen?"
    assert _read({"line": 1, "option": "A"}, question, times).option == "A"
    assert _read({"line": 1, "option": "D"}, question, times).option == "A"
    assert _read({"line": 3, "option": "B"}, question, times).option is None


def test_options_add_a_search_and_lines_from_both_searches_are_not_repeated() -> None:
    calls = list(briefing_calls("Which code is displayed?", options=["5404", "7311"]))
    assert [c.tool for c in calls] == ["search", "search"] and "7311" in calls[1].arguments["query"]
    when = list(briefing_calls("When is the code shown?", options=["00:00:37", "00:06:24"]))
    assert [c.tool for c in when] == ["search"]  # clock times share no words with the evidence
    hit = Hit(source="text", kind="ocr", span=TimeSpan(start_s=37.0, end_s=44.0), text="CODE 7311", score=1.0)
    result = SearchResult(query="code", hits=[hit])
    assert len(evidence_lines([result, result.model_copy(update={"query": "code 7311"})])) == 1


def test_an_answer_on_several_lines_is_taken_from_the_first_that_shares_a_word_with_the_question() -> None:
    lines = [
        EvidenceLine(span=TimeSpan(start_s=136.0, end_s=140.0), kind="seen", text="website, menu | text on screen"),
        EvidenceLine(span=TimeSpan(start_s=228.0, end_s=230.0), kind="on screen", text="Call 313-4057 | Peach Open"),
        EvidenceLine(span=TimeSpan(start_s=222.0, end_s=224.0), kind="on screen", text="Call 313-4057"),
    ]
    question = "What number does the on-screen text ask viewers to call?"
    kept = read(question, lines, ScriptedLLM([json.dumps({"line": 1, "answer": "313-4057"})]))
    assert kept.answer == "313-4057" and kept.line == lines[1], kept
    # Neither line that holds it shares a word with the question: no line is taken for the one it named.
    vague = read("Which number is shown?", lines, ScriptedLLM([json.dumps({"line": 1, "answer": "313-4057"})]))
    assert vague.answer is None and "not on the line" in vague.why, vague


def test_an_answer_from_a_line_naming_less_of_the_question_is_read_again_from_the_lines_naming_most() -> None:
    lines = [
        EvidenceLine(span=TimeSpan(start_s=75.0, end_s=80.0), kind="on screen", text="ROOM 377"),
        EvidenceLine(
            span=TimeSpan(start_s=40.0, end_s=44.0),
            kind="said",
            text="S2: The package was left under the summit table in room 7.",
        ),
        EvidenceLine(span=TimeSpan(start_s=90.0, end_s=96.0), kind="said", text="The museum closes early on Monday."),
    ]
    question = "In which room can the package be found?"
    assert closest_lines(question, lines) == [lines[1]]
    llm = ScriptedLLM([json.dumps({"line": 1, "answer": "ROOM 377"}), json.dumps({"line": 1, "answer": "room 7"})])
    again = read(question, lines, llm)
    assert again.answer == "room 7" and again.line == lines[1], again
    assert "ROOM 377" not in str(llm.calls[1][0][0].content)  # asked again with the closest line alone
    # A second reading that does not hold keeps the first; a first one from the closest line is not read again.
    kept = read(question, lines, ScriptedLLM([json.dumps({"line": 1, "answer": "ROOM 377"}), json.dumps({"line": 1})]))
    assert kept.answer == "ROOM 377", kept
    once = ScriptedLLM([json.dumps({"line": 2, "answer": "room 7"})])
    assert read(question, lines, once).answer == "room 7" and len(once.calls) == 1
    moment = ScriptedLLM([json.dumps({"line": 1, "answer": "ROOM 377"})])  # a question about a moment: not narrowed
    assert read(question, lines, moment, narrow=False).answer == "ROOM 377" and len(moment.calls) == 1
    # No answer at first: read again from the closest lines too.
    missed = read(
        question, lines, ScriptedLLM([json.dumps({"line": 0, "answer": ""}), json.dumps({"line": 1, "answer": "7"})])
    )
    assert missed.answer == "7" and missed.line == lines[1], missed
    # Lines that all name as much of the question (or none of it) are not narrowed.
    assert closest_lines("What was the weather like?", lines) == []
    assert closest_lines("Which room?", lines[:2]) == []


def test_an_option_the_recogniser_misheard_is_taken_when_it_alone_is_close_to_the_line() -> None:
    heard = EvidenceLine(span=TimeSpan(start_s=181.0, end_s=184.0), kind="said",
                         text="S1: Doctor Quaylin will arrive on Monday morning.")  # fmt: skip
    question = "Which doctor is due to arrive on Monday?"
    doctors = [("A", "Rossi"), ("B", "Quinlan"), ("C", "Petrov"), ("D", "Castillo")]

    def reading(options: list[tuple[str, str]], line: EvidenceLine = heard) -> Reading:
        return read(question, [line, LINES[0]], ScriptedLLM([json.dumps({"line": 1, "option": "A"})]), options=options)

    taken = reading(doctors)  # the model named A; no option is on the line as written, B is as heard
    assert taken.option == "B" and taken.line == heard, taken
    close = [("A", "Rossi"), ("B", "Quinlan"), ("C", "Quillan"), ("D", "Castillo")]
    assert reading(close).option is None  # two options are as close: none is taken
    other = EvidenceLine(span=heard.span, kind="said", text="S1: Quaylin found the map near the old bridge.")
    assert reading(doctors, other).option is None  # the line shares no word with the question
