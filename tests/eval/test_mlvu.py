from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vidscout.errors import ConfigError
from vidscout.eval.task import NO_OPTION
from vidscout.eval.tasks import MLVUTask, load_task
from vidscout.eval.tasks.mlvu import answer_letter

MC_FILES = {
    "1_plotQA.json": "PQA",
    "2_needle.json": "NQA",
    "3_ego.json": "ER",
    "4_count.json": "AC",
    "5_order.json": "AO",
    "6_anomaly_reco.json": "AR",
    "7_topic_reasoning.json": "TR",
}
QUIRK_VIDEOS = {"needle_4.mp4", "needle_5.mp4"}  # answer text not among the candidates (SOURCE.md)


def true_index(item: dict[str, Any]) -> int:
    """The answer's candidate index, computed here without vidscout's code; -1 when none is the answer.

    JUNJIE99/MLVU evaluation/multiple_choice_evaluation/choice_bench.py @fd060c1, ``qa_template``
    (lines 79-90): the index starts at -1 and every candidate equal to the answer overwrites it.
    """
    same = [i for i, c in enumerate(item["candidates"]) if c == item["answer"]]
    if same:
        return same[-1]  # MLVU's qa_template keeps overwriting the index: the last equal candidate wins
    assert item["video"] in QUIRK_VIDEOS
    return -1


def raw_items(folder: Path) -> dict[str, list[dict[str, Any]]]:
    return {tag: json.loads((folder / name).read_text()) for name, tag in MC_FILES.items()}


# --- the real dev set (full files next to the checkout) ---------------------------------------


def test_dev_set_loads_all_2175_multiple_choice_questions(shared_benchmarks: Path) -> None:
    task = load_task("mlvu", shared_benchmarks / "mlvu")
    assert isinstance(task, MLVUTask) and task.split == "dev"
    assert task.num_examples() == 2175
    per_task = {tag: sum(tag in e.category for e in task) for tag in MC_FILES.values()}
    assert per_task == {"PQA": 539, "NQA": 355, "ER": 352, "AC": 206, "AO": 259, "AR": 200, "TR": 264}
    assert all(len(e.options) == 4 and e.answer is not None for e in task)
    assert len({e.id for e in task}) == 2175
    keyless = [e for e in task if e.answer == NO_OPTION]
    assert [(e.video, e.answer_text, e.extra["answer_matches_no_option"]) for e in keyless] == [
        ("2_needle/needle_4.mp4", None, "Catching a flying drone quadcopter"),
        ("2_needle/needle_5.mp4", None, "Catching a flying drone quadcopter"),
    ]


def test_oracle_scores_100_except_on_the_two_answers_that_are_no_candidate(shared_benchmarks: Path) -> None:
    # The official key of needle_4/needle_5 is "(@)" (qa_template leaves index -1): no reply can be right.
    for extractor in ("official", "lenient"):
        task = load_task("mlvu", shared_benchmarks / "mlvu", extractor=extractor)
        metrics = task.score((e, f"({e.answer}) {e.answer_text}") for e in task)
        assert metrics.headline == "M-Avg"
        assert all(row.accuracy == 100.0 for row in metrics.rows if row.name not in ("NQA", "M-Avg", "Question mean"))
        assert (metrics.get("NQA").correct, metrics.get("NQA").total) == (353, 355)
        assert metrics.headline_value == pytest.approx((600 + 100 * 353 / 355) / 7)  # 99.92
        assert (metrics.n_scored, metrics.n_unparsed) == (2175, 2)
        assert any("2 question(s) have an answer that is none of their options" in n for n in metrics.notes)


def test_constant_a_scores_the_share_of_a_answers(shared_benchmarks: Path) -> None:
    raw = raw_items(shared_benchmarks / "mlvu")
    a_counts = {tag: sum(true_index(x) == 0 for x in items) for tag, items in raw.items()}
    totals = {tag: len(items) for tag, items in raw.items()}
    # The same numbers written out (hand-checked against the JSON): A answers / questions per task.
    assert a_counts == {"PQA": 134, "NQA": 89, "ER": 88, "AC": 52, "AO": 65, "AR": 50, "TR": 66}
    assert sum(a_counts.values()) == 544

    task = load_task("mlvu", shared_benchmarks / "mlvu")
    metrics = task.score((e, "A") for e in task)
    for tag in MC_FILES.values():
        row = metrics.get(tag, "task")
        assert (row.correct, row.total) == (a_counts[tag], totals[tag])
        assert row.accuracy == pytest.approx(100 * a_counts[tag] / totals[tag])
    m_avg = sum(100 * a_counts[t] / totals[t] for t in a_counts) / 7
    assert metrics.headline_value == pytest.approx(m_avg)  # 25.0386...
    assert metrics.get("Question mean").accuracy == pytest.approx(100 * 544 / 2175)  # 25.0115...
    assert metrics.headline_value == pytest.approx(25.0386, abs=1e-4)
    assert metrics.get("Question mean").accuracy == pytest.approx(25.0115, abs=1e-4)


