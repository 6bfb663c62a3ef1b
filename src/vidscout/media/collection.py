"""A collection of short, different real videos for library tests and ``bench/library_scale.py``.

Cuts of Big Buck Bunny (with its soundtrack) and of OpenCV's vtest street scene (silent), each from another
offset; every third one gets an espeak-ng sentence spoken over it (`vidscout.media.needles.plant_needles`),
so the collection has speech to search as well as pictures. Each file is built once with ffmpeg and cached.
"""

from __future__ import annotations

import random
from pathlib import Path

from vidscout.errors import ConfigError
from vidscout.media import samples
from vidscout.media.needles import Needle, plant_needles
from vidscout.media.planted import draw_sentence
from vidscout.video.decode import probe

_BBB_RANGE_S = (30.0, 520.0)  # between the opening titles and the credits
_VTEST_S = 79.0


def cut(source: Path, start_s: float, duration_s: float, out: Path, *, size: tuple[int, int] = (480, 270)) -> Path:
    """``duration_s`` of ``source`` from ``start_s``, scaled to ``size``, as H.264 (+ AAC when it has sound); cached."""
    info = probe(source)
    if start_s < 0 or start_s + duration_s > info.duration_s + 0.01:
        raise ConfigError(f"{source.name} is {info.duration_s:.1f} s; cannot cut {start_s:.1f}+{duration_s:.1f} s.")
    key = samples.cache_key("cut", source=samples.file_id(source), start_s=start_s, duration_s=duration_s, size=size)
    if samples.load_cached(out, key) is not None:
        return out
    audio = ["-map", "0:a:0", "-c:a", "aac", "-b:a", "64k"] if info.has_audio else []
    samples.build(out, [
        "-ss", f"{start_s:.3f}", "-t", f"{duration_s:.3f}", "-i", str(source), "-map", "0:v:0", *audio,
        "-vf", f"scale={size[0]}:{size[1]},format=yuv420p", "-c:v", "libx264", "-preset", "veryfast", "-crf", "26",
        "-movflags", "+faststart",
    ])  # fmt: skip
    samples.store_cached(out, key)
    return out


def short_videos(
    cache_dir: Path, out_dir: Path, *, count: int, seconds: float, size: tuple[int, int] = (480, 270), seed: int = 0
) -> list[Path]:
    """``count`` different videos of ``seconds`` each in ``out_dir`` (``video_00.mp4``...), built once.

    Even ones are Big Buck Bunny cuts, odd ones vtest cuts (at most 79 s long); every third one (2, 5, 8...)
    has a sentence drawn with ``seed`` spoken from 1 s on.

    Args:
        cache_dir: Where the source footage is cached (`vidscout.media.samples`).
        out_dir: Where the videos go.
        count: How many.
        seconds: Length of each (6 s or more, so a sentence fits).
        size: Frame size.
        seed: Picks the offsets' jitter and the sentences.

    Raises:
        ConfigError: ``seconds`` is under 6 or over what vtest holds.
    """
    if not 6.0 <= seconds <= _VTEST_S:
        raise ConfigError(f"seconds must be between 6 and {_VTEST_S:.0f} (got {seconds}).")
    rng = random.Random(seed)
    bbb, street = samples.big_buck_bunny(cache_dir), samples.vtest(cache_dir)
    lo, hi = _BBB_RANGE_S
    videos: list[Path] = []
    for i in range(count):
        jitter = rng.uniform(0.0, 1.0)
        if i % 2 == 0:
            source, start = bbb, lo + ((i // 2) * 41.0 + 20.0 * jitter) % (hi - lo - seconds)
        else:
            source, start = street, ((i // 2) * 13.0 + 10.0 * jitter) % (_VTEST_S - seconds)
        out = out_dir / f"video_{i:02d}.mp4"
        if i % 3 == 2:
            base = cut(source, round(start, 2), seconds, out_dir / f".cut_{i:02d}.mp4", size=size)
            plant_needles(base, [Needle(kind="speech", text=draw_sentence(rng), start_s=1.0)], out, size=size)
        else:
            cut(source, round(start, 2), seconds, out, size=size)
        videos.append(out)
    return videos
