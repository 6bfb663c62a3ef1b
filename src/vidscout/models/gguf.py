"""The embedded planner: a GGUF chat model (Qwen2.5-Coder) run in-process through llama.cpp.

Runtime choice, measured on a 2-core CPU box with the 0.5B (125-token tool-call prompt, 28-token JSON
reply, ``OMP_WAIT_POLICY=PASSIVE``, machine otherwise idle): cyllama 0.2.18 at 2 threads loads in
0.8 s; a call takes 2.6 s free-form from an empty KV cache, 2.0–2.2 s schema-constrained when the
prompt prefix is cached (grammar masking costs ~35 ms per token). MODELS.md measured llama-cpp-python
at 0.6 s load, 2.7 s free-form, 2.6 s constrained. That is equal within noise, and cyllama is a
prebuilt wheel where llama-cpp-python compiles for 6–26 minutes, so ``runtime="auto"`` takes cyllama
and falls back to llama-cpp-python when only it is installed (or when asked for it). On a loaded box
(load average 5) the same calls took 4.5–7.3 s.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, cast

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from vidscout.errors import BackendError
from vidscout.models.base import ChatMessage, Completion, GenerationOptions, ToolCall
from vidscout.models.gguf_runtime import GGUFRuntime, json_schema_grammar, open_runtime
from vidscout.models.replies import parse_tool_calls, strip_code_fences

logger = logging.getLogger(__name__)

# ChatML, used only when a GGUF carries no chat template of its own.
_CHATML = (
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
_TOOLS_PREAMBLE = (
    "\n\n# Tools\n\nYou may call one or more functions. Function signatures:\n<tools>\n{tools}\n</tools>\n\n"
    'For each call, reply with <tool_call>\n{{"name": <function-name>, "arguments": <args-json-object>}}\n'
    "</tool_call>"
)


class GGUFLLM:
    """The `LLM` protocol over a local GGUF file.

    ``options.json_schema`` is enforced during decoding by a GBNF grammar (the reply is always
    schema-shaped JSON unless it hits ``max_tokens``; ``finish_reason`` then says "length").
    ``options.tools`` are rendered by the model's chat template and ``<tool_call>`` blocks in the reply
    become `ToolCall`s (``json_schema`` wins when both are given). A reply wrapped in one Markdown
    fence is unwrapped. One instance serves one caller at a time (llama.cpp contexts are not
    thread-safe); the KV cache keeps the previous call's prompt prefix.
    """

    call_mode: Literal["tools", "json"] = "json"  # tool calls as grammar-constrained JSON

    def __init__(
        self,
        path: Path,
        *,
        name: str = "gguf",
        runtime: str = "auto",
        n_ctx: int = 8192,
        threads: int = 2,
        seed: int = 0,
    ) -> None:
        """Load the model.

        Args:
            path: The ``.gguf`` file.
            name: The spec this backend was built from.
            runtime: "auto", "cyllama" or "llama-cpp".
            n_ctx: Context window in tokens (prompt + reply); the KV cache grows with it.
            threads: CPU threads for decoding.
            seed: Sampling seed when temperature > 0.
        """
        self.name = name
        self._seed = seed
        self._prompt_tokens = 0
        self._stopped = False
        t0 = time.perf_counter()
        self._rt: GGUFRuntime = open_runtime(path, runtime=runtime, n_ctx=n_ctx, threads=threads)
        self.load_s = time.perf_counter() - t0
        """Seconds spent loading (for benchmarks and `vidscout models`)."""
        self.runtime = self._rt.name
        self._template = _compile_template(self._rt.chat_template or _CHATML)
        self._template_has_tools = "tools" in self._rt.chat_template
        logger.info("Loaded %s with %s in %.2f s", path.name, self.runtime, self.load_s)

    def render(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> str:
        """The exact prompt text the model sees for ``messages`` (useful for tests and debugging)."""
        msgs = [_template_message(m) for m in messages]
        tools = options.tools if options.tools and options.json_schema is None else None
        if tools and not self._template_has_tools:
            listing = "\n".join(json.dumps(t, ensure_ascii=False) for t in tools)
            preamble = _TOOLS_PREAMBLE.format(tools=listing)
            if msgs and msgs[0]["role"] == "system":
                msgs[0] = {**msgs[0], "content": str(msgs[0]["content"]) + preamble}
            else:
                msgs.insert(0, {"role": "system", "content": preamble.lstrip()})
            tools = None
        try:
            return self._template.render(
                messages=msgs,
                tools=tools,
                add_generation_prompt=True,
                bos_token=self._rt.bos_token,
                eos_token=self._rt.eos_token,
            )
        except TemplateError as e:
            raise BackendError(f"The chat template of {self.name} rejected the conversation: {e}") from e

    @property
    def n_ctx(self) -> int:
        """Context window in tokens (prompt + reply)."""
        return self._rt.n_ctx

    def count_tokens(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> int:
        """Prompt length in tokens for ``messages`` (with ``options.tools`` rendered), without generating."""
        return len(self._rt.tokenize(self.render(messages, options)))

    def _deltas(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> Iterator[str]:
        tokens = self._rt.tokenize(self.render(messages, options))
        self._prompt_tokens = len(tokens)
        grammar = json_schema_grammar(options.json_schema) if options.json_schema is not None else None
        deltas = self._rt.generate(
            tokens,
            max_tokens=options.max_tokens,
            temperature=options.temperature,
            seed=self._seed,
            grammar=grammar,
        )
        self._stopped = False
        return _until_stop(deltas, options.stop, self._on_stop)

    def _on_stop(self) -> None:
        self._stopped = True

    def stream(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> Iterator[str]:
        """Yield the reply's text as it is generated (raw: no fence stripping or tool parsing)."""
        yield from self._deltas(messages, options)

    def complete(self, messages: Sequence[ChatMessage], options: GenerationOptions) -> Completion:
        """One chat completion; see the class docstring for schema, tools and fences."""
        t0 = time.perf_counter()
        text = "".join(self._deltas(messages, options))
        finish = "stop" if self._stopped else self._rt.finish_reason
        calls: tuple[ToolCall, ...] = ()
        if options.tools and options.json_schema is None:
            names = [str(t.get("function", t).get("name", "")) for t in options.tools]
            text, calls = parse_tool_calls(text, names)
            finish = "tool_calls" if calls else finish
        else:
            text = strip_code_fences(text)
        logger.debug(
            "%s: %d prompt + %d reply tokens in %.2f s",
            self.name,
            self._prompt_tokens,
            self._rt.completion_tokens,
            time.perf_counter() - t0,
        )
        return Completion(
            text=text,
            tool_calls=calls,
            finish_reason=finish,
            prompt_tokens=self._prompt_tokens,
            completion_tokens=self._rt.completion_tokens,
        )


