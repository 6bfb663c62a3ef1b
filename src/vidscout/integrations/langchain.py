"""vidscout's tools as LangChain tools (``pip install 'vidscout[langchain]'``).

    from vidscout.integrations.langchain import langchain_tools
    with vidscout.open("movie.mp4") as video:
        tools = langchain_tools(video)          # browse, search, transcript, zoom_in, finish
        agent = create_agent(model, tools)      # any LangChain agent

Each tool validates its input with the same Pydantic model the built-in agent uses, and returns the
same observation text, fix-it messages included, so a LangChain agent sees what vidscout's own does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vidscout.errors import ModelUnavailableError
from vidscout.tools.registry import Tool, ToolContext, ToolRegistry

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from vidscout.api import Video


def tools_from_registry(registry: ToolRegistry, ctx: ToolContext) -> list[BaseTool]:
    """Wrap every tool of ``registry`` as a `StructuredTool` bound to ``ctx``."""
    try:
        from langchain_core.tools import StructuredTool
    except ImportError as e:
        raise ModelUnavailableError("LangChain is not installed: pip install 'vidscout[langchain]'") from e

    def make(tool: Tool) -> BaseTool:
        def call(**kwargs: Any) -> str:
            return registry.call(tool.name, kwargs, ctx).observation

        return StructuredTool.from_function(
            func=call, name=tool.name, description=tool.description, args_schema=tool.args_model
        )

    return [make(t) for t in registry]


def langchain_tools(video: Video, *, question: str = "", options: tuple[str, ...] = ()) -> list[BaseTool]:
    """The default tools of an opened video, as LangChain tools."""
    return tools_from_registry(video.tools(), video.context(question=question, options=options))
