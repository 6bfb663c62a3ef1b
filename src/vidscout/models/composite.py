"""The embedded profile's stand-in for a video-language model: per-frame evidence from small models.

No captioner or VLM weights ship offline (MODELS.md §9). This reports what the tagger, OCR and the visual
fact extractor (people, faces, colours, light, motion) can actually see, says what it cannot, and
optionally lets the planner LLM phrase an answer from that evidence.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import cv2
import numpy as np

from vidscout.models.base import LLM, OCR, ChatMessage, FactExtractor, FrameFacts, GenerationOptions, Image, Tagger
from vidscout.models.visual_facts import BLIND_SPOTS, frame_phrases
from vidscout.types import format_hms

logger = logging.getLogger(__name__)

# OpenCV hue runs 0–179; upper bounds of each named band (red wraps around at both ends).
_HUES = ((8, "red"), (22, "orange"), (34, "yellow"), (85, "green"), (100, "cyan"), (130, "blue"),
         (150, "purple"), (170, "pink"), (180, "red"))  # fmt: skip
_SYSTEM = (
    "You answer a question about a video using only the frame observations given. Labels are guesses "
    "from an ImageNet classifier and may be wrong; on-screen text is exact; people and face counts are "
    "lower bounds from simple detectors; colours, light and motion are measured. If the observations do "
    "not answer the question, say so plainly and say what cannot be seen. Answer in one or two sentences."
)


def describe_colours(image: Image) -> str:
    """Brightness and dominant hue of an RGB frame in plain words, e.g. "bright, mostly red"."""
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
    value = float(hsv[:, :, 2].mean())
    brightness = "dark" if value < 60 else "bright" if value > 180 else "medium brightness"
    saturated = (hsv[:, :, 1] > 60) & (hsv[:, :, 2] > 50)
    if saturated.mean() < 0.15:
        return f"{brightness}, mostly grey or neutral"
    hues = hsv[:, :, 0][saturated]
    counts: dict[str, int] = {}
    low = 0
    for high, colour in _HUES:
        counts[colour] = counts.get(colour, 0) + int(((hues >= low) & (hues < high)).sum())
        low = high
    top = max(counts, key=lambda c: counts[c])
    return f"{brightness}, mostly {top}"


_MOTION_GAP_S = 3.0  # motion is reported between examined frames at most this far apart (seconds)


class CompositeVideoLLM:
    """The `VideoLLM` protocol from tagger labels, OCR text and colour statistics of sampled frames."""

    served = False

    def __init__(
        self,
        tagger: Tagger,
        ocr: OCR | None = None,
        llm: LLM | None = None,
        *,
        facts: FactExtractor | None = None,
        name: str = "composite",
        max_frames: int = 8,
        min_tag_score: float = 0.1,
    ) -> None:
        """Wire the parts (shared instances: nothing is loaded here).

        Args:
            tagger: Labels each frame.
            ocr: Reads on-screen text; None skips text.
            llm: Phrases the answer from the observations; None returns the observations themselves.
            facts: Counts people and faces, names colours, light and motion; None leaves them out.
            name: The spec this backend was built from.
            max_frames: Frames examined per call, evenly spaced (each costs ~0.05 s tagging + ~1 s OCR).
            min_tag_score: Labels below this probability are not reported.
        """
        self.name = name
        self._tagger = tagger
        self._ocr = ocr
        self._llm = llm
        self._facts = facts
        self._max_frames = max_frames
        self._min_tag_score = min_tag_score

    def observe(self, frames: Sequence[Image], times_s: Sequence[float]) -> list[str]:
        """One line of evidence per examined frame: ``[00:01:05] labels: ...; text: ...; seen: ...``.

        ``seen`` lists the visual facts (people, faces, colours, light, and the motion since the frame
        before); without a fact extractor it is the colours and brightness alone.
        """
        if len(frames) != len(times_s):
            raise ValueError(f"{len(frames)} frames but {len(times_s)} timestamps")
        if not frames:
            return []
        picks = np.unique(np.linspace(0, len(frames) - 1, min(len(frames), self._max_frames)).round().astype(int))
        chosen = [frames[i] for i in picks]
        tags = self._tagger.tag(chosen, top_k=3)
        lines: list[str] = []
        previous: tuple[Image, float] | None = None
        for i, frame, frame_tags in zip(picks, chosen, tags, strict=True):
            parts = [f"[{format_hms(times_s[i])}]"]
            labels = [f"{t.label} ({t.score:.2f})" for t in frame_tags if t.score >= self._min_tag_score]
            parts.append("labels: " + (", ".join(labels) if labels else "nothing recognised"))
            if self._ocr is not None:
                text = " | ".join(box.text for box in self._ocr.read(frame))
                if text:
                    parts.append(f'text: "{text}"')
            if self._facts is None:
                parts.append("colours: " + describe_colours(frame))
            else:
                close = previous is not None and times_s[i] - previous[1] <= _MOTION_GAP_S
                facts = self._frame_facts(frame, previous[0] if previous is not None and close else None)
                parts.append("seen: " + (", ".join(frame_phrases(facts)) or "nothing measured"))
            previous = (frame, times_s[i])
            lines.append(" ".join(parts[:1]) + " " + "; ".join(parts[1:]))
        return lines

    def _frame_facts(self, frame: Image, previous: Image | None) -> FrameFacts:
        if self._facts is None:
            raise RuntimeError("no fact extractor")
        facts = self._facts.frame_facts(frame)
        if previous is None or previous.shape != frame.shape:
            return facts
        return facts.model_copy(update={"motion": self._facts.motion(previous, frame)})

    def describe(self, frames: Sequence[Image], times_s: Sequence[float], prompt: str) -> str:
        """Answer ``prompt`` from the frames' observations (or return the observations without an LLM)."""
        lines = self.observe(frames, times_s)
        evidence = "\n".join(lines) if lines else "(no frames)"
        if self._facts is not None:
            evidence += f"\nCannot see: {BLIND_SPOTS}."
        if self._llm is None:
            return "Frame observations (no vision-language model offline; labels are ImageNet guesses):\n" + evidence
        messages = [
            ChatMessage(role="system", content=_SYSTEM),
            ChatMessage(role="user", content=f"Observations:\n{evidence}\n\nQuestion: {prompt}"),
        ]
        reply = self._llm.complete(messages, GenerationOptions(max_tokens=128)).text.strip()
        return f"{reply}\n\nEvidence:\n{evidence}"