def _until_stop(deltas: Iterator[str], stop: Sequence[str], on_stop: Callable[[], None]) -> Iterator[str]:
    """Pass deltas through, ending before the first stop string (which may span deltas)."""
    if not stop:
        yield from deltas
        return
    hold = max(len(s) for s in stop) - 1  # chars that could still begin a stop string
    buffer = ""
    for delta in deltas:
        buffer += delta
        hits = [i for i in (buffer.find(s) for s in stop) if i >= 0]
        if hits:
            if min(hits):
                yield buffer[: min(hits)]
            on_stop()
            return
        if len(buffer) > hold:
            yield buffer[: len(buffer) - hold]
            buffer = buffer[len(buffer) - hold :]
    if buffer:
        yield buffer


def _tojson(value: Any, indent: int | None = None, ensure_ascii: bool = False, **_: Any) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=ensure_ascii)


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


def _raise(message: str) -> str:
    raise TemplateError(message)


def _compile_template(source: str) -> Any:
    # The same sandbox and globals Hugging Face uses for chat templates, so GGUF templates render as upstream.
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = _tojson
    env_globals = cast(dict[str, Any], env.globals)  # typeshed narrows the value type to jinja's own globals
    env_globals["raise_exception"] = _raise
    env_globals["strftime_now"] = _strftime_now
    return env.from_string(source)


def _template_message(message: ChatMessage) -> dict[str, Any]:
    content = message.content
    if isinstance(content, list):  # OpenAI content parts: a text-only model keeps the text parts
        content = "\n".join(str(p.get("text", "")) for p in content if p.get("type") == "text")
    out: dict[str, Any] = {"role": message.role, "content": content}
    if message.tool_calls:
        calls: list[dict[str, Any]] = []
        for call in message.tool_calls:
            fn: dict[str, Any] = call.get("function", call)
            args = fn.get("arguments", "{}")
            with contextlib.suppress(json.JSONDecodeError):  # else keep the raw text; tojson quotes it
                args = json.loads(args) if isinstance(args, str) else args
            calls.append({"type": "function", "function": {"name": fn.get("name", ""), "arguments": args}})
        out["tool_calls"] = calls
    if message.name:
        out["name"] = message.name
    if message.tool_call_id:
        out["tool_call_id"] = message.tool_call_id
    return out
