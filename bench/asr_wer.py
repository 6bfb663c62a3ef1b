"""Word error rate and cost of the ASR backends on planted speech drawn from fresh seeds, side by side.

Three conditions, each a planted video per seed (`vidscout.media.planted`): espeak-ng sentences in six
voices over silence; the same kind of sentences over the footage's own soundtrack (Big Buck Bunny's music
and effects, at half volume); the LibriVox recordings of Debian's pocketsphinx-testdata over footage with
its soundtrack. Every backend transcribes the same audio the way ingest does (Whisper with its VAD, then
utterances cut at pauses), and each planted line is scored against the words whose midpoints fall on it. Words
whose midpoints fall on no planted line (half a second either side) are counted as stray.
Numbers are normalised ("seven thirty" = "7:30"). Cost is seconds of transcription per hour of audio,
measured in this process (models already loaded).

Run: python bench/asr_wer.py [--seeds 1,2 | --fresh 2] [--models faster-whisper:tiny.en,faster-whisper:base]
     [--quick] [--repeat N]   (--quick: one fresh seed, tiny.en only; results in bench/results/asr_wer[_quick].json;
     --repeat: decode each video N times and count those whose words differ)
     python bench/asr_wer.py --rescore RESULTS.json [--json OUT]   (score the planted and heard lines kept in a results
     file again, with this checkout's normalisation, without transcribing: scorers compared on the same transcripts)
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import add_json_option, json_path, write_json

from vidscout.eval.metrics import word_error_rate
from vidscout.media.planted import PlantedSpec, SpokenLine, build_planted, draw_perception_spec
from vidscout.memory.speech import split_at_pauses
from vidscout.models.base import Word
from vidscout.models.registry import Backends
from vidscout.settings import ModelSpecs, Settings
from vidscout.video.decode import SAMPLE_RATE, load_audio

CONDITIONS = {
    "espeak, silence": {"bed": "silence", "speech": 10, "librivox": 0},
    "espeak, soundtrack": {"bed": "soundtrack", "speech": 10, "librivox": 0},
    "LibriVox, soundtrack": {"bed": "soundtrack", "speech": 0, "librivox": 5},
}


def main() -> None:
    """Transcribe every condition's audio with every model; print WER and seconds per hour."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="faster-whisper:tiny.en,faster-whisper:base")
    ap.add_argument("--seeds", default="")
    ap.add_argument("--fresh", type=int, default=2)
    ap.add_argument("--max-pause", type=float, default=1.0, help="Utterances are cut at longer pauses (s).")
    ap.add_argument("--cache", type=Path, default=Path(".cache/media"))
    ap.add_argument("--quick", action="store_true", help="One fresh seed and tiny.en only.")
    ap.add_argument(
        "--repeat", type=int, default=1, help="Transcribe each video this many times and count the videos whose "
        "words differ between runs (Whisper's int8 kernels on several threads need not be deterministic)."
    )  # fmt: skip
    ap.add_argument("--rescore", type=Path, default=None, help="A results file whose kept lines are scored again.")
    add_json_option(ap, "asr_wer")
    args = ap.parse_args()
    if args.rescore is not None:
        _rescore(args.rescore, args.json)
        return
    if args.quick:
        args.fresh, args.models = 1, "faster-whisper:tiny.en"
    fresh = [random.SystemRandom().randrange(10**6) for _ in range(args.fresh)]
    seeds = [int(s) for s in args.seeds.split(",") if s] or fresh
    print(f"seeds {','.join(map(str, seeds))}")
    videos: list[tuple[str, int, Any]] = []
    for seed in seeds:
        for name, kw in CONDITIONS.items():
            spec: PlantedSpec = draw_perception_spec(seed, texts=0, duration_s=150.0, **kw)
            tag = name.split(",")[0].lower() + "_" + kw["bed"]
            video = build_planted(spec, args.cache / f"asr_{seed}_{tag}.mp4", cache=args.cache)
            videos.append((name, seed, video))
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as data:
        for model in args.models.split(","):
            asr = Backends(Settings(data_dir=Path(data), models=ModelSpecs(asr=model))).asr
            per: dict[str, list[tuple[str, str]]] = {}
            stray: dict[str, int] = {}  # words heard where no line was planted (music, effects, silence)
            seconds, audio_s, differing = 0.0, 0.0, 0
            for name, _, video in videos:
                audio = load_audio(video.path)
                t0 = time.perf_counter()
                segments = asr.transcribe(audio)
                utterances = split_at_pauses(segments, max_pause_s=args.max_pause)
                seconds += time.perf_counter() - t0
                audio_s += len(audio) / SAMPLE_RATE
                heard = [w.text for s in segments for w in s.words]
                again = [[w.text for s in asr.transcribe(audio) for w in s.words] for _ in range(args.repeat - 1)]
                differing += any(words != heard for words in again)
                words = [w for u in utterances for w in u.words]
                stray[name] = stray.get(name, 0) + sum(not any(_on(ln, w) for ln in video.spoken) for w in words)
                for line in video.spoken:
                    said = [w.text for w in words if _on(line, w)]
                    per.setdefault(name, []).append((line.text, " ".join(said)))
            scores = {name: word_error_rate(" ".join(r for r, _ in pairs), " ".join(h for _, h in pairs))
                      for name, pairs in per.items()}  # fmt: skip
            results[model] = {
                "wer": {name: round(s.wer, 4) for name, s in scores.items()},
                "ref_words": {name: s.ref_words for name, s in scores.items()},
                "seconds_per_audio_hour": round(3600 * seconds / audio_s, 1),
                "stray_words": stray,
                **({"repeats": args.repeat, "videos_heard_differently": differing} if args.repeat > 1 else {}),
                "lines": per,  # (planted, heard) for every planted line
            }
    _print_table(results)
    if args.repeat > 1:
        for model, r in results.items():
            print(f"{model}: {r['videos_heard_differently']} of {len(videos)} videos heard differently in "
                  f"{args.repeat} runs")  # fmt: skip
    write_json(json_path(args, "asr_wer"), {"seeds": seeds, "results": results})


