"""Decoding, shot detection, segmentation and sample media."""
