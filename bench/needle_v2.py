"""Needle v2 multiple choice, every strategy through `vidscout bench`'s runner, in one command.

Builds the needle v2 benchmark (`vidscout make-needle DIR --minutes M --seed S`; cached), ingests its video
once on the embedded profile (cached in --data-dir), then runs each strategy (default: retrieval, then the
agent) with `run_benchmark`, exactly as ``vidscout bench needle --annotations DIR/needle.json --strategy X
--out runs/needle2-<M>min-s<S>-X`` does (resumable: rerun the same command after an interruption). Adds a
summary of each run's metrics.json to bench/results/needle_v2.json under "<M>min-s<S>" (other lengths and
seeds already there are kept): accuracy overall, per kind (speech, text, photo), per form (what, when,
order, count), per form and kind and per position, with the counts, the answers' provenance and the seconds
per question. The task is vidscout's own, so replies are graded with its lettered parse (`parse_choice`).

Run: python bench/needle_v2.py [--minutes 30] [--seed 1] [--strategies retrieval,agent] [--max-steps N]
     [--quick]   (--quick: a 6-minute benchmark, retrieval only, into bench/results/needle_v2_quick.json)
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import add_json_option, json_path, write_json

from vidscout.eval.runner import run_benchmark
from vidscout.eval.tasks.needle import NeedleTask, make_needle_benchmark
from vidscout.settings import Settings


def main() -> None:
    """Build, run every strategy, summarise."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=0, help="Draws the benchmark; use fresh seeds for new numbers.")
    ap.add_argument("--strategies", default="retrieval,agent")
    ap.add_argument("--max-steps", type=int, default=None, help="Agent tool calls (default: the agent's own).")
    ap.add_argument("--limit", type=int, default=None, help="Only the first N questions.")
    ap.add_argument("--bench-dir", type=Path, default=None, help="default .cache/needle<minutes>-v2-s<seed>")
    ap.add_argument("--media-cache", type=Path, default=Path(".cache/media"))
    ap.add_argument("--data-dir", type=Path, default=Path(".cache/vidscout-needle"))
    ap.add_argument("--runs", type=Path, default=Path("runs"), help="Run folders go here.")
    ap.add_argument("--quick", action="store_true", help="6 minutes, retrieval only: checks the path end to end.")
    add_json_option(ap, "needle_v2")
    args = ap.parse_args()
    if args.quick:
        args.minutes, args.strategies = 6.0, "retrieval"
    bench_dir = args.bench_dir or Path(f".cache/needle{args.minutes:g}-v2-s{args.seed}")
    t0 = time.perf_counter()
    ann = make_needle_benchmark(bench_dir, minutes=args.minutes, seed=args.seed, media_cache=args.media_cache)
    task = NeedleTask.load(ann)
    print(f"benchmark ready in {time.perf_counter() - t0:.0f} s: {ann} ({len(task)} questions, {task.setting})")
    settings = Settings(data_dir=args.data_dir, profile="embedded")
    summary: dict[str, Any] = {"benchmark": str(ann), "setting": task.setting, "questions": len(task),
                               "extractor": task.extractor_label, "runs": {}}  # fmt: skip
    for strategy in args.strategies.split(","):
        out_dir = args.runs / f"needle2-{args.minutes:g}min-s{args.seed}-{strategy}"
        t0 = time.perf_counter()
        result = run_benchmark(task, strategy, out_dir=out_dir, settings=settings, limit=args.limit,
                               strategy_options={"max_steps": args.max_steps})  # fmt: skip
        report = json.loads((out_dir / "metrics.json").read_text(encoding="utf-8"))
        rows = [{k: r[k] for k in ("group", "name", "accuracy", "correct", "total")}
                for r in report["metrics"]["rows"]]  # fmt: skip
        summary["runs"][strategy] = {
            "run_dir": str(out_dir), "accuracy": report["headline"]["accuracy"], "stderr": report["metrics"]["stderr"],
            "rows": rows, "counts": report["counts"], "provenance": report["provenance"], "timing": report["timing"],
            "models": report["run"]["models"], "options": report["run"]["options"],
        }  # fmt: skip
        print(f"{strategy}: {result.metrics.headline_value:.1f}% on {result.metrics.n_scored} questions "
              f"({time.perf_counter() - t0:.0f} s); {out_dir}/metrics.json")  # fmt: skip
    strategies = list(summary["runs"])
    print(f"\n{'group':<14}{'row':<18}" + "".join(f"{s:>16}" for s in strategies))
    table = {s: {(r["group"], r["name"]): r for r in summary["runs"][s]["rows"]} for s in strategies}
    for key in dict.fromkeys(k for s in strategies for k in table[s]):
        cells = [f"{r['correct']}/{r['total']} {r['accuracy']:5.1f}%" if (r := table[s].get(key)) else "-"
                 for s in strategies]  # fmt: skip
        print(f"{key[0]:<14}{key[1]:<18}" + "".join(f"{c:>16}" for c in cells))
    path = json_path(args, "needle_v2")
    results = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    results.setdefault("benchmarks", {})[f"{args.minutes:g}min-s{args.seed}"] = summary
    write_json(path, results)


if __name__ == "__main__":
    main()
