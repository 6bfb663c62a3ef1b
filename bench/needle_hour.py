"""Needle in a haystack on one hour of real footage, and retrieval latency on its database.

Big Buck Bunny is looped to 60 minutes and re-encoded at 640x360 with 12 needles planted at known
times (6 spoken by espeak-ng, 6 shown as captions). After one embedded ingest it prints:
  - recall@5 of `search`: a needle counts as found when one of the top 5 hits' spans is within
    `--tolerance` seconds of its time;
  - accuracy of `ask`: the answer contains the needle's keyword;
  - retrieval latency p50/p95 over the needle questions plus generic queries (same process, warm).

Run: python bench/needle_hour.py [--minutes 60] [--no-ask] [--json bench/out/needle_hour.json]
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
from vidscout.settings import Settings
from vidscout.video import samples
from vidscout.video.needles import Needle, plant_needles

# (kind, planted text, question, keyword), spread over the hour by main().
NEEDLES = [
    (
        "speech",
        "The launch code for the satellite is seven seven alpha.",
        "What is the launch code for the satellite?",
        "alpha",
    ),
    ("text", "Museum closes at 17:30", "At what time does the museum close, according to the sign?", "17:30"),
    (
        "speech",
        "Grandmother's secret ingredient is a spoon of honey.",
        "What is grandmother's secret ingredient?",
        "honey",
    ),
    ("text", "Gate B22 boarding now", "Which gate is boarding, according to the screen?", "b22"),
    ("speech", "The meeting has moved to the blue conference room.", "Where has the meeting moved to?", "blue"),
    ("text", "Wi-Fi password: PANDA2024", "What is the Wi-Fi password shown on screen?", "panda2024"),
    ("speech", "Captain Alvarez will lead the second expedition.", "Who will lead the second expedition?", "alvarez"),
    ("text", "Bus 47 to Harbour Road", "Where does bus 47 go?", "harbour"),
    ("speech", "The missing key was hidden inside the piano.", "Where was the missing key hidden?", "piano"),
    ("text", "Parking level minus 3", "On which parking level should you park, according to the sign?", "3"),
    ("speech", "Our quarterly revenue grew by twelve percent.", "By how much did quarterly revenue grow?", "twelve"),
    ("text", "Next stop: Central Station", "What is the next stop shown on screen?", "central"),
]
GENERIC = ["credits", "a rabbit in the grass", "butterfly", "someone talks about money", "director", "tree",
           "music", "a sign with a number", "the end", "people talking"]  # fmt: skip


def main() -> None:
    """Build, ingest, measure."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--cache", type=Path, default=Path(".cache/media"))
    ap.add_argument("--data-dir", type=Path, default=Path(".cache/vidscout-needle"))
    ap.add_argument("--tolerance", type=float, default=15.0)
    ap.add_argument("--no-ask", action="store_true")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    total = args.minutes * 60
    step = total / (len(NEEDLES) + 1)
    needles = [Needle(kind=k, text=text, start_s=round(step * (i + 1) + 7.0 * (i % 3), 1), duration_s=5.0)  # type: ignore[arg-type]
               for i, (k, text, _, _) in enumerate(NEEDLES)]  # fmt: skip
    t0 = time.perf_counter()
    loop = samples.long_video(
        samples.big_buck_bunny(args.cache), args.minutes, args.cache / f"bbb_{args.minutes:g}min.mp4"
    )
    video_path = plant_needles(loop, needles, args.cache / f"needles_{args.minutes:g}min.mp4", size=(640, 360), crf=28)
    print(f"video built in {time.perf_counter() - t0:.0f} s: {video_path}")
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
        for needle, (kind, _, question, keyword) in zip(needles, NEEDLES, strict=True):
            t = time.perf_counter()
            hits = video.search(question, top_k=5)
            latencies.append(time.perf_counter() - t)
            tol = args.tolerance
            near = [h.span.start_s - tol <= needle.start_s <= h.span.end_s + tol for h in hits]
            rank = next((i + 1 for i, hit in enumerate(near) if hit), None)
            row: dict[str, Any] = {"kind": kind, "t_s": needle.start_s, "question": question, "rank": rank}
            if not args.no_ask:
                t = time.perf_counter()
                ans = video.ask(question, agent=AgentOptions(max_steps=6))
                row.update(
                    answer=ans.answer, ask_ok=keyword.lower() in ans.answer.lower(), ask_s=time.perf_counter() - t
                )
            rows.append(row)
            print(f"{kind:<7}{needle.start_s:>8.1f}s  rank {rank!s:>4}  {row.get('ask_ok', '-')!s:>5}  "
                  f"{question[:48]:<48} → {str(row.get('answer', ''))[:50]}", flush=True)  # fmt: skip
    lat = sorted(latencies)
    p50, p95 = statistics.median(lat), lat[min(len(lat) - 1, int(0.95 * len(lat)))]
    found = sum(r["rank"] is not None for r in rows)
    print(f"\nsearch recall@5: {found}/{len(rows)} = {found / len(rows):.2f}"
          f" (speech {sum(r['rank'] is not None for r in rows if r['kind'] == 'speech')}/6,"
          f" text {sum(r['rank'] is not None for r in rows if r['kind'] == 'text')}/6)")  # fmt: skip
    if not args.no_ask:
        ok = sum(bool(r["ask_ok"]) for r in rows)
        med = statistics.median(r["ask_s"] for r in rows)
        print(f"ask accuracy: {ok}/{len(rows)} = {ok / len(rows):.2f}, median {med:.1f} s per question")
    print(f"search latency over {len(lat)} queries: p50 {1000 * p50:.0f} ms, p95 {1000 * p95:.0f} ms")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"rows": rows, "latency_s": lat}, indent=1))


if __name__ == "__main__":
    main()
