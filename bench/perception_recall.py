"""Perception recall of `vidscout ingest` on planted videos drawn from fresh seeds, side by side with the ceiling.

Each seed draws one video per frame size (`vidscout.media.planted.draw_perception_spec`): real footage and
photos with 12 planted text lines (16-64 px, boxed or bare, light or dark, static or crawling, 2-8 s on
screen) and 10 planted speech lines (espeak-ng voices and LibriVox readers, over silence or the footage's
own soundtrack). Each is ingested into a fresh database on the embedded profile, then scored
(`vidscout.eval.perception`): OCR line recall and precision, next to "OCR every keyframe" (the reader run
on every keyframe, decoded as ingest's OCR layer reads them: the recall ceiling). Precision leaves out the footage's
own text (a sign, a logo): blocks that are mostly words the reader finds on the same keyframe of the video built
again without its plants; precision_all counts them against it, as before. Speech WER per speaker kind;
utterance boundaries against the measured voice onsets; utterances across a pause > 1 s; diarization error;
seconds per video-minute per layer.

Run: python bench/perception_recall.py [--seeds 7,8 | --fresh 2] [--sizes 640x360,1280x720] [--quick] [--keep DIR]
     [--no-footage-text]
     (--quick: one fresh seed at 640x360, no ceiling; results in bench/results/perception_recall[_quick].json)
Without --seeds, the seeds are drawn fresh from the OS (printed, so a run can be repeated). With --keep, the
databases stay in DIR and a later run with the same seeds and --keep DIR finds them ingested: another version's
scoring can then be compared on the very same databases (Whisper's words vary from run to run on 2 threads).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _keyframes import ocr_keyframes
from _planted import add_planted_options, planted_seeds, planted_sizes
from _results import add_json_option, json_path, write_json

from vidscout.eval.perception import score_speech, score_text
from vidscout.media.planted import build_planted, draw_perception_spec
from vidscout.memory.build import IngestOptions, ingest, store_dir
from vidscout.memory.documents import ocr_blocks
from vidscout.memory.store import OcrLine, VideoStore
from vidscout.models.registry import Backends
from vidscout.settings import ModelSpecs, Settings


def _every_keyframe(video: Path, store: VideoStore, backends: Backends, min_score: float) -> dict[int, list[str]]:
    """The ceiling: the OCR backend on every keyframe, decoded as ingest's OCR layer reads them, laid out in blocks."""
    out: dict[int, list[str]] = {}
    frames = {round(f.t_s, 3): f for f in store.frames()}
    for t_s, image in ocr_keyframes(video):
        f = frames.get(round(t_s, 3))
        if f is None:
            continue
        lines = [b for b in backends.ocr.read(image) if b.score >= min_score]
        rows = [OcrLine(frame_id=f.id, t_s=f.t_s, text=b.text, score=b.score, box=b.box) for b in lines]
        out[f.id] = [t for t, _ in ocr_blocks(rows)]
    missing = [f.t_s for f in frames.values() if f.id not in out]
    if missing:
        raise SystemExit(f"{video}: the decode did not reach the keyframes at {missing[:5]} s")
    return out


def _pooled(rows: list[dict[str, Any]], kind: str) -> float:
    """Word error rate of one speaker kind over all videos, weighted by reference words."""
    words = sum(r["ref_words"].get(kind, 0) for r in rows)
    return sum(r["wer"].get(kind, 0.0) * r["ref_words"].get(kind, 0) for r in rows) / max(1, words)


