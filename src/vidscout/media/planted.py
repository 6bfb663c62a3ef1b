"""Seeded videos with known content: real footage and photos, planted on-screen text and planted speech.

A `PlantedSpec` says what goes where: pieces of real footage (Big Buck Bunny, OpenCV's vtest street and
Megamind clip) and full-frame photos, on-screen text lines (size, box, colour, position, static or
crawling, 2-8 s on screen), and spoken lines (espeak-ng voices or LibriVox readers) over silence or the
footage's own soundtrack. `draw_perception_spec` draws one from a seed; `build_planted` renders it with
ffmpeg and returns a `PlantedVideo`: the file plus the exact ground truth (text spans, speech onsets and
offsets measured on the rendered audio, speakers, photo spans, cut times). The perception benchmark
(``bench/perception_recall.py``), its tests and the question sets are all drawn this way, so every run
can use fresh seeds.
"""

from __future__ import annotations

import hashlib
import random
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from vidscout.errors import ConfigError
from vidscout.media import samples
from vidscout.video.decode import SAMPLE_RATE, load_audio, probe

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
"""DejaVu fonts (Debian ``fonts-dejavu-core``), the faces planted text is drawn in."""
FONTS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf")

PHOTO_DIR = Path("/usr/share/doc/opencv-doc/examples/data")
"""Photos from Debian's ``opencv-doc`` (the same package as vtest.avi)."""
PHOTOS = ("baboon.jpg", "butterfly.jpg", "fruits.jpg", "home.jpg", "messi5.jpg", "orange.jpg",
          "apple.jpg", "building.jpg", "HappyFish.jpg", "starry_night.jpg", "graf1.png")  # fmt: skip
MEGAMIND = PHOTO_DIR / "Megamind.avi"
"""An 11 s animated clip with sound (720x528, Debian ``opencv-doc``)."""

ESPEAK_VOICES = ("en-us", "en-us+f3", "en-gb-x-rp+m3", "en-us+f5", "en-029", "en-gb-scotland+f2")
"""espeak-ng voices that sound clearly different from each other (variants +fN are female, +mN male)."""

RENDERER_VERSION = 3
"""Bumped whenever `build_planted` draws the same spec differently (part of the cache key)."""

Bed = Literal["silence", "soundtrack"]
Position = Literal["top", "middle", "bottom"]


class Piece(BaseModel, frozen=True):
    """A stretch of the picture: real footage from ``start_s`` or a photo, for ``duration_s``.

    Derived sources have the facts of their picture known by construction: ``card:<colour>`` (a full-frame
    colour with film grain; any ffmpeg colour name or ``0xRRGGBB``), ``pan:<left|right>`` and
    ``zoom:in`` (a camera moving over ``photo``), ``dark:<vtest|bbb|megamind>`` (footage from ``start_s``
    darkened to night levels: grey levels squeezed into 0-72).
    """

    source: str = Field(description="'bbb', 'vtest', 'megamind', 'photo', or a derived source (see above).")
    start_s: float = Field(default=0.0, ge=0)
    duration_s: float = Field(gt=0)
    photo: str | None = Field(default=None, description="Photo file name in `PHOTO_DIR` (source 'photo').")


class TextPlant(BaseModel, frozen=True):
    """A line of on-screen text and how it is drawn."""

    text: str
    start_s: float = Field(ge=0)
    duration_s: float = Field(gt=0)
    size_px: int = Field(ge=8, description="Font size in output pixels.")
    boxed: bool = Field(description="Drawn on a semi-transparent box.")
    light: bool = Field(description="Light text (white) rather than dark (black).")
    outline: bool = Field(default=False, description="A thin contrasting border around the glyphs.")
    position: Position = "bottom"
    crawl: bool = Field(default=False, description="Moves across the frame (fully visible mid-way).")
    crawl_from: Literal["right", "left"] = Field(
        default="right", description="The side a crawl enters from: right (it moves right to left) or left."
    )
    font: str = FONTS[0]


class SpeechPlant(BaseModel, frozen=True):
    """A spoken line: espeak-ng with a voice, or a LibriVox recording with its transcript."""

    text: str
    start_s: float = Field(ge=0, description="When the clip starts playing (its own leading silence included).")
    speaker: str = Field(description="'espeak:<voice>' or 'librivox:<reader>'.")
    wav: str | None = Field(default=None, description="The LibriVox file; None for espeak.")


