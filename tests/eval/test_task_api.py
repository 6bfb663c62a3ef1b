"""The benchmark-independent parts: registry, Example, grading records and Metrics."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from pydantic import ValidationError

from vidscout.errors import ConfigError
from vidscout.eval.scoring import Graded, Metrics, clustered_stderr, stderr_method
from vidscout.eval.task import Example, Task, duration_bucket
from vidscout.eval.tasks import TASKS, LVBenchTask, load_task
from vidscout.prompts.render import render


def test_registry_lists_valid_names_for_unknown_ones(tmp_path: Path) -> None:
    assert sorted(TASKS) == ["lvbench", "mlvu", "needle", "videomme", "videomme_w_subs"]
    with pytest.raises(
        ConfigError, match="Unknown task 'egoschema'; available: lvbench, mlvu, needle, videomme, videomme_w_subs"
    ):
        load_task("egoschema", tmp_path)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("mlvu", "MLVU annotations"), ("lvbench", "LVBench annotations"), ("videomme", "Video-MME rows")],
)
def test_missing_annotations_say_what_is_expected(name: str, expected: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"does not exist; expected {expected}"):
        load_task(name, tmp_path / "missing.json")


def test_wrong_benchmark_file_is_refused(data_dir: Path) -> None:
    with pytest.raises(ConfigError, match="does not hold a list of JSON objects; expected MLVU annotations"):
        load_task("mlvu", data_dir / "lvbench" / "lvbench_index_to_youtube.json")
    with pytest.raises(ConfigError, match="'question_type' is list, expected str"):
        load_task("mlvu", data_dir / "lvbench" / "lvbench_clean.json")
    with pytest.raises(ConfigError, match="has no 'candidates' field"):
        load_task("lvbench", data_dir / "mlvu" / "9_summary.json")


def test_task_is_iterable_and_indexable(data_dir: Path) -> None:
    task = load_task("lvbench", data_dir / "lvbench")
    assert len(task) == task.num_examples() == 11
    assert list(task)[3] == task.get_example(3)
    with pytest.raises(TypeError):
        Task([])  # type: ignore[abstract]


def test_example_validates_its_answer() -> None:
    ex = Example(id="q", video="v.mp4", question="?", options=["x", "y"], answer="B", category=["c"])
    assert ex.answer_text == "y"
    with pytest.raises(ValidationError, match="not one of the 2 option letters"):
        Example(id="q", video="v.mp4", question="?", options=["x", "y"], answer="C", category=["c"])
    assert Example(id="q", video="v.mp4", question="?", options=list("1234567"), answer="G", category=["c"]).answer_text
    with pytest.raises(ValidationError, match="at most 26"):
        Example(id="q", video="v.mp4", question="?", options=[str(i) for i in range(27)], answer="A", category=["c"])
    assert Example(id="q", video="v", question="?", answer=None, category=[]).answer_text is None


def test_duration_buckets_keep_videomme_classes() -> None:
    assert [duration_bucket(s) for s in (90, 239.9, 240, 15 * 60, 1799, 1800, 3600 * 2)] == [
        "short", "short", "medium", "medium", "medium", "long", "long",
    ]  # fmt: skip


def test_graded_records_round_trip_and_duplicates_are_refused(data_dir: Path) -> None:
    task = load_task("lvbench", data_dir / "lvbench")
    graded = [task.grade(e, "(A) it is") for e in task]
    assert graded[0].cluster == "00000000.mp4" and graded[0].predicted == "A" and not graded[0].correct
    lines = [g.model_dump_json() for g in graded]  # what a resumable JSONL holds
    again = [Graded.model_validate_json(line) for line in lines]
    assert task.aggregate(again) == task.score((e, "(A) it is") for e in task)
    with pytest.raises(ConfigError, match="graded more than once"):
        task.aggregate([*again, again[0]])


def test_metrics_serialise_and_render_as_table_rows(data_dir: Path) -> None:
    task = load_task("lvbench", data_dir / "lvbench")
    metrics = task.score((e, "A") for e in task)
    assert Metrics.model_validate_json(metrics.model_dump_json()) == metrics
    assert Metrics.TABLE_HEADER == ("group", "metric", "accuracy %", "correct / total")
    assert metrics.to_table_rows()[:3] == [
        ("overall", "Overall", "36.4", "4 / 11"),
        ("ability", "ER", "0.0", "0 / 2"),
        ("ability", "EU", "50.0", "3 / 6"),
    ]
    with pytest.raises(KeyError):
        metrics.get("M-Avg")
    mlvu = load_task("mlvu", data_dir / "mlvu").score([])
    assert mlvu.to_table_rows()[0] == ("overall", "M-Avg", "0.0", "")
    assert (mlvu.n_examples, mlvu.stderr) == (0, None)


def test_clustered_stderr_by_hand() -> None:
    def g(video: str, correct: bool) -> Graded:
        return Graded(
            example_id=f"{video}{correct}{id(object())}", cluster=video, category=[], answer="A",
            response=None, predicted="A" if correct else "B",
        )  # fmt: skip

    # Two videos, each all right or all wrong: p = 0.5, cluster residuals +1 and -1.
    together = [g("v1", True), g("v1", True), g("v2", False), g("v2", False)]
    assert clustered_stderr(together) == pytest.approx(100 * math.sqrt(2 / 1 * 2 / 16))  # 50.0
    # The same answers on four videos: residuals of +-0.5, close to the binomial error.
    apart = [g("v1", True), g("v2", True), g("v3", False), g("v4", False)]
    assert clustered_stderr(apart) == pytest.approx(100 * math.sqrt(4 / 3 * 1 / 16))  # 28.87
    assert stderr_method(apart) == "clustered by video (4 videos)"
    assert clustered_stderr(apart[:1]) is None and stderr_method(apart[:1]) is None
    # One video: the between-video spread cannot be estimated; each question is its own cluster, which
    # is the independent-questions s.e. sqrt(p(1-p) / (n-1)): here sqrt(0.25 / 3) = 28.87 again.
    one_video = [g("v1", True), g("v1", True), g("v1", False), g("v1", False)]
    assert clustered_stderr(one_video) == pytest.approx(100 * math.sqrt(0.25 / 3))
    assert stderr_method(one_video) is not None and stderr_method(one_video).startswith("one video")
    assert clustered_stderr([g("v1", True), g("v1", True)]) == 0.0  # no spread at all


def test_render_is_strict() -> None:
    with pytest.raises(
        ConfigError, match=r"Unknown prompt template 'nope'; available: .*lvbench_mc, mlvu_mc, videomme_mc"
    ):
        render("nope")
    with pytest.raises(Exception, match="'question' is undefined"):
        render("lvbench_mc", with_options=False)


def test_split_must_be_known(data_dir: Path) -> None:
    with pytest.raises(ConfigError, match="lvbench has no split 'dev'; available: test"):
        LVBenchTask.load(data_dir / "lvbench", split="dev")
