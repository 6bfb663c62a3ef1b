"""Needle v2: the same seed gives the same benchmark, questions paraphrase, wrong times are other events' times,
order and count answers follow from what was planted; a small rendered benchmark loads and scores per form."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import vidscout
from vidscout.choices import LETTERS
from vidscout.cli.app import app
from vidscout.errors import ConfigError
from vidscout.eval.devset import fact_template
from vidscout.eval.needle_v2 import (
    PHOTOS,
    HaystackOptions,
    HaystackPlan,
    Plant,
    default_options,
    draw_haystack,
    haystack_questions,
    planned_spans,
)
from vidscout.eval.tasks import load_task
from vidscout.eval.tasks.needle import NeedleTask
from vidscout.text import normalise_words
from vidscout.types import format_hms

SEEDS = range(6)


def _plan(seed: int, minutes: float = 30) -> HaystackPlan:
    return draw_haystack(seed, duration_s=minutes * 60 + 1, options=default_options(minutes))


def _questions(plan: HaystackPlan) -> list[dict[str, object]]:
    return haystack_questions(plan, video="v.mp4", duration_s=plan.duration_s, spans=planned_spans(plan))


@pytest.fixture(scope="module")
def drawn() -> list[tuple[HaystackPlan, list[dict[str, object]]]]:
    return [(plan, _questions(plan)) for plan in (_plan(seed) for seed in SEEDS)]


def _by_id(plan: HaystackPlan) -> dict[str, Plant]:
    return {p.id: p for p in plan.plants}


def _longest_shared_run(a: list[str], b: list[str]) -> int:
    best = 0
    for i in range(len(a)):
        for j in range(len(b)):
            n = 0
            while i + n < len(a) and j + n < len(b) and a[i + n] == b[j + n]:
                n += 1
            best = max(best, n)
    return best


def _says(text: str, part: str) -> bool:
    """Whether ``part`` occurs in ``text`` as whole words ("seven" is not in "eleven")."""
    words, sub = normalise_words(text), normalise_words(part)
    return any(words[i : i + len(sub)] == sub for i in range(len(words) - len(sub) + 1))


_DRAW = """
import json, sys
from vidscout.eval.needle_v2 import default_options, draw_haystack, haystack_questions, planned_spans
plan = draw_haystack(int(sys.argv[1]), duration_s=1801.0, options=default_options(30))
qs = haystack_questions(plan, video="v.mp4", duration_s=1801.0, spans=planned_spans(plan))
print(json.dumps([plan.model_dump(mode="json"), qs], sort_keys=True))
"""


def test_the_same_seed_draws_the_same_benchmark_in_any_process() -> None:
    src = str(Path(vidscout.__file__).resolve().parents[1])
    outs = []
    for hash_seed in ("1", "2"):  # string hashing differs between these processes: no set order may leak out
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": src}
        run = subprocess.run([sys.executable, "-c", _DRAW, "5"], env=env, capture_output=True, text=True, check=True)
        outs.append(run.stdout.strip())
    assert outs[0] == outs[1]
    plan = draw_haystack(5, duration_s=1801.0, options=default_options(30))
    assert json.loads(outs[0]) == json.loads(json.dumps([plan.model_dump(mode="json"), _questions(plan)]))
    assert _plan(6).model_dump() != plan.model_dump()


def test_a_haystack_holds_every_kind_of_needle_and_distractor_speech(
    drawn: list[tuple[HaystackPlan, list[dict[str, object]]]],
) -> None:
    for plan, questions in drawn:
        needles = plan.needles
        speech_needles = [p for p in needles if p.kind == "speech"]
        distractor_speech = [p for p in plan.plants if p.kind == "speech" and not p.needle]
        # Speech runs through the haystack beyond the needles: LibriVox readers and espeak-ng chatter.
        assert len(distractor_speech) >= len(speech_needles)
        assert any(p.speaker.startswith("librivox:") for p in distractor_speech)
        assert {p.kind for p in needles} == {"speech", "text", "photo"}
        starts = sorted(p.start_s for p in plan.plants)
        assert min(b - a for a, b in itertools.pairwise(starts)) >= 30.0 - 0.1
        assert {(q["form"], q["kind"]) for q in questions} == {
            (f, k) for f in ("what", "when", "order", "count") for k in ("speech", "text", "photo")
        }
        assert len({q["id"] for q in questions}) == len(questions)
        for q in questions:
            options = q["options"]
            assert isinstance(options, list) and len(options) == 4 and len(set(options)) == 4
            assert q["answer"] in LETTERS[:4]


def test_what_and_when_questions_paraphrase_the_needle(
    drawn: list[tuple[HaystackPlan, list[dict[str, object]]]],
) -> None:
    for plan, questions in drawn:
        plants = _by_id(plan)
        for q in questions:
            if q["form"] not in ("what", "when") or q["kind"] == "photo":
                continue
            needles = q["needles"]
            assert isinstance(needles, list)
            needle = plants[needles[0]]
            asked, planted = normalise_words(str(q["question"])), normalise_words(needle.text)
            assert needle.text.lower() not in str(q["question"]).lower()
            # A few words may be shared ("the map ... Captain Rossi"), never the sentence or the caption.
            assert _longest_shared_run(asked, planted) <= 4, (q["question"], needle.text)
            assert _longest_shared_run(asked, planted) < len(planted)
            if q["form"] == "when":  # the question names the fact, but gives none of its asked-about values away
                named = set(normalise_words(needle.label))
                assert not (set(normalise_words(" ".join(needle.slots.values()))) - named) & set(asked)


def test_what_answers_are_the_planted_values_and_wrong_ones_are_not(
    drawn: list[tuple[HaystackPlan, list[dict[str, object]]]],
) -> None:
    for plan, questions in drawn:
        plants = _by_id(plan)
        shown = {p.label for p in plan.needles if p.kind == "photo"}
        for q in (q for q in questions if q["form"] == "what"):
            options, needles = q["options"], q["needles"]
            assert isinstance(options, list) and isinstance(needles, list)
            true = options[LETTERS.index(str(q["answer"]))]
            needle = plants[needles[0]]
            wrong = [o for o in options if o != true]
            if q["kind"] == "photo":
                assert true == PHOTOS[needle.text] and not set(wrong) & shown
            else:
                assert _says(needle.text, str(true)) and not any(_says(needle.text, str(w)) for w in wrong)
                assert not _says(str(q["question"]), str(true))


def test_wrong_times_are_other_needles_and_distractor_speech(
    drawn: list[tuple[HaystackPlan, list[dict[str, object]]]],
) -> None:
    from_distractor = 0
    for plan, questions in drawn:
        plants = _by_id(plan)
        start_of = {format_hms(p.start_s): p for p in plan.plants}
        for q in (q for q in questions if q["form"] == "when"):
            options, needles, sources = q["options"], q["needles"], q["wrong_options_from"]
            assert isinstance(options, list) and isinstance(needles, list) and isinstance(sources, list)
            needle = plants[needles[0]]
            true = options[LETTERS.index(str(q["answer"]))]
            assert true == format_hms(needle.start_s)
            assert options == sorted(options)
            wrong = [o for o in options if o != true]
            # Every wrong time is when another planted event starts: not a random time.
            assert sorted(wrong) == sorted(format_hms(plants[i].start_s) for i in sources)
            assert all(start_of[o].id != needle.id for o in wrong)
            if needle.kind == "speech":  # heard: a speech detector cannot tell the options apart
                assert all(plants[i].kind == "speech" for i in sources)
            from_distractor += sum(not plants[i].needle for i in sources)
    assert from_distractor > 0


def test_order_and_count_answers_follow_from_the_plan(
    drawn: list[tuple[HaystackPlan, list[dict[str, object]]]],
) -> None:
    for plan, questions in drawn:
        for q in questions:
            options = q["options"]
            assert isinstance(options, list)
            true = options[LETTERS.index(str(q["answer"]))]
            kind = q["kind"]
            if q["form"] == "order":
                singles = {p.label.removesuffix(" on screen"): p for p in plan.needles if p in plan.singles(p.kind)}
                named = [singles[o] for o in options]
                assert all(p.kind == kind for p in named)
                assert true == min(options, key=lambda o: singles[o].start_s)
            elif q["form"] == "count":
                if kind == "photo":
                    expected = sum(p.kind == "photo" for p in plan.needles)
                else:
                    template = next(t for t in {p.template for p in plan.needles if p.kind == kind}
                                    if fact_template(t).count_q == q["question"])  # fmt: skip
                    expected = len({p.text for p in plan.needles if p.template == template})
                    assert expected >= 2
                assert true == str(expected)
                assert [int(o) for o in options] == list(range(int(options[0]), int(options[0]) + 4))


def test_too_many_needles_for_the_length_or_the_pools() -> None:
    with pytest.raises(ConfigError, match="need at least"):
        draw_haystack(0, duration_s=300.0, options=HaystackOptions())
    with pytest.raises(ConfigError, match="templates to ask about"):
        draw_haystack(0, duration_s=3600.0, options=HaystackOptions(text=9))
    with pytest.raises(ConfigError, match="must exceed the longest"):
        draw_haystack(0, duration_s=3600.0, options=HaystackOptions(gap_s=5.0, speech=2, text=2, photos=2))


def test_rendered_benchmark_matches_its_ground_truth(needle_v2_benchmark: Path) -> None:
    doc = json.loads(needle_v2_benchmark.read_text())
    assert (doc["version"], doc["seed"], doc["minutes"]) == (2, 0, 6)
    task = load_task("needle", needle_v2_benchmark)
    assert isinstance(task, NeedleTask) and task.setting == "v2, seed 0, 6 min"
    assert task.video_path(task.get_example(0)).is_file()
    events = {e["id"]: e for e in [*doc["needles"], *doc["distractors"]]}
    assert any(e["speaker"].startswith("librivox:") for e in doc["distractors"] if e["kind"] == "speech")
    for e in events.values():
        assert 0 < e["start"] < e["end"] < doc["duration"]
    for q in doc["questions"]:
        if q["form"] == "when":
            # Times are where the voice is measured to start on the rendered audio (or the text / photo appears).
            assert q["options"][LETTERS.index(q["answer"])] == format_hms(events[q["needles"][0]]["start"])
            wrong = {format_hms(events[i]["start"]) for i in q["wrong_options_from"]}
            assert wrong == set(q["options"]) - {q["options"][LETTERS.index(q["answer"])]}
    # Scoring: per form, per kind and per form and kind.
    replies = [(e, e.answer if e.extra["form"] != "when" else "Z") for e in task]
    metrics = task.score(replies)
    rows = {(r.group, r.name): r for r in metrics.rows}
    assert rows[("form", "what")].accuracy == 100.0 and rows[("form", "when")].accuracy == 0.0
    assert rows[("form / kind", "count / photo")].total == 1
    assert rows[("kind", "speech")].total == sum(e.category == ["speech"] for e in task)


def test_make_needle_cli_builds_v2_by_default(media_cache: Path, tmp_path: Path) -> None:
    footage = media_cache / "big_buck_bunny_720p_3min.mp4"  # the v1 fixture's loop: no download here
    if not footage.is_file():
        pytest.skip("needs the needle_benchmark fixture's cached 3-minute loop")
    res = CliRunner().invoke(app, ["make-needle", str(tmp_path), "--minutes", "3", "--seed", "2",
                                   "--footage", str(footage)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "needle v2, seed 2: " in res.stdout and "count" in res.stdout
    doc = json.loads((tmp_path / "needle.json").read_text())
    assert doc["version"] == 2 and doc["seed"] == 2
