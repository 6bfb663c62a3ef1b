"""Answer a question from per-segment KV caches: retrieve, splice, prefill only the question, decode.

The context is ``prefix + clips (time order) + question``. The prefix (system prompt and the
"Evidence" header) is cached once per video. Each clip's evidence line is encoded once on its own
(after a one-token attention sink that is then dropped) and stored on disk; because it attends to
nothing outside itself, moving it to any slot is exact after re-rotating its keys. At question time
the selected caches are loaded, placed one after another, and only the question is prefilled. The
one difference from re-prefilling the same text is that clips do not attend to the prefix or to
each other (ReKV's and block-attention's approximation); `bench/kv_answer.py` measures how often
that changes the answer, and tests/kv/test_exactness.py proves everything else is exact.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import torch
from pydantic import BaseModel, Field

from vidscout.choices import option_letters, parse_choice
from vidscout.errors import BackendError, ConfigError
from vidscout.kv.model import KVLayers, TransformersKVModel, load_kv_model
from vidscout.kv.retrieve import Ranked, external_ranking, internal_scores, rank_by_scores, select_under_budget
from vidscout.kv.splice import splice
from vidscout.kv.store import KVManifest, KVStore, SegmentKV, StorageDType, text_hash
from vidscout.memory.documents import span_evidence, summarise_tags
from vidscout.memory.store import VideoStore
from vidscout.prompts.render import render
from vidscout.retrieval.hybrid import SegmentSearcher
from vidscout.settings import Settings
from vidscout.tools.registry import VideoDeps
from vidscout.types import Answer, Evidence, Segment, format_hms


class OpenVideo(Protocol):
    """Anything holding an open video's dependencies (`vidscout.api.Video` does)."""

    @property
    def deps(self) -> VideoDeps:
        """The video's store, searcher, backends and settings."""
        ...


def _deps(video: VideoDeps | OpenVideo) -> VideoDeps:
    return video if isinstance(video, VideoDeps) else video.deps


logger = logging.getLogger(__name__)

_SINK = "\n"
"""Text run before each clip's tokens when encoding it alone (its attention sink), then dropped."""

ProgressFn = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while segments are encoded."""


class KVOptions(BaseModel, frozen=True):
    """Knobs of KV-cache answering."""

    model: str = Field(default="gguf:qwen2.5-coder-0.5b", description="In-process model spec (see vidscout.kv.model).")
    retriever: Literal["external", "internal", "hybrid"] = Field(
        default="external",
        description="external: the database's hybrid search; internal: question queries vs stored keys over all "
        "clips (encodes every clip first); hybrid: external candidates re-ranked internally.",
    )
    top_k: int = Field(default=6, ge=1, le=64, description="Segments spliced into the context at most.")
    budget_tokens: int = Field(default=1024, ge=16, description="Tokens of spliced segment context at most.")
    candidates: int = Field(default=24, ge=1, description="External hits considered (hybrid re-ranks these).")
    max_segment_tokens: int = Field(default=160, ge=8, description="A clip's evidence line is cut to this many tokens.")
    max_new_tokens: int = Field(default=40, ge=1, description="Answer length limit (tokens).")
    storage: StorageDType = Field(default="float16", description="On-disk dtype of cached keys and values.")
    evidence: int = Field(default=3, ge=1, description="Best-ranked selected segments cited as evidence.")


@dataclass
class KVRun:
    """One answered question with what it used and how long each part took (seconds)."""

    text: str
    token_ids: list[int]
    logits: list[torch.Tensor]
    selected: list[int]
    ranking: list[Ranked]
    context_tokens: int
    timings: dict[str, float] = field(default_factory=dict[str, float])


def segment_line(store: VideoStore, clip: Segment) -> str:
    """One clip's evidence as the line the model reads (speech, on-screen text, tags), newline-terminated."""
    ev = span_evidence(store, clip.span.start_s, clip.span.end_s)
    line = render(
        "kv_segment",
        start=format_hms(clip.span.start_s),
        end=format_hms(clip.span.end_s),
        speech=" ".join(ev.speech),
        ocr=" | ".join(text for text, _ in ev.ocr),
        seen=summarise_tags(ev.tags) if ev.tags else "",
    )
    return line + "\n"


