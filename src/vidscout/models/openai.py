"""An OpenAI-compatible chat backend (vLLM, llama.cpp server, OpenAI) over plain httpx.

Spec: ``openai:<model>@<base_url>``, e.g. ``openai:Qwen/Qwen2.5-VL-7B-Instruct@http://gpu:8000/v1``.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, cast

import cv2
import httpx

from vidscout.errors import BackendError
from vidscout.models.base import ChatMessage, Completion, GenerationOptions, Image, ToolCall
from vidscout.models.replies import strip_code_fences
from vidscout.types import format_hms

logger = logging.getLogger(__name__)

_RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
_HINTS = {
    401: "check VIDSCOUT_API_KEY",
    403: "check VIDSCOUT_API_KEY",
    404: "check the model name and base URL",
}


class OpenAILLM:
    """The `LLM` protocol over ``POST {base_url}/chat/completions`` (tools, JSON schema, SSE streaming).

    429, 5xx and connection errors are retried with exponential backoff (honouring ``Retry-After``).
    """

    def __init__(
        self,
        model: str,
        base_url: str,
        *,
        api_key: str = "EMPTY",
        name: str = "openai",
        timeout_s: float = 120.0,
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
            timeout_s: Per-request timeout in seconds (connect: 10 s).
            max_retries: Retries after the first attempt for retryable failures.
            transport: An httpx transport (tests pass ``httpx.MockTransport``).
            sleep: Called with the backoff delay in seconds (tests pass a no-op).
        """
        self.name = name
        self.model = model
        self._max_retries = max_retries
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=httpx.Timeout(timeout_s, connect=10.0),
            transport=transport,
        )

    def _payload(self, messages: Sequence[ChatMessage], options: GenerationOptions, stream: bool) -> dict[str, Any]:
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
        if options.json_schema is not None:
            payload["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "reply", "schema": options.json_schema, "strict": True},
            }
        return payload

    def _send(self, payload: dict[str, Any], *, stream: bool) -> httpx.Response:
        for attempt in range(self._max_retries + 1):
            try:
                request = self._client.build_request("POST", "/chat/completions", json=payload)
                response = self._client.send(request, stream=stream)
            except httpx.TransportError as e:
                if attempt == self._max_retries:
                    raise BackendError(
                        f"Cannot reach {self._client.base_url} ({type(e).__name__}: {e}); is the server up?"
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
            hint = _HINTS.get(response.status_code, "see the server log")
            raise BackendError(
                f"{self._client.base_url} answered {response.status_code} for model {self.model!r} ({hint}): "
                f"{response.text[:300]}"
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

    def complete(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> Completion:
        """One chat completion.

        Raises:
            BackendError: The server is unreachable or answered with an error after retries.
        """
        response = self._send(self._payload(messages, options, stream=False), stream=False)
        try:
            body = response.json()
            choice = body["choices"][0]
            message = choice["message"]
        except (ValueError, KeyError, IndexError) as e:
            raise BackendError(f"Unexpected reply from {self._client.base_url}: {response.text[:300]}") from e
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

    def stream(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> Iterator[str]:
        """Yield the reply's text deltas from the server-sent event stream."""
        response = self._send(self._payload(messages, options, stream=True), stream=True)
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
                    raise BackendError(f"Malformed event from {self._client.base_url}: {data[:200]}") from e
                delta = (choices[0].get("delta") or {}).get("content")
                if delta:
                    yield delta
        except httpx.HTTPError as e:
            raise BackendError(f"The stream from {self._client.base_url} broke: {e}") from e
        finally:
            response.close()


class OpenAIVideoLLM:
    """The `VideoLLM` protocol over a vision chat model served OpenAI-style (e.g. Qwen2.5-VL on vLLM).

    Frames go as JPEG data URLs, each preceded by its timestamp, in one user message.
    """

    def __init__(self, llm: OpenAILLM, *, max_frames: int = 8, max_side: int = 448, max_tokens: int = 256) -> None:
        """Wrap a chat client.

        Args:
            llm: The client for the vision model.
            max_frames: Frames sent per call, evenly spaced.
            max_side: Frames are downscaled so their longer side is at most this (pixels).
            max_tokens: Reply length limit.
        """
        self.name = llm.name
        self._llm = llm
        self._max_frames = max_frames
        self._max_side = max_side
        self._max_tokens = max_tokens

    def describe(self, frames: Sequence[Image], times_s: Sequence[float], prompt: str) -> str:
        """Answer ``prompt`` about ``frames`` sampled at ``times_s`` (seconds into the video)."""
        if len(frames) != len(times_s):
            raise ValueError(f"{len(frames)} frames but {len(times_s)} timestamps")
        step = max(1, -(-len(frames) // self._max_frames))  # ceil division keeps at most max_frames
        parts: list[dict[str, Any]] = []
        for frame, t_s in list(zip(frames, times_s, strict=True))[::step]:
            parts.append({"type": "text", "text": f"Frame at {format_hms(t_s)}:"})
            parts.append({"type": "image_url", "image_url": {"url": _jpeg_data_url(frame, self._max_side)}})
        parts.append({"type": "text", "text": prompt})
        reply = self._llm.complete(
            [ChatMessage(role="user", content=parts)], GenerationOptions(max_tokens=self._max_tokens)
        )
        return reply.text.strip()


def _jpeg_data_url(frame: Image, max_side: int) -> str:
    scale = max_side / max(frame.shape[:2])
    if scale < 1.0:
        frame = cast(Image, cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise BackendError(f"Could not JPEG-encode a frame of shape {frame.shape}")
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii")
