"""Typed knobs of the tools: one frozen model per tool, gathered in `ToolOptions` (per run, on the context)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class BrowseOptions(BaseModel, frozen=True):
    """Knobs of `browse`: what is listed and how long the observation may get.

    A run may override them with ``ctx.tool_options.browse``.
    """

    max_chars: int = Field(default=1500, ge=200)  # upper bound on the observation's length (characters)
    max_items: int = Field(default=12, ge=1)  # more segments than this are grouped into this many runs
    clips_below_s: float = 300.0  # ranges shorter than this list clips instead of chapters (seconds)
    min_chapters: int = 3  # ... and so do ranges that overlap fewer chapters than this
    speech_words: int = 20  # words of speech quoted per item, from its start
    ocr_lines: int = 2  # distinct on-screen text lines per item (most frequent first)
    tags: int = 3  # visual labels per item (most present first)
    looks: int = 4  # visual facts per item (people, faces, colours, light, motion; in that order)


class TranscriptOptions(BaseModel, frozen=True):
    """Knobs of `transcript`; a run may override them with ``ctx.tool_options.transcript``."""

    max_read_s: float = 180.0  # longest stretch of video read per call; the rest is one call away (seconds)
    top_k: int = 8  # utterances returned for a query
    snippet_chars: int = 240  # characters of a matching utterance shown around the match


class ZoomOptions(BaseModel, frozen=True):
    """Knobs of `zoom_in`; a run may override them with ``ctx.tool_options.zoom``."""

    max_span_s: float = 120.0  # longest span one call may inspect (seconds)
    vlm_frames: int = 16  # frames decoded for a real video LLM, evenly spread (it may keep fewer)
    vlm_width: int = 768  # their width (px)
    dense_step_s: float = 1.0  # embedded re-analysis: about one frame this often (seconds) ...
    dense_frames: int = 16  # ... but at most this many frames
    dense_width: int = 640  # their width (px), as at ingest
    tags_per_frame: int = 3  # labels kept per frame
    min_tag_score: float = 0.1  # labels below this probability are dropped
    min_text_likelihood: float = 2.0  # OCR only frames with at least this many text-like regions
    dense_text_likelihood: float = 15.0  # ... and read these even when the fast detector sees nothing
    max_ocr_reads: int = 4  # OCR reads per call (~1 s each on a text-heavy frame)
    min_ocr_score: float = 0.6  # OCR lines below this confidence are dropped
    max_description_chars: int = 1200  # the video model's text is cut to this length
    max_prompt_speech_chars: int = 1500  # speech passed to the video model with the question


class ToolOptions(BaseModel, frozen=True):
    """Per-run tool knobs; the defaults suit the embedded profile on a CPU."""

    browse: BrowseOptions = BrowseOptions()
    transcript: TranscriptOptions = TranscriptOptions()
    zoom: ZoomOptions = ZoomOptions()
