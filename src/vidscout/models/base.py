"""One Protocol per swappable model role. Shapes, dtypes and units are stated on each contract.

Images are RGB ``uint8`` arrays of shape (H, W, 3). Audio is mono float32 PCM at 16 kHz.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, Field

from vidscout.text import join_words
from vidscout.types import TimeSpan

Image = NDArray[np.uint8]
"""An RGB frame, (H, W, 3) uint8."""

Quad = NDArray[np.float32]
"""A text line's four corners in pixels, (4, 2) float32, clockwise from the top left."""


class Word(BaseModel, frozen=True):
    """One recognised word with its time in seconds from the start of the audio."""

    text: str
    start_s: float
    end_s: float
    prob: float = 1.0


class SpeechSegment(BaseModel, frozen=True):
    """One recognised utterance."""

    text: str
    start_s: float
    end_s: float
    words: tuple[Word, ...] = ()
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0

    def keeping(self, words: Sequence[Word], *, text: str | None = None) -> SpeechSegment:
        """This segment cut to ``words`` (a non-empty run of its own), from the first's start to the last's end.

        Its text becomes the words' (`vidscout.text.join_words`) unless ``text`` is given.
        """
        return self.model_copy(update={
            "text": join_words([w.text for w in words]) if text is None else text,
            "start_s": words[0].start_s, "end_s": words[-1].end_s, "words": tuple(words),
        })  # fmt: skip


class TextBox(BaseModel, frozen=True):
    """One line of on-screen text; ``box`` is (x0, y0, x1, y1) normalised to [0, 1]."""

    text: str
    score: float
    box: tuple[float, float, float, float]


class Tag(BaseModel, frozen=True):
    """A visual label with its probability."""

    label: str
    score: float


Box = tuple[float, float, float, float]
"""(x0, y0, x1, y1), normalised to [0, 1] of the frame's width and height."""


class Detection(BaseModel, frozen=True):
    """What one detector found in a frame: how many, how sure, where."""

    count: int = Field(ge=0)
    score: float = Field(ge=0.0, le=1.0, description="Confidence that at least one is there (0-1).")
    boxes: tuple[Box, ...] = ()


class Motion(BaseModel, frozen=True):
    """How the picture changed between two frames of one shot.

    ``kind``: "static" (nothing moves), "moving" (a still camera, things move in it), "pan" or "zoom" (the
    camera moves), "fast" (too much changed to tell how).
    """

    kind: Literal["static", "moving", "pan", "zoom", "fast"]
    score: float = Field(ge=0.0, le=1.0, description="Confidence in ``kind`` (0-1).")
    shift: tuple[float, float] = Field(
        default=(0.0, 0.0), description="How far the picture's centre moved (x, y), as fractions of the width."
    )
    scale: float = Field(default=1.0, description="How much bigger the picture got (>1: the camera zooms in).")
    changed: float = Field(default=0.0, description="Share of the picture that changed once camera motion is undone.")


class FrameFacts(BaseModel, frozen=True):
    """Checkable facts about one frame; detectors that did not run are None."""

    people: Detection | None = None
    faces: Detection | None = None
    colours: tuple[tuple[str, float], ...] = Field(
        default=(), description="Colour names with the share of the frame each covers, largest first."
    )
    brightness: float = Field(default=0.0, description="Mean grey level, 0-255.")
    motion: Motion | None = Field(default=None, description="Change since the previous keyframe of the shot.")


class ChatMessage(BaseModel):
    """An OpenAI-style chat message (content is plain text or OpenAI content parts)."""

    role: Literal["system", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] = ""
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    name: str | None = None


class ToolCall(BaseModel, frozen=True):
    """A tool call requested by an LLM; ``arguments`` is the raw JSON text the model wrote."""

    id: str
    name: str
    arguments: str


class Completion(BaseModel, frozen=True):
    """One LLM reply."""

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0


class GenerationOptions(BaseModel, frozen=True):
    """Decoding knobs for an LLM call."""

    max_tokens: int = Field(default=256, ge=1, description="Upper bound on generated tokens.")
    temperature: float = Field(default=0.0, ge=0.0, le=2.0, description="0 is greedy.")
    json_schema: dict[str, Any] | None = Field(default=None, description="Constrain the reply to this schema.")
    tools: list[dict[str, Any]] | None = Field(default=None, description="OpenAI tool definitions.")
    stop: tuple[str, ...] = ()


@runtime_checkable
class ASR(Protocol):
    """Speech recognition."""

    name: str

    def transcribe(self, audio: NDArray[np.float32]) -> list[SpeechSegment]:
        """Transcribe mono 16 kHz float32 audio; times are seconds from the first sample."""
        ...


@runtime_checkable
class OCR(Protocol):
    """On-screen text reading."""

    name: str

    def read(self, image: Image) -> list[TextBox]:
        """Read all text lines in one RGB frame."""
        ...