class KVEngine:
    """KV-cache answering over one video for one model: lazy per-clip caches on disk, retrieval, splicing.

    Memory holds the model, the prefix cache and, per question, only the selected clips' caches
    (loaded from their files); token ids of clips are kept once computed (a few hundred ints each).
    """

    def __init__(
        self,
        store: VideoStore,
        model: TransformersKVModel,
        *,
        searcher: SegmentSearcher | None = None,
        options: KVOptions | None = None,
    ) -> None:
        self.store = store
        self.model = model
        self.searcher = searcher
        self.options = options or KVOptions()
        self.clips = store.segments("clip")
        if not self.clips:
            raise ConfigError(f"{store.root} has no clips; finish `vidscout ingest` on the video first.")
        self.prefix_text = render("kv_prefix") + "\n"
        self._prefix_ids = model.tokenize(self.prefix_text)
        # Each clip is encoded alone after this local attention sink, which is not spliced (see encode).
        self._sink_ids = model.tokenize(_SINK)
        self._encode_pos = len(self._prefix_ids) + len(self._sink_ids)
        sample = render("kv_segment", start="00:00:00", end="00:00:01", speech="a", ocr="b", seen="c")
        prompt_sha = hashlib.sha256(f"{self.prefix_text}\x00{_SINK}\x00{sample}".encode()).hexdigest()
        import transformers

        manifest = KVManifest(
            model=model.name,
            revision=model.revision,
            library=f"transformers {transformers.__version__}",
            prompt_sha256=prompt_sha,
            dtype=self.options.storage,
            n_layers=model.n_layers,
            n_kv_heads=model.n_kv_heads,
            head_dim=model.head_dim,
            rope_theta=model.rope_theta,
            prefix_tokens=len(self._prefix_ids),
            max_segment_tokens=self.options.max_segment_tokens,
        )
        self.kv = KVStore.open(store, manifest)
        self._prefix: KVLayers | None = None
        self._ids: dict[int, list[int]] = {}
        self._lines: dict[int, str] = {}

    # --- segments --------------------------------------------------------------------------

    @property
    def prefix_tokens(self) -> int:
        """Tokens of the shared prefix; segments are encoded at positions starting here."""
        return len(self._prefix_ids)

    def _clip(self, index: int) -> Segment:
        if not 0 <= index < len(self.clips):
            raise ConfigError(f"No clip {index}; this video has clips 0..{len(self.clips) - 1}.")
        return self.clips[index]

    def line(self, index: int) -> str:
        """The evidence line of clip ``index``."""
        if index not in self._lines:
            self._lines[index] = segment_line(self.store, self._clip(index))
        return self._lines[index]

    def token_ids(self, index: int) -> list[int]:
        """Token ids of clip ``index``'s line, cut to ``max_segment_tokens`` (still newline-terminated)."""
        if index not in self._ids:
            ids = self.model.tokenize(self.line(index))
            cap = self.options.max_segment_tokens
            if len(ids) > cap:
                newline = self.model.tokenize("\n")
                ids = ids[: cap - len(newline)] + newline
            self._ids[index] = ids
        return self._ids[index]

    def prefix(self) -> KVLayers:
        """The shared prefix's cache (computed and stored on first use)."""
        if self._prefix is None:
            sha = text_hash(self.prefix_text)
            loaded = self.kv.load_prefix(sha, self.model.dtype)
            if loaded is None:
                _, layers = self.model.forward(self._prefix_ids)
                keys = torch.stack([k[0] for k, _ in layers]).cpu()
                values = torch.stack([v[0] for _, v in layers]).cpu()
                self.kv.save_prefix(keys, values, sha)
                # Round-trip through storage so every answer sees the same (possibly rounded) prefix.
                loaded = self.kv.load_prefix(sha, self.model.dtype)
                if loaded is None:
                    raise BackendError(f"The prefix cache was written but cannot be read back from {self.kv.root}.")
            k, v = loaded
            self._prefix = [(k[i].unsqueeze(0), v[i].unsqueeze(0)) for i in range(k.shape[0])]
        return self._prefix

    def segment(self, index: int) -> SegmentKV:
        """Clip ``index``'s cache: read from disk, or encoded now and stored (lazy compute)."""
        ids = self.token_ids(index)
        sha = _ids_hash(ids)
        cached = self.kv.load_segment("clip", index, self.model.dtype, text_sha256=sha)
        if cached is not None:
            return cached
        keys, values, key_mean = self.model.encode(ids, sink=self._sink_ids, start_pos=self._encode_pos)
        seg = SegmentKV(
            level="clip",
            index=index,
            span=self._clip(index).span,
            start_pos=self._encode_pos,
            keys=keys,
            values=values,
            key_mean=key_mean,
            text_sha256=sha,
        )
        self.kv.save_segment(seg)
        # Load back so a fresh cache and a stored one give identical answers (storage dtype applies).
        stored = self.kv.load_segment("clip", index, self.model.dtype, text_sha256=sha)
        if stored is None:
            raise BackendError(f"The cache of clip {index} was written but cannot be read back from {self.kv.root}.")
        return stored

    def _key_mean(self, index: int) -> torch.Tensor:
        ids = self.token_ids(index)
        sha = _ids_hash(ids)
        mean = self.kv.load_key_mean("clip", index, text_sha256=sha)
        return mean if mean is not None else self.segment(index).key_mean

    def precompute(self, indices: Sequence[int] | None = None, *, progress: ProgressFn | None = None) -> int:
        """Encode and store the caches of ``indices`` (default: every clip); returns how many were new."""
        todo = list(range(len(self.clips))) if indices is None else list(indices)
        before = self.kv.cached_count()
        for n, i in enumerate(todo, 1):
            self.segment(i)
            if progress is not None:
                progress(n, len(todo))
        return self.kv.cached_count() - before

    # --- retrieval -------------------------------------------------------------------------

    def _question_ids(self, question: str, options: Sequence[str]) -> list[int]:
        text = render("kv_question", question=question, options=option_letters(options)) + "\n"
        return self.model.tokenize(text)

    def rank(self, question: str) -> list[Ranked]:
        """Clips ranked for ``question`` by the configured retriever, best first."""
        opts = self.options
        if opts.retriever in ("external", "hybrid"):
            if self.searcher is None:
                raise ConfigError(f"retriever={opts.retriever!r} needs the video's searcher; pass one or use internal.")
            ranking = external_ranking(self.searcher, question, candidates=opts.candidates)
            if opts.retriever == "external":
                return ranking
            indices = [r.index for r in ranking]
        else:
            indices = list(range(len(self.clips)))
        if not indices:
            return []
        query = self.model.query_vectors(self.model.tokenize(question), self.prefix(), start_pos=self.prefix_tokens)
        means = torch.stack([self._key_mean(i) for i in indices])
        return rank_by_scores(indices, internal_scores(query, means))

    def select(self, ranking: Sequence[Ranked]) -> list[int]:
        """The clips to splice, in time order, under the token budget."""
        n_tokens = {r.index: len(self.token_ids(r.index)) for r in ranking}
        return select_under_budget(
            ranking, n_tokens, top_k=self.options.top_k, budget_tokens=self.options.budget_tokens
        )

    # --- answering -------------------------------------------------------------------------

    def run(
        self,
        question: str,
        options: Sequence[str] = (),
        *,
        selected: Sequence[int] | None = None,
        mode: Literal["kv", "prefill"] = "kv",
    ) -> KVRun:
        """Answer ``question``; ``mode="prefill"`` re-prefills the same segment tokens instead of splicing.

        Args:
            question: The question.
            options: Multiple-choice options ("A. ..." or bare texts), or empty for an open answer.
            selected: Clip indices to use (time order); default: retrieve them.
            mode: "kv" splices stored caches; "prefill" is the baseline that runs the same tokens
                through the model with full causal attention after the cached prefix.
        """
        if not question.strip():
            raise ConfigError("The question is empty; pass the question text.")
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        ranking: list[Ranked] = []
        if selected is None:
            ranking = self.rank(question)
            selected = self.select(ranking)
        q_ids = self._question_ids(question, options)
        prefix = self.prefix()
        t1 = time.perf_counter()
        timings["retrieve_s"] = t1 - t0
        if mode == "kv":
            segments = [self.segment(i) for i in selected]
            layers, pos = splice(_as_tensors(prefix), segments, self.model.inv_freq, gap=len(self._sink_ids))
        else:
            ids = [t for i in selected for t in self.token_ids(i)]
            layers, pos = prefix, self.prefix_tokens
            if ids:
                _, layers = self.model.forward(ids, past=prefix, start_pos=pos)
                pos += len(ids)
        t2 = time.perf_counter()
        timings["context_s"] = t2 - t1  # kv: read + re-rotate caches; prefill: run the segment tokens
        logits, layers = self.model.forward(q_ids, past=layers, start_pos=pos)
        t3 = time.perf_counter()
        timings["question_s"] = t3 - t2
        out_ids, rows = self.model.greedy(
            logits, layers, start_pos=pos + len(q_ids), max_new_tokens=self.options.max_new_tokens
        )
        timings["decode_s"] = time.perf_counter() - t3
        timings["total_s"] = time.perf_counter() - t0
        return KVRun(
            text=self.model.detokenize(out_ids).strip(),
            token_ids=out_ids,
            logits=rows,
            selected=list(selected),
            ranking=ranking,
            context_tokens=pos - self.prefix_tokens,
            timings=timings,
        )

    def to_answer(self, question: str, options: Sequence[str], run: KVRun) -> Answer:
        """The agent's `Answer` type for a run: the reply, the chosen option, the best selected clips as evidence."""
        texts = [text for _, text in option_letters(options)]
        option = parse_choice(run.text, texts) if options else None
        rank = {r.index: n for n, r in enumerate(run.ranking)}
        best = sorted(run.selected, key=lambda i: rank.get(i, len(rank)))[: self.options.evidence]
        evidence = tuple(
            Evidence(span=self.clips[i].span, note=self.line(i).split("] ", 1)[-1].strip()[:120]) for i in sorted(best)
        )
        return Answer(
            question=question, answer=run.text, option=option, evidence=evidence, steps=0, strategy="kv",
            option_source="answer_text" if option else None,
        )  # fmt: skip


