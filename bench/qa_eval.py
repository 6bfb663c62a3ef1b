"""Accuracy and seconds per question of `vidscout ask` (the agent) vs retrieval alone, on a written question set.

The video (built once, cached): four opencv-doc photos as 6-second shots, then Big Buck Bunny, with
the speech and caption needles of bench/qa_questions.json planted at known times. Each question is
answered twice on the embedded profile: by the agent, and by the retrieval baseline (the top hit of
`search` is the answer and its span the time). Correct = every keyword of one expected alternative
appears in the answer; for "when" questions, a cited span or a time written in the answer is
within the tolerance of the true time.

The first run builds the video and ingests it into --data-dir (shared with bench/kv_answer.py).

Run: python bench/qa_eval.py [--limit N] [--kinds speech,ocr] [--agent-per-kind N] [--quick]
     (--quick: the agent on one question per kind; results in bench/results/qa_eval[_quick].json)
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import json
import re
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
from vidscout.media import samples
from vidscout.media.needles import Needle, plant_needles
from vidscout.settings import Settings
from vidscout.types import parse_time

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


def correct(q: dict[str, Any], answer: str, spans: list[tuple[float, float]]) -> bool:
    """The scoring rule described in the module docstring."""
    text = answer.lower()
    if q["kind"] == "when":
        t, tol = float(q["time_s"]), float(q["tolerance_s"])
        times = [(a, b) for a, b in spans]
        for m in re.findall(r"\b\d{1,2}:\d{2}(?::\d{2})?\b", answer):
            s = parse_time(m)
            times.append((s, s))
        return any(a - tol <= t <= b + tol for a, b in times)
    return any(all(k.lower() in text for k in alt) for alt in q["expect"])


def _acc(rows: list[dict[str, Any]], key: str) -> float:
    return 100.0 * sum(bool(r[key]) for r in rows) / len(rows)


def _med(rows: list[dict[str, Any]], key: str) -> float:
    return statistics.median(float(r[key]) for r in rows)


def main() -> None:
    """Build, ingest, answer every question both ways, print the table."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cache", type=Path, default=Path(".cache/media"))
    ap.add_argument("--data-dir", type=Path, default=Path(".cache/vidscout-qa"))
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--kinds", default="")
    ap.add_argument("--max-steps", type=int, default=6)
    ap.add_argument("--agent-per-kind", type=int, default=None, help="Run the agent on only this many per kind.")
    ap.add_argument("--quick", action="store_true", help="The agent on one question per kind (retrieval on all).")
    add_json_option(ap, "qa_eval")
    args = ap.parse_args()
    if args.quick:
        args.agent_per_kind = min(args.agent_per_kind or 1, 1)
    spec = json.loads((HERE / "qa_questions.json").read_text())
    needles = [Needle.model_validate(n) for n in spec["needles"]]
    questions = [q for q in spec["questions"] if not args.kinds or q["kind"] in args.kinds.split(",")]
    questions = questions[: args.limit] if args.limit else questions
    video_path = build_video(args.cache, needles)
    settings = Settings(data_dir=args.data_dir)
    t0 = time.perf_counter()
    from vidscout.agent.loop import AgentOptions

    rows: list[dict[str, Any]] = []
    with Video.open(video_path, settings=settings) as video:
        print(f"{video_path.name}: {video.info.duration_s:.0f} s; database ready in {time.perf_counter() - t0:.0f} s")
        per_kind: dict[str, int] = {}
        for q in questions:
            per_kind[q["kind"]] = per_kind.get(q["kind"], 0) + 1
            run_agent = args.agent_per_kind is None or per_kind[q["kind"]] <= args.agent_per_kind
            t = time.perf_counter()
            hits = video.search(q["question"], top_k=1)
            r_s = time.perf_counter() - t
            r_answer = hits[0].text if hits else ""
            r_spans = [(hits[0].span.start_s, hits[0].span.end_s)] if hits else []
            row: dict[str, Any] = {
                "id": q["id"],
                "kind": q["kind"],
                "question": q["question"],
                "retrieval": r_answer[:200],
                "retrieval_ok": correct(q, r_answer, r_spans),
                "retrieval_s": r_s,
            }
            if run_agent:
                t = time.perf_counter()
                traj = Path("bench/out/qa_traj") / f"{q['id']}.jsonl"
                ans = video.ask(q["question"], agent=AgentOptions(max_steps=args.max_steps), trajectory=traj)
                a_spans = [(e.span.start_s, e.span.end_s) for e in ans.evidence]
                row.update(
                    agent=ans.answer,
                    agent_ok=correct(q, ans.answer, a_spans),
                    agent_s=time.perf_counter() - t,
                    agent_calls=ans.steps,
                    verified=ans.verified,
                    forced=ans.forced,
                    error=ans.error,
                )
            rows.append(row)
            agent = (
                f"agent {'✔' if row['agent_ok'] else '✘'} {row['agent_s']:5.1f}s" if run_agent else "agent   -       "
            )
            print(
                f"{q['id']:<4} {agent}  retrieval {'✔' if row['retrieval_ok'] else '✘'}  "
                f"{q['question'][:50]:<50} → {str(row.get('agent', r_answer))[:60]}",
                flush=True,
            )
    print(
        f"\n{'kind':<8}{'n':>4}{'retr. acc':>11}{'retr. med s':>13}{'n agent':>9}{'retr. acc':>11}"
        f"{'agent acc':>11}{'agent med s':>13}   (agent columns: the questions the agent ran on)"
    )
    for kind in [*sorted({r["kind"] for r in rows}), "all"]:
        sel = [r for r in rows if kind in ("all", r["kind"])]
        ag = [r for r in sel if "agent_ok" in r]
        head = f"{kind:<8}{len(sel):>4}{_acc(sel, 'retrieval_ok'):>10.1f}%{_med(sel, 'retrieval_s'):>13.3f}"
        tail = (
            f"{len(ag):>9}{_acc(ag, 'retrieval_ok'):>10.1f}%{_acc(ag, 'agent_ok'):>10.1f}%{_med(ag, 'agent_s'):>13.1f}"
            if ag
            else ""
        )
        print(head + tail)
    write_json(json_path(args, "qa_eval"), {"max_steps": args.max_steps, "rows": rows})


if __name__ == "__main__":
    main()