class PlantedSpec(BaseModel, frozen=True):
    """Everything a planted video holds, before rendering."""

    seed: int
    size: tuple[int, int]
    fps: int = 24
    pieces: list[Piece]
    bed: Bed = Field(description="Under the planted speech: silence, or the footage's own soundtrack.")
    texts: list[TextPlant] = Field(default_factory=list[TextPlant])
    speech: list[SpeechPlant] = Field(default_factory=list[SpeechPlant])

    @property
    def duration_s(self) -> float:
        """Length of the video."""
        return sum(p.duration_s for p in self.pieces)


class SpokenLine(BaseModel, frozen=True):
    """Ground truth of a planted speech line: where its voice is actually heard in the rendered audio."""

    text: str
    speaker: str
    onset_s: float
    offset_s: float


class PlantedVideo(BaseModel, frozen=True):
    """A rendered planted video and its ground truth."""

    path: Path
    spec: PlantedSpec
    cut_times: list[float]
    spoken: list[SpokenLine]

    @property
    def photo_spans(self) -> list[tuple[float, float, str]]:
        """``(start_s, end_s, photo)`` of every photo piece."""
        spans: list[tuple[float, float, str]] = []
        t = 0.0
        for p in self.spec.pieces:
            if p.source == "photo" and p.photo:
                spans.append((t, t + p.duration_s, p.photo))
            t += p.duration_s
        return spans


# --- drawing a spec --------------------------------------------------------------------------------

_WORDS = ("amber", "harbor", "velvet", "summit", "copper", "lantern", "meadow", "falcon", "granite", "willow",
          "orbit", "canyon", "marble", "pepper", "thunder", "violet", "walnut", "cobalt", "maple", "saffron",
          "glacier", "pebble", "raven", "tundra", "indigo", "juniper", "quartz", "sierra", "topaz")  # fmt: skip