def _ids_hash(ids: Sequence[int]) -> str:
    """Ties a stored segment cache to the exact tokens it encodes."""
    return text_hash(",".join(map(str, ids)))


def _as_tensors(layers: KVLayers) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-layer (1, H, T, D) caches as stacked (layers, H, T, D) keys and values."""
    return torch.stack([k[0] for k, _ in layers]), torch.stack([v[0] for _, v in layers])


@functools.lru_cache(maxsize=1)
def _cached_model(spec: str, settings_json: str) -> TransformersKVModel:
    # One model per process (the last spec asked for): a second copy would double resident memory.
    return load_kv_model(spec, Settings.model_validate_json(settings_json))


def kv_engine(video: VideoDeps | OpenVideo, options: KVOptions | None = None) -> KVEngine:
    """The `KVEngine` of an open video (`vidscout.api.Video` or its deps); the model loads once per process."""
    opts = options or KVOptions()
    deps = _deps(video)
    model = _cached_model(opts.model, deps.settings.model_dump_json())
    return KVEngine(deps.store, model, searcher=deps.searcher, options=opts)


def answer_with_kv(
    video: VideoDeps | OpenVideo, question: str, options: Sequence[str] = (), *, kv: KVOptions | None = None
) -> Answer:
    """Answer ``question`` about ``video`` from retrieved per-clip KV caches (computed lazily and stored).

    Args:
        video: An open video (`vidscout.open`).
        question: The question, in plain words.
        options: Multiple-choice options; the answer's ``option`` is then the chosen letter.
        kv: Model, retriever and budget knobs.

    Returns:
        The same `Answer` type the agent returns (``steps=0``: no tool calls).
    """
    engine = kv_engine(video, kv)
    run = engine.run(question, options)
    logger.info(
        "kv answer: %d clips, %d context tokens, %.2f s (%s)",
        len(run.selected),
        run.context_tokens,
        run.timings["total_s"],
        ", ".join(f"{k}={v:.2f}" for k, v in run.timings.items()),
    )
    return engine.to_answer(question, options, run)


def precompute_kv(
    video: VideoDeps | OpenVideo, *, kv: KVOptions | None = None, progress: ProgressFn | None = None
) -> int:
    """Encode and store every clip's cache of ``video`` now (instead of lazily); returns how many were new."""
    return kv_engine(video, kv).precompute(progress=progress)
