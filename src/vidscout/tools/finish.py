"""The `finish` tool: the final answer, the chosen option for multiple choice, and evidence spans."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field

from vidscout.choices import LETTERS, parse_choice
from vidscout.errors import ToolRetry
from vidscout.tools.registry import Seconds, ToolContext
from vidscout.types import Evidence, TimeSpan, format_span


def _letter(value: Any) -> Any:
    """Accept "b", "(B)", "B." or "B) red" for B; anything else is left for validation to reject."""
    if isinstance(value, str):
        text = value.strip().lstrip("(").strip()
        if text and text[0].upper() in LETTERS and (len(text) == 1 or not text[1].isalpha()):
            return text[0].upper()
    return value


class EvidenceArg(BaseModel):
    """One span that supports the answer."""

    start: Seconds = Field(description="Start of the span, HH:MM:SS.")
    end: Seconds = Field(description="End of the span, HH:MM:SS.")
    note: str = Field(default="", max_length=200, description="What this span shows, in a few words.")


class FinishArgs(BaseModel):
    """Arguments of `finish`."""

    answer: str = Field(min_length=1, description="The final answer to the question, in one or two sentences.")
    option: Annotated[str | None, BeforeValidator(_letter)] = Field(
        default=None, description="Multiple-choice questions only: the letter of the chosen option."
    )
    evidence: list[EvidenceArg] = Field(
        default_factory=list[EvidenceArg],
        max_length=5,
        description="Up to 5 time spans that support the answer, most important first.",
    )


class FinishResult(BaseModel):
    """The agent's final answer (the run ends with it)."""

    answer: str
    option: str | None = None
    option_text: str | None = None  # the chosen option's text, for multiple choice
    option_from_text: bool = False  # the call gave no letter; it was read from the answer text
    evidence: list[Evidence] = Field(default_factory=list[Evidence])

    def to_observation(self) -> str:
        """One line with the answer (and option), then the evidence spans."""
        chosen = f"({self.option}) " if self.option else ""
        lines = [f"Final answer: {chosen}{self.answer}"]
        for e in self.evidence:
            lines.append(f"- evidence {format_span(e.span)}" + (f": {e.note}" if e.note else ""))
        return "\n".join(lines)


def finish(ctx: ToolContext, args: FinishArgs) -> FinishResult:
    """Give the final answer and end the investigation.

    For a multiple-choice question also give the option letter. Cite up to 5 spans that support the answer.
    """
    answer = " ".join(args.answer.split())
    if not answer:
        raise ToolRetry("The answer is empty; write the answer to the question.")
    evidence: list[Evidence] = []
    for n, e in enumerate(args.evidence, start=1):
        try:
            a, b = ctx.check_span(e.start, e.end)
        except ToolRetry as err:
            whole = format_span(TimeSpan(start_s=0.0, end_s=ctx.duration_s))
            raise ToolRetry(f"evidence {n}: {err} Cite spans inside {whole}.") from err
        evidence.append(Evidence(span=TimeSpan(start_s=a, end_s=b), note=" ".join(e.note.split())))
    option, option_text = None, None
    if ctx.options:
        valid = LETTERS[: len(ctx.options)]
        # A missing letter is recovered when the answer names exactly one option ("John Dashwood").
        chosen = args.option if args.option is not None else parse_choice(answer, ctx.options)
        if chosen is None or chosen not in valid:
            choices = "; ".join(f"{letter}: {text}" for letter, text in zip(valid, ctx.options, strict=False))
            given = f"{args.option!r} is not one of the options" if args.option else "option is missing"
            raise ToolRetry(
                f"This is a multiple-choice question and {given}. Set option to one of "
                f"{', '.join(valid)} ({choices}) and call finish again."
            )
        option, option_text = chosen, ctx.options[valid.index(chosen)]
    return FinishResult(
        answer=answer, option=option, option_text=option_text, evidence=evidence,
        option_from_text=option is not None and args.option is None,
    )  # fmt: skip
