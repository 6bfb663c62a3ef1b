"""Speaker embeddings from the GE2E voice encoder whose weights ship in the ``resemblyzer`` wheel.

The network and the mel front end are written here against the checkpoint's recipe, so neither
``resemblyzer`` (which imports librosa and webrtcvad at import time) nor librosa is imported.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import time
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from vidscout.errors import BackendError
from vidscout.models._env import missing_package, prepare_runtime, set_torch_threads
from vidscout.models.base import l2_normalise
from vidscout.video.decode import SAMPLE_RATE

logger = logging.getLogger(__name__)

N_MELS = 40
"""Mel bands per frame the encoder reads."""
HOP = SAMPLE_RATE * 10 // 1000
"""Samples between frames (10 ms)."""
N_FFT = SAMPLE_RATE * 25 // 1000
"""Window and FFT length in samples (25 ms)."""
PARTIAL_FRAMES = 160
"""Frames in one partial utterance (1.6 s); the utterance embedding averages these."""
EMBEDDING_DIM = 256

_TARGET_DBFS = -30.0  # quieter audio is raised to this level before the mel (never lowered), as in training
_PIP = "--no-deps resemblyzer==0.1.4"  # its declared deps (librosa, webrtcvad) are not needed here


def resemblyzer_weights(package: str = "resemblyzer") -> Path:
    """Path of ``pretrained.pt`` inside the installed ``package``, found without importing it.

    Importing ``resemblyzer`` would import librosa and webrtcvad, which are not installed.

    Raises:
        ModelUnavailableError: The package or its weights file is missing (the message has the pip command).
    """
    spec = importlib.util.find_spec(package)
    dirs = list(spec.submodule_search_locations or []) if spec is not None else []
    for d in dirs:
        path = Path(d) / "pretrained.pt"
        if path.is_file():
            return path
    raise missing_package("The resemblyzer voice-encoder weights", _PIP)


class VoiceEncoder(nn.Module):
    """GE2E speaker encoder: 3-layer LSTM over 40 mel bands, last hidden state -> linear 256 -> ReLU -> L2 norm.

    Parameter names match resemblyzer's checkpoint (``lstm.*``, ``linear.*``), so its
    ``model_state`` loads directly; the checkpoint's GE2E loss scalars are not part of the network.
    """

    def __init__(self, *, hidden: int = 256, layers: int = 3) -> None:
        super().__init__()
        self.lstm = nn.LSTM(N_MELS, hidden, layers, batch_first=True)
        self.linear = nn.Linear(hidden, EMBEDDING_DIM)

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        """Embed a batch of mel frames (batch, frames, 40) into unit vectors (batch, 256)."""
        _, (hidden, _) = self.lstm(mels)
        raw = torch.relu(self.linear(hidden[-1]))
        return raw / raw.norm(dim=1, keepdim=True).clamp_min(1e-12)

    @classmethod
    def from_checkpoint(cls, path: Path) -> VoiceEncoder:
        """Load resemblyzer's ``pretrained.pt`` (a dict with ``model_state``).

        Raises:
            BackendError: The file is not such a checkpoint, or its tensors do not fit this network.
        """
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
            state = {k: v for k, v in checkpoint["model_state"].items() if not k.startswith("similarity_")}
            net = cls()
            net.load_state_dict(state, strict=True)
        except (OSError, RuntimeError, KeyError, TypeError) as e:
            raise BackendError(f"{path} is not a loadable GE2E voice-encoder checkpoint: {e}") from e
        return net.eval()


def normalise_volume(wav: NDArray[np.float32], *, target_dbfs: float = _TARGET_DBFS) -> NDArray[np.float32]:
    """Raise ``wav`` to ``target_dbfs`` RMS when it is quieter; louder (or silent) audio is returned as is."""
    rms = float(np.sqrt(np.mean(np.square(wav, dtype=np.float64)))) if wav.size else 0.0
    if rms <= 0.0:
        return wav
    gain_db = target_dbfs - 20.0 * math.log10(rms)
    return wav if gain_db <= 0 else (wav * 10.0 ** (gain_db / 20.0)).astype(np.float32)


@cache
def _hz_to_mel(hz: float) -> float:
    # Slaney's auditory-toolbox scale (librosa's default, htk=False): linear to 1 kHz, log above.
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    if hz < min_log_hz:
        return hz / f_sp
    return min_log_hz / f_sp + math.log(hz / min_log_hz) / (math.log(6.4) / 27.0)


def _mel_to_hz(mel: NDArray[np.float64]) -> NDArray[np.float64]:
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel = min_log_hz / f_sp
    log_step = math.log(6.4) / 27.0
    return np.where(mel < min_log_mel, mel * f_sp, min_log_hz * np.exp(log_step * (mel - min_log_mel)))


@cache
def mel_filterbank(sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> NDArray[np.float32]:
    """Triangular mel filters (n_mels, n_fft // 2 + 1) on the Slaney scale with Slaney area normalisation.

    Band edges are evenly spaced in mel from 0 Hz to Nyquist; each triangle is scaled by
    2 / (its width in Hz), so bands have equal area (what librosa's ``filters.mel`` returns by default).
    """
    fft_hz = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    edges_hz = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sample_rate / 2), n_mels + 2))
    lower, centre, upper = edges_hz[:-2, None], edges_hz[1:-1, None], edges_hz[2:, None]
    rising = (fft_hz[None, :] - lower) / (centre - lower)
    falling = (upper - fft_hz[None, :]) / (upper - centre)
    weights = (np.maximum(0.0, np.minimum(rising, falling)) * (2.0 / (upper - lower))).astype(np.float32)
    weights.setflags(write=False)  # cached and shared by every call
    return weights


@cache
def _hann(n: int) -> NDArray[np.float64]:
    # Periodic Hann (the DFT-even window scipy/librosa use for spectra), not the symmetric one.
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)


def mel_frames(wav: NDArray[np.float32]) -> NDArray[np.float32]:
    """Mel power spectrogram (frames, 40) of 16 kHz audio: 25 ms Hann windows every 10 ms, centred.

    Frame ``i`` is centred on sample ``i * 160``; the signal is reflect-padded by half a window at
    both ends (the training recipe's librosa default), giving ``1 + len(wav) // 160`` frames.
    Power, not log power: the encoder was trained on linear mel energies.
    """
    pad = N_FFT // 2
    x = np.asarray(wav, dtype=np.float64)
    # Reflect padding needs more than `pad` samples; shorter input gets zeros (it is ~12 ms of audio).
    x = np.pad(x, pad, mode="reflect" if x.size > pad else "constant")
    n_frames = 1 + (x.size - N_FFT) // HOP
    windows = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP][:n_frames]
    power = np.abs(np.fft.rfft(windows * _hann(N_FFT), axis=1)) ** 2
    return (power.astype(np.float32) @ mel_filterbank().T).astype(np.float32)


def partial_starts(n_samples: int, *, rate_hz: float = 1.3, min_coverage: float = 0.75) -> list[int]:
    """First mel frame of each 1.6 s partial utterance covering ``n_samples`` of audio.

    Partials start every ``1 / rate_hz`` seconds; a last partial that would hold less than
    ``min_coverage`` of real audio is dropped unless it is the only one. Audio shorter than one partial
    still gets one (zero-padded) partial.
    """
    n_frames = math.ceil((n_samples + 1) / HOP)
    step = max(1, min(PARTIAL_FRAMES, round(SAMPLE_RATE / rate_hz / HOP)))
    starts = list(range(0, max(1, n_frames - PARTIAL_FRAMES + step + 1), step))
    coverage = (n_samples - starts[-1] * HOP) / (PARTIAL_FRAMES * HOP)
    if coverage < min_coverage and len(starts) > 1:
        starts.pop()
    return starts


def utterance_partials(wav: NDArray[np.float32], *, rate_hz: float = 1.3) -> NDArray[np.float32]:
    """Volume-normalised mel partials of one utterance, shape (n_partials, 160, 40)."""
    starts = partial_starts(wav.size, rate_hz=rate_hz)
    need = (starts[-1] + PARTIAL_FRAMES) * HOP
    audio = normalise_volume(np.asarray(wav, dtype=np.float32))
    if need > audio.size:
        audio = np.pad(audio, (0, need - audio.size))
    mel = mel_frames(audio)
    return np.stack([mel[s : s + PARTIAL_FRAMES] for s in starts])


class ResemblyzerSpeakerEmbedder:
    """The `SpeakerEmbedder` protocol on resemblyzer's pretrained GE2E encoder (CPU, 1.4 M parameters).

    A segment's embedding is the L2-normalised mean of its partial-window embeddings (1.6 s windows,
    1.3 per second), as resemblyzer's ``embed_utterance``. Voice-activity trimming is left to the
    caller: segments are expected to be speech already.
    """

    dim = EMBEDDING_DIM

    def __init__(
        self,
        weights: Path | None = None,
        *,
        name: str = "resemblyzer",
        threads: int = 2,
        batch_size: int = 32,
        rate_hz: float = 1.3,
    ) -> None:
        """Load the encoder.

        Args:
            weights: A resemblyzer-format checkpoint; default: the one inside the installed wheel.
            name: The spec this backend was built from.
            threads: torch intra-op threads (process-wide).
            batch_size: Partial windows per forward pass.
            rate_hz: Partial windows per second of audio (at least 0.625, so windows cover the audio).
        """
        t0 = time.perf_counter()
        prepare_runtime()
        set_torch_threads(threads)
        self.name = name
        self._batch_size = batch_size
        self._rate_hz = rate_hz
        self._net = VoiceEncoder.from_checkpoint(weights or resemblyzer_weights())
        logger.info("Loaded %s in %.2f s", name, time.perf_counter() - t0)

    def embed(self, segments: Sequence[NDArray[np.float32]]) -> NDArray[np.float32]:
        """Embed mono 16 kHz float32 speech segments; shape (n, 256), unit rows (an empty segment: zeros)."""
        out = np.zeros((len(segments), EMBEDDING_DIM), dtype=np.float32)
        owners: list[int] = []
        batch: list[NDArray[np.float32]] = []
        # Partials stream through in batches, so an hour of windows never sits in memory as mel frames.
        for i, seg in enumerate(segments):
            for partial in utterance_partials(seg, rate_hz=self._rate_hz) if seg.size else ():
                batch.append(partial)
                owners.append(i)
                if len(batch) == self._batch_size:
                    np.add.at(out, np.asarray(owners), self._forward(batch))
                    owners, batch = [], []
        if batch:
            np.add.at(out, np.asarray(owners), self._forward(batch))
        return l2_normalise(out)

    def _forward(self, partials: Sequence[NDArray[np.float32]]) -> NDArray[np.float32]:
        with torch.inference_mode():
            return self._net(torch.from_numpy(np.stack(partials))).numpy().astype(np.float32)
