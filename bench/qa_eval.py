"""Accuracy and seconds per question of `vidscout ask` (the agent) vs retrieval alone, on a written question set.

The video (built once, cached): four opencv-doc photos as 6-second shots, then Big Buck Bunny, with
the speech and caption needles of bench/qa_questions.json planted at known times. Each question is
answered by each strategy through `Video.ask` on the embedded profile (agent and retrieval by default) and
graded by the one rule of `vidscout.eval.devset.grade`, for every strategy alike: the answer's first 40
words hold every word of one expected alternative (numbers as whole words); a "when" answer is its stated
time, or its first cited span of at most 30 s, within the question's tolerance.

The first run builds the video and ingests it into --data-dir (shared with bench/kv_answer.py).

Run: python bench/qa_eval.py [--limit N] [--kinds speech,ocr] [--strategies retrieval,agent] [--quick]
     (--quick: the first question of each kind; results in bench/results/qa_eval[_quick].json)
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import add_json_option, json_path, write_json

from vidscout.api import Video
from vidscout.eval.devset import WHEN_TOLERANCE_S, QAItem, grade
from vidscout.media import samples
from vidscout.media.needles import Needle, plant_needles
from vidscout.settings import Settings

HERE = Path(__file__).resolve().parent
PHOTOS = ["butterfly.jpg", "baboon.jpg", "orange.jpg", "messi5.jpg"]
PHOTO_DIR = Path("/usr/share/doc/opencv-doc/examples/data")


def build_video(cache: Path, needles: list[Needle]) -> Path:
    """Photos + Big Buck Bunny at 960x540, needles planted (cached)."""
    pieces: list[tuple[Path, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in PHOTOS:
            clip = cache / f"photo_{Path(name).stem}.mp4"
            if not clip.exists():
                out = Path(tmp) / clip.name
                subprocess.run(
                    [
                        "ffmpeg",
                        "-loglevel",
                        "error",
                        "-y",
                        "-loop",
                        "1",
                        "-i",
                        str(PHOTO_DIR / name),
                        "-t",
                        "6",
                        "-vf",
                        "scale=960:540:force_original_aspect_ratio=decrease,pad=960:540:(ow-iw)/2:(oh-ih)/2,fps=24",
                        "-c:v",
                        "libx264",
                        "-preset",
                        "veryfast",
                        "-pix_fmt",
                        "yuv420p",
                        str(out),
                    ],
                    check=True,
                )
                out.replace(clip)
            pieces.append((clip, 0.0, 6.0))
    bbb = samples.big_buck_bunny(cache)
    pieces.append((bbb, 0.0, 596.0))
    base, _ = samples.concat_with_known_cuts(pieces, cache / "qa_base.mp4", size=(960, 540), fps=24)
    return plant_needles(base, needles, cache / "qa_video.mp4")


_KIND = {"speech": "speech", "ocr": "text", "visual": "photo", "when": "when"}


def as_item(q: dict[str, Any]) -> QAItem:
    """A question of bench/qa_questions.json in the form `vidscout.eval.devset.grade` grades."""
    kind = _KIND[q["kind"]]
    if kind == "when":
        t, tol = float(q["time_s"]), float(q["tolerance_s"])
        # grade() allows WHEN_TOLERANCE_S around the event: the span keeps the question's own tolerance.
        pad = max(0.0, tol - WHEN_TOLERANCE_S)
        return QAItem(id=q["id"], video="qa_video.mp4", kind=kind, question=q["question"], time_s=(t - pad, t + pad))
    return QAItem(id=q["id"], video="qa_video.mp4", kind=kind, question=q["question"], expect=q["expect"])


def main() -> None:
    """Build, ingest, answer every question with every strategy, print the table."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cache", type=Path, default=Path(".cache/media"))
    ap.add_argument("--data-dir", type=Path, default=Path(".cache/vidscout-qa"))
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--kinds", default="")
    ap.add_argument("--strategies", default="retrieval,agent")
    ap.add_argument("--max-steps", type=int, default=8, help="Agent tool calls (the agent's default is 8).")
    ap.add_argument("--quick", action="store_true", help="Only the first question of each kind.")
    add_json_option(ap, "qa_eval")
    args = ap.parse_args()
    spec = json.loads((HERE / "qa_questions.json").read_text())
    needles = [Needle.model_validate(n) for n in spec["needles"]]
    questions = [q for q in spec["questions"] if not args.kinds or q["kind"] in args.kinds.split(",")]
    questions = questions[: args.limit] if args.limit else questions
    if args.quick:
        questions = [q for i, q in enumerate(questions) if q["kind"] not in {p["kind"] for p in questions[:i]}]
    video_path = build_video(args.cache, needles)
    strategies = args.strategies.split(",")
    settings = Settings(data_dir=args.data_dir)
    t0 = time.perf_counter()
    rows: list[dict[str, Any]] = []
    with Video.open(video_path, settings=settings) as video:
        print(f"{video_path.name}: {video.info.duration_s:.0f} s; database ready in {time.perf_counter() - t0:.0f} s")
        for q in questions:
            item = as_item(q)
            row: dict[str, Any] = {"id": q["id"], "kind": item.kind, "question": q["question"]}
            for name in strategies:
                t = time.perf_counter()
                answer = video.ask(q["question"], strategy=name, max_steps=args.max_steps,
                                   trajectory=Path("bench/out/qa_traj") / name / f"{q['id']}.jsonl")  # fmt: skip
                seconds = round(time.perf_counter() - t, 2)
                row[name] = {"ok": grade(item, answer), "s": seconds, "answer": answer.answer[:200],
                             "verified": answer.verified, "forced": answer.forced}  # fmt: skip
            rows.append(row)
            marks = "  ".join(f"{n} {'✔' if row[n]['ok'] else '✘'} {row[n]['s']:5.1f}s" for n in strategies)
            print(
                f"{q['id']:<4} {marks}  {q['question'][:50]:<50} → {row[strategies[-1]]['answer'][:60]!r}", flush=True
            )
    table: dict[str, Any] = {}
    print(f"\n{'kind':<8}{'n':>4}" + "".join(f"{n:>14}" for n in strategies))
    for kind in [*sorted({r["kind"] for r in rows}), "all"]:
        sel = [r for r in rows if kind in ("all", r["kind"])]
        table[kind] = {"n": len(sel), **{n: sum(r[n]["ok"] for r in sel) for n in strategies}}
        print(
            f"{kind:<8}{len(sel):>4}"
            + "".join(f"{table[kind][n]:>7}/{len(sel):<3}{100 * table[kind][n] / len(sel):3.0f}%" for n in strategies)
        )
    medians = {n: statistics.median(r[n]["s"] for r in rows) for n in strategies}
    print("median s/question: " + ", ".join(f"{n} {m:.1f}" for n, m in medians.items()))
    write_json(json_path(args, "qa_eval"), {"table": table, "median_s": medians, "rows": rows})


if __name__ == "__main__":
    main()
