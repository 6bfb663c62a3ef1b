"""Speech as the database stores it: utterances cut at pauses, bounded by their words, and speaker windows."""

from __future__ import annotations

from collections.abc import Sequence

from vidscout.models.base import SpeechSegment, Word


def split_at_pauses(segments: Sequence[SpeechSegment], *, max_pause_s: float) -> list[SpeechSegment]:
    """Whisper segments as utterances: cut wherever two words are more than ``max_pause_s`` apart.

    Whisper (after its VAD joins speech chunks) can return one segment holding two sentences said a
    minute apart; anything mapping speech to time then inherits the error. Each part keeps its own words
    and runs from its first word's start to its last word's end (segment bounds are padded). Segments
    without word times are kept as they are.
    """
    out: list[SpeechSegment] = []
    for seg in segments:
        if not seg.words:
            out.append(seg)
            continue
        parts: list[list[Word]] = [[seg.words[0]]]
        for prev, word in zip(seg.words, seg.words[1:], strict=False):
            if word.start_s - prev.end_s > max_pause_s:
                parts.append([])
            parts[-1].append(word)
        out += [seg.keeping(words, text=seg.text.strip() if len(parts) == 1 else None) for words in parts]
    return out
