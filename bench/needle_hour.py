"""Needle in a haystack on one hour of real footage: search recall@5, open `ask` accuracy, search latency.

The video is the needle benchmark's (`vidscout make-needle`, version 2 by default): Big Buck Bunny looped
to 60 minutes at 640x360 with seeded needles (facts spoken by espeak-ng, captions, full-screen photos) among
distractor speech and captions. It builds the benchmark and ingests it on the embedded profile (both cached;
the database is shared with `vidscout bench needle` on the same data dir), then prints:

- recall@5 of `search` per question form: a question counts as found when one of the top 5 hits' spans is
  within ``--tolerance`` seconds of its answer's span (count questions have none and are left out);
- accuracy of open-ended `ask` (the agent, no options) on the "what" questions: every word of the
  true answer appears in the agent's answer (``--ask-limit`` of them; 0 skips);
- search latency p50/p95 over all questions plus generic queries (same process, warm).

The multiple-choice accuracy of each strategy comes from the runner (`bench/needle_v2.py`, or
``vidscout bench needle --annotations .cache/needle60-v2-s0/needle.json --strategy retrieval|agent``).

Run: python bench/needle_hour.py [--minutes 60] [--seed 0] [--version 2] [--ask-limit 13] [--quick]
     (--quick: 6 minutes, 2 asks; results in bench/results/needle_hour.json, or needle_hour_quick.json)
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import add_json_option, json_path, write_json

from vidscout.agent.loop import AgentOptions
from vidscout.api import Video
from vidscout.choices import LETTERS
from vidscout.eval.tasks.needle import NeedleTask, make_needle_benchmark
from vidscout.settings import Settings
from vidscout.text import tokenize

GENERIC = ["credits", "a rabbit in the grass", "butterfly", "someone talks about money", "director", "tree",
           "music", "a sign with a number", "the end", "people talking"]  # fmt: skip


def main() -> None:
    """Build (cached), ingest (cached), measure."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--version", type=int, default=2, choices=(1, 2), help="Needle benchmark version.")
    ap.add_argument("--seed", type=int, default=0, help="The benchmark's seed (`vidscout make-needle --seed`).")
    ap.add_argument("--bench-dir", type=Path, default=None, help="default .cache/needle<minutes>[-v2-s<seed>]")
    ap.add_argument("--media-cache", type=Path, default=Path(".cache/media"))
    ap.add_argument("--data-dir", type=Path, default=Path(".cache/vidscout-needle"))
    ap.add_argument("--tolerance", type=float, default=10.0)
    ap.add_argument("--ask-limit", type=int, default=13)
    ap.add_argument("--max-steps", type=int, default=6)
    ap.add_argument("--quick", action="store_true", help="A 6-minute benchmark and 2 asks: checks the path.")
    add_json_option(ap, "needle_hour")
    args = ap.parse_args()
    if args.quick:
        args.minutes, args.ask_limit = 6.0, min(args.ask_limit, 2)
    # v1's folder name is kept, so an existing v1 hour is reused as before.
    tag = "" if args.version == 1 else f"-v{args.version}-s{args.seed}"
    bench_dir = args.bench_dir or Path(f".cache/needle{args.minutes:g}{tag}")
    t0 = time.perf_counter()
    ann = make_needle_benchmark(bench_dir, version=args.version, minutes=args.minutes, seed=args.seed,
                                media_cache=args.media_cache)  # fmt: skip
    task = NeedleTask.load(ann)
    video_path = task.video_path(task.get_example(0))
    print(f"benchmark ready in {time.perf_counter() - t0:.0f} s: {ann} ({len(task)} questions)")
    t0 = time.perf_counter()
    rows: list[dict[str, Any]] = []
    latencies: list[float] = []
    with Video.open(video_path, settings=Settings(data_dir=args.data_dir)) as video:
        print(f"database ready in {time.perf_counter() - t0:.0f} s ({video.info.duration_s:.0f} s of video)")
        video.search("warm up", top_k=5)
        for q in GENERIC:
            t = time.perf_counter()
            video.search(q, top_k=5)
            latencies.append(time.perf_counter() - t)
        asked = 0
        for e in task:
            assert e.answer is not None
            ref, tol = e.time_reference, args.tolerance
            t = time.perf_counter()
            hits = video.search(e.question, top_k=5)
            latencies.append(time.perf_counter() - t)
            rank = None
            if ref is not None:
                near = [h.span.start_s - tol <= ref.end_s and ref.start_s <= h.span.end_s + tol for h in hits]
                rank = next((i + 1 for i, ok in enumerate(near) if ok), None)
            form = str(e.extra["form"])
            row: dict[str, Any] = {"id": e.id, "kind": e.category[0], "form": form,
                                   "t_s": None if ref is None else ref.start_s, "rank": rank}  # fmt: skip
            if form == "what" and asked < args.ask_limit:
                asked += 1
                truth = e.options[LETTERS.index(e.answer)]
                t = time.perf_counter()
                ans = video.ask(e.question, agent=AgentOptions(max_steps=args.max_steps))
                words = set(tokenize(truth))
                row.update(truth=truth, answer=ans.answer, ask_ok=words <= set(tokenize(ans.answer)),
                           ask_s=round(time.perf_counter() - t, 1))  # fmt: skip
            rows.append(row)
            where = "-" if ref is None else f"{ref.start_s:.1f}s"
            print(f"{e.id:<18}{where:>9}  rank {rank!s:>4}  {row.get('ask_ok', '-')!s:>5}  "
                  f"{e.question[:50]:<50} → {str(row.get('answer', ''))[:50]}", flush=True)  # fmt: skip
    lat = sorted(latencies)
    p50, p95 = statistics.median(lat), lat[min(len(lat) - 1, int(0.95 * len(lat)))]
    summary: dict[str, Any] = {"benchmark": str(ann), "setting": task.setting, "video_s": video.info.duration_s,
                               "tolerance_s": args.tolerance}  # fmt: skip
    for form in dict.fromkeys(r["form"] for r in rows if r["t_s"] is not None):
        sub = [r for r in rows if r["form"] == form]
        found = sum(r["rank"] is not None for r in sub)
        kinds = {k: f"{sum(r['rank'] is not None for r in sub if r['kind'] == k)}/{sum(r['kind'] == k for r in sub)}"
                 for k in dict.fromkeys(r["kind"] for r in sub)}  # fmt: skip
        summary[f"recall@5_{form}"] = found / len(sub)
        print(f"search recall@5 ({form} questions): {found}/{len(sub)} = {found / len(sub):.2f}  {kinds}")
    asked_rows = [r for r in rows if "ask_ok" in r]
    if asked_rows:
        ok = sum(bool(r["ask_ok"]) for r in asked_rows)
        med = statistics.median(r["ask_s"] for r in asked_rows)
        summary.update(ask_accuracy=ok / len(asked_rows), ask_median_s=med)
        print(f"open ask accuracy: {ok}/{len(asked_rows)} = {ok / len(asked_rows):.2f}, median {med:.1f} s/question")
    summary.update(search_p50_ms=1000 * p50, search_p95_ms=1000 * p95, n_queries=len(lat))
    print(f"search latency over {len(lat)} queries: p50 {1000 * p50:.0f} ms, p95 {1000 * p95:.0f} ms")
    write_json(
        json_path(args, "needle_hour"), {"summary": summary, "rows": rows, "latency_s": [round(x, 4) for x in lat]}
    )


if __name__ == "__main__":
    main()