_NAMES = ("Alvarez", "Brennan", "Castillo", "Dubois", "Eriksen", "Fujita", "Gallagher", "Haddad", "Ivanova",
          "Jensen", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov", "Quinlan", "Rossi")  # fmt: skip
_PLACES = ("Lisbon", "Oslo", "Nairobi", "Denver", "Kyoto", "Dublin", "Quebec", "Seville", "Tallinn", "Perth")
_TEXT_TEMPLATES = (
    "GATE {L}{n2}", "ROOM {n3}", "{Word} {Word} {n2}", "EXIT {n2} {Word} STREET", "Dr. {Name} - {Place}",
    "Flight {L}{L} {n4} to {Place}", "SALE {n2}% OFF", "Call {n3}-{n4}", "Chapter {n1}: The {Word} {Word}",
    "Platform {n1} - {Place}", "{Word} & {Word} Bakery", "Score {n1} - {n1}", "Code {n4}",
)  # fmt: skip
_SPEECH_TEMPLATES = (
    "The secret password is {word} {word}.", "Our next train to {Place} leaves from platform {num}.",
    "Doctor {Name} will arrive on {Day} morning.", "Please meet me at the {word} fountain at {num} o'clock.",
    "The package was left under the {word} table in room {num}.", "My favourite colour has always been {word}.",
    "Remember to water the {word} plants twice a week.", "The museum closes early on {Day} because of the storm.",
    "Captain {Name} found the map near the old {word} bridge.", "Tickets for the {word} concert cost {num} dollars.",
)  # fmt: skip
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_NUMBER_WORDS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")


def _fill(template: str, rng: random.Random) -> str:
    out = template
    for key, make in (
        ("{Word}", lambda: rng.choice(_WORDS).capitalize()), ("{word}", lambda: rng.choice(_WORDS)),
        ("{Name}", lambda: rng.choice(_NAMES)), ("{Place}", lambda: rng.choice(_PLACES)),
        ("{Day}", lambda: rng.choice(_DAYS)), ("{num}", lambda: rng.choice(_NUMBER_WORDS)),
        ("{L}", lambda: rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ")), ("{n1}", lambda: str(rng.randint(1, 9))),
        ("{n2}", lambda: str(rng.randint(10, 99))), ("{n3}", lambda: str(rng.randint(100, 999))),
        ("{n4}", lambda: str(rng.randint(1000, 9999))),
    ):  # fmt: skip
        while key in out:
            out = out.replace(key, make(), 1)
    return out


def draw_text_line(rng: random.Random) -> str:
    """A short sign- or caption-like line with words and numbers (e.g. ``Flight KQ 4821 to Oslo``)."""
    return _fill(rng.choice(_TEXT_TEMPLATES), rng)


def draw_sentence(rng: random.Random) -> str:
    """A spoken sentence with a checkable fact (a name, a place, a number, a pair of words)."""
    return _fill(rng.choice(_SPEECH_TEMPLATES), rng)


def draw_pieces(rng: random.Random, duration_s: float, *, photos: int = 2) -> list[Piece]:
    """Footage pieces adding up to ``duration_s``, in a random order.

    8-40 s from Big Buck Bunny (its titles and credits avoided), vtest and Megamind, and ``photos`` photo
    shots of 4-8 s.
    """
    pieces: list[Piece] = []
    chosen = rng.sample(PHOTOS, k=min(photos, len(PHOTOS)))
    photo_s = [round(rng.uniform(4.0, 8.0), 2) for _ in chosen]
    left = duration_s - sum(photo_s)
    if left < 8.0:
        raise ConfigError(f"A {duration_s:.0f} s planted video is too short for {photos} photos.")
    while left > 0:
        d = round(min(left, rng.uniform(8.0, 40.0)), 2)
        if left - d < 4.0:
            d = left
        kind = rng.choices(("bbb", "vtest", "megamind"), weights=(6, 3, 1))[0]
        if kind == "bbb":
            pieces.append(Piece(source="bbb", start_s=round(rng.uniform(30.0, 520.0 - d), 2), duration_s=d))
        elif kind == "vtest":
            start = round(rng.uniform(0.0, max(0.0, 78.0 - d)), 2)
            pieces.append(Piece(source="vtest", start_s=start, duration_s=min(d, 78.0)))
        else:
            pieces.append(Piece(source="megamind", start_s=0.0, duration_s=min(d, 11.0)))
        left -= pieces[-1].duration_s
    for name, d in zip(chosen, photo_s, strict=True):
        pieces.insert(rng.randrange(len(pieces) + 1), Piece(source="photo", photo=name, duration_s=d))
    return pieces


def draw_perception_spec(
    seed: int,
    *,
    size: tuple[int, int] = (640, 360),
    duration_s: float = 150.0,
    texts: int = 12,
    speech: int = 8,
    librivox: int = 2,
    bed: Bed | None = None,
) -> PlantedSpec:
    """A planted video for measuring perception recall, drawn from ``seed``.

    Text lines get sizes from 16 to 64 px (in output pixels, whatever the frame size), boxed or bare, light or
    dark, outlined or not, at the top, middle or bottom, static or crawling, 2-8 s on screen, never two at
    once. Speech lines are espeak-ng sentences in `ESPEAK_VOICES` plus ``librivox`` LibriVox recordings,
    separated by 1.5-8 s of pause, never overlapping each other.
    """
    rng = random.Random(seed)
    pieces = draw_pieces(rng, duration_s)
    total = sum(p.duration_s for p in pieces)
    plants: list[TextPlant] = []
    slots = np.linspace(2.0, total - 10.0, texts + 1)
    for i in range(texts):
        dur = rng.uniform(2.0, 8.0)
        start = rng.uniform(slots[i], max(slots[i], slots[i + 1] - dur - 0.5))
        light = rng.random() < 0.7
        boxed = rng.random() < 0.5
        plants.append(
            TextPlant(
                text=(line := draw_text_line(rng)), start_s=round(start, 2), duration_s=round(dur, 2),
                size_px=fit_size(line, rng.choice((16, 20, 24, 32, 40, 48, 64)), size[0]), boxed=boxed, light=light,
                outline=not boxed and rng.random() < 0.5, position=rng.choice(("top", "middle", "bottom")),
                crawl=rng.random() < 0.2, font=rng.choice(FONTS),
            )
        )  # fmt: skip
    lines: list[SpeechPlant] = []
    readers = samples.librivox_clips()
    for clip, transcript in rng.sample(readers, k=min(librivox, len(readers))):
        lines.append(SpeechPlant(text=transcript, start_s=0.0, speaker="librivox:austen", wav=str(clip)))
    for _ in range(speech):
        lines.append(SpeechPlant(text=draw_sentence(rng), start_s=0.0, speaker=f"espeak:{rng.choice(ESPEAK_VOICES)}"))
    rng.shuffle(lines)
    return PlantedSpec(
        seed=seed, size=size, pieces=pieces, bed=bed or rng.choice(("silence", "soundtrack")), texts=plants,
        speech=_schedule(lines, total, rng),
    )  # fmt: skip


def _schedule(lines: Sequence[SpeechPlant], total_s: float, rng: random.Random) -> list[SpeechPlant]:
    """Start times for ``lines`` in order, each after the previous one ends plus a 1.5-8 s pause."""
    durations = [speech_seconds(line) for line in lines]
    slack = total_s - 3.0 - sum(durations) - 1.5 * len(lines)
    if slack < 0:
        raise ConfigError(f"{len(lines)} speech lines ({sum(durations):.0f} s) do not fit in {total_s:.0f} s.")
    gaps = [1.5 + g for g in np.random.default_rng(rng.randrange(1 << 30)).dirichlet(np.ones(len(lines) + 1)) * slack]
    out: list[SpeechPlant] = []
    t = gaps[0]
    for line, d, gap in zip(lines, durations, gaps[1:], strict=True):
        out.append(line.model_copy(update={"start_s": round(t, 2)}))
        t += d + min(gap, 8.0)
    return out


def speech_seconds(line: SpeechPlant) -> float:
    """How long ``line`` plays: a LibriVox file's length, or an estimate for espeak-ng."""
    if line.wav is not None:
        return len(load_audio(Path(line.wav))) / SAMPLE_RATE
    return 0.35 * len(line.text.split()) + 0.6  # espeak at 140 wpm, plus its own lead-in and tail


# --- rendering ---------------------------------------------------------------------------------------


def _source_path(piece: Piece, cache: Path, work: Path) -> Path:
    if piece.source == "bbb":
        return samples.big_buck_bunny(cache)
    if piece.source == "vtest":
        return samples.vtest(cache)
    if piece.source == "megamind":
        return MEGAMIND
    if piece.photo is None:
        raise ConfigError(f"photo piece without a photo: {piece}")
    out = cache / f"photo_{Path(piece.photo).stem}_{piece.duration_s:.2f}.mp4"
    if not out.exists():
        samples.build(out, ["-loop", "1", "-framerate", "24", "-t", f"{piece.duration_s + 1.0:.3f}",
                            "-i", str(PHOTO_DIR / piece.photo), "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2",
                            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"])  # fmt: skip
    return out


def fit_size(text: str, size_px: int, frame_width: int) -> int:
    """The largest font size up to ``size_px`` at which ``text`` fits in 90 % of the frame's width.

    DejaVu glyphs average about 0.62 em wide (0.7 for bold and mono); a line wider than the frame is cut off.
    """
    return max(8, min(size_px, int(0.9 * frame_width / (0.7 * max(len(text), 1)))))


_X264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"]


def _source(piece: Piece, cache: Path, work: Path, size: tuple[int, int]) -> tuple[Path, float]:
    """The file a piece is cut from and where in it the piece starts (derived sources are rendered to ``size``)."""
    kind, _, arg = piece.source.partition(":")
    if not arg:
        return _source_path(piece, cache, work), piece.start_s
    w, h = size
    length = f"{piece.duration_s + 1.0:.3f}"
    tag = hashlib.sha256(f"{piece.source}|{piece.photo}|{piece.start_s}|{length}|{size}".encode()).hexdigest()[:12]
    out = cache / f"derived_{kind}_{tag}.mp4"
    if out.exists():
        return out, 0.0
    if kind == "card":
        # Film grain, so the card is not one flat value that only a trivially exact test would pass.
        args = ["-f", "lavfi", "-i", f"color=c={arg}:s={w}x{h}:r=24:d={length}", "-vf", "noise=alls=10:allf=t+u"]
    elif kind in ("pan", "zoom"):
        if piece.photo is None:
            raise ConfigError(f"{piece.source} needs a photo: {piece}")
        photo = ["-loop", "1", "-framerate", "24", "-t", length, "-i", str(PHOTO_DIR / piece.photo)]
        if kind == "pan":
            # A window one third narrower than the photo slides across it at a constant speed.
            speed = f"(iw-{w})/{piece.duration_s + 1.0:.3f}"
            x = f"t*{speed}" if arg == "right" else f"(iw-{w})-t*{speed}"
            vf = f"scale={round(w * 1.5)}:{h}:force_original_aspect_ratio=increase,crop={w}:{h}:x='{x}':y=(ih-{h})/2"
        elif arg == "in":
            # Drawn from a 4x larger copy so the zoom window moves smoothly (zoompan crops whole pixels).
            zoom = f"z='1+0.5*on/{round((piece.duration_s + 1.0) * 24)}':x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2'"
            vf = f"scale={4 * w}:{4 * h}:force_original_aspect_ratio=increase,crop={4 * w}:{4 * h},"
            vf += f"zoompan={zoom}:d=1:s={w}x{h}:fps=24"
        else:
            raise ConfigError(f"Unknown derived source {piece.source!r}; use pan:left, pan:right or zoom:in.")
        args = [*photo, "-vf", vf]
    elif kind == "dark":
        footage = _source_path(piece.model_copy(update={"source": arg}), cache, work)
        fit = f"scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h},fps=24"
        args = ["-ss", f"{piece.start_s:.3f}", "-t", length, "-i", str(footage),
                "-vf", f"{fit},curves=all='0/0 1/0.28'", "-an"]  # fmt: skip
    else:
        raise ConfigError(f"Unknown piece source {piece.source!r}; see `Piece`.")
    samples.build(out, [*args, "-t", length, *_X264])
    return out, 0.0


def drawtext_filter(plant: TextPlant, i: int, work: Path) -> str:
    """The ffmpeg ``drawtext`` filter that draws ``plant`` (its text goes to ``work/text<i>.txt``)."""
    textfile = work / f"text{i}.txt"
    textfile.write_text(plant.text, encoding="utf-8")
    colour, other = ("white", "black") if plant.light else ("black", "white")
    y = {"top": "h*0.08", "middle": "(h-text_h)/2", "bottom": "h*0.86-text_h"}[plant.position]
    a, b = plant.start_s, plant.start_s + plant.duration_s
    # A crawl enters from one side and leaves on the other, its middle third fully in view.
    moved = f"(t-{a:.3f})*(w+text_w)/{plant.duration_s:.3f}"
    x = "(w-text_w)/2" if not plant.crawl else f"w-{moved}" if plant.crawl_from == "right" else f"{moved}-text_w"
    parts = [f"fontfile={FONT_DIR / plant.font}", f"textfile={textfile}", "expansion=none", f"fontsize={plant.size_px}",
             f"fontcolor={colour}", f"x={x}", f"y={y}", f"enable='between(t,{a:.3f},{b:.3f})'"]  # fmt: skip
    if plant.boxed:
        parts += ["box=1", f"boxcolor={other}@0.6", f"boxborderw={max(4, plant.size_px // 4)}"]
    if plant.outline:
        parts += [f"borderw={max(1, plant.size_px // 16)}", f"bordercolor={other}"]
    return "drawtext=" + ":".join(parts)


def voice_span(wav: Path) -> tuple[float, float]:
    """Where a clip's voice starts and ends (first and last 10 ms frame above 2 % of its peak)."""
    audio = load_audio(wav)
    frame = SAMPLE_RATE // 100
    n = len(audio) // frame
    energy = np.abs(audio[: n * frame]).reshape(n, frame).max(axis=1)
    loud = np.nonzero(energy > 0.02 * float(energy.max(initial=1e-9)))[0]
    if not len(loud):
        return 0.0, len(audio) / SAMPLE_RATE
    return float(loud[0] * frame / SAMPLE_RATE), float((loud[-1] + 1) * frame / SAMPLE_RATE)


def _keyed(spec: PlantedSpec) -> dict[str, Any]:
    """The spec as its cache key sees it.

    A crawl from the right, the only kind before `TextPlant.crawl_from` existed, is keyed without that field, so
    videos rendered before it stay cached.
    """
    dumped = spec.model_dump(mode="json")
    for text in dumped["texts"]:
        if text["crawl_from"] == "right":
            del text["crawl_from"]
    return dumped


def build_planted(spec: PlantedSpec, out: Path, *, cache: Path) -> PlantedVideo:
    """Render ``spec`` to ``out`` (H.264 + AAC mono, cached by the spec) and measure its speech ground truth.

    Args:
        spec: What to plant (see `draw_perception_spec`).
        out: Output ``.mp4``.
        cache: Folder for fetched footage and intermediate files.

    Raises:
        ConfigError: A plant lies outside the video.
        BackendError: ffmpeg or espeak-ng failed.
    """
    total = spec.duration_s
    for t in spec.texts:
        if t.start_s + t.duration_s > total:
            raise ConfigError(f"text {t.text!r} ends after the video ({total:.1f} s).")
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vidscout-planted-") as tmp:
        work = Path(tmp)
        wavs: list[Path] = []
        for line in spec.speech:
            if line.wav is not None:
                wavs.append(Path(line.wav))
            else:
                voice = line.speaker.removeprefix("espeak:")
                name = hashlib.sha256(f"{voice}|{line.text}".encode()).hexdigest()[:16]
                wavs.append(samples.espeak_wav(line.text, cache / "espeak" / f"{name}.wav", voice=voice))
        spoken = []
        for line, wav in zip(spec.speech, wavs, strict=True):
            on, off = voice_span(wav)
            spoken.append(SpokenLine(text=line.text, speaker=line.speaker, onset_s=round(line.start_s + on, 3),
                                     offset_s=round(line.start_s + off, 3)))  # fmt: skip
            if line.start_s + off > total:
                raise ConfigError(f"speech {line.text!r} ends after the video ({total:.1f} s).")
        key = samples.cache_key("planted", spec=_keyed(spec), renderer=RENDERER_VERSION)
        cached = samples.load_cached(out, key)
        if cached is not None:
            return PlantedVideo(path=out, spec=spec, cut_times=[float(c) for c in cached["cut_times"]], spoken=spoken)
        sources = [(*_source(p, cache, work, spec.size), p.duration_s) for p in spec.pieces]
        base, cuts = samples.concat_with_known_cuts(
            sources,
            cache / f"planted_base_{key[:12]}.mp4",
            size=spec.size,
            fps=spec.fps,
            audio=spec.bed == "soundtrack",
        )
        inputs = ["-i", str(base)]
        video = ",".join(drawtext_filter(p, i, work) for i, p in enumerate(spec.texts)) or "null"
        graph = [f"[0:v]{video}[v]"]
        mix: list[str] = []
        if spec.bed == "soundtrack":
            graph.append("[0:a]aformat=channel_layouts=mono,volume=0.5[bed]")
        else:
            graph.append(f"anullsrc=r=16000:cl=mono,atrim=end={total:.3f}[bed]")
        mix.append("[bed]")
        for i, (line, wav) in enumerate(zip(spec.speech, wavs, strict=True)):
            inputs += ["-i", str(wav)]
            ms = round(line.start_s * 1000)
            graph.append(f"[{i + 1}:a]aformat=channel_layouts=mono,adelay={ms}|{ms}[s{i}]")
            mix.append(f"[s{i}]")
        graph.append(f"{''.join(mix)}amix=inputs={len(mix)}:normalize=0:duration=first[a]")
        samples.build(out, [*inputs, "-filter_complex", ";".join(graph), "-map", "[v]", "-map", "[a]",
                            "-t", f"{total:.3f}", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
                            "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k", "-ac", "1",
                            "-movflags", "+faststart"])  # fmt: skip
        samples.store_cached(out, key, cut_times=cuts)
    info = probe(out)
    if info.duration_s < total - 0.5:
        raise ConfigError(f"{out.name} came out {info.duration_s:.1f} s long; expected {total:.1f} s.")
    return PlantedVideo(path=out, spec=spec, cut_times=cuts, spoken=spoken)
