"""The agent's default tool set, built fresh on each call (no registry is mutated at import)."""

from __future__ import annotations

from vidscout.tools.browse import BrowseArgs, browse
from vidscout.tools.finish import FinishArgs, finish
from vidscout.tools.occurrences import OccurrencesArgs, occurrences
from vidscout.tools.order import OrderArgs, order
from vidscout.tools.recurrences import RecurrencesArgs, recurrences
from vidscout.tools.registry import ToolRegistry
from vidscout.tools.search import SearchArgs, search
from vidscout.tools.shown import ShownWhileArgs, shown_while
from vidscout.tools.transcript import TranscriptArgs, transcript
from vidscout.tools.zoom import ZoomArgs, zoom_in


def default_tools() -> ToolRegistry:
    """The tools in the order the planner sees them; finish is terminal."""
    registry = ToolRegistry()
    registry.tool(BrowseArgs)(browse)
    registry.tool(SearchArgs)(search)
    registry.tool(TranscriptArgs)(transcript)
    registry.tool(OccurrencesArgs)(occurrences)
    registry.tool(ShownWhileArgs)(shown_while)
    registry.tool(OrderArgs)(order)
    registry.tool(ZoomArgs)(zoom_in)
    registry.tool(RecurrencesArgs)(recurrences)
    registry.tool(FinishArgs, terminal=True)(finish)
    return registry
