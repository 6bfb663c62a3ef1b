"""The `zoom_in` tool: look closely at a short span with denser frames than the index holds.

With a real video-language model (an ``openai:`` spec) the model gets the span's frames and the
question. On the embedded profile the span is re-analysed densely instead: visual labels and visual
facts (people, faces, colours, light, motion) on every frame, OCR where text is likely, the span's
speech, then the composite VideoLLM's reading.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from pydantic import BaseModel, Field

from vidscout.errors import ToolRetry
from vidscout.memory.documents import summarise_tags
from vidscout.memory.text_regions import text_likelihood
from vidscout.models.base import ClipVideoLLM, FrameFacts, Image, TextDetector
from vidscout.models.visual_facts import BLIND_SPOTS, fact_phrases, frame_phrases, summarise_facts
from vidscout.retrieval.search import Utterance
from vidscout.tools.options import ZoomOptions
from vidscout.tools.registry import Seconds, ToolContext
from vidscout.types import TimeSpan, format_hms, format_span
from vidscout.video.decode import SAMPLE_RATE, frames_at, load_audio


class ZoomArgs(BaseModel):
    """Arguments of `zoom_in`."""

    start: Seconds = Field(description="Start of the span to inspect, HH:MM:SS.")
    end: Seconds = Field(
        description="End of the span, HH:MM:SS; at most 2 minutes after start. Shorter spans are seen in more detail."
    )
    question: str = Field(
        min_length=1,
        description="What to find out in this span, e.g. 'what is written on the sign?' or 'what is the man holding?'.",
    )


class FrameEvidence(BaseModel, frozen=True):
    """What the embedded re-analysis found in one frame."""

    t_s: float
    tags: tuple[str, ...] = ()  # visual labels, best first
    text: tuple[str, ...] = ()  # OCR lines (only on frames that were read)
    facts: tuple[str, ...] = ()  # visual facts in words (people, faces, colours, light, motion since the frame before)


class ZoomResult(BaseModel):
    """The video model's reading of a span, the per-frame evidence and the span's speech."""

    span: TimeSpan
    question: str
    model: str = Field(description="The VideoLLM that described the frames.")
    frame_times_s: list[float] = Field(description="Times of the frames examined.")
    description: str = Field(description="The VideoLLM's answer or observations.")
    frames: list[FrameEvidence] = Field(default_factory=list[FrameEvidence], description="Dense re-analysis.")
    seen: tuple[str, ...] = Field(default=(), description="Labels most present across the frames.")
    looks: tuple[str, ...] = Field(default=(), description="Visual facts merged over the frames, in words.")
    speech: list[Utterance] = Field(default_factory=list[Utterance])
    max_description_chars: int = 1200

    def to_observation(self) -> str:
        """The video model's text, then per-time labels and text (runs of equal labels merged), then speech."""
        times = self.frame_times_s
        step = f", about {(times[-1] - times[0]) / (len(times) - 1):.1f} s apart" if len(times) > 1 else ""
        seen = f"{len(times)} frames{step}" if times else "sent as a video clip"
        lines = [f'zoom_in {format_span(self.span)}: {seen}; question "{self.question}".']
        desc = self.description.strip()
        if len(desc) > self.max_description_chars:
            desc = desc[: self.max_description_chars].rsplit(" ", 1)[0] + " …"
        lines.append(f"Video model ({self.model}): {desc}" if desc else f"Video model ({self.model}): no answer.")
        if self.frames:
            lines.append(
                "Per-time evidence (labels are guesses of an ImageNet classifier; text is read exactly; "
                "people and faces are lower bounds):"
            )
            lines += _evidence_lines(self.frames)
            if self.seen:
                lines.append("Most present overall: " + ", ".join(self.seen))
            if self.looks:
                lines.append("Over the span: " + ", ".join(self.looks))
            lines.append(f"Cannot see: {BLIND_SPOTS}.")
        if self.speech:
            lines.append("Speech in the span:")
            lines += [f"[{format_hms(u.span.start_s)}] {u.text}" for u in self.speech]
        else:
            lines.append("No speech in the span.")
        return "\n".join(lines)


