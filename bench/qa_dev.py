"""Agent vs retrieval (or any strategies) on a question set drawn from fresh seeds, graded by one rule.

Each seed draws one planted video of about four minutes (`vidscout.eval.devset`): spoken facts, on-screen
signs and two photos over real footage, and 14 questions about it: what was said, shown or pictured, when,
in which order, how many, what was on screen while something was said, what appeared right after
(`KINDS`). ``--kinds`` can also name `LATER_KINDS` (up to ten more per video: what is said or shown at a given
time, what is said next after a line or right before one, when something the speech dates happens: the day or
hour said; a spoken fact's and a sign's question with four options ("choice"), what is said while a sign is on
screen, what is said first or last; and "choice_all", every question of every fact said or shown once with four
options, about 20 a video), which are left out by default so earlier numbers stay comparable. Every
strategy answers every question through `Video.ask` on the embedded profile and is graded by
`vidscout.eval.devset.grade` (the first 40 words of the answer must hold the expected words; a "when" answer is
its stated time or its first cited span of at most 30 s, within 5 s of the event; a question with options is its
option letter). Prints accuracy per kind and strategy, and the median seconds per question.

Run: python bench/qa_dev.py [--seeds 11,12,13 | --fresh 3] [--strategies retrieval,agent] [--quick]
     (--quick: one fresh seed, retrieval only; results in bench/results/qa_dev[_quick].json)
Without --seeds the seeds are drawn fresh from the OS and printed.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import add_json_option, json_path, write_json

from vidscout.api import Video
from vidscout.eval.devset import KINDS, LATER_KINDS, build_set, grade
from vidscout.settings import Settings


def main() -> None:
    """Build the set, answer every question with every strategy, print the table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="")
    ap.add_argument("--fresh", type=int, default=3)
    ap.add_argument("--strategies", default="retrieval,agent")
    ap.add_argument("--max-steps", type=int, default=8, help="Agent tool calls (the agent's default is 8).")
    ap.add_argument("--kinds", default=",".join(KINDS), help="Question kinds (comma-separated; default: KINDS).")
    ap.add_argument("--cache", type=Path, default=Path(".cache/media"))
    ap.add_argument("--data-dir", type=Path, default=Path(".cache/vidscout-qa-dev"))
    ap.add_argument("--out", type=Path, default=Path("bench/out/qa_dev"))
    ap.add_argument("--quick", action="store_true", help="One fresh seed, retrieval only.")
    add_json_option(ap, "qa_dev")
    args = ap.parse_args()
    if args.quick:
        args.fresh, args.strategies = 1, "retrieval"
    fresh = [random.SystemRandom().randrange(10**6) for _ in range(args.fresh)]
    seeds = [int(s) for s in args.seeds.split(",") if s] or fresh
    strategies = args.strategies.split(",")
    print(f"seeds {','.join(map(str, seeds))}; strategies {', '.join(strategies)}", flush=True)
    videos, items = build_set(seeds, args.cache / "qa_dev", cache=args.cache)
    kinds = args.kinds.split(",")
    if unknown := set(kinds) - {*KINDS, *LATER_KINDS}:
        ap.error(f"unknown kinds {sorted(unknown)}; known: {', '.join((*KINDS, *LATER_KINDS))}")
    items = [i for i in items if i.kind in kinds]
    settings = Settings(data_dir=args.data_dir)
    rows: list[dict[str, Any]] = []
    for video in videos:
        with Video.open(video.path, settings=settings) as handle:
            for item in (i for i in items if i.video == video.path.name):
                row: dict[str, Any] = {"id": item.id, "kind": item.kind, "question": item.question}
                for name in strategies:
                    t0 = time.perf_counter()
                    answer = handle.ask(item.question, options=item.options, strategy=name, max_steps=args.max_steps,
                                        trajectory=args.out / name / f"{item.id}.jsonl")  # fmt: skip
                    seconds = time.perf_counter() - t0
                    ok = grade(item, answer)
                    row[name] = {"ok": ok, "s": round(seconds, 2), "answer": answer.answer[:300],
                                 "option": answer.option, "evidence": [e.label() for e in answer.evidence[:2]],
                                 "verified": answer.verified, "forced": answer.forced,
                                 "option_source": answer.option_source, "error": answer.error}  # fmt: skip
                marks = "  ".join(f"{n} {'✔' if row[n]['ok'] else '✘'} {row[n]['s']:5.1f}s" for n in strategies)
                print(f"{item.id:<22} {marks}  {item.question[:60]:<60} → {row[strategies[-1]]['answer'][:70]!r}",
                      flush=True)  # fmt: skip
                rows.append(row)
    table: dict[str, dict[str, Any]] = {}
    print(f"\n{'kind':<11}{'n':>4}" + "".join(f"{n:>14}" for n in strategies))
    for kind in [*KINDS, *LATER_KINDS, "all"]:
        sel = [r for r in rows if kind in ("all", r["kind"])]
        if not sel:
            continue
        table[kind] = {"n": len(sel)}
        cells = []
        for n in strategies:
            right = sum(r[n]["ok"] for r in sel)
            table[kind][n] = {"right": right, "accuracy": round(100 * right / len(sel), 1)}
            cells.append(f"{right:>4}/{len(sel):<3}{100 * right / len(sel):5.1f}%")
        print(f"{kind:<11}{len(sel):>4}" + "".join(f"{c:>14}" for c in cells))
    medians = {n: statistics.median(r[n]["s"] for r in rows) for n in strategies}
    print("median s/question: " + ", ".join(f"{n} {m:.1f}" for n, m in medians.items()))
    write_json(json_path(args, "qa_dev"), {"seeds": seeds, "table": table, "median_s": medians, "rows": rows})


if __name__ == "__main__":
    main()