def _on(line: SpokenLine, word: Word) -> bool:
    """Whether ``word``'s midpoint falls on ``line``, half a second either side."""
    return line.onset_s - 0.5 <= (word.start_s + word.end_s) / 2 <= line.offset_s + 0.5


def _print_table(results: dict[str, dict[str, Any]]) -> None:
    names = list(CONDITIONS)
    print(f"{'model':<36}" + "".join(f"{n:>22}" for n in names) + f"{'s / audio hour':>16}")
    for model, r in results.items():
        print(
            f"{model:<36}"
            + "".join(f"{100 * r['wer'][n]:>21.1f}%" for n in names)
            + f"{r['seconds_per_audio_hour']:>16.0f}"
        )
    for model, r in results.items():
        if "stray_words" in r:
            print(f"{model}: words heard away from every planted line: "
                  + ", ".join(f"{n} {r['stray_words'].get(n, 0)}" for n in names))  # fmt: skip


def _rescore(path: Path, out: Path | None) -> None:
    """WER of the (planted, heard) lines kept in ``path``, scored with this checkout's normalisation."""
    data = json.loads(path.read_text(encoding="utf-8"))
    print(f"seeds {','.join(map(str, data['seeds']))} (transcripts from {path})")
    results: dict[str, dict[str, Any]] = {}
    for model, r in data["results"].items():
        scores = {name: word_error_rate(" ".join(a for a, _ in pairs), " ".join(b for _, b in pairs))
                  for name, pairs in r["lines"].items()}  # fmt: skip
        results[model] = {**r, "wer": {name: round(s.wer, 4) for name, s in scores.items()}}
    _print_table(results)
    if out is not None:
        write_json(out, {"seeds": data["seeds"], "rescored_from": str(path), "results": results})


if __name__ == "__main__":
    main()