def test_m_avg_is_the_mean_of_task_accuracies_not_of_questions(shared_benchmarks: Path) -> None:
    task = load_task("mlvu", shared_benchmarks / "mlvu")
    # Right on every plotQA question (the largest task), wrong elsewhere.
    metrics = task.score((e, e.answer if "PQA" in e.category else "unsure") for e in task)
    assert metrics.get("PQA").accuracy == 100.0
    assert metrics.headline_value == pytest.approx(100 / 7)  # 14.29
    assert metrics.get("Question mean").accuracy == pytest.approx(100 * 539 / 2175)  # 24.78
    # Right on every count question (the smallest task): the order of the two flips.
    metrics = task.score((e, e.answer if "AC" in e.category else "unsure") for e in task)
    assert metrics.headline_value == pytest.approx(100 / 7)
    assert metrics.get("Question mean").accuracy == pytest.approx(100 * 206 / 2175)  # 9.47
    assert metrics.n_unparsed == 2175 - 206  # counted as wrong, in the denominator


def test_option_text_replies_parse_unless_the_text_is_ambiguous(shared_benchmarks: Path) -> None:
    raw = raw_items(shared_benchmarks / "mlvu")
    ambiguous = sum(
        x["answer"] == "" or x["candidates"].count(x["answer"]) > 1 for items in raw.values() for x in items
    )
    assert ambiguous == 8  # 5 answers equal two candidates, 3 are empty strings
    task = load_task("mlvu", shared_benchmarks / "mlvu", extractor="lenient")  # parse_choice reads option texts
    metrics = task.score((e, e.answer_text) for e in task)
    assert metrics.n_unparsed == ambiguous + 2  # and the two answers that are no candidate
    assert metrics.get("Question mean").correct == 2175 - ambiguous - 2
    # The official check_ans compares a reply without ")" with the letter itself: option texts are all wrong.
    official = load_task("mlvu", shared_benchmarks / "mlvu").score((e, e.answer_text) for e in task)
    assert official.get("Question mean").correct == 0


# --- the shipped subset -----------------------------------------------------------------------


def test_subset_maps_answers_like_the_official_template(data_dir: Path) -> None:
    task = load_task("mlvu", data_dir / "mlvu")
    by_id = {e.id: e for e in task}
    assert sorted(by_id) == [
        "findNeedle:0", "findNeedle:1", "findNeedle:2", "plotQA:0", "plotQA:1", "plotQA:2", "plotQA:3",
        "plotQA:4", "plotQA:5", "topic_reasoning:0", "topic_reasoning:1", "topic_reasoning:2",
    ]  # fmt: skip
    assert by_id["plotQA:4"].options == ["Six", "Three", "Three", "Eight"]
    assert by_id["plotQA:4"].answer == "C"  # "Three" is B and C: the last one
    assert by_id["plotQA:5"].answer == "C"  # "Excited" is A and C
    assert by_id["topic_reasoning:1"].answer == "D"  # all four candidates are ""
    # needle_4 / needle_5: the answer text is no candidate; the official key is "(@)", never matched.
    assert by_id["findNeedle:1"].answer == by_id["findNeedle:2"].answer == NO_OPTION
    assert by_id["plotQA:0"].video == "1_plotQA/movie101_66.mp4"
    assert by_id["plotQA:0"].duration_s == 246.0 and by_id["plotQA:0"].duration_bucket == "medium"


