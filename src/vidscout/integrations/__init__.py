"""Adapters that expose vidscout's tools to other agent frameworks (optional extras)."""
