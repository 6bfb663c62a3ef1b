"""Storyboard-to-video generation: the director and generators."""
