from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from vidscout.errors import ConfigError, MediaError
from vidscout.eval.tasks import LVBenchTask, load_task
from vidscout.eval.tasks.lvbench import parse_time_reference
from vidscout.types import TimeSpan

ABBREV = {
    "entity recognition": "ER",
    "event understanding": "EU",
    "key information retrieval": "KIR",
    "temporal grounding": "TG",
    "reasoning": "Rea",
    "summarization": "Sum",
}


# --- the real file (1,519 questions) -----------------------------------------------------------


def test_full_file_loads_with_its_documented_counts(shared_benchmarks: Path) -> None:
    task = load_task("lvbench", shared_benchmarks / "lvbench")  # the folder works too
    assert isinstance(task, LVBenchTask) and task.split == "test"
    assert task.num_examples() == 1519 and len({e.video for e in task}) == 101
    assert Counter(len(e.category) for e in task) == {1: 1013, 2: 472, 3: 34}
    per_ability = Counter(c for e in task for c in e.category)
    assert per_ability == {"ER": 664, "EU": 633, "KIR": 288, "TG": 216, "Rea": 200, "Sum": 58}
    assert Counter(e.answer for e in task) == {"A": 374, "B": 364, "C": 378, "D": 403}
    # 1,505 spans parse; "None-None" and 13 spans ending before they start do not.
    assert sum(e.time_reference is None for e in task) == 14
    assert all(e.extra["youtube_key"] for e in task)


def test_oracle_scores_100_everywhere(shared_benchmarks: Path) -> None:
    task = load_task("lvbench", shared_benchmarks / "lvbench" / "lvbench_clean.json")
    metrics = task.score((e, f"({e.answer}) {e.answer_text}") for e in task)
    assert metrics.headline == "Overall" and metrics.headline_value == 100.0
    assert [(r.name, r.accuracy) for r in metrics.rows] == [
        ("Overall", 100.0), ("ER", 100.0), ("EU", 100.0), ("KIR", 100.0),
        ("TG", 100.0), ("Rea", 100.0), ("Sum", 100.0),
    ]  # fmt: skip


def test_constant_a_scores_the_share_of_a_per_ability(shared_benchmarks: Path) -> None:
    raw = json.loads((shared_benchmarks / "lvbench" / "lvbench_clean.json").read_text())
    is_a = [x["answer"].startswith("(A)") for x in raw]
    totals: Counter[str] = Counter()
    a_counts: Counter[str] = Counter()
    for x, a in zip(raw, is_a, strict=True):
        for qtype in x["question_type"]:  # the official scorer counts a question in every type it lists
            totals[ABBREV[qtype]] += 1
            a_counts[ABBREV[qtype]] += a
    assert sum(is_a) == 374
    assert a_counts == {"ER": 160, "EU": 148, "KIR": 84, "TG": 53, "Rea": 58, "Sum": 10}
    assert sum(totals.values()) == 2059  # > 1,519: multi-ability questions count more than once

    task = load_task("lvbench", shared_benchmarks / "lvbench" / "lvbench_clean.json")
    metrics = task.score((e, "A") for e in task)
    overall = metrics.get("Overall")
    assert (overall.correct, overall.total) == (374, 1519)
    assert overall.accuracy == pytest.approx(100 * 374 / 1519)  # 24.62
    for name in ABBREV.values():
        row = metrics.get(name, "ability")
        assert (row.correct, row.total) == (a_counts[name], totals[name])
    assert metrics.get("Sum").accuracy == pytest.approx(100 * 10 / 58)  # 17.24


def test_option_text_replies_parse_unless_two_options_share_the_text(shared_benchmarks: Path) -> None:
    raw = json.loads((shared_benchmarks / "lvbench" / "lvbench_clean.json").read_text())
    texts = [[c[4:] for c in x["candidates"]] for x in raw]
    shared = sum(t.count(x["answer"][4:]) > 1 for x, t in zip(raw, texts, strict=True))
    assert shared == 4
    task = load_task("lvbench", shared_benchmarks / "lvbench" / "lvbench_clean.json", extractor="lenient")
    assert task.score((e, e.answer_text) for e in task).n_unparsed == shared


# --- the shipped subset: hand-computed -----------------------------------------------------------


@pytest.fixture
def subset(data_dir: Path) -> LVBenchTask:
    task = load_task("lvbench", data_dir / "lvbench" / "lvbench_clean.json")
    assert isinstance(task, LVBenchTask)
    return task


