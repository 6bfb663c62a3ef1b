"""Prompt templates (Jinja2 package data)."""