def test_open_items_are_skipped_unless_asked_for_and_never_scored(data_dir: Path) -> None:
    closed = MLVUTask.load(data_dir / "mlvu")
    both = MLVUTask.load(data_dir / "mlvu", include_open=True)
    assert both.num_examples() == closed.num_examples() + 1
    summary = next(e for e in both if e.answer is None)
    assert summary.category == ["VS"] and summary.options == []
    assert summary.extra["reference_answer"]
    assert both.prompt(summary).startswith("Carefully watch this video")
    metrics = both.score((e, e.answer or "a long summary") for e in both)
    # Right everywhere but on the two needle items whose answer is no candidate: NQA 1/3, PQA and TR 100.
    assert (metrics.n_open, metrics.n_scored) == (1, 12)
    assert metrics.headline_value == pytest.approx((100 + 100 / 3 + 100) / 3)
    assert any("M-Avg covers 3 of the 7" in n for n in metrics.notes)


def test_prompt_snapshot_for_a_real_item(data_dir: Path) -> None:
    task = load_task("mlvu", data_dir / "mlvu" / "1_plotQA.json")
    assert task.prompt(task.get_example(0)) == (
        "Carefully watch this video and pay attention to every detail. Based on your observations, "
        "select the best option that accurately addresses the question.\n"
        "Question: What color is the main male character in the video?\n"
        "Options:\n"
        "(A) Yellow\n"
        "(B) Red\n"
        "(C) Green\n"
        "(D) Blue\n"
        "Only give the best option.\n"
        "Best Option: ("
    )
    assert task.prompt(task.get_example(0), with_options=False) == (
        "Carefully watch this video and pay attention to every detail. Based on your observations, "
        "answer the given questions.\n"
        "What color is the main male character in the video?"
    )


def test_test_split_has_six_options_and_nine_tasks(tmp_path: Path) -> None:
    # MLVU-Test's ground truth is not redistributable here: rows of our own in its item schema.
    tasks = [
        "topic_reasoning",
        "anomaly_reco",
        "needleQA",
        "ego",
        "plotQA",
        "sportsQA",
        "order",
        "count",
        "tutorialQA",
    ]
    rows = [
        {
            "question_id": f"Q_{i}",
            "question_type": qtype,
            "video": f"clip_{i}.mp4",
            "duration": 600.0,
            "question": f"Question {i}?",
            "candidates": ["one", "two", "three", "four", "five", "six"],
            "answer": "six" if i % 2 else "F",  # text or letter
        }
        for i, qtype in enumerate(tasks)
    ]
    path = tmp_path / "test_question.json"
    path.write_text(json.dumps(rows))
    task = load_task("mlvu", path, split="test")
    ex = task.get_example(0)
    assert (ex.id, ex.answer, ex.video, len(ex.options)) == ("Q_0", "F", "clip_0.mp4", 6)
    assert "(F) six\nOnly give the best option." in task.prompt(ex)
    replies = {e.id: ("F" if e.id in ("Q_0", "Q_1", "Q_2") else "E") for e in task}
    metrics = task.score((e, replies[e.id]) for e in task)
    assert [r.name for r in metrics.rows if r.group == "task"] == [
        "TR", "AR", "NQA", "ER", "PQA", "SQA", "AO", "AC", "TQA",
    ]  # fmt: skip
    assert metrics.headline_value == pytest.approx(100 * 3 / 9)
    assert metrics.notes == []
    # Without ground truth the questions load (to run them) but nothing is scored.
    path.write_text(json.dumps([{k: v for k, v in r.items() if k != "answer"} for r in rows]))
    blind = load_task("mlvu", path, split="test")
    assert all(e.answer is None and len(e.options) == 6 for e in blind)
    metrics = blind.score((e, "A") for e in blind)
    assert (metrics.n_scored, metrics.n_open) == (0, 9) and "nothing scored" in metrics.notes[-1]


def test_answer_letter_rules() -> None:
    assert answer_letter("b", ["a", "b", "b", "c"]) == "C"
    assert answer_letter("D", ["w", "x", "y", "z"]) == "D"
    assert (
        answer_letter("Catching a flying drone quadcopter", ["Swimming", "Launching the drone", "Catching the drone"])
        == NO_OPTION
    )


def test_bad_annotations_say_what_was_expected(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text(json.dumps([{"video": "v.mp4", "question": "q?"}]))
    with pytest.raises(ConfigError, match=r"x\.json item 0 has no 'question_type' field"):
        load_task("mlvu", tmp_path / "x.json")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"No \.json files .*expected MLVU annotations"):
        load_task("mlvu", tmp_path / "empty")
    with pytest.raises(ConfigError, match="mlvu has no split 'val'; available: dev, test"):
        load_task("mlvu", tmp_path / "x.json", split="val")
