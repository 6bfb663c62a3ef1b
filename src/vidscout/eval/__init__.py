"""Benchmark tasks and the runner."""
