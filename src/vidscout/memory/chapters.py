"""Chapter summaries with titles, and a PNG contact sheet of the chapters' keyframes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from pydantic import BaseModel

from vidscout.errors import BackendError
from vidscout.memory.documents import span_evidence, summarise_tags
from vidscout.memory.store import VideoStore
from vidscout.models.base import LLM, ChatMessage, GenerationOptions
from vidscout.text import tokenize
from vidscout.types import TimeSpan, format_hms

_TITLE_SCHEMA = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}


class ChapterSummary(BaseModel, frozen=True):
    """One chapter: its span, a short title, and the evidence the title came from."""

    index: int
    span: TimeSpan
    title: str
    speech: str = ""
    ocr: tuple[str, ...] = ()
    tags: str = ""
    looks: tuple[str, ...] = ()  # visual facts in words ("at least 3 people", "mostly green", "camera pans left")
    keyframes: tuple[str, ...] = ()  # JPEG file names in the store's frames/ directory


def heuristic_title(
    speech: str, ocr: Sequence[str], tags: str, *, looks: Sequence[str] = (), max_words: int = 7
) -> str:
    """A title from the evidence alone: the longest on-screen line, else the speech's opening words, else tags.

    Tags are followed by the first two visual facts (``looks``), which alone title a chapter without tags.
    """
    lines = [o.strip() for o in ocr if len(tokenize(o)) >= 2]
    if lines:
        words = max(lines, key=len).split()
        return " ".join(words[:max_words])
    if speech.strip():
        words = speech.split()
        return " ".join(words[:max_words]) + ("…" if len(words) > max_words else "")
    parts = [tags.split(",")[0].strip(), *looks[:2]] if tags else list(looks[:2])
    return "; ".join(p for p in parts if p).capitalize() or "Untitled"


def chapter_summaries(store: VideoStore, *, llm: LLM | None = None, keyframes: int = 4) -> list[ChapterSummary]:
    """Summarise every chapter; with ``llm``, titles are written by the planner from the evidence."""
    out: list[ChapterSummary] = []
    for ch in store.segments("chapter"):
        a, b = ch.span.start_s, ch.span.end_s
        ev = span_evidence(store, a, b)
        speech = " ".join(ev.speech)
        ocr = tuple(text for text, _ in sorted(ev.ocr, key=lambda line: -line[1])[:8])  # the 8 surest lines
        tags = summarise_tags(ev.tags, top=4)
        files = [f.file for f in store.frames_between(a, b)]
        picks = (
            tuple(files[int(i)] for i in np.linspace(0, len(files) - 1, min(keyframes, len(files)))) if files else ()
        )
        looks = tuple(p for p in ev.facts if p != "text on screen")
        title = heuristic_title(speech, ocr, tags, looks=looks)
        if llm is not None:
            title = _llm_title(llm, speech, ocr, ", ".join([tags, *looks]) if tags else ", ".join(looks)) or title
        out.append(ChapterSummary(index=ch.index, span=ch.span, title=title, speech=speech, ocr=ocr, tags=tags,
                                  looks=looks, keyframes=picks))  # fmt: skip
    return out


def _llm_title(llm: LLM, speech: str, ocr: Sequence[str], tags: str) -> str:
    evidence = (
        f"Speech: {speech[:600] or '(none)'}\nOn-screen text: {' | '.join(ocr)[:300] or '(none)'}\nVisuals: {tags}"
    )
    prompt = f"Write a title of at most six words for this part of a video.\n<<<\n{evidence}\n>>>"
    try:
        reply = llm.complete([ChatMessage(role="user", content=prompt)],
                             GenerationOptions(max_tokens=32, json_schema=_TITLE_SCHEMA))  # fmt: skip
        title = str(json.loads(reply.text).get("title", "")).strip()
    except (BackendError, ValueError, AttributeError):
        return ""
    return " ".join(title.split()[:8])


def contact_sheet(store: VideoStore, chapters: Sequence[ChapterSummary], out: Path, *, thumb_w: int = 240) -> Path:
    """One row per chapter: time range and title, then its keyframes. Written as PNG."""
    thumb_h = thumb_w * 9 // 16
    cols = max((len(c.keyframes) for c in chapters), default=1) or 1
    label_w, pad = 360, 8
    row_h = thumb_h + 2 * pad
    sheet = np.full((max(1, len(chapters)) * row_h, label_w + cols * (thumb_w + pad) + pad, 3), 24, np.uint8)
    for r, ch in enumerate(chapters):
        y = r * row_h + pad
        head = f"{format_hms(ch.span.start_s)}-{format_hms(ch.span.end_s)}"
        cv2.putText(sheet, head, (pad, y + 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 210, 120), 1, cv2.LINE_AA)
        for k, line in enumerate(_wrap(ch.title, 30)[:4]):
            cv2.putText(sheet, line, (pad, y + 52 + 22 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (235, 235, 235), 1,
                        cv2.LINE_AA)  # fmt: skip
        for c, name in enumerate(ch.keyframes):
            img = cv2.imread(str(store.root / "frames" / name))
            if img is None:
                continue
            x = label_w + c * (thumb_w + pad)
            sheet[y : y + thumb_h, x : x + thumb_w] = cv2.resize(img, (thumb_w, thumb_h), interpolation=cv2.INTER_AREA)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), sheet):
        raise BackendError(f"Could not write the contact sheet to {out}.")
    return out


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word[:width])
    return lines or [""]
