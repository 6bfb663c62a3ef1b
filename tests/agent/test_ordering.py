"""Reading order questions: which events, and whether the first, the last, or a before/after is asked."""

from __future__ import annotations

import pytest

from vidscout.agent.loop import informative
from vidscout.agent.ordering import order_question


@pytest.mark.parametrize(
    ("question", "events", "want"),
    [
        ("Which comes first in the video: the summit concert tickets or the chapter 6 title?",
         ("the summit concert tickets", "the chapter 6 title"), "first"),
        ("Which is mentioned first, the password or the train?", ("the password", "the train"), "first"),
        ("What happens later: the dog barking or the car horn?", ("the dog barking", "the car horn"), "last"),
        ("Which one appears earlier in the video, the red car or the blue bus?", ("the red car", "the blue bus"),
         "first"),
        ("Which comes first: the sale sign shown or the password being mentioned?", ("the sale sign", "the password"),
         "first"),
        ("Is the museum closing mentioned before or after the flight to Lima sign?",
         ("the museum closing", "the flight to Lima sign"), "before_or_after"),
        ("Does the phone number appear before the discount sign?", ("the phone number", "the discount sign"),
         "before"),
        ("Did the doctor arrive after the storm?", ("the doctor arrive", "the storm"), "after"),
    ],
)  # fmt: skip
def test_order_questions_name_their_events(question: str, events: tuple[str, ...], want: str) -> None:
    ask = order_question(question)
    assert ask is not None and ask.events == events and ask.want == want


@pytest.mark.parametrize(
    "question",
    [
        "Which city is shown first on screen?",  # no events named, no options
        "Who speaks first?",
        "What is said after the password is mentioned?",
        "Which color is the car or the bus?",
        "Which comes first: the password or the password?",
        "What is the first name of the director, John or Jack?",
    ],
)
def test_other_questions_are_not_order_questions(question: str) -> None:
    assert order_question(question) is None


def test_with_options_the_options_are_the_events() -> None:
    ask = order_question("Which city is shown first on screen?", ["Paris", "Oslo", "Lima"])
    assert ask is not None and ask.events == ("Paris", "Oslo", "Lima") and ask.want == "first"
    last = order_question("Which of these appears on screen last?", ["the storm", "the train"])
    assert last is not None and last.want == "last"
    assert order_question("What is the first name of the director?", ["Sacha", "Andreas"]) is None
    assert order_question("Which name is shown on the first card?", ["Sacha", "Andreas"]) is None
    assert order_question("Which comes first in the video?", ["00:01:00", "00:02:00"]) is None  # clock-time options
    assert order_question("Which comes first in the video?", ["Paris", "paris"]) is None  # the same event twice


def test_naming_one_of_the_events_answers_an_order_question() -> None:
    question = "Which comes first: the purple elephant parade or the secret password?"
    assert informative("the secret password", question) and informative("The purple elephant parade.", question)
    assert not informative("the purple or the secret", question)  # half of each names neither
    assert not informative("the secret password", "What is the secret password?")  # only repeats the question