def main() -> None:
    """Draw, build, ingest and score; print one row per video and the totals."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_planted_options(ap, fresh=2, duration_s=150.0)
    ap.add_argument("--asr", default="", help="ASR spec (default: the embedded profile's).")
    ap.add_argument("--no-ceiling", action="store_true", help="Skip the OCR-every-keyframe ceiling.")
    ap.add_argument(
        "--no-footage-text", action="store_true", help="Skip reading each video built again without its plants "
        "(the footage's own text, left out of precision; precision_all keeps it)."
    )  # fmt: skip
    ap.add_argument("--quick", action="store_true", help="One fresh seed at 640x360, without the ceiling.")
    ap.add_argument("--keep", type=Path, default=None, help="Keep the databases here (default: a temporary dir).")
    add_json_option(ap, "perception_recall")
    args = ap.parse_args()
    if args.quick:
        args.fresh, args.sizes, args.no_ceiling, args.no_footage_text = 1, "640x360", True, True
    seeds, sizes = planted_seeds(args), planted_sizes(args)
    print(f"seeds {','.join(map(str, seeds))}; sizes {args.sizes}; {args.duration:.0f} s per video")
    rows: list[dict[str, Any]] = []
    where = contextlib.nullcontext(str(args.keep)) if args.keep else tempfile.TemporaryDirectory(prefix="vidscout-")
    with where as data:
        settings = Settings(data_dir=Path(data), models=ModelSpecs(asr=args.asr))
        backends = Backends(settings)
        for seed in seeds:
            for w, h in sizes:
                spec = draw_perception_spec(seed, size=(w, h), duration_s=args.duration)
                video = build_planted(spec, args.cache / f"perception_{seed}_{w}x{h}.mp4", cache=args.cache)
                t0 = time.perf_counter()
                report = ingest(video.path, settings.videos_dir, backends)
                wall = time.perf_counter() - t0
                minutes = spec.duration_s / 60
                with VideoStore.open(store_dir(settings.videos_dir, video.path)) as store:
                    footage = None
                    if not args.no_footage_text:  # the same pieces, no text drawn on them
                        bare_spec = spec.model_copy(update={"texts": []})
                        bare = build_planted(bare_spec, args.cache / f"perception_{seed}_{w}x{h}_bare.mp4",
                                             cache=args.cache)  # fmt: skip
                        footage = _every_keyframe(bare.path, store, backends, IngestOptions().ocr_min_score)
                    text = score_text(store, video, footage=footage)
                    t1 = time.perf_counter()
                    ceiling = None
                    if not args.no_ceiling:
                        every = _every_keyframe(video.path, store, backends, IngestOptions().ocr_min_score)
                        ceiling = score_text(store, video, read=every.__getitem__, footage=footage)
                    ceiling_s = time.perf_counter() - t1
                    speech = score_speech(store, video)
                row: dict[str, Any] = {
                    "seed": seed, "size": f"{w}x{h}", "bed": spec.bed, "minutes": round(minutes, 2),
                    "ocr_recall": text.recall, "ocr_word_recall": text.word_recall, "ocr_precision": text.precision,
                    "ocr_precision_all": text.precision_all, "ocr_footage_blocks": text.footage_blocks,
                    "ocr_missed": text.missed,
                    "ceiling_recall": None if ceiling is None else ceiling.recall,
                    "ceiling_precision": None if ceiling is None else ceiling.precision,
                    "ceiling_s_per_min": round(ceiling_s / minutes, 2),
                    "wer": speech.wer_by_kind, "ref_words": speech.ref_words_by_kind,
                    "onset_err_s": speech.onset_errors_s, "offset_err_s": speech.offset_errors_s,
                    "boundaries_within_0.3s": speech.within_03, "across_pause": speech.across_pause,
                    "utterances": speech.utterances, "der": speech.der,
                    "speakers": [speech.speakers_true, speech.speakers_found],
                    "s_per_min": {layer.name: round(layer.seconds / minutes, 2) for layer in report.layers},
                    "wall_s_per_min": round(wall / minutes, 2),
                }  # fmt: skip
                rows.append(row)
                der = "-" if speech.der is None else f"{speech.der:.3f}"
                ceil = "-" if ceiling is None else f"{ceiling.recall:.2f}/{ceiling.precision:.2f}"
                wer = " ".join(f"{k} {v:.3f}" for k, v in speech.wer_by_kind.items())
                print(
                    f"seed {seed} {w}x{h} {spec.bed:<10} OCR recall {text.recall:.2f} prec {text.precision:.2f} "
                    f"(all {text.precision_all:.2f}) "
                    f"(every keyframe {ceil}) | WER {wer} | bounds<=0.3s {speech.within_03:.2f} "
                    f"across-pause {speech.across_pause} | DER {der} "
                    f"spk {speech.speakers_true}->{speech.speakers_found} | {wall / minutes:.1f} s/min",
                    flush=True,
                )  # fmt: skip
                for m in text.missed:
                    print(f"    missed {m}")
    total = {
        "ocr_recall": statistics.fmean(r["ocr_recall"] for r in rows),
        "ocr_precision": statistics.fmean(r["ocr_precision"] for r in rows),
        "ocr_precision_all": statistics.fmean(r["ocr_precision_all"] for r in rows),
        "ceiling_recall": None if args.no_ceiling else statistics.fmean(r["ceiling_recall"] for r in rows),
        "wer": {k: _pooled(rows, k) for k in {k for r in rows for k in r["wer"]}},
        "boundaries_within_0.3s": statistics.fmean(r["boundaries_within_0.3s"] for r in rows),
        "across_pause": sum(r["across_pause"] for r in rows),
        "der": None if any(r["der"] is None for r in rows) else statistics.fmean(r["der"] for r in rows),
        "s_per_min": {k: round(statistics.fmean(r["s_per_min"].get(k, 0.0) for r in rows), 2)
                      for k in rows[0]["s_per_min"]},
    }  # fmt: skip
    print(json.dumps(total, indent=1))
    write_json(json_path(args, "perception_recall"), {"seeds": seeds, "videos": rows, "total": total})


if __name__ == "__main__":
    main()