def _evidence_lines(frames: Sequence[FrameEvidence]) -> list[str]:
    """Consecutive frames with the same labels and facts and no text share one ``HH:MM:SS-HH:MM:SS`` line."""
    lines: list[str] = []
    for (tags, facts, has_text), run in itertools.groupby(frames, key=lambda f: (f.tags, f.facts, bool(f.text))):
        group = list(run)
        seen = ", ".join(tags) or "nothing recognised"
        looks = f" | looks: {', '.join(facts)}" if facts else ""
        if has_text:
            for f in group:
                text = "; ".join(f'"{t}"' for t in f.text)
                lines.append(f"[{format_hms(f.t_s)}] text: {text} | seen: {seen}{looks}")
            continue
        when = format_hms(group[0].t_s)
        if len(group) > 1:
            when += f"-{format_hms(group[-1].t_s)}"
        lines.append(f"[{when}] seen: {seen}{looks}")
    return lines


def zoom_in(ctx: ToolContext, args: ZoomArgs) -> ZoomResult:
    """Look closely at a short span (at most 2 minutes) to answer a question about what is shown.

    Examines many frames across the span, reads on-screen text and lists what is said there.
    """
    o = ctx.tool_options.zoom
    try:
        a, b = ctx.check_span(args.start, args.end)
    except ToolRetry as e:
        whole = format_span(TimeSpan(start_s=0.0, end_s=ctx.duration_s))
        raise ToolRetry(f"{e} Give a span of at most {format_hms(o.max_span_s)} inside {whole}.") from e
    span = TimeSpan(start_s=a, end_s=b)
    if span.duration_s > o.max_span_s:
        raise ToolRetry(
            f"zoom_in looks at most {format_hms(o.max_span_s)} at a time, and {format_span(span)} is "
            f"{format_hms(span.duration_s)} long. Pick the part that matters (search or browse can find it) "
            "and zoom into that."
        )
    question = " ".join(args.question.split())
    if not question:
        raise ToolRetry("The question is empty; say what to look for in this span.")
    speech = _speech(ctx, span)
    if ctx.backends.video_llm.served:
        return _ask_video_llm(ctx, span, question, speech, o)
    return _reanalyse(ctx, span, question, speech, o)


def _prompt(question: str, speech: Sequence[Utterance], limit: int) -> str:
    """The question, followed by what is said in the span (the model sees frames only)."""
    if not speech:
        return question
    said = "\n".join(f"[{format_hms(u.span.start_s)}] {u.text}" for u in speech)
    if len(said) > limit:
        said = said[:limit].rsplit(" ", 1)[0] + " …"
    return f"{question}\n\nWhat is said during these frames:\n{said}"


def _ask_video_llm(
    ctx: ToolContext, span: TimeSpan, question: str, speech: list[Utterance], o: ZoomOptions
) -> ZoomResult:
    """Real profile: the span's frames, evenly spread (or the span as a clip), and the question go to the video LLM."""
    video_llm = ctx.backends.video_llm
    prompt = _prompt(question, speech, o.max_prompt_speech_chars)
    if isinstance(video_llm, ClipVideoLLM):
        text = video_llm.describe_clip(ctx.video, span, prompt)
        return ZoomResult(span=span, question=question, model=video_llm.name, frame_times_s=[], description=text,
                          speech=speech, max_description_chars=o.max_description_chars)  # fmt: skip
    times = span.even_times(o.vlm_frames)
    frames = frames_at(ctx.video, times, width=min(o.vlm_width, ctx.info.width))
    text = video_llm.describe(frames, times, prompt)
    return ZoomResult(
        span=span, question=question, model=video_llm.name, frame_times_s=times, description=text,
        speech=speech, max_description_chars=o.max_description_chars,
    )  # fmt: skip