@runtime_checkable
class TextDetector(Protocol):
    """Optional fast pre-check an OCR backend may offer, so ingest reads only frames with text."""

    def count_text_regions(self, image: Image) -> int:
        """Number of text regions found quickly (may miss small text)."""
        ...


@runtime_checkable
class LineReader(Protocol):
    """Optional two-step reading an OCR backend may offer: find the lines, then recognise only some of them.

    Ingest uses it to keep the text of lines that only moved since the last keyframe (rolling credits).
    """

    def find_lines(self, image: Image) -> list[Quad]:
        """Where the text lines of one RGB frame are, in reading order, as `read` would find them."""
        ...

    def read_lines(self, image: Image, quads: Sequence[Quad]) -> list[TextBox | None]:
        """Recognise the given lines of ``image``; ``None`` for a line `read` would drop (low score, no text)."""
        ...


@runtime_checkable
class Tagger(Protocol):
    """Visual labels (and optionally a caption) for a frame."""

    name: str

    def tag(self, images: Sequence[Image], *, top_k: int = 5) -> list[list[Tag]]:
        """Top-k labels per image, best first."""
        ...


@runtime_checkable
class TextEmbedder(Protocol):
    """Maps text into a vector space. Rows are L2-normalised float32."""

    name: str
    dim: int

    def embed_text(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed texts, shape (n, dim)."""
        ...


@runtime_checkable
class ImageTextEmbedder(Protocol):
    """Maps text and frames into one space (CLIP-style). Rows are L2-normalised float32."""

    name: str
    dim: int

    def embed_text(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed queries, shape (n, dim)."""
        ...

    def embed_images(self, images: Sequence[Image]) -> NDArray[np.float32]:
        """Embed frames, shape (n, dim)."""
        ...


@runtime_checkable
class SpeakerEmbedder(Protocol):
    """Maps speech segments to voice vectors: same speaker, high cosine. Rows are L2-normalised float32."""

    name: str
    dim: int

    def embed(self, segments: Sequence[NDArray[np.float32]]) -> NDArray[np.float32]:
        """Embed mono 16 kHz float32 segments (one speaker each), shape (n, dim); an empty segment gives zeros."""
        ...


@runtime_checkable
class ImageEmbedder(Protocol):
    """Maps frames to vectors where the same picture (rescaled, recompressed, recropped) lands close.

    Rows are L2-normalised float32; image-to-image search only, no text.
    """

    name: str
    dim: int

    def embed_images(self, images: Sequence[Image]) -> NDArray[np.float32]:
        """Embed RGB uint8 frames, shape (n, dim)."""
        ...


@runtime_checkable
class FactExtractor(Protocol):
    """Counts and measures what no label model names: people, faces, colours, light, motion."""

    name: str

    def frame_facts(self, image: Image, *, detect: bool = True) -> FrameFacts:
        """Facts of one RGB frame; ``detect=False`` skips the (slow) people and face detectors."""
        ...

    def motion(self, before: Image, after: Image) -> Motion:
        """How the picture changed from ``before`` to ``after`` (two frames of one shot, any size)."""
        ...


@runtime_checkable
class LLM(Protocol):
    """A chat model (the planner).

    ``call_mode`` says how it takes tool calls: ``"tools"`` (OpenAI-style native tool calling) or ``"json"``
    (a reply constrained by a JSON schema, as the embedded GGUF planner does with a grammar).
    """

    name: str
    call_mode: Literal["tools", "json"]

    def complete(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> Completion:
        """One chat completion."""
        ...

    def stream(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> Iterator[str]:
        """Yield the reply's text as it is generated."""
        ...


@runtime_checkable
class VideoLLM(Protocol):
    """A model that answers a question about a sequence of timestamped frames.

    ``served`` is True for a real Video-LLM behind a server (vLLM), False for the embedded stand-in that only
    lists what the offline models recognise; captions at ingest and zoom_in's questions go to served ones.
    """

    name: str
    served: bool

    def describe(self, frames: Sequence[Image], times_s: Sequence[float], prompt: str) -> str:
        """Answer ``prompt`` about ``frames`` sampled at ``times_s`` (seconds into the video)."""
        ...


@runtime_checkable
class ClipVideoLLM(Protocol):
    """A `VideoLLM` that takes a span of the video file itself (sent as a short clip) instead of frames."""

    name: str

    def describe_clip(self, video: Path, span: TimeSpan, prompt: str) -> str:
        """Answer ``prompt`` about ``span`` of ``video``; times in the answer are seconds into the video."""
        ...


def l2_normalise(x: NDArray[np.float32]) -> NDArray[np.float32]:
    """Row-wise L2 normalisation that leaves all-zero rows at zero."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)
