"""On-disk per-segment KV caches: one safetensors file per segment, a manifest tying them to a model.

Layout under a video's store: ``kv/<key>/manifest.json``, ``kv/<key>/prefix.safetensors`` and
``kv/<key>/segments/<level>-<index>.safetensors``. ``<key>`` hashes everything the caches depend on
(model revision, prompt format, storage dtype, token cap), so a different model or prompt gets a
fresh directory instead of stale caches. Files appear atomically; readers load one file at a time
(memory stays bounded by the segments a question selects, never the whole video).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import BaseModel, Field
from safetensors import safe_open
from safetensors.torch import save_file

from vidscout._io import atomic_path, write_atomic
from vidscout.errors import ConfigError
from vidscout.memory.store import VideoStore
from vidscout.types import SegmentLevel, TimeSpan

FORMAT_VERSION = 1
StorageDType = Literal["float32", "float16", "bfloat16", "int8"]
_TORCH_DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


class KVManifest(BaseModel, frozen=True):
    """What produced a cache directory: the model, its revision, the prompt format and tensor shapes."""

    format_version: int = FORMAT_VERSION
    model: str = Field(description="The spec the model was built from, e.g. gguf:qwen2.5-coder-0.5b.")
    revision: str = Field(description="sha256 of the weights file (or a hub revision) the caches came from.")
    library: str = Field(description="transformers version that computed the caches.")
    prompt_sha256: str = Field(description="Hash of the prefix text and the segment template.")
    dtype: StorageDType
    n_layers: int
    n_kv_heads: int
    head_dim: int
    rope_theta: float
    prefix_tokens: int = Field(description="Segments are encoded at positions starting here.")
    max_segment_tokens: int


@dataclass(frozen=True)
class SegmentKV:
    """One segment's cache, in the model's compute dtype.

    ``keys``/``values`` are (layers, kv_heads, tokens, head_dim), keys after RoPE at positions
    ``start_pos ..``; ``key_mean`` is (layers, kv_heads, head_dim), the mean pre-RoPE key over the
    segment's tokens (the representative vector internal retrieval compares queries with).
    """

    level: SegmentLevel
    index: int
    span: TimeSpan
    start_pos: int
    keys: torch.Tensor
    values: torch.Tensor
    key_mean: torch.Tensor
    text_sha256: str

    @property
    def n_tokens(self) -> int:
        """Tokens in the segment."""
        return int(self.keys.shape[2])


def text_hash(text: str) -> str:
    """sha256 hex of a text (ties a cached segment to the evidence text it encodes)."""
    return hashlib.sha256(text.encode()).hexdigest()


def cache_key(manifest: KVManifest) -> str:
    """16 hex digits naming the cache directory of ``manifest``'s model, prompt and storage."""
    blob = manifest.model_dump_json(exclude={"n_layers", "n_kv_heads", "head_dim", "rope_theta", "prefix_tokens"})
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _quantise(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 per (layer, head, token) vector: absmax/127 scales kept in float16."""
    scale = x.abs().amax(dim=-1, keepdim=True).float().clamp_min(1e-8) / 127.0
    q = torch.round(x.float() / scale).clamp(-127, 127).to(torch.int8)
    return q, scale.to(torch.float16)


def _encode_tensors(name: str, x: torch.Tensor, dtype: StorageDType) -> dict[str, torch.Tensor]:
    if dtype == "int8":
        q, scale = _quantise(x)
        return {name: q.contiguous(), f"{name}_scale": scale.contiguous()}
    return {name: x.to(_TORCH_DTYPES[dtype]).contiguous()}


def _decode_tensor(f: Any, name: str, dtype: StorageDType, out: torch.dtype) -> torch.Tensor:
    x: torch.Tensor = f.get_tensor(name)
    if dtype == "int8":
        scale: torch.Tensor = f.get_tensor(f"{name}_scale")
        return (x.to(torch.float32) * scale.to(torch.float32)).to(out)
    return x.to(out)


def _write_safetensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> int:
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return path.stat().st_size


class KVStore:
    """The cache directory of one video for one model and prompt; see the module docstring."""

    def __init__(self, root: Path, manifest: KVManifest) -> None:
        self.root = root
        self.manifest = manifest

    @classmethod
    def open(cls, video_store: VideoStore, manifest: KVManifest) -> KVStore:
        """Open (creating when new) the directory for ``manifest`` under ``video_store``.

        Raises:
            ConfigError: An existing directory's manifest disagrees (a hash collision or a hand edit).
        """
        root = video_store.root / "kv" / cache_key(manifest)
        path = root / "manifest.json"
        if path.exists():
            stored = KVManifest.model_validate_json(path.read_text())
            if stored != manifest:
                raise ConfigError(f"{root} holds caches of another model or prompt; delete that directory and rerun.")
        else:
            write_atomic(path, manifest.model_dump_json(indent=1))
        return cls(root, manifest)

    def segment_path(self, level: SegmentLevel, index: int) -> Path:
        """Where one segment's cache lives (it may not exist yet)."""
        return self.root / "segments" / f"{level}-{index:06d}.safetensors"

    @property
    def prefix_path(self) -> Path:
        """The shared prefix's cache file."""
        return self.root / "prefix.safetensors"

    # --- writes ----------------------------------------------------------------------------

    def save_prefix(self, keys: torch.Tensor, values: torch.Tensor, text_sha256: str) -> int:
        """Store the shared prefix's (layers, heads, tokens, dim) keys and values; returns bytes written."""
        dtype = self.manifest.dtype
        tensors = {**_encode_tensors("k", keys, dtype), **_encode_tensors("v", values, dtype)}
        return _write_safetensors(self.prefix_path, tensors, {"text_sha256": text_sha256})

    def save_segment(self, seg: SegmentKV) -> int:
        """Store one segment's cache atomically; returns bytes written."""
        dtype = self.manifest.dtype
        tensors = {
            **_encode_tensors("k", seg.keys, dtype),
            **_encode_tensors("v", seg.values, dtype),
            "key_mean": seg.key_mean.to(torch.float32).contiguous(),
        }
        meta = {
            "level": seg.level,
            "index": str(seg.index),
            "start_s": repr(seg.span.start_s),
            "end_s": repr(seg.span.end_s),
            "start_pos": str(seg.start_pos),
            "text_sha256": seg.text_sha256,
        }
        return _write_safetensors(self.segment_path(seg.level, seg.index), tensors, meta)

    # --- reads -----------------------------------------------------------------------------

    def load_prefix(self, text_sha256: str, out: torch.dtype) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The prefix's keys and values in dtype ``out``, or None when absent or made from another text."""
        if not self.prefix_path.exists():
            return None
        with safe_open(str(self.prefix_path), framework="pt") as f:
            if f.metadata().get("text_sha256") != text_sha256:
                return None
            return _decode_tensor(f, "k", self.manifest.dtype, out), _decode_tensor(f, "v", self.manifest.dtype, out)

    def segment_meta(self, level: SegmentLevel, index: int) -> dict[str, str] | None:
        """A cached segment's metadata (text hash, start position, span), or None when not cached."""
        path = self.segment_path(level, index)
        if not path.exists():
            return None
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata())

    def load_segment(self, level: SegmentLevel, index: int, out: torch.dtype, *, text_sha256: str) -> SegmentKV | None:
        """One segment's cache in dtype ``out``; None when absent or computed from a different text."""
        path = self.segment_path(level, index)
        if not path.exists():
            return None
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata()
            if meta.get("text_sha256") != text_sha256:
                return None
            dtype = self.manifest.dtype
            return SegmentKV(
                level=level,
                index=index,
                span=TimeSpan(start_s=float(meta["start_s"]), end_s=float(meta["end_s"])),
                start_pos=int(meta["start_pos"]),
                keys=_decode_tensor(f, "k", dtype, out),
                values=_decode_tensor(f, "v", dtype, out),
                key_mean=f.get_tensor("key_mean"),
                text_sha256=text_sha256,
            )

    def load_key_mean(self, level: SegmentLevel, index: int, *, text_sha256: str) -> torch.Tensor | None:
        """Only the (layers, heads, dim) mean key of a cached segment (a few KB read), or None."""
        path = self.segment_path(level, index)
        if not path.exists():
            return None
        with safe_open(str(path), framework="pt") as f:
            if f.metadata().get("text_sha256") != text_sha256:
                return None
            return f.get_tensor("key_mean")

    def disk_bytes(self) -> int:
        """Bytes of every cache file in this directory."""
        return sum(p.stat().st_size for p in self.root.rglob("*.safetensors"))

    def cached_count(self) -> int:
        """How many segment caches exist."""
        seg_dir = self.root / "segments"
        return sum(1 for _ in seg_dir.glob("*.safetensors")) if seg_dir.exists() else 0