def _reanalyse(ctx: ToolContext, span: TimeSpan, question: str, speech: list[Utterance], o: ZoomOptions) -> ZoomResult:
    """Embedded profile: labels on every frame, OCR where text is likely, then the composite reading."""
    n = max(1, min(o.dense_frames, round(span.duration_s / o.dense_step_s)))
    times = span.even_times(n)
    frames = frames_at(ctx.video, times, width=min(o.dense_width, ctx.info.width))
    tagged = ctx.backends.tagger.tag(frames, top_k=o.tags_per_frame)
    kept = [[t for t in tags if t.score >= o.min_tag_score] for tags in tagged]
    read = _read_text(ctx, frames, times, o)
    facts = _facts(ctx, frames, times)
    evidence = [
        FrameEvidence(t_s=t, tags=tuple(tag.label for tag in tags), text=read.get(i, ()),
                      facts=tuple(frame_phrases(facts[i])))
        for i, (t, tags) in enumerate(zip(times, kept, strict=True))
    ]  # fmt: skip
    seen = summarise_tags([[(tag.label, tag.score) for tag in tags] for tags in kept], top=5)
    video_llm = ctx.backends.video_llm
    text = video_llm.describe(frames, times, _prompt(question, speech, o.max_prompt_speech_chars))
    return ZoomResult(
        span=span, question=question, model=video_llm.name, frame_times_s=times, description=text,
        frames=evidence, seen=tuple(s for s in seen.split(", ") if s), speech=speech,
        looks=tuple(fact_phrases(summarise_facts(facts))),
        max_description_chars=o.max_description_chars,
    )  # fmt: skip


def _facts(ctx: ToolContext, frames: Sequence[Image], times: Sequence[float]) -> list[FrameFacts]:
    """Visual facts of each frame, with its motion since the frame before when no cut lies between them."""
    extractor = ctx.backends.facts
    cuts = ctx.store.cuts()
    out: list[FrameFacts] = []
    for i, frame in enumerate(frames):
        facts = extractor.frame_facts(frame)
        if i > 0 and not any(times[i - 1] < c <= times[i] for c in cuts):
            facts = facts.model_copy(update={"motion": extractor.motion(frames[i - 1], frame)})
        out.append(facts)
    return out


def _read_text(
    ctx: ToolContext, frames: Sequence[Image], times: Sequence[float], o: ZoomOptions
) -> dict[int, tuple[str, ...]]:
    """OCR lines per frame index, for at most ``max_ocr_reads`` frames where text is likely.

    The cheap text-likelihood score ranks the frames; the OCR backend's fast detector (when it has
    one) vetoes frames without text regions; frames next to one already read are skipped, since
    neighbouring frames usually show the same text.
    """
    scores = [text_likelihood(f) for f in frames]
    ranked = sorted((i for i, s in enumerate(scores) if s >= o.min_text_likelihood), key=lambda i: -scores[i])
    gap = 1.5 * (times[1] - times[0]) if len(times) > 1 else 0.0
    ocr = ctx.backends.ocr
    read: dict[int, tuple[str, ...]] = {}
    for i in ranked:
        if len(read) >= o.max_ocr_reads:
            break
        if any(abs(times[i] - times[j]) < gap for j in read):
            continue
        # The detector's veto is skipped for very text-like frames: it misses small text.
        if (
            scores[i] < o.dense_text_likelihood
            and isinstance(ocr, TextDetector)
            and ocr.count_text_regions(frames[i]) == 0
        ):
            continue
        read[i] = tuple(box.text for box in ocr.read(frames[i]) if box.score >= o.min_ocr_score)
    return {i: lines for i, lines in read.items() if lines}


def _speech(ctx: ToolContext, span: TimeSpan) -> list[Utterance]:
    """The stored utterances of the span; transcribed now when the speech layer does not cover it."""
    state = ctx.store.layer("speech")
    covered = state is not None and (state.done or state.progress * ctx.info.duration_s >= span.end_s)
    if covered or not ctx.info.has_audio:
        return ctx.searcher.speech_in(span)
    audio = load_audio(ctx.video, start_s=span.start_s, end_s=span.end_s)
    if len(audio) < SAMPLE_RATE // 10:
        return []
    return [
        Utterance(
            id=-1,  # not a stored row
            span=TimeSpan(start_s=span.start_s + seg.start_s, end_s=span.start_s + max(seg.start_s, seg.end_s)),
            text=seg.text.strip(),
            words=tuple(
                w.model_copy(update={"start_s": span.start_s + w.start_s, "end_s": span.start_s + w.end_s})
                for w in seg.words
            ),
        )
        for seg in ctx.backends.asr.transcribe(audio)
        if seg.text.strip()
    ]
