"""Needle in a haystack on one hour of real footage: search recall@5, open `ask` accuracy, search latency.

The video is the needle benchmark's (`vidscout make-needle`): Big Buck Bunny looped to 60 minutes at
640x360 with 13 needles at known, seeded times (5 spoken by espeak-ng, 5 captions, 3 full-screen
photos). After one embedded ingest (shared with `vidscout bench needle` on the same data dir) it prints:

- recall@5 of `search`: a needle counts as found when one of the top 5 hits' spans is within
  ``--tolerance`` seconds of the needle's span; for the "what" question (which does not quote the
  needle) and the "when" question (which does);
- accuracy of open-ended `ask` (the agent, no options) on the "what" questions: every word of the
  true answer appears in the agent's answer (``--ask-limit`` of them; 0 skips);
- search latency p50/p95 over all questions plus generic queries (same process, warm).

The multiple-choice accuracy of each strategy comes from the runner:
``vidscout bench needle --annotations .cache/needle60/needle.json --strategy retrieval|agent``.

Run: python bench/needle_hour.py [--minutes 60] [--ask-limit 13] [--json bench/out/needle_hour.json]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

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
    ap.add_argument("--bench-dir", type=Path, default=None, help="default .cache/needle<minutes>")
    ap.add_argument("--media-cache", type=Path, default=Path(".cache/media"))
    ap.add_argument("--data-dir", type=Path, default=Path(".cache/vidscout-needle"))
    ap.add_argument("--tolerance", type=float, default=10.0)
    ap.add_argument("--ask-limit", type=int, default=13)
    ap.add_argument("--max-steps", type=int, default=6)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    bench_dir = args.bench_dir or Path(f".cache/needle{args.minutes:g}")
    t0 = time.perf_counter()
    ann = make_needle_benchmark(bench_dir, minutes=args.minutes, media_cache=args.media_cache)
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
            assert e.time_reference is not None and e.answer is not None
            ref, tol = e.time_reference, args.tolerance
            t = time.perf_counter()
            hits = video.search(e.question, top_k=5)
            latencies.append(time.perf_counter() - t)
            near = [h.span.start_s - tol <= ref.end_s and ref.start_s <= h.span.end_s + tol for h in hits]
            rank = next((i + 1 for i, ok in enumerate(near) if ok), None)
            form = str(e.extra["form"])
            row: dict[str, Any] = {"id": e.id, "kind": e.category[0], "form": form, "t_s": ref.start_s, "rank": rank}
            if form == "what" and asked < args.ask_limit:
                asked += 1
                truth = e.options[LETTERS.index(e.answer)]
                t = time.perf_counter()
                ans = video.ask(e.question, agent=AgentOptions(max_steps=args.max_steps))
                words = set(tokenize(truth))
                row.update(truth=truth, answer=ans.answer, ask_ok=words <= set(tokenize(ans.answer)),
                           ask_s=round(time.perf_counter() - t, 1))  # fmt: skip
            rows.append(row)
            print(f"{e.id:<18}{ref.start_s:>8.1f}s  rank {rank!s:>4}  {row.get('ask_ok', '-')!s:>5}  "
                  f"{e.question[:50]:<50} → {str(row.get('answer', ''))[:50]}", flush=True)  # fmt: skip
    lat = sorted(latencies)
    p50, p95 = statistics.median(lat), lat[min(len(lat) - 1, int(0.95 * len(lat)))]
    summary: dict[str, Any] = {"video_s": video.info.duration_s, "tolerance_s": args.tolerance}
    for form in ("what", "when"):
        sub = [r for r in rows if r["form"] == form]
        found = sum(r["rank"] is not None for r in sub)
        kinds = {k: f"{sum(r['rank'] is not None for r in sub if r['kind'] == k)}/{sum(r['kind'] == k for r in sub)}"
                 for k in ("speech", "text", "image")}  # fmt: skip
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
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"summary": summary, "rows": rows, "latency_s": lat}, indent=1))


if __name__ == "__main__":
    main()
