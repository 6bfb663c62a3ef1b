"""`vllm serve` command lines for the vllm profile, and checks that a running server fits vidscout.

The flags follow vLLM's documented CLI: ``--limit-mm-per-prompt`` and ``--media-io-kwargs`` (JSON) sized to
the Video-LLM client's frame budget, ``--max-model-len``, ``--enable-auto-tool-choice --tool-call-parser``
for the planner, ``--allowed-local-media-path`` only for clips sent as ``file://`` URLs.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlparse

import httpx
import numpy as np
from pydantic import BaseModel

from vidscout.errors import BackendError, ConfigError
from vidscout.models.base import ChatMessage, GenerationOptions
from vidscout.models.probe import parse_spec
from vidscout.models.registry import make_llm, make_video_llm, resolve_specs
from vidscout.settings import Settings

MIN_VLLM = (0, 30)
"""Earlier vLLM versions let a request raise the frames decoded per video without a server-side ceiling."""

# Model-name pattern -> vLLM tool-call parser (vLLM docs, "Tool Calling"); Qwen2.5/Qwen3(-VL) emit Hermes tags.
_TOOL_PARSERS = ((r"qwen", "hermes"), (r"llama-?3", "llama3_json"), (r"mistral", "mistral"), (r"hermes", "hermes"))


class ServerPlan(BaseModel, frozen=True):
    """One `vllm serve` process: the model, where it listens, which vidscout roles use it."""

    model: str
    base_url: str
    roles: tuple[str, ...]
    argv: tuple[str, ...]

    def command(self) -> str:
        """The shell-quoted command line."""
        return shlex.join(self.argv)


class Check(BaseModel, frozen=True):
    """The outcome of one check against a running server."""

    name: str
    ok: bool
    detail: str
    seconds: float = 0.0


def openai_roles(settings: Settings) -> dict[tuple[str, str], dict[str, dict[str, str]]]:
    """(model, base_url) -> {role: spec options} for the roles served OpenAI-style (llm, video_llm)."""
    specs = resolve_specs(settings)
    groups: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
    for role in ("llm", "video_llm"):
        kind, model, opts = parse_spec(specs[role])
        if kind != "openai":
            continue
        name, _, url = model.partition("@")
        groups.setdefault((name, (url or settings.base_url).rstrip("/")), {})[role] = opts
    return groups


def tool_parser(model: str) -> str:
    """The vLLM ``--tool-call-parser`` for a model name.

    Raises:
        ConfigError: No parser is known for the model (pass one explicitly).
    """
    for pattern, parser in _TOOL_PARSERS:
        if re.search(pattern, model, re.IGNORECASE):
            return parser
    raise ConfigError(
        f"No known vLLM tool-call parser for {model!r}; pass --tool-call-parser (see vLLM's tool calling docs)"
    )


def serve_plans(
    settings: Settings,
    *,
    max_model_len: int = 32768,
    local_media: Path | None = None,
    gpu_memory_utilization: float | None = None,
    parser: str | None = None,
    host: str = "0.0.0.0",
) -> list[ServerPlan]:
    """The `vllm serve` processes the resolved specs need (one per distinct model and base URL).

    Args:
        settings: Resolved with its profile (normally ``vllm``) and ``base_url``.
        max_model_len: ``--max-model-len`` (tokens); 16 frames at 448x448 take about 4k tokens on Qwen2.5-VL.
        local_media: Adds ``--allowed-local-media-path`` (needed only for ``transport=file`` clips).
        gpu_memory_utilization: Per server; default splits 0.9 of the GPU between the servers.
        parser: ``--tool-call-parser`` for the planner (default: from the model name).
        host: Interface to listen on.

    Raises:
        ConfigError: No role uses an OpenAI-compatible server, or a base URL has no port.
    """
    groups = openai_roles(settings)
    if not groups:
        raise ConfigError("No role uses an OpenAI-compatible server; use --profile vllm (or openai: specs).")
    share = gpu_memory_utilization or round(0.9 / len(groups), 2)
    plans: list[ServerPlan] = []
    for (model, url), roles in groups.items():
        parsed = urlparse(url)
        port = parsed.port or (443 if parsed.scheme == "https" else 80 if parsed.scheme == "http" else None)
        if port is None:
            raise ConfigError(f"Base URL {url!r} has no port; use e.g. http://127.0.0.1:8000/v1")
        argv = ["vllm", "serve", model, "--host", host, "--port", str(port), "--max-model-len", str(max_model_len)]
        if len(groups) > 1 or gpu_memory_utilization is not None:
            argv += ["--gpu-memory-utilization", f"{share:g}"]
        if "video_llm" in roles:
            frames = int(roles["video_llm"].get("max_frames", 16))
            argv += ["--limit-mm-per-prompt", json.dumps({"image": frames, "video": 1})]
            argv += ["--media-io-kwargs", json.dumps({"video": {"num_frames": frames}})]
            media_dir = roles["video_llm"].get("media_dir")
            if local_media is not None or (roles["video_llm"].get("transport") == "file" and media_dir):
                argv += ["--allowed-local-media-path", str(Path(str(local_media or media_dir)).resolve())]
        if "llm" in roles:
            argv += ["--enable-auto-tool-choice", "--tool-call-parser", parser or tool_parser(model)]
        plans.append(ServerPlan(model=model, base_url=url, roles=tuple(roles), argv=tuple(argv)))
    return plans


def parse_version(text: str) -> tuple[int, int] | None:
    """(major, minor) of a version string such as ``0.30.1`` or ``0.31.0rc1+cu128``."""
    found = re.match(r"\s*v?(\d+)\.(\d+)", text)
    return (int(found.group(1)), int(found.group(2))) if found else None


def _root(url: str) -> str:
    return url[: -len("/v1")] if url.endswith("/v1") else url


def check_server(settings: Settings, *, probe: bool = True, timeout_s: float = 30.0) -> list[Check]:
    """Check each OpenAI-style server the specs use: model served, vLLM version, and tiny probe requests.

    With ``probe``, the planner gets a one-tool request (``tool_choice="auto"``) and the Video-LLM a two-frame
    request in its configured shape, so missing `vllm serve` flags show now rather than mid-run.
    Never raises for a failing server: each problem is a `Check` with ``ok=False`` and a fix-it detail.
    """
    checks: list[Check] = []
    specs = resolve_specs(settings)
    for (model, url), roles in openai_roles(settings).items():
        t0 = time.perf_counter()
        try:
            ids = _served_models(url, settings.api_key, timeout_s)
        except BackendError as e:
            checks.append(Check(name=f"{url}/models", ok=False, detail=str(e), seconds=time.perf_counter() - t0))
            continue
        served = model in ids
        detail = f"serves {', '.join(ids)}"
        if not served:
            detail += f"; not {model!r}: fix the spec or the server's --served-model-name"
        checks.append(Check(name=f"{url}/models", ok=served, detail=detail, seconds=time.perf_counter() - t0))
        checks.append(_version_check(url, settings.api_key, timeout_s))
        if not (probe and served):
            continue
        if "llm" in roles:
            checks.append(_probe(f"{model}: tool call", lambda: _tool_probe(specs["llm"], settings)))
        if "video_llm" in roles:
            checks.append(_probe(f"{model}: video", lambda: _video_probe(specs["video_llm"], settings)))
    return checks


def preflight(settings: Settings, *, timeout_s: float = 10.0) -> None:
    """Fail fast, before a long run, when an OpenAI-style server the specs use is down or serves other models.

    No-op when no role uses such a server. Checks ``/v1/models`` and the version only (no model call).

    Raises:
        BackendError: With every failed check and what to do.
    """
    failed = [c for c in check_server(settings, probe=False, timeout_s=timeout_s) if not c.ok]
    if failed:
        raise BackendError("; ".join(f"{c.name}: {c.detail}" for c in failed))


def _get(url: str, api_key: str, timeout_s: float) -> httpx.Response:
    try:
        return httpx.get(url, headers={"Authorization": f"Bearer {api_key}"}, timeout=timeout_s)
    except httpx.HTTPError as e:
        raise BackendError(f"Cannot reach {url} ({type(e).__name__}: {e}); is `vllm serve` running?") from e


def _served_models(url: str, api_key: str, timeout_s: float) -> list[str]:
    response = _get(f"{url}/models", api_key, timeout_s)
    if response.status_code != 200:
        raise BackendError(f"GET {url}/models answered {response.status_code}: {response.text[:200]}")
    try:
        return [str(m["id"]) for m in response.json()["data"]]
    except (ValueError, KeyError, TypeError) as e:
        raise BackendError(f"GET {url}/models is not an OpenAI model list: {response.text[:200]}") from e


def _version_check(url: str, api_key: str, timeout_s: float) -> Check:
    name = f"{_root(url)}/version"
    try:
        response = _get(name, api_key, timeout_s)
        body = response.json() if response.status_code == 200 else {}
    except (BackendError, ValueError) as e:
        return Check(name=name, ok=False, detail=f"no version ({e})")
    if body.get("server") == "vidscout":
        return Check(name=name, ok=True, detail=f"vidscout serve {body.get('version')} (embedded models, not vLLM)")
    text = str(body.get("version", ""))
    version = parse_version(text)
    if version is None:
        return Check(name=name, ok=False, detail=f"unknown server version {text!r}; vidscout needs vLLM >= 0.30")
    if version < MIN_VLLM:
        return Check(
            name=name,
            ok=False,
            detail=f"vLLM {text} < 0.30 has no server-side ceiling on frames per request; "
            "upgrade: pip install -U 'vllm>=0.30'",
        )
    return Check(name=name, ok=True, detail=f"vLLM {text}")


def _probe(name: str, run: Callable[[], str]) -> Check:
    t0 = time.perf_counter()
    try:
        detail = run()
    except BackendError as e:
        return Check(name=name, ok=False, detail=str(e), seconds=time.perf_counter() - t0)
    return Check(name=name, ok=True, detail=str(detail), seconds=time.perf_counter() - t0)


def _tool_probe(spec: str, settings: Settings) -> str:
    llm = make_llm(spec, settings)
    tool = {"type": "function", "function": {"name": "ping", "description": "Reply pong.",
                                             "parameters": {"type": "object", "properties": {}}}}  # fmt: skip
    done = llm.complete([ChatMessage(role="user", content="Call the ping tool.")],
                        GenerationOptions(max_tokens=24, tools=[tool]))  # fmt: skip
    return "tool call accepted" + (f" ({done.tool_calls[0].name})" if done.tool_calls else " (answered in text)")


def _video_probe(spec: str, settings: Settings) -> str:
    video_llm = make_video_llm(spec, settings)
    frames: Sequence[np.ndarray] = [np.full((64, 64, 3), v, np.uint8) for v in (40, 200)]
    text = video_llm.describe(list(frames), [0.0, 1.0], "Reply with one word: is the video dark or bright?")
    return f"two frames accepted: {text[:60]!r}"
