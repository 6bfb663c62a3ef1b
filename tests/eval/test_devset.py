"""The development question set's ground truth follows from its plan (`vidscout.eval.devset`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vidscout.eval.devset import (
    CHOICES,
    LATER_KINDS,
    Fact,
    QAVideo,
    draw_qa_video,
    draw_questions,
    fact_template,
    grade,
)
from vidscout.media.planted import PlantedVideo, SpokenLine
from vidscout.text import normalise_words
from vidscout.types import Answer

SEEDS = (3, 17, 404, 9001)


def _planned(video: QAVideo) -> PlantedVideo:
    """The plan as if rendered with every line heard exactly when planned (the questions need only those times)."""
    spoken = [SpokenLine(text=f.text, speaker="espeak:en", onset_s=f.start_s, offset_s=f.end_s)
              for f in video.facts if f.kind == "speech"]  # fmt: skip
    return PlantedVideo(path=Path(video.name), spec=video.spec, cut_times=[], spoken=spoken)


@pytest.mark.parametrize("kind", ["choice", "choice_all"])
@pytest.mark.parametrize("seed", SEEDS)
def test_choice_questions_hold_the_planted_value_and_values_no_fact_of_that_kind_holds(seed: int, kind: str) -> None:
    video = draw_qa_video(seed, name="v.mp4")
    items = [i for i in draw_questions(video, _planned(video), seed) if i.kind == kind]
    once = [f for f in video.facts if sum(g.template == f.template for g in video.facts) == 1]
    assert len(items) == (2 if kind == "choice" else sum(len(fact_template(f.template).asks) for f in once))
    for item in items:
        assert len(item.options) == CHOICES == len(set(item.options))
        assert item.answer is not None
        true = item.options["ABCD".index(item.answer)]
        facts = [f for f in video.facts if any(f.fill(q) == item.question for q, _ in fact_template(f.template).asks)]
        assert len(facts) == 1, item.question
        fact = facts[0]
        assert set(normalise_words(true)) <= set(normalise_words(fact.text))
        same = [f for f in video.facts if f.template == fact.template]
        for wrong in (o for o in item.options if o != true):
            new = set(normalise_words(wrong)) - set(normalise_words(true))  # "six 30" and "seven 30" share the 30
            assert new, (wrong, true)
            assert not any(new <= set(normalise_words(f.text)) for f in same), (wrong, fact.text)
        assert grade(item, Answer(question="q", answer=true, option=item.answer))
        assert not grade(
            item, Answer(question="q", answer=true, option="ABCD"[(item.options.index(true) + 1) % CHOICES])
        )


def _line(video: QAVideo, words: list[str]) -> Fact:
    """The one spoken fact holding every one of ``words``."""
    lines = [
        f
        for f in video.facts
        if f.kind == "speech" and all(set(normalise_words(w)) <= set(normalise_words(f.text)) for w in words)
    ]
    assert len(lines) == 1, words
    return lines[0]


@pytest.mark.parametrize("seed", SEEDS)
def test_said_while_and_first_or_last_expect_the_line_said_then(seed: int) -> None:
    video = draw_qa_video(seed, name="v.mp4")
    items = draw_questions(video, _planned(video), seed)
    lines = sorted((f for f in video.facts if f.kind == "speech"), key=lambda f: f.start_s)
    edge = next(i for i in items if i.kind == "first_last")
    said = _line(video, edge.expect[0])
    assert said == (lines[0] if "first" in edge.question else lines[-1])
    assert grade(edge, Answer(question="q", answer=said.text))
    assert not grade(edge, Answer(question="q", answer=next(f for f in lines if f.template != said.template).text))
    while_ = [i for i in items if i.kind == "said_while"]
    if while_:  # a sign planted over a line said once (every plan has one: the cross-modal question's)
        line = _line(video, while_[0].expect[0])
        signs = [
            f for f in video.facts if f.kind == "text" and f.fill(fact_template(f.template).desc) in while_[0].question
        ]
        assert any(s.start_s <= line.start_s + 0.5 and s.end_s >= line.end_s - 0.5 for s in signs)


def test_later_kinds_name_the_newer_ones_and_the_first_questions_stay_the_same() -> None:
    assert {"choice", "said_while", "first_last"} <= set(LATER_KINDS)
    video = draw_qa_video(11, name="v.mp4")
    items = draw_questions(video, _planned(video), 11)
    kinds = [i.kind for i in items]
    # The newer kinds come last, from their own random stream, so every question before them is as it was.
    newer = ("choice", "said_while", "first_last", "choice_all")
    first_new = min(kinds.index(k) for k in newer if k in kinds)
    assert all(k in newer for k in kinds[first_new:])
    assert kinds.index("choice_all") > max(i for i, k in enumerate(kinds) if k != "choice_all")
    assert "stated_time" in kinds[:first_new]