def test_multi_ability_questions_count_in_every_ability(subset: LVBenchTask) -> None:
    by_id = {e.id: e for e in subset}
    assert by_id["00000001-1"].category == ["TG", "Rea", "EU"]
    # Constant "A": answers are D B A D D D A A A D B over abilities
    # KIR | EU | Sum | ER,Rea | EU,ER | Sum,TG | TG,Rea,EU | EU | KIR,EU | EU | TG,Rea.
    metrics = subset.score((e, "A") for e in subset)
    counts = {r.name: (r.correct, r.total) for r in metrics.rows}
    assert counts == {
        "Overall": (4, 11),
        "ER": (0, 2),
        "EU": (3, 6),
        "KIR": (1, 2),
        "TG": (1, 3),
        "Rea": (1, 3),
        "Sum": (1, 2),
    }
    # Right only on the three-ability question: it scores in TG, Rea and EU at once.
    metrics = subset.score((e, e.answer if e.id == "00000001-1" else "none of them") for e in subset)
    counts = {r.name: (r.correct, r.total) for r in metrics.rows}
    assert counts["Overall"] == (1, 11)
    assert (counts["TG"], counts["Rea"], counts["EU"]) == ((1, 3), (1, 3), (1, 6))
    assert counts["ER"][0] == counts["KIR"][0] == counts["Sum"][0] == 0
    assert metrics.n_unparsed == 10


def test_time_references(subset: LVBenchTask) -> None:
    spans = {e.id: e.time_reference for e in subset}
    assert spans["00000000-0"] == TimeSpan(start_s=15, end_s=19)
    assert spans["00000008-0"] == TimeSpan(start_s=0, end_s=114 * 60 + 16)  # minutes past 99
    assert spans["00000044-0"] == TimeSpan(start_s=497, end_s=497)  # "08:17-None": a point
    assert spans["00000025-0"] is None  # "116:50-108:00" ends before it starts
    assert spans["00000085-0"] is None  # "None-None"
    assert subset.get_example(9).extra["time_reference_raw"] == "08:17-None"
    assert parse_time_reference("1:02:03-1:02:09") == TimeSpan(start_s=3723, end_s=3729)
    assert parse_time_reference("garbage") is None
    assert parse_time_reference(None) is None


def test_prompt_snapshot_for_a_real_item(subset: LVBenchTask) -> None:
    assert subset.prompt(subset.get_example(0)) == (
        "What year appears in the opening caption of the video?\n"
        "(A) 1636\n"
        "(B) 1366\n"
        "(C) 1363\n"
        "(D) 1633\n"
        "Answer the question with the option letter"
    )
    assert subset.prompt(subset.get_example(0), with_options=False) == (
        "What year appears in the opening caption of the video?"
    )


def test_videos_are_found_by_index_or_youtube_key(subset: LVBenchTask, tmp_path: Path) -> None:
    first = subset.get_example(0)
    with pytest.raises(ConfigError, match="no videos folder"):
        subset.video_path(first)
    task = LVBenchTask(list(subset), videos_dir=tmp_path)
    with pytest.raises(MediaError, match=r"tried .*00000000\.mp4, .*Cm73ma6Ibcs\.mp4"):
        task.video_path(first)
    (tmp_path / "Cm73ma6Ibcs.mp4").write_bytes(b"")
    assert task.video_path(first) == tmp_path / "Cm73ma6Ibcs.mp4"
    (tmp_path / "00000000.mp4").write_bytes(b"")
    assert task.video_path(first) == tmp_path / "00000000.mp4"


def test_official_meta_jsonl_is_read_too(tmp_path: Path) -> None:
    record = {
        "key": "abcdefghijk",
        "type": "sport",
        "qa": [
            {
                "uid": 7,
                "question": "Which team scores first?\n(A) Red\n(B) Blue\n(C) Green\n(D) Nobody",
                "answer": "B",
                "question_type": ["temporal grounding", "reasoning"],
                "time_reference": "01:00-01:30",
            }
        ],
    }
    path = tmp_path / "video_info.meta.jsonl"
    path.write_text(json.dumps(record) + "\n")
    task = load_task("lvbench", tmp_path)
    ex = task.get_example(0)
    assert (ex.id, ex.video, ex.question, ex.options, ex.answer) == (
        "7", "abcdefghijk.mp4", "Which team scores first?", ["Red", "Blue", "Green", "Nobody"], "B",
    )  # fmt: skip
    assert ex.category == ["TG", "Rea"] and ex.time_reference == TimeSpan(start_s=60, end_s=90)


def test_bad_annotations_say_what_was_expected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"Neither of lvbench_clean\.json, video_info\.meta\.jsonl is in"):
        load_task("lvbench", tmp_path)
    bad = tmp_path / "lvbench_clean.json"
    bad.write_text('[{"video": "00000000", "question": "q", "candidates": ["1", "2"], "answer": "(A) 1"}]')
    with pytest.raises(ConfigError, match=r"candidate '1' should start with '\(A\) '"):
        load_task("lvbench", bad)
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match=r"is not valid JSON .*expected LVBench annotations"):
        load_task("lvbench", bad)
