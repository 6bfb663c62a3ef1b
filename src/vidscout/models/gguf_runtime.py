"""Two interchangeable llama.cpp bindings behind one small interface: cyllama and llama-cpp-python.

Both take GBNF grammars, so JSON-schema replies are constrained during decoding on either.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from vidscout.errors import BackendError, ConfigError
from vidscout.models._env import missing_package, prepare_runtime

logger = logging.getLogger(__name__)

RUNTIMES = ("cyllama", "llama-cpp")
"""Preference order for ``runtime="auto"``: cyllama first (see `GGUFLLM` for the measurement)."""

_MODULES = {"cyllama": "cyllama", "llama-cpp": "llama_cpp"}
_PIP = {"cyllama": "cyllama==0.2.18", "llama-cpp": "llama-cpp-python"}  # the latter compiles for 6–26 min


class GGUFRuntime(Protocol):
    """A loaded GGUF model that turns prompt tokens into a stream of text deltas."""

    name: str
    n_ctx: int
    chat_template: str
    bos_token: str
    eos_token: str
    finish_reason: str
    """Why the last ``generate`` ended: "stop" (end of turn) or "length" (token or context limit)."""
    completion_tokens: int

    def tokenize(self, text: str) -> list[int]:
        """Tokens of a rendered prompt (special tokens such as ``<|im_start|>`` are parsed)."""
        ...

    def generate(
        self, tokens: list[int], *, max_tokens: int, temperature: float, seed: int, grammar: str | None
    ) -> Iterator[str]:
        """Yield UTF-8-safe text deltas; closing the iterator early stops decoding."""
        ...


def json_schema_grammar(schema: dict[str, Any]) -> str:
    """GBNF grammar for a JSON schema (llama.cpp's converter, as vendored by cyllama).

    Raises:
        ConfigError: The schema uses features the converter does not support.
    """
    try:
        from cyllama.utils.json_schema_to_grammar import json_schema_to_grammar
    except ImportError:
        try:
            from llama_cpp.llama_grammar import (  # pyright: ignore[reportMissingImports]
                json_schema_to_gbnf as json_schema_to_grammar,
            )
        except ImportError as e:
            raise missing_package("A llama.cpp binding", _PIP["cyllama"]) from e
    try:
        return json_schema_to_grammar(schema)
    except (ValueError, TypeError, KeyError) as e:
        raise ConfigError(f"Cannot turn this JSON schema into a grammar: {e}") from e


def pick_runtime(runtime: str) -> str:
    """Resolve ``"auto"`` to the first installed binding; validate an explicit name.

    Raises:
        ConfigError: Unknown runtime name.
        ModelUnavailableError: No (or not the requested) binding is installed.
    """
    if runtime != "auto" and runtime not in RUNTIMES:
        raise ConfigError(f"Unknown GGUF runtime {runtime!r}; available: auto, {', '.join(RUNTIMES)}")
    for name in RUNTIMES if runtime == "auto" else (runtime,):
        if importlib.util.find_spec(_MODULES[name]) is not None:
            return name
    wanted = "cyllama" if runtime == "auto" else runtime
    raise missing_package(f"The GGUF runtime {wanted!r}", _PIP[wanted])


def open_runtime(path: Path, *, runtime: str, n_ctx: int, threads: int) -> GGUFRuntime:
    """Load ``path`` with the chosen binding ("auto", "cyllama" or "llama-cpp")."""
    prepare_runtime()
    if not path.is_file():
        raise ConfigError(f"GGUF file {path} does not exist; run `vidscout models fetch` or fix the path.")
    name = pick_runtime(runtime)
    try:
        if name == "cyllama":
            return CyllamaRuntime(path, n_ctx=n_ctx, threads=threads)
        return LlamaCppRuntime(path, n_ctx=n_ctx, threads=threads)
    except (ValueError, RuntimeError, OSError) as e:
        raise BackendError(f"{name} could not load {path.name}: {e}") from e


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class CyllamaRuntime:
    """cyllama's low-level API, driven directly so threads, grammar and KV reuse are ours to set.

    Its high-level ``cyllama.LLM`` leaves llama.cpp at 4 threads (oversubscribing a 2-core box) and
    re-decodes the whole prompt each call; here the KV cache keeps the longest common token prefix
    with the previous call, so an agent's growing conversation only pays for its new turns.
    """

    name = "cyllama"

    def __init__(self, path: Path, *, n_ctx: int, threads: int, n_batch: int = 512) -> None:
        """Load the model and allocate an ``n_ctx``-token context."""
        from cyllama.llama.llama_cpp import (
            LlamaContext,
            LlamaContextParams,
            LlamaModel,
            LlamaModelParams,
            disable_logging,
            ggml_backend_load_all,
        )

        disable_logging()
        ggml_backend_load_all()
        model_params = LlamaModelParams()
        model_params.n_gpu_layers = 0
        self._model = LlamaModel(str(path), model_params)
        self._vocab = self._model.get_vocab()
        ctx_params = LlamaContextParams()
        ctx_params.n_ctx = n_ctx
        ctx_params.n_batch = n_batch
        ctx_params.n_threads = threads
        ctx_params.n_threads_batch = threads
        ctx_params.no_perf = True
        self._ctx = LlamaContext(self._model, ctx_params)
        self._n_batch = n_batch
        self._cached: list[int] = []  # tokens whose keys/values sit in the KV cache, in order
        self.n_ctx = n_ctx
        self.chat_template = str(self._model.get_default_chat_template() or "")
        self.bos_token = self._piece(self._vocab.token_bos())
        self.eos_token = self._piece(self._vocab.token_eos())
        self.finish_reason = "stop"
        self.completion_tokens = 0

    def _piece(self, token: int) -> str:
        return str(self._vocab.token_to_piece(token, special=True)) if token >= 0 else ""

    def tokenize(self, text: str) -> list[int]:
        """Tokens of a rendered prompt (special tokens parsed, no BOS added: templates add their own)."""
        return list(self._vocab.tokenize(text, add_special=False, parse_special=True))

    def _sampler(self, temperature: float, seed: int, grammar: str | None) -> Any:
        from cyllama.llama.llama_cpp import LlamaSampler, LlamaSamplerChainParams

        params = LlamaSamplerChainParams()
        params.no_perf = True
        sampler = LlamaSampler(params)
        if grammar:
            sampler.add_grammar(self._vocab, grammar, "root")  # first: masks tokens the grammar forbids
        if temperature == 0.0:
            sampler.add_greedy()
        else:
            sampler.add_top_k(40)
            sampler.add_top_p(0.95, 1)
            sampler.add_temp(temperature)
            sampler.add_dist(seed)
        return sampler

    def _prefill(self, tokens: list[int]) -> None:
        from cyllama.llama.llama_cpp import llama_batch_get_one

        # Keep at least one token to decode: sampling needs logits from the last prompt position.
        keep = min(_common_prefix(self._cached, tokens), len(tokens) - 1)
        if keep == 0 or not self._ctx.memory_seq_rm(0, keep, -1):
            self._ctx.kv_cache_clear()
            keep = 0
        self._cached = tokens[:keep]
        for i in range(keep, len(tokens), self._n_batch):
            chunk = tokens[i : i + self._n_batch]
            self._ctx.decode(llama_batch_get_one(chunk, i))
            self._cached.extend(chunk)

    def generate(
        self, tokens: list[int], *, max_tokens: int, temperature: float, seed: int, grammar: str | None
    ) -> Iterator[str]:
        """Yield text deltas; see `GGUFRuntime.generate`."""
        from cyllama.llama.llama_cpp import llama_batch_get_one

        if len(tokens) >= self.n_ctx:
            raise BackendError(
                f"The prompt has {len(tokens)} tokens but the context holds {self.n_ctx}; "
                "shorten the conversation or raise n_ctx (spec option ?n_ctx=8192)."
            )
        sampler = self._sampler(temperature, seed, grammar)
        self.finish_reason, self.completion_tokens = "length", 0
        out: list[int] = []
        emitted = ""
        try:
            self._prefill(tokens)
            for _ in range(max_tokens):
                if len(self._cached) >= self.n_ctx:
                    break
                token = int(sampler.sample(self._ctx, -1))
                if self._vocab.is_eog(token):
                    self.finish_reason = "stop"
                    break
                out.append(token)
                self.completion_tokens = len(out)
                # Detokenise the whole reply so far: one token may hold half a UTF-8 character.
                text = str(self._vocab.detokenize(out, 8 * len(out) + 64, False, True))
                if not text.endswith("\ufffd") and len(text) > len(emitted):
                    yield text[len(emitted) :]
                    emitted = text
                self._ctx.decode(llama_batch_get_one([token], len(self._cached)))
                self._cached.append(token)
        except (ValueError, RuntimeError) as e:
            self._cached = []  # the KV cache state is unknown now; start clean next call
            raise BackendError(f"llama.cpp decoding failed: {e}") from e


class LlamaCppRuntime:
    """llama-cpp-python (source-only on PyPI), used when installed and asked for or cyllama is absent."""

    name = "llama-cpp"

    def __init__(self, path: Path, *, n_ctx: int, threads: int) -> None:
        """Load the model; llama-cpp-python keeps its own prompt-prefix KV reuse."""
        from llama_cpp import Llama  # pyright: ignore[reportMissingImports]

        self._llm = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads, verbose=False)
        self.n_ctx = n_ctx
        metadata: dict[str, str] = dict(self._llm.metadata)
        self.chat_template = metadata.get("tokenizer.chat_template", "")
        self.bos_token = self._piece(self._llm.token_bos())
        self.eos_token = self._piece(self._llm.token_eos())
        self.finish_reason = "stop"
        self.completion_tokens = 0

    def _piece(self, token: int) -> str:
        return self._llm.detokenize([token], special=True).decode("utf-8", "ignore") if token >= 0 else ""

    def tokenize(self, text: str) -> list[int]:
        """Tokens of a rendered prompt (special tokens parsed, no BOS added)."""
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def generate(
        self, tokens: list[int], *, max_tokens: int, temperature: float, seed: int, grammar: str | None
    ) -> Iterator[str]:
        """Yield text deltas; see `GGUFRuntime.generate`."""
        from llama_cpp import LlamaGrammar  # pyright: ignore[reportMissingImports]

        compiled = LlamaGrammar.from_string(grammar, verbose=False) if grammar else None
        self.finish_reason, self.completion_tokens = "length", 0
        stream = self._llm.create_completion(
            tokens, max_tokens=max_tokens, temperature=temperature, seed=seed, grammar=compiled, stream=True
        )
        for chunk in stream:
            choice = chunk["choices"][0]
            self.completion_tokens += 1
            if choice.get("finish_reason"):
                self.finish_reason = "stop" if choice["finish_reason"] == "stop" else "length"
            if choice["text"]:
                yield choice["text"]
