"""The error taxonomy: every error vidscout raises on purpose derives from `VidScoutError`.

Messages say what happened and what to do. Only the CLI catches `VidScoutError`.
"""

from __future__ import annotations


class VidScoutError(Exception):
    """Base for everything we raise on purpose."""


class ConfigError(VidScoutError):
    """The user's settings or arguments are wrong; fix them and rerun."""


class MediaError(ConfigError):
    """The input file is missing, unreadable, or not a video we can ingest."""


class StoreError(ConfigError):
    """A video's database is damaged, locked against this use, or from another vidscout; the message says the fix."""


class AccessError(ConfigError):
    """A path outside the directories a server was started with; its message never shows where it leads."""


class BackendError(VidScoutError):
    """An external model, API or binary failed (raised ``from`` the original error)."""


class ModelUnavailableError(BackendError):
    """A model backend's package or weights are not installed here."""


class ToolRetry(VidScoutError):
    """Sent back to the LLM as an observation; the agent run continues."""
