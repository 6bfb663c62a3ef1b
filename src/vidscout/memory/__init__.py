"""The per-video database and the ingest pipeline that builds it."""
