"""One `Settings` object: the only code that reads the environment (prefix ``VIDSCOUT_``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from platformdirs import user_cache_dir
from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ProfileName = Literal["embedded", "vllm"]


def _default_data_dir() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) / "vidscout") if xdg else Path(user_cache_dir("vidscout"))


class ModelSpecs(BaseModel):
    """Backend spec strings per role; empty means "take the profile's default"."""

    asr: str = ""
    ocr: str = ""
    tagger: str = ""
    image_text: str = ""
    text: str = ""
    llm: str = ""
    video_llm: str = ""
    speaker: str = ""
    image: str = ""
    facts: str = ""


class Settings(BaseSettings):
    """Deployment settings. Build it in the CLI (or directly in tests) and pass it down.

    Nested fields use ``__``: ``VIDSCOUT_MODELS__ASR=faster-whisper:base``.
    """

    model_config = SettingsConfigDict(env_prefix="VIDSCOUT_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir, description="Databases and model caches.")
    profile: ProfileName = Field(default="embedded", description="Which backend profile fills unset model specs.")
    models: ModelSpecs = Field(default_factory=ModelSpecs)
    threads: int = Field(default=2, ge=1, le=256, description="CPU threads each model backend may use.")
    base_url: str = Field(default="http://127.0.0.1:8000/v1", description="OpenAI-compatible server (vllm profile).")
    api_key: str = Field(default="EMPTY", description="API key for the OpenAI-compatible server.")
    serve_api_key: SecretStr | None = Field(
        default=None, description="Key `vidscout serve` requires of its clients (VIDSCOUT_SERVE_API_KEY)."
    )

    @property
    def videos_dir(self) -> Path:
        """Where per-video databases live."""
        return self.data_dir / "videos"

    @property
    def libraries_dir(self) -> Path:
        """Where named video libraries (manifest and cross-video index) live."""
        return self.data_dir / "libraries"

    @property
    def weights_dir(self) -> Path:
        """Where assembled model weights are cached."""
        return self.data_dir / "weights"
