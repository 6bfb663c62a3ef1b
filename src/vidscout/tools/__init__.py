"""Typed tools the agent (and other agents) call."""
