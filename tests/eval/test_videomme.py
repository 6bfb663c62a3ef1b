"""Video-MME on rows of our own: its licence forbids copying the real annotations."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from vidscout.errors import ConfigError
from vidscout.eval.tasks import VideoMMESubtitlesTask, VideoMMETask, load_task
from vidscout.eval.tasks.videomme import ANSWERED_ONLY, parse_srt, subtitles_for_frames


def row(
    qid: str, duration: str, video: str, task_type: str, question: str, options: list[str], answer: str
) -> dict[str, Any]:
    return {
        "video_id": qid[:3],
        "duration": duration,
        "domain": "Life Record" if duration == "short" else "Knowledge",
        "sub_category": "Daily Life" if duration == "short" else "Technology",
        "url": f"https://www.youtube.com/watch?v={video}",
        "videoID": video,
        "question_id": qid,
        "task_type": task_type,
        "question": question,
        "options": [f"{letter}. {text}" for letter, text in zip("ABCD", options, strict=True)],
        "answer": answer,
    }


ROWS = [
    row(
        "001-1",
        "short",
        "kites01",
        "Counting Problem",
        "How many kites are flying?",
        ["One.", "Two.", "Three.", "Four."],
        "C",
    ),
    row(
        "001-2",
        "short",
        "kites01",
        "OCR Problems",
        "What does the shop sign say?",
        ["Open.", "Closed.", "Sale.", "Back soon."],
        "A",
    ),
    row(
        "002-1",
        "medium",
        "robot02",
        "Object Recognition",
        "Which tool does the robot hold?",
        ["Hammer.", "Wrench.", "Saw.", "Drill."],
        "B",
    ),
    row(
        "002-2",
        "medium",
        "robot02",
        "Action Reasoning",
        "Why does the robot stop?",
        ["Low battery.", "An obstacle.", "A signal.", "It is running."],
        "D",
    ),
    row(
        "003-1",
        "long",
        "lecture3",
        "Temporal Reasoning",
        "What is explained first?",
        ["Gravity.", "Light.", "Heat.", "Sound."],
        "A",
    ),
    row(
        "003-2",
        "long",
        "lecture3",
        "Information Synopsis",
        "What is the lecture about?",
        ["Cooking.", "Sports.", "Physics.", "Music."],
        "C",
    ),
]

REPLIES = {
    "001-1": "C",  # right
    "001-2": "The answer is B.",  # wrong
    "002-1": "I am not able to determine this from the frames provided here, sorry.",  # unanswered
    "002-2": "D. It is running.",  # right
    "003-1": "hmm",  # unanswered
    "003-2": "Based on the video, the answer is C",  # right; the official extractor reads the "B" of "Based"
}

SRT = (
    "1\n00:00:00,000 --> 00:00:02,000\n"
    '<font color="white" size=".72c">Hello there.</font>\n\n'
    "2\n00:00:02,000 --> 00:00:04,500\n"
    '<font color="white" size=".72c">Second line,</font>\n<font color="white" size=".72c">wrapped.</font>\n\n'
    "3\n00:00:10,000 --> 00:00:12,000\nPlain third.\n\n"
    "4\n00:01:00,250 --> 00:01:01,000\n<i>Late.</i>\n"
)


@pytest.fixture
def rows_file(tmp_path: Path) -> Path:
    path = tmp_path / "videomme.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return path


def test_rows_load_with_unlettered_options(rows_file: Path) -> None:
    task = load_task("videomme", rows_file)
    assert isinstance(task, VideoMMETask) and task.num_examples() == 6
    ex = task.get_example(0)
    assert (ex.id, ex.video, ex.options, ex.answer, ex.category, ex.duration_bucket) == (
        "001-1", "kites01", ["One.", "Two.", "Three.", "Four."], "C", ["Counting Problem"], "short",
    )  # fmt: skip
    assert ex.extra["domain"] == "Life Record"
    as_list = rows_file.with_suffix(".json")
    as_list.write_text(json.dumps(ROWS))
    assert [e.id for e in load_task("videomme", as_list)] == [e.id for e in task]


def test_headline_counts_every_question_and_the_official_number_is_beside_it(rows_file: Path) -> None:
    # Official extractor (MME-Benchmarks/Video-MME evaluation/eval_your_results.py @4e7566d, lines 65-86):
    # C right; "The answer is B." -> B wrong; the 13-word reply has no A-D -> unanswered; "D. ..." right;
    # "hmm" -> unanswered; "Based on ..." -> the B of "Based", wrong. 2 right of 6, of 4 answered.
    task = load_task("videomme", rows_file)
    assert task.extractor == "official"
    metrics = task.score((e, REPLIES[e.id]) for e in task)
    assert metrics.setting == "w/o subs" and metrics.headline == "Overall"
    assert (metrics.n_examples, metrics.n_scored, metrics.n_unparsed, metrics.n_errors, metrics.n_excluded) == (
        6, 6, 2, 0, 0,
    )  # fmt: skip
    got = {(r.group, r.name): (r.correct, r.total) for r in metrics.rows}
    assert got[("overall", "Overall")] == (2, 6)  # every question: lmms-eval's denominator
    assert got[(ANSWERED_ONLY, "Overall (answered only)")] == (2, 4)  # what eval_your_results.py prints (:169-171)
    assert [(r.name, r.correct, r.total) for r in metrics.rows if r.group == "duration"] == [
        ("short", 1, 2), ("medium", 1, 2), ("long", 0, 2),
    ]  # fmt: skip
    assert [(r.name, r.correct, r.total) for r in metrics.rows if r.group == ANSWERED_ONLY] == [
        ("Overall (answered only)", 2, 4), ("short (answered only)", 1, 2), ("medium (answered only)", 1, 1),
        ("long (answered only)", 0, 1),
    ]  # fmt: skip
    assert got[("domain", "Life Record")] == (1, 2) and got[("domain", "Knowledge")] == (1, 4)
    assert got[("task type", "Object Recognition")] == (0, 1)  # its only question went unanswered: wrong
    assert metrics.headline_value == pytest.approx(100 * 2 / 6)
    assert metrics.extractor is not None and metrics.extractor.startswith("official: Video-MME extract_characters")
    assert any("2 unanswered question(s)" in n for n in metrics.notes)


def test_lenient_extractor_on_the_same_replies(rows_file: Path) -> None:
    # vidscout's parse_choice reads the C of "Based on the video, the answer is C": 3 right of 6, of 4 answered.
    task = VideoMMETask.load(rows_file, extractor="lenient")
    metrics = task.score((e, REPLIES[e.id]) for e in task)
    assert metrics.get("Overall").correct == 3 and metrics.get("Overall").total == 6
    assert metrics.get("Overall (answered only)").accuracy == 75.0
    assert metrics.get("long").accuracy == 50.0
    assert metrics.extractor is not None and metrics.extractor.startswith("lenient: vidscout parse_choice")


def test_errors_count_wrong_and_are_counted(rows_file: Path) -> None:
    task = load_task("videomme", rows_file)
    replies = {**REPLIES, "001-1": None}  # the backend failed on a question it would have got right
    metrics = task.score((e, replies[e.id]) for e in task)
    assert (metrics.n_errors, metrics.n_unparsed, metrics.n_scored) == (1, 3, 6)
    assert metrics.get("Overall").correct == 1 and metrics.get("Overall").total == 6
    assert metrics.get("Overall (answered only)").total == 3


def test_prompt_snapshot_without_subtitles(rows_file: Path) -> None:
    task = load_task("videomme", rows_file)
    assert task.prompt(task.get_example(0)) == (
        "Select the best answer to the following multiple-choice question based on the video. "
        "Respond with only the letter (A, B, C, or D) of the correct option.\n"
        "How many kites are flying?\n"
        "A. One.\n"
        "B. Two.\n"
        "C. Three.\n"
        "D. Four.\n"
        "The best answer is:"
    )


def test_prompt_with_the_subtitles_of_the_sampled_frames(rows_file: Path, tmp_path: Path) -> None:
    subs = tmp_path / "subtitle"
    subs.mkdir()
    (subs / "kites01.srt").write_text(SRT)
    task = load_task("videomme_w_subs", rows_file, videos_dir=tmp_path / "data")
    assert isinstance(task, VideoMMESubtitlesTask) and task.subtitle_path(task.get_example(0)) == subs / "kites01.srt"
    prompt = task.prompt(task.get_example(0), frame_times_s=[1.0, 11.0])
    assert prompt.startswith(
        "This video's subtitles are listed below:\nHello there.\nPlain third.\n"
        "Select the best answer to the following multiple-choice question based on the video."
    )
    assert prompt.endswith("D. Four.\nThe best answer is:")
    everything = task.prompt(task.get_example(0))  # no frame times: the whole subtitle file
    assert "Hello there.\nSecond line, wrapped.\nPlain third.\nLate.\nSelect" in everything
    assert task.prompt(task.get_example(2), frame_times_s=[1.0]).startswith(  # robot02 has no .srt
        "This video's subtitles are listed below:\nNo subtitles available\nSelect the best answer"
    )
    metrics = task.score((e, REPLIES[e.id]) for e in task)
    assert metrics.setting == "w/ subs" and metrics.get("Overall (answered only)").accuracy == 50.0


def test_subtitles_for_frames_keeps_the_lines_on_screen_at_the_frames() -> None:
    assert subtitles_for_frames(SRT, [0.0, 2.0, 60.5]) == ["Hello there.", "Second line, wrapped.", "Late."]
    assert subtitles_for_frames(SRT, [60.5, 0.5]) == ["Hello there.", "Late."]  # time order, any input order
    assert subtitles_for_frames(SRT, [1.0, 1.5, 1.9]) == ["Hello there."]  # each line once
    assert subtitles_for_frames(SRT, [4.5, 9.99, 12.0]) == []  # ends are exclusive
    assert subtitles_for_frames(SRT, []) == []
    crlf = "\ufeff" + SRT.replace("\n", "\r\n")
    assert subtitles_for_frames(crlf, [0.0, 2.0, 60.5]) == subtitles_for_frames(SRT, [0.0, 2.0, 60.5])


def test_parse_srt_reads_times_and_strips_markup() -> None:
    cues = parse_srt(SRT + "\n5\nnot a time line\ntext\n\n6\n00:00:20,000 --> 00:00:21,000\n\n")
    assert [(c.span.start_s, c.span.end_s, c.text) for c in cues] == [
        (0.0, 2.0, "Hello there."), (2.0, 4.5, "Second line, wrapped."), (10.0, 12.0, "Plain third."),
        (60.25, 61.0, "Late."),
    ]  # fmt: skip


def test_parquet_rows(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow", reason="pyarrow not installed: parquet support is optional")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "test-00000-of-00001.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS), path)
    task = load_task("videomme", path)
    assert task.get_example(5).options == ["Cooking.", "Sports.", "Physics.", "Music."]


@pytest.mark.skipif(
    importlib.util.find_spec("pyarrow") is not None or importlib.util.find_spec("pandas") is not None,
    reason="pyarrow or pandas is installed",
)
def test_parquet_without_pyarrow_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "test.parquet"
    path.write_bytes(b"PAR1")
    with pytest.raises(ConfigError, match="needs pyarrow"):
        load_task("videomme", path)


def test_bad_rows_say_what_was_expected(tmp_path: Path) -> None:
    bad = dict(ROWS[0], duration="tiny")
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([bad]))
    with pytest.raises(ConfigError, match="duration 'tiny' is not one of short, medium, long"):
        load_task("videomme", path)
    missing = {k: v for k, v in ROWS[0].items() if k != "videoID"}
    path.write_text(json.dumps([missing]))
    with pytest.raises(ConfigError, match="row 0 has no 'videoID' field"):
        load_task("videomme", path)
    with pytest.raises(ConfigError, match=r"does not exist; expected Video-MME rows"):
        load_task("videomme", tmp_path / "nope.parquet")
