"""An OpenAI-compatible chat backend (vLLM, ``vidscout serve``, llama.cpp server, OpenAI) over plain httpx.

Spec: ``openai:<model>@<base_url>``, e.g. ``openai:Qwen/Qwen2.5-VL-7B-Instruct@http://gpu:8000/v1``. Requests
follow vLLM's OpenAI-compatible API (``tools`` with ``tool_choice="auto"``, ``response_format`` JSON schema,
and vLLM's extra body fields such as ``media_io_kwargs``); the Video-LLM client is `vidscout.models.openai_video`.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal

import httpx

from vidscout.errors import BackendError
from vidscout.models.base import ChatMessage, Completion, GenerationOptions, ToolCall
from vidscout.models.replies import strip_code_fences

logger = logging.getLogger(__name__)

_RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
_HINTS = {
    401: "check VIDSCOUT_API_KEY",
    403: "check VIDSCOUT_API_KEY",
    404: "check the model name and base URL; `vidscout vllm --check` lists what the server serves",
}
# (substring of vLLM's error message, what to change). The flags are `vllm serve` flags; `vidscout vllm`
# prints command lines that set them to match the client's frame budget.
_REJECTIONS = (
    ("may be provided in one prompt", "raise --limit-mm-per-prompt on `vllm serve` (e.g. '{\"image\": 32, "
     "\"video\": 1}') or lower the frame budget (?max_frames= in the video_llm spec)"),
    ("must match number of frames sent", "raise num_frames in `vllm serve --media-io-kwargs "
     "'{\"video\": {\"num_frames\": N}}'` to at least the frames sent (?max_frames= in the video_llm spec)"),
    ("maximum context length", "raise --max-model-len on `vllm serve`, or send fewer frames or smaller ones "
     "(?max_frames= / ?max_pixels= in the video_llm spec)"),
    ("allowed-local-media-path", "start `vllm serve` with --allowed-local-media-path <dir> holding the clips "
     "(`vidscout vllm --local-media DIR`), or send clips inline (?transport=data)"),
    ("allowed_local_media_path", "start `vllm serve` with --allowed-local-media-path <dir> holding the clips"),
    ("enable-auto-tool-choice", "start `vllm serve` with --enable-auto-tool-choice --tool-call-parser hermes "
     "(Qwen models; `vidscout vllm` prints the line)"),
    ("timestamps length", "the server re-sampled pre-decoded frames; use ?mode=video (sends fps, frames_indices "
     "and do_sample_frames=false) with vLLM >= 0.30"),
    ("total_num_frames", "the server needs video metadata; use ?mode=video with vLLM >= 0.30"),
)  # fmt: skip


def server_message(body: str) -> str:
    """The error text of an OpenAI/vLLM error body (``{"error": {"message": ...}}`` or ``{"message": ...}``)."""
    try:
        data = json.loads(body)
    except ValueError:
        return body.strip()[:500]
    if isinstance(data, dict):
        fields: dict[str, Any] = dict(data)  # pyright: ignore[reportUnknownArgumentType]
        error = fields.get("error")
        if isinstance(error, dict) and "message" in error:
            return str(error["message"])  # pyright: ignore[reportUnknownArgumentType]
        if isinstance(error, str):
            return error
        if "message" in fields:
            return str(fields["message"])
    return body.strip()[:500]


def rejection_hint(status: int, message: str) -> str:
    """What to change when a server rejects a request: the `vllm serve` flag or vidscout option to fix."""
    for needle, hint in _REJECTIONS:
        if needle.lower() in message.lower():
            return hint
    return _HINTS.get(status, "see the server log")


class OpenAILLM:
    """The `LLM` protocol over ``POST {base_url}/chat/completions`` (tools, JSON schema, SSE streaming).

    429, 5xx and connection errors are retried with exponential backoff (honouring ``Retry-After``); a read
    timeout is not (the server is still working on the request).
    """

    call_mode: Literal["tools", "json"] = "tools"  # OpenAI-style native tool calls (vLLM --enable-auto-tool-choice)

    def __init__(
        self,
        model: str,
        base_url: str,
        *,
        api_key: str = "EMPTY",
        name: str = "openai",
        timeout_s: float = 600.0,
        max_retries: int = 3,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Configure the client (no request is made here).

        Args:
            model: The server's model name.
            base_url: The API root, ending in ``/v1`` for vLLM and OpenAI.
            api_key: Sent as a bearer token.
            name: The spec this backend was built from.
            timeout_s: Per-request timeout in seconds (connect: 10 s); 600 like the openai client, since a
                queued video request on a busy server can take minutes.
            max_retries: Retries after the first attempt for retryable failures.
            transport: An httpx transport (tests pass ``httpx.MockTransport``).
            sleep: Called with the backoff delay in seconds (tests pass a no-op).
        """
        self.name = name
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._max_retries = max_retries
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=httpx.Timeout(timeout_s, connect=10.0),
            transport=transport,
        )

    def _payload(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        stream: bool,
        extra_body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": [m.model_dump(exclude_none=True) for m in messages],
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
            "stream": stream,
        }
        if options.stop:
            payload["stop"] = list(options.stop)
        if options.tools:
            payload["tools"] = options.tools
            payload["tool_choice"] = "auto"  # vLLM needs --enable-auto-tool-choice for this (hinted on 400)
        if options.json_schema is not None:
            payload["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "reply", "schema": options.json_schema, "strict": True},
            }
        payload.update(extra_body or {})
        return payload

    def _send(self, payload: dict[str, Any], *, stream: bool) -> httpx.Response:
        for attempt in range(self._max_retries + 1):
            try:
                request = self._client.build_request("POST", "/chat/completions", json=payload)
                response = self._client.send(request, stream=stream)
            except httpx.TransportError as e:
                # A read/write timeout means the server took the request and is still working on it: sending it
                # again would queue a duplicate behind the first, so only connection failures are retried.
                if attempt == self._max_retries or isinstance(e, httpx.ReadTimeout | httpx.WriteTimeout):
                    tries = f"{attempt + 1} attempt{'s' if attempt else ''}"
                    if isinstance(e, httpx.TimeoutException):
                        raise BackendError(
                            f"{self.base_url} did not answer within {self.timeout_s:g} s ({tries}); the server "
                            "is overloaded or the request is too large (raise ?timeout_s= in the spec)"
                        ) from e
                    raise BackendError(
                        f"Cannot reach {self.base_url} ({type(e).__name__}: {e}; {tries}); is the server up? "
                        "(`vidscout vllm --check` tests it)"
                    ) from e
                self._backoff(attempt, None)
                continue
            if response.status_code < 400:
                return response
            if stream:
                response.read()
            if response.status_code in _RETRY_STATUS and attempt < self._max_retries:
                self._backoff(attempt, response.headers.get("retry-after"))
                continue
            message = server_message(response.text)
            hint = rejection_hint(response.status_code, message)
            raise BackendError(
                f"{self.base_url} answered {response.status_code} for model {self.model!r}: {message[:400]} -> {hint}"
            )
        raise AssertionError("unreachable: the loop returns or raises")

    def _backoff(self, attempt: int, retry_after: str | None) -> None:
        try:
            delay = float(retry_after) if retry_after else 0.5 * 2**attempt
        except ValueError:
            delay = 0.5 * 2**attempt
        delay = min(delay, 30.0) * (1.0 + 0.1 * random.random())  # jitter spreads synchronized clients
        logger.warning("%s: retrying in %.1f s (attempt %d)", self.name, delay, attempt + 1)
        self._sleep(delay)

    def complete(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        *,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Completion:
        """One chat completion.

        Args:
            messages: The conversation.
            options: Decoding knobs, tools and JSON schema.
            extra_body: Top-level request fields beyond OpenAI's, e.g. vLLM's ``media_io_kwargs``.

        Raises:
            BackendError: The server is unreachable, timed out, or answered with an error after retries
                (the message says which `vllm serve` flag or spec option to change when it can tell).
        """
        response = self._send(self._payload(messages, options, False, extra_body), stream=False)
        try:
            body = response.json()
            choice = body["choices"][0]
            message = choice["message"]
        except (ValueError, KeyError, IndexError) as e:
            raise BackendError(f"Unexpected reply from {self.base_url}: {response.text[:300]}") from e
        calls = tuple(
            ToolCall(
                id=c.get("id") or f"call_{i}",
                name=c["function"]["name"],
                arguments=c["function"]["arguments"],
            )
            for i, c in enumerate(message.get("tool_calls") or [])
        )
        text = message.get("content") or ""
        usage = body.get("usage") or {}
        return Completion(
            text=strip_code_fences(text) if options.json_schema is not None else text,
            tool_calls=calls,
            finish_reason=choice.get("finish_reason") or "stop",
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
        )

    def stream(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        *,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Iterator[str]:
        """Yield the reply's text deltas from the server-sent event stream."""
        response = self._send(self._payload(messages, options, True, extra_body), stream=True)
        try:
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[len("data:") :].strip()
                if data == "[DONE]":
                    break
                try:
                    choices = json.loads(data).get("choices") or [{}]
                except json.JSONDecodeError as e:
                    raise BackendError(f"Malformed event from {self.base_url}: {data[:200]}") from e
                delta = (choices[0].get("delta") or {}).get("content")
                if delta:
                    yield delta
        except httpx.HTTPError as e:
            raise BackendError(f"The stream from {self.base_url} broke: {e}") from e
        finally:
            response.close()
