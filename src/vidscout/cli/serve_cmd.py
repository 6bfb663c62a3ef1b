"""``vidscout serve`` (the embedded models over vLLM's OpenAI API) and ``vidscout vllm`` (vLLM command lines).

Run ``vidscout serve --port 8000`` then ``vidscout ask movie.mp4 "..." --profile vllm --base-url
http://127.0.0.1:8000/v1``; on a GPU host, ``vidscout vllm`` prints the `vllm serve` lines instead.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import SecretStr
from rich.console import Console

from vidscout.errors import ConfigError
from vidscout.settings import ModelSpecs, Settings

console = Console(stderr=True)
out = Console()


def _json_option(text: str, flag: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f'{flag} must be JSON, e.g. \'{{"image": 32, "video": 1}}\' ({e.msg})') from e


def preflight(settings: Settings) -> None:
    """Before a long run: check the OpenAI-style servers the settings use (no-op on the embedded profile)."""
    from vidscout.models.registry import is_served, resolve_specs

    if any(is_served(resolve_specs(settings)[r]) for r in ("llm", "video_llm")):
        from vidscout.serve.vllm import preflight as check

        check(settings)


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (0 picks a free one).", min=0, max=65535)] = 8000,
    llm: Annotated[str | None, typer.Option(help="Planner spec, e.g. gguf:qwen2.5-coder-0.5b.")] = None,
    video_llm: Annotated[str | None, typer.Option(help="Video-LLM spec (composite, composite:llm).")] = None,
    served_model_name: Annotated[
        list[str] | None, typer.Option(help="Model ids to answer to (repeat); default: the vllm profile's.")
    ] = None,
    limit_mm_per_prompt: Annotated[str, typer.Option(help="JSON: images/videos per prompt, at most.")] = (
        '{"image": 32, "video": 1}'
    ),
    num_frames: Annotated[int, typer.Option(help="Frames read per video, at most (vLLM's num_frames).")] = 32,
    allowed_local_media_path: Annotated[
        Path | None, typer.Option(help="Allow file:// media under this directory.")
    ] = None,
    max_model_len: Annotated[int | None, typer.Option(help="Context tokens; default: the planner's.")] = None,
    api_key: Annotated[
        str | None,
        typer.Option(help="Require `Authorization: Bearer KEY` on /v1 routes; default: $VIDSCOUT_SERVE_API_KEY."),
    ] = None,
    max_request_pixels: Annotated[
        int | None,
        typer.Option(
            help="Decoded media per request, in pixels (frames x width x height); default 32 1080p frames.", min=1
        ),
    ] = None,
    max_pixels_in_flight: Annotated[
        int | None,
        typer.Option(
            help="Decoded media of all requests at once, in pixels (over it: 429); default 64 1080p frames.", min=1
        ),
    ] = None,
    max_decode_pixels: Annotated[
        int | None,
        typer.Option(
            help="A video's length, in pixels to decode (all frames x width x height); default 30 min of 1080p30.",
            min=1,
        ),
    ] = None,
    preload: Annotated[bool, typer.Option(help="Load the models before listening.")] = True,
    data_dir: Annotated[Path | None, typer.Option(help="Weights cache.", envvar="VIDSCOUT_DATA_DIR")] = None,
) -> None:
    """Serve the embedded models over vLLM's OpenAI-compatible API (/v1/chat/completions, /v1/models)."""
    from vidscout.models.registry import Backends
    from vidscout.serve import ChatServer, ChatService, ServeOptions
    from vidscout.serve.vllm import openai_roles

    base = Settings() if data_dir is None else Settings(data_dir=data_dir)
    settings = base.model_copy(
        update={"profile": "embedded", "models": ModelSpecs(llm=llm or "", video_llm=video_llm or "")}
    )
    names = served_model_name or [
        *dict.fromkeys(m for m, _ in openai_roles(base.model_copy(update={"profile": "vllm"}))),
        "vidscout-embedded",
    ]
    limits = _json_option(limit_mm_per_prompt, "--limit-mm-per-prompt")
    pixels = {"max_request_pixels": max_request_pixels, "max_pixels_in_flight": max_pixels_in_flight,
              "max_decode_pixels": max_decode_pixels}  # fmt: skip
    try:
        options = ServeOptions(
            served_model_names=tuple(names), limit_mm_per_prompt=limits, video_num_frames=num_frames,
            allowed_local_media_path=str(allowed_local_media_path) if allowed_local_media_path else None,
            max_model_len=max_model_len, api_key=SecretStr(api_key) if api_key else base.serve_api_key,
            **{k: v for k, v in pixels.items() if v is not None},
        )  # fmt: skip
    except ValueError as e:
        raise ConfigError(f"Bad serve option: {e}") from e
    service = ChatService(Backends(settings), options)
    # Bound before the models load: a taken port fails at once; the host warning (no key) shows first.
    server = ChatServer(host, port, service)
    try:
        if preload:
            console.print(f"loading {service.roots['llm']} and {service.roots['video_llm']} …")
            service.warm()
        key = " (API key required)" if options.api_key is not None else ""
        console.print(f"serving {', '.join(names)} at [bold]{server.url}[/]{key} (Ctrl-C stops)")
        server.serve_forever()
    finally:
        server.server_close()


def vllm(
    base_url: Annotated[
        str | None, typer.Option(help="Where vidscout will reach the server.", envvar="VIDSCOUT_BASE_URL")
    ] = None,
    max_model_len: Annotated[int, typer.Option(help="--max-model-len for each server (tokens).")] = 32768,
    local_media: Annotated[
        Path | None, typer.Option(help="Add --allowed-local-media-path DIR (clips sent as file:// URLs).")
    ] = None,
    gpu_memory_utilization: Annotated[float | None, typer.Option(help="Per server (0-1).", min=0.05, max=1.0)] = None,
    tool_call_parser: Annotated[str | None, typer.Option(help="Override the planner's parser.")] = None,
    run: Annotated[bool, typer.Option("--run", help="Exec the (single) vllm serve command.")] = False,
    check: Annotated[bool, typer.Option("--check", help="Check the running server(s) instead.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Print the `vllm serve` lines the vllm profile needs (--run execs one; --check tests a running server)."""
    from vidscout.serve.vllm import check_server, serve_plans

    settings = Settings(profile="vllm") if base_url is None else Settings(profile="vllm", base_url=base_url)
    if check:
        checks = check_server(settings)
        if as_json:
            out.print_json(json.dumps([c.model_dump() for c in checks]))
        else:
            from vidscout.cli.render import server_checks

            server_checks(out, checks)
        if not all(c.ok for c in checks):
            raise typer.Exit(1)
        return
    plans = serve_plans(settings, max_model_len=max_model_len, local_media=local_media,
                        gpu_memory_utilization=gpu_memory_utilization, parser=tool_call_parser)  # fmt: skip
    if run:
        if len(plans) != 1:
            raise ConfigError(f"{len(plans)} servers are needed; run each printed line in its own shell.")
        if shutil.which("vllm") is None:
            raise ConfigError("vllm is not installed here; on the GPU host: pip install 'vllm>=0.30'")
        os.execvp("vllm", list(plans[0].argv))
    if as_json:
        out.print_json(json.dumps([p.model_dump() for p in plans]))
        return
    for plan in plans:
        console.print(f"# {plan.model} for {', '.join(plan.roles)} at {plan.base_url}")
        out.print(plan.command(), soft_wrap=True, highlight=False, markup=False)
