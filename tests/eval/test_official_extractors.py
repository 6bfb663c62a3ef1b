"""Each benchmark's official answer extraction, checked against outcomes derived by reading its code.

Sources (read, not copied):
- MLVU: JUNJIE99/MLVU evaluation/multiple_choice_evaluation/choice_bench.py @fd060c1, ``check_ans``
  (lines 105-119) and ``qa_template`` (79-90); test split: evaluation_test/test_bench.py (lines 185-189).
- LVBench: THUDM/LVBench lvbench/utils/answer_util.py @f998d95, ``polish_answer`` (lines 1-18), then
  lvbench/metrics/compute_accuracy.py (lines 20-28): ``model_answer == qa["answer"]``.
- Video-MME: MME-Benchmarks/Video-MME evaluation/eval_your_results.py @4e7566d (deleted at HEAD in
  49a2e67), ``extract_characters_regex`` (lines 65-86); unanswered = "" leaves the denominator (169).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vidscout.eval.answers import (
    extract_lvbench_official,
    extract_mlvu_official,
    extract_mlvu_test_official,
    extract_videomme_official,
)
from vidscout.eval.task import Example, Task
from vidscout.eval.tasks import load_task

from .test_videomme import ROWS

# --- MLVU check_ans -------------------------------------------------------------------------------
# gt is "(C) <text>"; gt_option = gt[index("(")+1 : index(")")] = "C". If the reply holds ")", it is cut to
# the ONE character before its FIRST ")" (pred[index3-1:index3]); else it is compared whole. No strip, no
# case folding.


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("C", "C"),  # whole reply equals the letter
        ("C) White", "C"),  # the continuation of the prompt's "Best Option: ("
        ("(C) White", "C"),  # char before the first ")"
        ("The answer is (C)", "C"),
        ("A (or maybe C)", "C"),  # the FIRST ")" decides, whatever was named before it
        ("C) or D)", "C"),
        ("(A) White (see C)", "A"),
        ("C. White", None),  # no ")": "C. White" != "C"
        (" C", None),  # no strip
        ("C\n", None),
        ("c", None),  # case-sensitive
        ("c) white", None),
        ("Best Option: (C", None),  # no ")"
        (")C", None),  # pred[-1:0] == ""
        ("", None),
        ("White", None),  # option text alone never matches
        (None, None),  # no reply: the official code would crash; counted wrong here
        ("E", None),  # not one of the 4 options
        ("CC", None),
    ],
)
def test_mlvu_check_ans(reply: str | None, expected: str | None) -> None:
    assert extract_mlvu_official(reply, 4) == expected


@pytest.mark.parametrize(
    ("reply", "expected"),
    # test_bench.py: pred.strip(); if ")" in pred: pred = pred[:index(")")].strip(). Six options (A-F).
    [("F", "F"), (" F \n", "F"), ("F) six", "F"), (" E ) five", "E"), ("(F) six", None), ("f", None), ("G", None)],
)
def test_mlvu_test_split_submission(reply: str, expected: str | None) -> None:
    assert extract_mlvu_test_official(reply, 6) == expected


# --- LVBench polish_answer ------------------------------------------------------------------------
# strip; cut at the first ")"; strip; if "(" remains, take the piece after the first "(" (up to a second
# "("), strip; first space-separated word; its first character. compute_accuracy compares it with the
# answer letter exactly.


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("D", "D"),
        ("(D) Hand", "D"),
        ("D) Hand", "D"),
        ("D. Hand", "D"),  # "D." is the first word; its first character
        ("  (D)  ", "D"),
        ("( D )", "D"),  # "( D" -> " D" -> "D"
        ("Answer: (D) Hand", "D"),  # "Answer: (D" -> after "(" -> "D"
        ("\nD\nbecause the hand...", "D"),  # only spaces split words: "D\nbecause..." starts with D
        ("I think (A) or (D)", "A"),  # the text up to the first ")" holds "(A"
        ("Based on the video, D", "B"),  # first character of "Based"
        ("A hand", "A"),  # the article is read as option A
        ("The answer is D", None),  # "T"
        ("d", None),  # case-sensitive
        ("(", None),  # "" after the "("
        (")D", None),  # nothing before the first ")"
        ("", None),
        (None, None),
        ("E", None),
    ],
)
def test_lvbench_polish_answer(reply: str | None, expected: str | None) -> None:
    assert extract_lvbench_official(reply, 4) == expected


# --- Video-MME extract_characters_regex (more cases in test_answers.py) ----------------------------


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("The correct answer is (D)", "D"),  # prefix removed, then the first A-D
        ("The best option is C", "C"),  # that prefix is never stripped (missing comma), but "T" is no A-D
        ("Answer: B", "A"),  # no listed prefix: the "A" of "Answer" comes first
        ("the answer: d", None),  # 3 words, no capital A-D
        ("A man in a red shirt is walking down the street today", "A"),  # >10 words but has an "A"
        ("the man in a red shirt is walking down the street today", None),  # >10 words, no A-D: unanswered
        ("", None),
    ],
)
def test_videomme_extract_characters_regex(reply: str, expected: str | None) -> None:
    assert extract_videomme_official(reply) == expected


# --- official vs lenient on the same replies ---------------------------------------------------------

TEMPLATES: list[str | None] = [
    "{L}",
    "({L}) {T}",
    "{L}) {T}",
    "{L}. {T}",
    "The answer is {L}.",
    "Based on the video, the answer is {L}",
    "{T}",
    "{l}",
    "I cannot tell from these frames.",
    None,  # the backend failed: no reply
]


def _copies(example: Example) -> list[tuple[Example, str | None]]:
    """One copy of ``example`` per reply template (distinct ids, so each counts once)."""
    out: list[tuple[Example, str | None]] = []
    for i, template in enumerate(TEMPLATES):
        assert example.answer is not None and example.answer_text is not None
        reply = None if template is None else template.format(L=example.answer, l=example.answer.lower(),
                                                              T=example.answer_text)  # fmt: skip
        out.append((example.model_copy(update={"id": f"{example.id}#{i}"}), reply))
    return out


def _score(task: Task, pairs: list[tuple[Example, str | None]]) -> tuple[float, int, int]:
    m = task.score(pairs)
    return m.get("Overall" if task.name != "mlvu" else "Question mean").accuracy, m.n_unparsed, m.n_errors


def test_official_vs_lenient_on_the_same_replies(data_dir: Path, tmp_path: Path) -> None:
    rows = tmp_path / "videomme.json"
    rows.write_text(json.dumps(ROWS))
    cases = {
        # real items (tests/eval/data) whose answer is C or D and whose text starts with no option letter
        "mlvu": (data_dir / "mlvu" / "1_plotQA.json", "plotQA:3"),  # C "White"
        "lvbench": (data_dir / "lvbench" / "lvbench_clean.json", "00000000-3"),  # D "Hand"
        "videomme": (rows, "001-1"),  # C "Three."
    }
    table: dict[str, dict[str, tuple[float, int, int]]] = {}
    for name, (ann, qid) in cases.items():
        for extractor in ("official", "lenient"):
            task = load_task(name, ann, extractor=extractor)
            pairs = _copies(next(e for e in task if e.id == qid))
            table.setdefault(name, {})[extractor] = _score(task, pairs)
    print("\naccuracy % (unparsed incl. errors, errors) over", len(TEMPLATES), "replies per benchmark")
    for name, row in table.items():
        print(f"  {name:9} official {row['official']}   lenient {row['lenient']}")
    # Official, as read from the code (module docstring): the reply formats each scorer accepts.
    #   MLVU: "C", "(C) White", "C) White"                                       -> 3 of 10
    #   LVBench: "D", "(D) Hand", "D) Hand", "D. Hand" ("The..." -> T, "Based..." -> B) -> 4 of 10
    #   Video-MME: "C", "(C) ..", "C) ..", "C. ..", "The answer is C." ("Based" -> B) -> 5 of 10
    # Lenient (parse_choice) reads all but "I cannot tell..." and the error -> 8 of 10 everywhere.
    assert table == {
        "mlvu": {"official": (30.0, 7, 1), "lenient": (80.0, 2, 1)},
        "lvbench": {"official": (40.0, 5, 1), "lenient": (80.0, 2, 1)},
        "videomme": {"official": (50.0, 4, 1), "lenient": (80.0, 2, 1)},
    }
    # Video-MME's own script leaves the 4 unanswered out: 5 of 6 answered (83.3 %); lenient 8 of 8.
    task = load_task("videomme", rows)
    official = task.score(_copies(next(e for e in task if e.id == "001-1")))
    assert official.get("Overall (answered only)").accuracy == pytest.approx(100 * 5 / 6)
