"""The needle benchmark v1 generator and its task: questions consistent with what was planted, clear errors, and
the same files as before needle v2 (v1 numbers stay reproducible)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from vidscout.choices import LETTERS
from vidscout.errors import ConfigError
from vidscout.eval.tasks import load_task
from vidscout.eval.tasks.needle import EDGE_S, FACTS, PHOTO_DIR, NeedleTask, make_needle_benchmark, needle_questions
from vidscout.media.needles import Needle
from vidscout.types import parse_time
from vidscout.video.decode import probe

GOLDEN = Path(__file__).resolve().parent / "data" / "needle_v1"


def test_every_question_matches_what_was_planted(needle_benchmark: Path) -> None:
    task = load_task("needle", needle_benchmark)
    assert isinstance(task, NeedleTask) and len(task) == 6
    duration = probe(task.video_path(task.get_example(0))).duration_s
    by_planted = {f.planted: f for f in FACTS}
    planted_answers = {by_planted[str(e.extra["planted"])].answer for e in task}
    for e in task:
        fact = by_planted[str(e.extra["planted"])]
        assert e.category == [fact.kind] and e.time_reference is not None
        assert EDGE_S <= e.time_reference.start_s < e.time_reference.end_s <= duration - EDGE_S + 6
        assert e.answer is not None
        true = e.options[LETTERS.index(e.answer)]
        if e.extra["form"] == "what":
            assert true == fact.answer
            # no other planted fact answers it
            assert not (set(e.options) - {true}) & planted_answers
        else:
            times = [parse_time(o) for o in e.options]
            assert times == sorted(times)
            assert int(e.time_reference.start_s) == times[LETTERS.index(e.answer)]
            assert min(b - a for a, b in itertools.pairwise(times)) >= 30 - 1
    prompt = task.prompt(task.get_example(0))
    assert "(A)" in prompt and "Best Option: (" in prompt


def test_needle_annotations_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        NeedleTask.load(tmp_path / "needle.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"id": "x", "video": "v.mp4", "question": "q?", "options": ["a", "b"]}]))
    with pytest.raises(ConfigError, match="'needle'"):
        NeedleTask.load(bad)
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    with pytest.raises(ConfigError, match="no questions"):
        NeedleTask.load(empty)


def test_too_many_needles_for_the_length(needle_benchmark: Path, tmp_path: Path, media_cache: Path) -> None:
    footage = next((needle_benchmark.parent / "videos").glob("*.mp4"))
    with pytest.raises(ConfigError, match="need at least"):
        make_needle_benchmark(tmp_path, version=1, minutes=3, footage=footage, media_cache=media_cache,
                              per_kind={"speech": 3, "text": 3, "image": 0})  # fmt: skip
    with pytest.raises(ConfigError, match="fact pool has"):
        make_needle_benchmark(tmp_path, version=1, minutes=3, footage=footage, media_cache=media_cache,
                              per_kind={"speech": 0, "text": 0, "image": 9}, min_gap_s=5)  # fmt: skip
    with pytest.raises(ConfigError, match="Unknown needle benchmark version 3"):
        make_needle_benchmark(tmp_path, version=3, minutes=3, footage=footage, media_cache=media_cache)


def test_version_1_writes_the_files_main_wrote(needle_benchmark: Path) -> None:
    # needle3_s0.json is the fixture's needle.json as main @ 11e8bd5 wrote it (before v2), byte for byte.
    assert needle_benchmark.read_bytes() == (GOLDEN / "needle3_s0.json").read_bytes()
    # ...and its video was rendered from the same needles (the sidecar of plant_needles records them).
    video = next((needle_benchmark.parent / "videos").glob("*.mp4"))
    sidecar = json.loads(video.with_name(video.name + ".json").read_text())
    assert sidecar["needles"] == json.loads((GOLDEN / "needle3_s0_planted.json").read_text())
    assert NeedleTask.load(needle_benchmark).setting == "v1"


def test_version_1_questions_are_unchanged_for_every_fact() -> None:
    planted = [
        (f, Needle(kind=f.kind, text=f.label or f.planted, start_s=100.0 + 200 * i + 0.3 * i,
                   duration_s=5.0 if f.kind == "image" else 6.0,
                   image=str(PHOTO_DIR / f.planted) if f.kind == "image" else None))
        for i, f in enumerate(FACTS)
    ]  # fmt: skip
    records = needle_questions(planted, video="v.mp4", duration_s=3600.0, seed=11)
    assert records == json.loads((GOLDEN / "questions_all_facts_s11.json").read_text())
