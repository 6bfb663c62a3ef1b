"""The ``agent`` strategy: the planner investigates with typed tools (`vidscout.agent.loop`) and answers."""

from __future__ import annotations

from collections.abc import Iterator

from vidscout.agent.loop import AgentOptions, iter_steps
from vidscout.agent.trace import Step
from vidscout.answering.question import Question
from vidscout.tools.default import default_tools
from vidscout.tools.options import ToolOptions
from vidscout.tools.registry import ToolContext, VideoDeps


class AgentStrategy:
    """The planning agent over the default tools (browse, search, transcript, zoom_in, finish)."""

    name = "agent"

    def __init__(
        self,
        *,
        agent: AgentOptions | None = None,
        max_steps: int | None = None,
        tool_options: ToolOptions | None = None,
    ) -> None:
        """Run with ``agent`` knobs (``max_steps`` overrides theirs) and ``tool_options``."""
        opts = agent or AgentOptions()
        self.options = opts.model_copy(update={"max_steps": max_steps}) if max_steps is not None else opts
        self.tool_options = tool_options or ToolOptions()

    def iter_answer(self, deps: VideoDeps, question: Question) -> Iterator[Step]:
        """Stream the agent's steps for ``question``."""
        ctx = ToolContext(deps, question=question.text, options=question.options, tool_options=self.tool_options)
        tools = default_tools()
        if not deps.backends.video_llm.served:
            # Without a served Video-LLM, zoom_in re-reads tags and text the database already holds: measured on
            # the development questions, the 1.5B planner spent steps on it and learnt nothing new.
            tools = tools.subset([t.name for t in tools if t.name != "zoom_in"])
        yield from iter_steps(question.text, ctx, deps.backends.llm, tools, options=self.options)
